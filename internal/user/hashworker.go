package user

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
)

// The argon2id work of sign-ins can run in a separate worker process
// (ServeHashWorker, started as `gatehouse hash-worker`) at the lowest CPU
// priority, instead of in the serving process:
//
//   - a hash takes ~30 ms of CPU and cannot be split; in the serving process
//     the Go runtime lets it run for 10 ms at a time, so on one core every
//     other request queued behind it (introspection p99 4 → 37 ms during a
//     sign-in flood). In Linux's SCHED_IDLE class (nice 19 where that is
//     refused) the kernel runs the worker on what the serving process
//     leaves: tokens come first, sign-ins wait.
//   - a hash needs 19 MiB; made in the serving process it raised that
//     process's heap, and so its memory, to twice that and more. The worker
//     returns its memory after each burst of hashes and exits after
//     workerIdle without work, to be started again by the next sign-in.
//
// When the worker cannot be started or fails, the hash is made in process:
// slower for the other requests, never a failed sign-in.

// workerIdle is how long the worker process lives without work.
const workerIdle = 30 * time.Second

// hashingGrace is how long what whileHashing gave is held after the last
// hash: longer than a slot's rest (maxHashRest), so that a flood of
// sign-ins holds it throughout.
const hashingGrace = 5 * time.Second

// hashWorker runs the worker process and sends it keys to derive.
type hashWorker struct {
	start        func() *exec.Cmd
	whileHashing func() (release func()) // held while hashes are under way, and grace after the last; may be nil
	grace        time.Duration

	mu       sync.Mutex
	proc     *workerProc
	inflight int
	idle     *time.Timer
	next     uint64
	held     func()      // what whileHashing returned, while it is held
	ended    *time.Timer // grace after the last hash: releases held
}

type workerProc struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	wmu  sync.Mutex // one request written at a time
	dead chan struct{}

	mu      sync.Mutex
	pending map[uint64]chan []byte
	err     error // why it died
}

var errWorker = errors.New("user: hash worker failed")

func newHashWorker(start func() *exec.Cmd, whileHashing func() (release func())) *hashWorker {
	w := &hashWorker{start: start, whileHashing: whileHashing, grace: hashingGrace}
	w.idle = time.AfterFunc(time.Hour, w.stopIfIdle)
	w.idle.Stop()
	w.ended = time.AfterFunc(time.Hour, w.endHashing)
	w.ended.Stop()
	return w
}

// key derives the argon2id key in the worker process.
func (w *hashWorker) key(ctx context.Context, password, salt []byte, p Argon2Params, keyLen uint32) ([]byte, error) {
	defer w.hashEnded()
	w.mu.Lock()
	// Held before the process starts: its memory comes with its start. A
	// key that falls back to this process is made within the grace.
	w.ended.Stop()
	if w.held == nil && w.whileHashing != nil {
		w.held = sync.OnceFunc(w.whileHashing())
	}
	w.inflight++
	if w.proc == nil {
		proc, err := startWorker(w.start())
		if err != nil {
			w.mu.Unlock()
			return nil, err
		}
		w.proc = proc
	}
	proc := w.proc
	w.idle.Stop()
	w.next++
	id := w.next
	w.mu.Unlock()

	ch := make(chan []byte, 1)
	proc.mu.Lock()
	if proc.err != nil {
		err := proc.err
		proc.mu.Unlock()
		w.forget(proc)
		return nil, err
	}
	proc.pending[id] = ch
	proc.mu.Unlock()
	if err := proc.send(id, password, salt, p, keyLen); err != nil {
		proc.fail(err)
		w.forget(proc)
		return nil, err
	}
	select {
	case key := <-ch:
		if key == nil {
			w.forget(proc)
			return nil, errWorker
		}
		return key, nil
	case <-ctx.Done():
		proc.mu.Lock()
		delete(proc.pending, id)
		proc.mu.Unlock()
		return nil, ctx.Err()
	}
}

