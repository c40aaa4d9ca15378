package reqlog

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe for the flush timer's goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestBatchHoldsAccessLinesOnly(t *testing.T) {
	var out lockedBuffer
	h, flush := Batch(&out, func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, nil) })
	log := slog.New(h)
	ctx := context.Background()
	access := func(id string) {
		r := slog.NewRecord(time.Now(), slog.LevelInfo, accessMessage, 0)
		r.AddAttrs(slog.String("request_id", id))
		h.Handle(ctx, r)
	}
	access("a1")
	access("a2")
	if out.String() != "" {
		t.Fatalf("access lines written at once: %q", out.String())
	}
	log.Warn("something")
	got := out.String()
	if i1, i2, iw := strings.Index(got, "a1"), strings.Index(got, "a2"), strings.Index(got, "something"); i1 < 0 || i2 < i1 || iw < i2 {
		t.Fatalf("a warning must come at once, after the lines before it: %q", got)
	}
	access("a3")
	flush()
	if !strings.Contains(out.String(), "a3") {
		t.Fatalf("flush left a line behind: %q", out.String())
	}
	access("a4")
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "a4") {
		if time.Now().After(deadline) {
			t.Fatal("a held line was never written")
		}
		time.Sleep(10 * time.Millisecond)
	}
	log.With("k", "v").Info("started") // derived loggers are not held either
	if !strings.Contains(out.String(), "started") {
		t.Fatal("an info record other than the access log was held")
	}
}
