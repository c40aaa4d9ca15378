package sqlstore

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func testFlowFloor(t *testing.T, required bool) *FlowFloor {
	t.Helper()
	path := filepath.Join(t.TempDir(), "floor.db")
	f, err := openFlowFloor(t.Context(), path, required)
	if err != nil {
		t.Fatalf("openFlowFloor: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// Both floors keep a code's single use and expiry, as a node does, or the
// floor they measure would skip work every design must do.
func TestFlowFloorRedeemsOnce(t *testing.T) {
	t.Run("minimal", func(t *testing.T) { testFlowFloorRedeemsOnce(t, false, "flow_floor_tokens") })
	t.Run("required", func(t *testing.T) { testFlowFloorRedeemsOnce(t, true, "flow_required_tokens") })
}

func floorCode(b byte, expires time.Time) FloorCode {
	return FloorCode{Hash: []byte{'c', b}, ClientID: "c", UserID: "u", RedirectURI: "http://127.0.0.1:9/cb",
		Challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", Scope: "READ", ExpiresAt: expires}
}

// floorDecide decides a consent page of its own for the code hashed b.
func floorDecide(ctx context.Context, f *FlowFloor, b byte, expires time.Time) error {
	return f.Decide(ctx, []byte{'p', b}, floorCode(b, expires))
}

func testFlowFloorRedeemsOnce(t *testing.T, required bool, tokens string) {
	ctx := t.Context()
	f := testFlowFloor(t, required)
	now := time.Now()
	if err := floorDecide(ctx, f, 1, now.Add(time.Minute)); err != nil {
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
	if err := floorDecide(ctx, f, 2, now.Add(-time.Second)); err != nil {
		t.Fatalf("Decide: %v", err)
	}
	if err := f.Exchange(ctx, []byte("c\x02"), []byte("a4"), []byte("r4"), now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired code: %v, want ErrNotFound", err)
	}
	// A code stored twice is refused, not overwritten.
	if err := f.Decide(ctx, []byte("another page"), floorCode(1, now.Add(time.Minute))); err == nil {
		t.Error("a code's hash stored twice")
	}
	// Only the first exchange stored its tokens.
	if n := count(t, f, `SELECT count(*) FROM `+tokens); n != 2 {
		t.Errorf("tokens stored: %d, want 2", n)
	}

	// Eight exchanges of one code at once: one wins.
	if err := floorDecide(ctx, f, 3, now.Add(time.Minute)); err != nil {
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

func count(t *testing.T, f *FlowFloor, query string) int {
	t.Helper()
	var n int
	if err := f.s.r.QueryRowContext(t.Context(), query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// The required floor also decides a consent page once, audits each Allow,
// binds tokens to their user, client and scope, and holds a user to the
// refresh cap, revoking the oldest pairs beyond it.
func TestRequiredFlowFloor(t *testing.T) {
	ctx := t.Context()
	f := testFlowFloor(t, true)
	now := time.Now()
	const flows = floorRefreshCap + 5
	for i := range flows {
		b := byte(i)
		if err := floorDecide(ctx, f, b, now.Add(time.Minute)); err != nil {
			t.Fatalf("Decide: %v", err)
		}
		at := now.Add(time.Duration(i) * time.Millisecond)
		if err := f.Exchange(ctx, []byte{'c', b}, []byte{'a', b}, []byte{'r', b}, at); err != nil {
			t.Fatalf("Exchange: %v", err)
		}
	}
	if err := f.Decide(ctx, []byte{'p', 0}, floorCode(200, now.Add(time.Minute))); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a consent page decided twice: %v, want ErrNotFound", err)
	}
	if n := count(t, f, `SELECT count(*) FROM flow_required_codes WHERE hash = x'63c8'`); n != 0 {
		t.Errorf("the second decision stored its code")
	}
	if n := count(t, f, `SELECT count(*) FROM flow_required_audit WHERE kind = 'consent.allow' AND actor = 'u' AND client_id = 'c'`); n != flows {
		t.Errorf("%d audit rows after %d Allows", n, flows)
	}
	if n := count(t, f, `SELECT count(*) FROM flow_required_tokens WHERE user_id = 'u' AND client_id = 'c' AND scope = 'READ'`); n != 2*flows {
		t.Errorf("%d tokens bound to the code's user, client and scope, want %d", n, 2*flows)
	}
	live := `SELECT count(*) FROM flow_required_tokens WHERE kind = 'refresh' AND revoked_at = 0`
	if n := count(t, f, live); n != floorRefreshCap {
		t.Errorf("%d live refresh tokens after %d flows, want the cap's %d", n, flows, floorRefreshCap)
	}
	// The oldest five pairs are the revoked ones, access tokens included.
	if n := count(t, f, `SELECT count(*) FROM flow_required_tokens WHERE revoked_at <> 0 AND hex(substr(hash, 2, 1)) < '05'`); n != 10 {
		t.Errorf("%d tokens of the oldest five pairs revoked, want 10", n)
	}
	if n := count(t, f, `SELECT count(*) FROM flow_required_tokens WHERE revoked_at <> 0`); n != 10 {
		t.Errorf("%d tokens revoked, want the oldest five pairs' 10", n)
	}
}

// The floors' writes are flushed as a node's are: the decision is answered
// before its flush, the exchange after one of its own.
func TestFlowFloorFlushes(t *testing.T) {
	t.Run("minimal", func(t *testing.T) { testFlowFloorFlushes(t, false) })
	t.Run("required", func(t *testing.T) { testFlowFloorFlushes(t, true) })
}

func testFlowFloorFlushes(t *testing.T, required bool) {
	requireSyncCount(t)
	ctx := t.Context()
	f := testFlowFloor(t, required)
	now := time.Now()
	const n = 20
	before := syncs()
	for i := range n {
		if err := floorDecide(ctx, f, byte(i), now.Add(time.Minute)); err != nil {
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