// forget drops a failed process, so that the next key starts another.
func (w *hashWorker) forget(proc *workerProc) {
	w.mu.Lock()
	if w.proc == proc {
		w.proc = nil
	}
	w.mu.Unlock()
	proc.stop()
}

// hashEnded counts a key's end; after the last one the process's idle time
// and the grace start.
func (w *hashWorker) hashEnded() {
	w.mu.Lock()
	w.inflight--
	if w.inflight == 0 {
		w.idle.Reset(workerIdle)
		w.ended.Reset(w.grace)
	}
	w.mu.Unlock()
}

// endHashing releases what whileHashing gave, unless a hash began since.
func (w *hashWorker) endHashing() {
	w.mu.Lock()
	release := w.held
	if w.inflight > 0 {
		release = nil
	} else {
		w.held = nil
	}
	w.mu.Unlock()
	if release != nil {
		release()
	}
}

func (w *hashWorker) stopIfIdle() {
	w.mu.Lock()
	proc := w.proc
	if w.inflight > 0 || proc == nil {
		w.mu.Unlock()
		return
	}
	w.proc = nil
	w.mu.Unlock()
	proc.stop()
}

// close stops the worker process, if any, and releases what whileHashing
// gave.
func (w *hashWorker) close() {
	w.mu.Lock()
	proc, release := w.proc, w.held
	w.proc, w.held = nil, nil
	w.idle.Stop()
	w.ended.Stop()
	w.mu.Unlock()
	if proc != nil {
		proc.stop()
	}
	if release != nil {
		release()
	}
}

func startWorker(cmd *exec.Cmd) (*workerProc, error) {
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("user: start hash worker: %w", err)
	}
	p := &workerProc{cmd: cmd, in: in, dead: make(chan struct{}), pending: map[uint64]chan []byte{}}
	go p.read(out)
	return p, nil
}

// send writes one request: id u64, memory KiB u32, time u32, threads u8,
// key length u32, salt (u16 length), password (u16 length); little-endian.
func (p *workerProc) send(id uint64, password, salt []byte, ar Argon2Params, keyLen uint32) error {
	b := make([]byte, 0, 8+4+4+1+4+2+len(salt)+2+len(password))
	b = binary.LittleEndian.AppendUint64(b, id)
	b = binary.LittleEndian.AppendUint32(b, ar.MemoryKiB)
	b = binary.LittleEndian.AppendUint32(b, ar.Time)
	b = append(b, ar.Threads)
	b = binary.LittleEndian.AppendUint32(b, keyLen)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(salt)))
	b = append(b, salt...)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(password)))
	b = append(b, password...)
	p.wmu.Lock()
	defer p.wmu.Unlock()
	_, err := p.in.Write(b)
	clear(b) // the password
	return err
}

// read delivers answers (id u64, key with u16 length) until the process ends.
func (p *workerProc) read(out io.Reader) {
	r := bufio.NewReader(out)
	var head [10]byte
	for {
		if _, err := io.ReadFull(r, head[:]); err != nil {
			p.fail(err)
			return
		}
		id, n := binary.LittleEndian.Uint64(head[:8]), binary.LittleEndian.Uint16(head[8:])
		key := make([]byte, n)
		if _, err := io.ReadFull(r, key); err != nil {
			p.fail(err)
			return
		}
		p.mu.Lock()
		ch := p.pending[id]
		delete(p.pending, id)
		p.mu.Unlock()
		if ch != nil {
			ch <- key
		}
	}
}

// fail ends every pending request of a process that went wrong.
func (p *workerProc) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		p.err = fmt.Errorf("%w: %v", errWorker, err)
	}
	for id, ch := range p.pending {
		delete(p.pending, id)
		ch <- nil
	}
}

func (p *workerProc) stop() {
	p.in.Close() // the worker exits at the end of its input
	go func() {
		done := make(chan struct{})
		go func() { p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			p.cmd.Process.Kill()
			<-done
		}
	}()
}

