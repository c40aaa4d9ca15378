package heapfloor

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	const mib = 1 << 20
	cases := []struct {
		live, floor uint64
		want        int
	}{
		{0, 12 * mib, 100},            // nothing measured yet
		{mib + mib/2, 12 * mib, 300},  // bounded by the runtime's minimum: 4 MiB × 3 = 12
		{3 * mib, 12 * mib, 300},      // 3 × (1 + 3) = 12
		{5 * mib, 12 * mib, 140},      // 5 × 2.4 = 12
		{6 * mib, 12 * mib, 100},      // twice the live heap reaches the floor
		{200 * mib, 12 * mib, 100},    // a big heap: Go's default
		{mib, 64 * mib, 1600},         // a higher floor allows more, still within 4 MiB × p
		{11 * mib / 2, 12 * mib, 118}, // just under half the floor
	}
	for _, c := range cases {
		if got := Percent(c.live, c.floor); got != c.want {
			t.Errorf("Percent(%d MiB, %d MiB) = %d, want %d", c.live/mib, c.floor/mib, got, c.want)
		}
	}
}

// After a collection the tuner has set GOGC for this test's small heap,
// and sets it again after the next one (it re-arms itself); set aside, it
// gives asidePercent at once and through collections until every holder
// has released it. (One test: two armed tuners in a process would fight.)
func TestTunerAdjustsAfterEveryCollectionAndSetsAside(t *testing.T) {
	gogc := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	read := func() uint64 { metrics.Read(gogc); return gogc[0].Value.Uint64() }
	waitFor := func(want uint64) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			runtime.GC()
			if read() == want {
				return
			}
		}
		t.Fatalf("GOGC is %d, want %d", read(), want)
	}
	tn := newTuner(12 << 20)
	tn.arm()
	// A floor of 0 stops the tuner, so that -count=N runs one at a time.
	t.Cleanup(func() { tn.floor.Store(0) })
	waitFor(300) // this test's live heap is well under 3 MiB

	release := tn.setAside()
	if got := read(); got != asidePercent {
		t.Fatalf("set aside: GOGC is %d, want %d before any collection", got, asidePercent)
	}
	runtime.GC()
	runtime.GC()
	if got := read(); got != asidePercent {
		t.Fatalf("set aside: GOGC is %d after collections, want %d", got, asidePercent)
	}
	second := tn.setAside()
	release()
	release() // a second call changes nothing
	if got := read(); got != asidePercent {
		t.Fatalf("one holder left: GOGC is %d, want %d", got, asidePercent)
	}
	second()
	if got := read(); got != 300 {
		t.Fatalf("released: GOGC is %d, want the floor's 300 at once", got)
	}

	tn.floor.Store(1 << 20)
	waitFor(100) // a floor under twice the live heap: Go's default again
}

// Without a kept floor (GOGC set, or not serving) SetAside changes nothing.
func TestSetAsideWithoutKeep(t *testing.T) {
	before := debug.SetGCPercent(137)
	defer debug.SetGCPercent(before)
	release := SetAside()
	release()
	if got := debug.SetGCPercent(137); got != 137 {
		t.Errorf("GOGC is %d, want the 137 set before", got)
	}
}
