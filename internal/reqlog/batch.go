package reqlog

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Batching bounds: access-log lines wait at most batchDelay, and at most
// batchBytes of them, before they are written.
const (
	batchDelay = 100 * time.Millisecond
	batchBytes = 64 << 10
)

// Batch wraps a log handler writing to w so that the access log's lines
// (Middleware's "request" records at info level or below) are written to w
// together, at most batchDelay after they were logged, instead of one
// write(2) per request: at tens of thousands of requests per second that
// write was 3–7% of a token request's CPU. Every other record is written at
// once, after the lines before it, so the log's order is kept and warnings
// and errors are never late. flush writes what is waiting; call it before
// the process ends. newHandler builds the handler on the writer it is given.
func Batch(w io.Writer, newHandler func(io.Writer) slog.Handler) (h slog.Handler, flush func()) {
	b := &batcher{w: w}
	b.timer = time.AfterFunc(time.Hour, b.flush)
	b.timer.Stop()
	return &batchHandler{Handler: newHandler(b), b: b}, b.flush
}

// batcher is the writer the handler writes to. Its lock is held by
// batchHandler across a whole record, so holding says which record a Write
// belongs to.
type batcher struct {
	mu      sync.Mutex
	w       io.Writer
	buf     []byte
	holding bool // the record being written is an access-log line
	timer   *time.Timer
}

// Write is called by the wrapped handler with b.mu held (see batchHandler).
func (b *batcher) Write(p []byte) (int, error) {
	if !b.holding {
		if err := b.flushLocked(); err != nil {
			return 0, err
		}
		return b.w.Write(p)
	}
	if len(b.buf) == 0 {
		b.timer.Reset(batchDelay)
	}
	b.buf = append(b.buf, p...)
	if len(b.buf) >= batchBytes {
		if err := b.flushLocked(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (b *batcher) flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
}

func (b *batcher) flushLocked() error {
	if len(b.buf) == 0 {
		return nil
	}
	b.timer.Stop()
	_, err := b.w.Write(b.buf)
	if cap(b.buf) > 4*batchBytes { // after a burst, do not keep a large buffer
		b.buf = nil
	} else {
		b.buf = b.buf[:0]
	}
	return err
}

// batchHandler serialises records through the batcher, marking the access
// log's as held.
type batchHandler struct {
	slog.Handler
	b *batcher
}

func (h *batchHandler) Handle(ctx context.Context, r slog.Record) error {
	h.b.mu.Lock()
	defer h.b.mu.Unlock()
	h.b.holding = r.Level <= slog.LevelInfo && r.Message == accessMessage
	return h.Handler.Handle(ctx, r)
}

func (h *batchHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &batchHandler{Handler: h.Handler.WithAttrs(attrs), b: h.b}
}

func (h *batchHandler) WithGroup(name string) slog.Handler {
	return &batchHandler{Handler: h.Handler.WithGroup(name), b: h.b}
}