// ServeHashWorker is the worker process: it reads requests from in until
// its end, derives each key (several at once, one per CPU) and writes the
// answers to out. The caller lowers the process's priority first (see
// cmd/gatehouse). After each burst it gives its memory back to the system.
func ServeHashWorker(in io.Reader, out io.Writer) error {
	r := bufio.NewReader(in)
	var wmu sync.Mutex
	w := bufio.NewWriter(out)
	slots := make(chan struct{}, runtime.GOMAXPROCS(0))
	limit := newHashMemoryLimit(cap(slots))
	var mu sync.Mutex
	running := 0
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		var head [21]byte
		if _, err := io.ReadFull(r, head[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		id := binary.LittleEndian.Uint64(head[0:])
		p := Argon2Params{MemoryKiB: binary.LittleEndian.Uint32(head[8:]), Time: binary.LittleEndian.Uint32(head[12:]), Threads: head[16]}
		keyLen := binary.LittleEndian.Uint32(head[17:])
		salt, err := readChunk(r)
		if err != nil {
			return err
		}
		password, err := readChunk(r)
		if err != nil {
			return err
		}
		if p.MemoryKiB == 0 || p.MemoryKiB > 1<<20 || p.Time == 0 || p.Time > 64 || p.Threads == 0 || keyLen == 0 || keyLen > 1024 {
			return fmt.Errorf("hash worker: bad request parameters %+v, key %d bytes", p, keyLen)
		}
		limit.admit(p)
		slots <- struct{}{}
		mu.Lock()
		running++
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each hash allocates its memory afresh (x/crypto/argon2 keeps
			// none) in one allocation, which comes before any collection it
			// sets off: a finished hash's memory, left for the collector,
			// would still be there beside it (three hashes' memory on two
			// slots during a flood). Collected first, it is reused. A
			// collection of this small heap costs well under 1% of a hash.
			runtime.GC()
			key := argon2.IDKey(password, salt, p.Time, p.MemoryKiB, p.Threads, keyLen)
			clear(password)
			<-slots
			wmu.Lock()
			var head [10]byte
			binary.LittleEndian.PutUint64(head[:8], id)
			binary.LittleEndian.PutUint16(head[8:], uint16(len(key)))
			w.Write(head[:])
			w.Write(key)
			w.Flush()
			wmu.Unlock()
			mu.Lock()
			running--
			last := running == 0
			mu.Unlock()
			if last {
				debug.FreeOSMemory() // the burst is over: give the 19 MiB back
			}
		}()
	}
}

// hashMemoryLimit holds the worker's memory to its start's plus one hash's
// per slot. A collection before each hash frees the last one's memory, but
// the new hash's single allocation may land elsewhere — on pages given back
// after an earlier burst, or past a small span that took the freed range's
// first page — and the freed range would stay resident beside it (three
// hashes' memory on two slots, one flood in ~20). Under a memory limit the
// runtime gives free pages back before it takes new ones past the limit.
// It replaces a GOMEMLIMIT inherited from the node: a lower one could only
// make the worker collect harder, not hold less than its hashes need.
type hashMemoryLimit struct {
	slots   uint64
	base    uint64 // the runtime's memory at the worker's start
	largest uint64 // the most memory one hash has asked for
}

// hashLimitSlack is what the worker may hold beyond its start and its
// hashes (goroutines, buffers, a collection's work) before the runtime
// gives memory back.
const hashLimitSlack = 4 << 20

func newHashMemoryLimit(slots int) *hashMemoryLimit {
	m := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(m)
	return &hashMemoryLimit{slots: uint64(slots), base: m[0].Value.Uint64() - m[1].Value.Uint64()}
}

// admit raises the limit when a hash asks for more memory than any before.
func (l *hashMemoryLimit) admit(p Argon2Params) {
	need := uint64(p.MemoryKiB) << 10
	if need <= l.largest {
		return
	}
	l.largest = need
	debug.SetMemoryLimit(int64(l.base + l.slots*need + hashLimitSlack))
}

func readChunk(r *bufio.Reader) ([]byte, error) {
	var n [2]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, err
	}
	b := make([]byte, binary.LittleEndian.Uint16(n[:]))
	_, err := io.ReadFull(r, b)
	return b, err
}
