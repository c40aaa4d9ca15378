package store_test

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// newCached returns the SQLite store itself (standing for another node) and
// the cached view of it this node uses.
func newCached(t *testing.T, ttl time.Duration) (*sqlstore.Store, store.Store, *fakeClock) {
	t.Helper()
	raw, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	clock := &fakeClock{t: time.UnixMilli(1_767_225_600_000)}
	return raw, store.NewClientCache(raw, ttl, clock.now), clock
}

func TestClientCacheServesWithinTTLAndRereadsAfter(t *testing.T) {
	raw, cached, clock := newCached(t, time.Second)
	ctx := t.Context()
	c := store.Client{ID: "c1", Name: "before", Enabled: true, CreatedAt: clock.now()}
	if err := raw.CreateClient(ctx, c, 0); err != nil {
		t.Fatal(err)
	}
	if got, err := cached.ClientByID(ctx, "c1"); err != nil || got.Name != "before" {
		t.Fatalf("first read: %+v, %v", got, err)
	}
	// Another node disables it: this node may serve the old row until the TTL ends.
	if _, err := raw.UpdateClient(ctx, "c1", func(c *store.Client) error {
		c.Name, c.Enabled = "after", false
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got, _ := cached.ClientByID(ctx, "c1"); got.Name != "before" {
		t.Fatalf("within the TTL the cached row is served, got %q", got.Name)
	}
	clock.add(time.Second)
	if got, _ := cached.ClientByID(ctx, "c1"); got.Name != "after" || got.Enabled {
		t.Fatalf("after the TTL the new row must be read, got %+v", got)
	}
}

func TestClientCacheLocalChangesApplyAtOnce(t *testing.T) {
	_, cached, clock := newCached(t, time.Hour)
	ctx := t.Context()
	c := store.Client{ID: "c1", Name: "one", Enabled: true, CreatedAt: clock.now()}
	if err := cached.CreateClient(ctx, c, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := cached.ClientByID(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := cached.UpdateClient(ctx, "c1", func(c *store.Client) error { c.Enabled = false; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, _ := cached.ClientByID(ctx, "c1"); got.Enabled {
		t.Fatal("a disable made on this node must apply at once")
	}
	if err := cached.SetClientLogo(ctx, "c1", []byte("png"), "image/png"); err != nil {
		t.Fatal(err)
	}
	if got, _ := cached.ClientByID(ctx, "c1"); !got.HasLogo {
		t.Fatal("a logo set on this node must show at once")
	}
	if err := cached.DeleteClient(ctx, "c1", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cached.ClientByID(ctx, "c1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a deleted client must be gone at once, got %v", err)
	}
}

// A change made on this node applies to the row as stored, not to the copy
// this node caches: another node's rotated secret survives an edit here.
func TestClientCacheUpdateReadsTheStoredRow(t *testing.T) {
	raw, cached, clock := newCached(t, time.Hour)
	ctx := t.Context()
	c := store.Client{ID: "c1", Name: "one", SecretHash: []byte("old"), Enabled: true, CreatedAt: clock.now()}
	if err := raw.CreateClient(ctx, c, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := cached.ClientByID(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.UpdateClient(ctx, "c1", func(c *store.Client) error { c.SecretHash = []byte("new"); return nil }); err != nil {
		t.Fatal(err)
	}
	var seen []byte
	got, err := cached.UpdateClient(ctx, "c1", func(c *store.Client) error {
		seen = c.SecretHash
		c.Name = "two"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(seen) != "new" || string(got.SecretHash) != "new" || got.Name != "two" {
		t.Fatalf("the change saw secret %q and stored %q (name %q); want the stored \"new\" kept", seen, got.SecretHash, got.Name)
	}
	if got, _ := cached.ClientByID(ctx, "c1"); string(got.SecretHash) != "new" || got.Name != "two" {
		t.Fatalf("after the change this node serves %+v", got)
	}
}

func TestClientCacheDoesNotCacheMisses(t *testing.T) {
	raw, cached, clock := newCached(t, time.Hour)
	ctx := t.Context()
	if _, err := cached.ClientByID(ctx, "c1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("want not found, got %v", err)
	}
	if err := raw.CreateClient(ctx, store.Client{ID: "c1", CreatedAt: clock.now()}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := cached.ClientByID(ctx, "c1"); err != nil {
		t.Fatalf("a client created elsewhere must be found at once: %v", err)
	}
}

func TestClientCacheIsBounded(t *testing.T) {
	raw, cached, clock := newCached(t, time.Hour)
	ctx := t.Context()
	const n = store.ClientCacheSize + 10
	for i := range n {
		id := "c" + time.Duration(i).String()
		if err := raw.CreateClient(ctx, store.Client{ID: id, Name: id, CreatedAt: clock.now()}, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := cached.ClientByID(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if got := cached.(*store.ClientCache).Len(); got > store.ClientCacheSize {
		t.Fatalf("cache holds %d entries, bound is %d", got, store.ClientCacheSize)
	}
}

func TestClientCacheOffWithZeroTTL(t *testing.T) {
	raw, cached, _ := newCached(t, 0)
	if cached != store.Store(raw) {
		t.Fatal("ttl 0 must return the store itself")
	}
}

// Reread reads past the cached copy and keeps what it read.
func TestClientCacheReread(t *testing.T) {
	raw, cached, clock := newCached(t, time.Second)
	ctx := t.Context()
	if err := raw.CreateClient(ctx, store.Client{ID: "c1", Name: "before", Enabled: true, CreatedAt: clock.now()}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := cached.ClientByID(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.UpdateClient(ctx, "c1", func(c *store.Client) error { c.Name = "after"; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, err := cached.(*store.ClientCache).Reread(ctx, "c1"); err != nil || got.Name != "after" {
		t.Fatalf("Reread = %+v, %v; want the stored row", got, err)
	}
	if got, _ := cached.ClientByID(ctx, "c1"); got.Name != "after" {
		t.Fatalf("after Reread the cache serves %q, want the row it read", got.Name)
	}
	if _, err := cached.(*store.ClientCache).Reread(ctx, "gone"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Reread of a missing application: %v", err)
	}
}
