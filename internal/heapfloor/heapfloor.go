// Package heapfloor keeps the garbage collector from running on a tiny heap.
//
// A node serving tokens holds 1–2 MiB of live heap, so Go's default goal
// (twice the live heap, at least 4 MiB) starts a collection after every
// ~3 MiB allocated: about 50 a second at 20,000 introspections per second,
// 6% of the CPU. Keep raises GOGC while the live heap is small, so that the
// heap may grow to a floor before the next collection, and lowers it back
// to Go's default as soon as the live heap reaches half the floor. Unlike a
// memory limit (GOMEMLIMIT), it never makes the collector work harder: a
// node whose live heap outgrows the floor runs exactly as with GOGC=100.
// SetAside gives the floor's room up for a while, and more (a node does so
// while its password-hashing worker runs, whose hashes need that memory
// more): the collector then paces at GOGC=50.
package heapfloor

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// ServingNode is the least heap goal a serving node gives the garbage
// collector (unless GOGC is set): 12 MiB, where Go's default is 4 MiB for a
// node's 1–2 MiB of live heap. Measured: a third as many collections, about
// 2 µs less CPU per introspection; the node's memory targets (≤ 60 MiB at
// its peak) leave room for it (docs/performance.md). gatehouse-bench's
// ceiling server keeps it too, so that its floors collect as a node does.
const ServingNode = 12 << 20

// minimumHeap is the Go runtime's least heap goal at GOGC=100; it scales
// with GOGC.
const minimumHeap = 4 << 20

var (
	once sync.Once
	kept atomic.Pointer[tuner] // the process's tuner, once Keep has armed one
)

// Keep holds the heap goal at floor bytes or more for the rest of the
// process, adjusting GOGC after every collection. It does nothing when the
// operator set GOGC: their choice stands. Calling it again changes nothing.
func Keep(floor uint64) {
	if _, set := os.LookupEnv("GOGC"); set {
		return
	}
	once.Do(func() {
		t := newTuner(floor)
		kept.Store(t)
		t.arm()
	})
}

// SetAside makes the collector pace at asidePercent until release is
// called, at once rather than from the next collection on; calls may
// overlap, and the floor returns when every one is released. Without Keep
// (or with GOGC set) it does nothing.
func SetAside() (release func()) {
	t := kept.Load()
	if t == nil {
		return func() {}
	}
	return t.setAside()
}

// asidePercent is GOGC while the floor is set aside: half Go's default,
// so that the heap's goal, and the idle memory the scavenger keeps beside
// it (up to a tenth over the goal), are smaller while the worker holds its
// hash. It costs more collections only then (docs/performance.md, "Memory
// and start-up").
const asidePercent = 50

type tuner struct {
	floor atomic.Uint64 // atomic so that a test may move it while the tuner runs
	aside atomic.Int64  // holders of SetAside
	mu    sync.Mutex    // one adjustment at a time, so the last one stands
	live  []metrics.Sample
}

func (t *tuner) setAside() (release func()) {
	t.aside.Add(1)
	t.adjust()
	return sync.OnceFunc(func() {
		t.aside.Add(-1)
		t.adjust()
	})
}

func newTuner(floor uint64) *tuner {
	t := &tuner{live: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	t.floor.Store(floor)
	return t
}

// sentinel is what each collection frees to call the tuner back: larger
// than the tiny allocator's blocks, whose cleanups may never run.
type sentinel struct{ _ [32]byte }

// arm runs adjust (and arms again) after the next collection that finds
// a fresh sentinel unreachable; a tuner whose floor is 0 keeps nothing and
// stops.
func (t *tuner) arm() {
	runtime.AddCleanup(new(sentinel), func(t *tuner) {
		if t.floor.Load() == 0 {
			return
		}
		t.adjust()
		t.arm()
	}, t)
}

func (t *tuner) adjust() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.aside.Load() > 0 {
		debug.SetGCPercent(asidePercent)
		return
	}
	metrics.Read(t.live)
	debug.SetGCPercent(Percent(t.live[0].Value.Uint64(), t.floor.Load()))
}

// Percent is the GOGC that gives a heap of live bytes a goal of about floor
// bytes, and never less than Go's default of 100. With GOGC=p the goal is
// live×(1+p/100), and at least 4 MiB×p/100, so p is bounded by both.
func Percent(live, floor uint64) int {
	if live == 0 || 2*live >= floor {
		return 100
	}
	p := min((floor-live)*100/live, floor*100/minimumHeap)
	return max(int(p), 100)
}
