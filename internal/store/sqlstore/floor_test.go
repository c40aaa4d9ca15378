package sqlstore

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func openFlowFloor(t *testing.T) *FlowFloor {
	t.Helper()
	path := filepath.Join(t.TempDir(), "floor.db")
	f, err := OpenFlowFloor(t.Context(), path)
	if err != nil {
		t.Fatalf("OpenFlowFloor: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// The floor keeps a code's single use and expiry, as a node does, or the
// floor it measures would skip work every design must do.
func TestFlowFloorRedeemsOnce(t *testing.T) {
	ctx := t.Context()
	f := openFlowFloor(t)
	now := time.Now()
	code := func(b byte, expires time.Time) FloorCode {
		return FloorCode{Hash: []byte{'c', b}, ClientID: "c", UserID: "u", RedirectURI: "http://127.0.0.1:9/cb",
			Challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", Scope: "READ", ExpiresAt: expires}
	}
	if err := f.Decide(ctx, code(1, now.Add(time.Minute))); err != nil {
		t.Fatalf("Decide: %v", err)
	}
	if err := f.Exchange(ctx, []byte("c\x01"), []byte("a1"), []byte("r1"), now); err != nil {
		t.Fatalf("first exchange: %v", err)
	}
	if err := f.Exchange(ctx, []byte("c\x01"), []byte("a2"), []byte("r2"), now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second exchange: %v, want ErrNotFound", err)
	}
	if err := f.Exchange(ctx, []byte("unknown"), []byte("a3"), []byte("r3"), now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown code: %v, want ErrNotFound", err)
	}
	if err := f.Decide(ctx, code(2, now.Add(-time.Second))); err != nil {
		t.Fatalf("Decide: %v", err)
	}
	if err := f.Exchange(ctx, []byte("c\x02"), []byte("a4"), []byte("r4"), now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired code: %v, want ErrNotFound", err)
	}
	// A code stored twice is refused, not overwritten.
	if err := f.Decide(ctx, code(1, now.Add(time.Minute))); err == nil {
		t.Error("a code's hash stored twice")
	}
	// Only the first exchange stored its tokens.
	var n int
	if err := f.s.r.QueryRowContext(ctx, `SELECT count(*) FROM flow_floor_tokens`).Scan(&n); err != nil || n != 2 {
		t.Errorf("tokens stored: %d (%v), want 2", n, err)
	}

	// Eight exchanges of one code at once: one wins.
	if err := f.Decide(ctx, code(3, now.Add(time.Minute))); err != nil {
		t.Fatalf("Decide: %v", err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			errs[i] = f.Exchange(ctx, []byte("c\x03"), []byte{'a', 'x', byte(i)}, []byte{'r', 'x', byte(i)}, now)
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrNotFound):
			t.Errorf("concurrent exchange: %v", err)
		}
	}
	if won != 1 {
		t.Errorf("%d of 8 concurrent exchanges of one code succeeded, want 1", won)
	}
}

// The floor's writes are flushed as a node's are: the decision is answered
// before its flush, the exchange after one of its own.
func TestFlowFloorFlushes(t *testing.T) {
	requireSyncCount(t)
	ctx := t.Context()
	f := openFlowFloor(t)
	now := time.Now()
	const n = 20
	before := syncs()
	for i := range n {
		if err := f.Decide(ctx, FloorCode{Hash: []byte{'c', byte(i)}, ExpiresAt: now.Add(time.Minute)}); err != nil {
			t.Fatalf("Decide: %v", err)
		}
	}
	// The checkpointer (every 100 ms, a WAL and a database sync) may run meanwhile.
	if got := syncs() - before; got > 4 {
		t.Errorf("%d decisions made %d fsyncs; want them answered unflushed", n, got)
	}
	before = syncs()
	for i := range n {
		if err := f.Exchange(ctx, []byte{'c', byte(i)}, []byte{'a', byte(i)}, []byte{'r', byte(i)}, now); err != nil {
			t.Fatalf("Exchange: %v", err)
		}
	}
	if got := syncs() - before; got < n {
		t.Errorf("%d exchanges one after another made %d fsyncs; want each flushed", n, got)
	}
}
