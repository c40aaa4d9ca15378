package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/user"
)

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// openNodes opens n nodes on one data directory, as a cluster shares one database.
func openNodes(t *testing.T, n int, clk *testClock) []*Gatehouse {
	t.Helper()
	cfg := devConfig(t)
	var nodes []*Gatehouse
	for range n {
		g, err := Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)),
			Options{Now: clk.Now, Argon2: &user.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { g.Close() })
		nodes = append(nodes, g)
	}
	return nodes
}

// createJanitorApp registers the application whose rows a janitor test purges.
func createJanitorApp(t *testing.T, g *Gatehouse) store.Client {
	t.Helper()
	c, _, err := g.Apps.Create(context.Background(), app.Registration{Name: "a", RedirectURIs: []string{"https://a.example.com/cb"}, Scopes: []string{"READ"}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestJanitorPurgesExpiredRows(t *testing.T) {
	clk := &testClock{t: time.Now()}
	g := openNodes(t, 1, clk)[0]
	ctx := context.Background()
	c := createJanitorApp(t, g)
	now := clk.Now()
	token := func(hash string, expires time.Time) store.Token {
		return store.Token{Hash: []byte(hash), Kind: store.KindAccess, GrantID: hash, ClientID: c.ID, Scope: "READ", CreatedAt: now, GrantedAt: now, ExpiresAt: expires}
	}
	if err := g.Store.IssueTokens(ctx, store.Issue{Access: token("short", now.Add(time.Minute))}); err != nil {
		t.Fatal(err)
	}
	if err := g.Store.IssueTokens(ctx, store.Issue{Access: token("long", now.Add(72*time.Hour))}); err != nil {
		t.Fatal(err)
	}
	if err := g.Store.CreateCode(ctx, store.Code{Hash: []byte("code"), ClientID: c.ID, GrantID: "g", CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	// Past expiry plus the retention of expired tokens (24h by default).
	clk.Advance(25 * time.Hour)
	if !g.PurgeOnce(ctx) {
		t.Fatal("the only node did not get the janitor lease")
	}
	if _, err := g.Store.TokenByHash(ctx, []byte("short")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired token not purged: %v", err)
	}
	if _, err := g.Store.CodeByHash(ctx, []byte("code")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired code not purged: %v", err)
	}
	if _, err := g.Store.TokenByHash(ctx, []byte("long")); err != nil {
		t.Fatalf("live token purged: %v", err)
	}
}

// TestJanitorPurgesAuditEventsPastTheirRetention: audit events stay
// forever by default; with janitor.audit_retention the janitor deletes
// those older than it.
func TestJanitorPurgesAuditEventsPastTheirRetention(t *testing.T) {
	clk := &testClock{t: time.Now()}
	g := openNodes(t, 1, clk)[0]
	ctx := context.Background()
	record := func(actor string) {
		if err := g.Store.RecordAudit(ctx, store.AuditEvent{At: clk.Now(), Kind: audit.ClientCreate, Actor: actor}); err != nil {
			t.Fatal(err)
		}
	}
	actors := func() []string {
		events, err := g.Store.ListAudit(ctx, store.AuditFilter{Kind: audit.ClientCreate})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range events {
			got = append(got, e.Actor)
		}
		return got
	}
	record("older")
	clk.Advance(30 * time.Hour)
	record("newer")
	clk.Advance(30 * time.Hour) // the first 60 hours old, the second 30
	if !g.PurgeOnce(ctx) {
		t.Fatal("the only node did not get the janitor lease")
	}
	if got := actors(); len(got) != 2 {
		t.Fatalf("without an audit retention the janitor left %v of 2 events", got)
	}
	g.Config.Janitor.AuditRetention = 48 * time.Hour
	clk.Advance(g.Config.Janitor.Interval * 2) // the lease has run out
	if !g.PurgeOnce(ctx) {
		t.Fatal("the only node did not get the janitor lease")
	}
	if got := actors(); len(got) != 1 || got[0] != "newer" {
		t.Fatalf("events left: %v, want only the one 30 hours old", got)
	}
}

func TestJanitorRunsOnOneNodeAtATime(t *testing.T) {
	clk := &testClock{t: time.Now()}
	nodes := openNodes(t, 2, clk)
	ctx := context.Background()
	if !nodes[0].PurgeOnce(ctx) {
		t.Fatal("first node did not get the lease")
	}
	if nodes[1].PurgeOnce(ctx) {
		t.Fatal("second node ran while the first held the lease")
	}
	if !nodes[0].PurgeOnce(ctx) {
		t.Fatal("the holder could not renew its lease")
	}
	// The holder dies: after the lease runs out, the other node takes over.
	clk.Advance(nodes[0].Config.Janitor.Interval * 2)
	if !nodes[1].PurgeOnce(ctx) {
		t.Fatal("second node did not take over an expired lease")
	}
	if nodes[0].PurgeOnce(ctx) {
		t.Fatal("the old holder ran while the new one held the lease")
	}
}

// TestJanitorPurgesInBatches: with more rows due than one batch holds, one
// pass purges them all, a batch at a time, and keeps the live ones.
func TestJanitorPurgesInBatches(t *testing.T) {
	clk := &testClock{t: time.Now()}
	g := openNodes(t, 1, clk)[0]
	g.purgeBatch = 2
	var logs bytes.Buffer
	g.Log = slog.New(slog.NewTextHandler(&logs, nil))
	ctx := context.Background()
	c := createJanitorApp(t, g)
	now := clk.Now()
	issue := func(hash string, expires time.Time) {
		t.Helper()
		tok := store.Token{Hash: []byte(hash), Kind: store.KindAccess, GrantID: hash, ClientID: c.ID, Scope: "READ", CreatedAt: now, GrantedAt: now, ExpiresAt: expires}
		if err := g.Store.IssueTokens(ctx, store.Issue{Access: tok}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		issue(fmt.Sprint("short-", i), now.Add(time.Minute))
	}
	issue("long", now.Add(72*time.Hour))
	clk.Advance(25 * time.Hour)
	if !g.PurgeOnce(ctx) {
		t.Fatal("the only node did not get the janitor lease")
	}
	for i := range 5 {
		if _, err := g.Store.TokenByHash(ctx, []byte(fmt.Sprint("short-", i))); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("expired token %d not purged: %v", i, err)
		}
	}
	if _, err := g.Store.TokenByHash(ctx, []byte("long")); err != nil {
		t.Fatalf("live token purged: %v", err)
	}
	// 2 + 2 + 1: the short third batch ends the pass.
	if !strings.Contains(logs.String(), "rows=5 batches=3") {
		t.Errorf("janitor log %q; want rows=5 batches=3", logs.String())
	}
	var purged dto.Metric
	if err := g.nodeMetrics.purged.Write(&purged); err != nil || purged.GetCounter().GetValue() != 5 {
		t.Errorf("gatehouse_janitor_purged_rows_total = %v (%v); want 5", purged.GetCounter().GetValue(), err)
	}
}

// A node that stops gives its janitor lease back: another node purges at
// once, rather than 1.5 intervals later (7.5 minutes by default).
func TestStoppingNodeReleasesTheJanitorLease(t *testing.T) {
	clk := &testClock{t: time.Now()}
	nodes := openNodes(t, 2, clk)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- nodes[0].Serve(ctx, ln, nil) }()
	for deadline := time.Now().Add(5 * time.Second); !holdsJanitorLease(t, nodes[0]); {
		if time.Now().After(deadline) {
			t.Fatal("the serving node never took the janitor lease")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if nodes[1].PurgeOnce(context.Background()) {
		t.Fatal("the other node ran while the serving node held the lease")
	}
	stop()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if !nodes[1].PurgeOnce(context.Background()) {
		t.Fatal("the lease of a node that stopped was not given back")
	}
}

// holdsJanitorLease reports whether g holds the janitor lease now: a
// renewal by its own holder name succeeds only then, or when it is free.
func holdsJanitorLease(t *testing.T, g *Gatehouse) bool {
	t.Helper()
	other, err := g.Store.TryLock(context.Background(), janitorLock, "probe", g.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return !other
}

// stalledPurge is a store whose purge waits until its context ends, as one
// queued behind a lock another session holds.
type stalledPurge struct{ store.Store }

func (s stalledPurge) Purge(ctx context.Context, _ time.Time, _ store.PurgePolicy, _ int) (int64, error) {
	<-ctx.Done()
	return 0, ctx.Err()
}

// A janitor pass ends within its lease: a pass stalled on a lock went on
// after its lease had lapsed, so another node's janitor took the lease and
// queued behind the same lock, each holding a connection.
func TestJanitorPassEndsWithinItsLease(t *testing.T) {
	clk := &testClock{t: time.Now()}
	g := openNodes(t, 1, clk)[0]
	g.Config.Janitor.Interval = 200 * time.Millisecond // a lease of 300 ms
	g.Store = stalledPurge{g.Store}
	done := make(chan bool)
	go func() { done <- g.PurgeOnce(context.Background()) }()
	select {
	case ran := <-done:
		if !ran {
			t.Fatal("the only node did not get the janitor lease")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a stalled janitor pass outlived its lease by seconds")
	}
}

// recordedPurge is the store, each of whose purge batches is recorded and
// slowed down by slow, as on a large database whose deletes take long.
type recordedPurge struct {
	store.Store
	slow    time.Duration
	mu      sync.Mutex
	batches []purgeCall
}

type purgeCall struct {
	limit      int
	rows       int64
	start, end time.Time
}

func (s *recordedPurge) Purge(ctx context.Context, now time.Time, p store.PurgePolicy, limit int) (int64, error) {
	start := time.Now()
	time.Sleep(s.slow)
	n, err := s.Store.Purge(ctx, now, p, limit)
	s.mu.Lock()
	s.batches = append(s.batches, purgeCall{limit, n, start, time.Now()})
	s.mu.Unlock()
	return n, err
}

// TestJanitorPacesItsBatches: a pass over a backlog whose batches are slow
// keeps them small and rests between them, purgeRest times as long as each
// took, so that requests have the writer most of the time; and it still
// purges the whole backlog.
func TestJanitorPacesItsBatches(t *testing.T) {
	clk := &testClock{t: time.Now()}
	g := openNodes(t, 1, clk)[0]
	ctx := context.Background()
	c := createJanitorApp(t, g)
	now := clk.Now()
	const backlog = 3*purgeMinRows + 1
	for i := range backlog {
		tok := store.Token{Hash: fmt.Appendf(nil, "old-%d", i), Kind: store.KindAccess, GrantID: fmt.Sprint(i), ClientID: c.ID, Scope: "READ", CreatedAt: now, GrantedAt: now, ExpiresAt: now.Add(time.Minute)}
		if err := g.Store.IssueTokens(ctx, store.Issue{Access: tok}); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(25 * time.Hour)
	// Each batch takes four times the time a batch aims at.
	rec := &recordedPurge{Store: g.Store, slow: 4 * purgeBatchTime}
	g.Store = rec
	if !g.PurgeOnce(ctx) {
		t.Fatal("the only node did not get the janitor lease")
	}
	var rows int64
	for i, b := range rec.batches {
		rows += b.rows
		if b.limit != purgeMinRows {
			t.Errorf("batch %d asked for %d rows; want %d: slow batches are kept small", i, b.limit, purgeMinRows)
		}
		if i == 0 {
			continue
		}
		prev := rec.batches[i-1]
		if rest, took := b.start.Sub(prev.end), prev.end.Sub(prev.start); rest < purgeRest*took {
			t.Errorf("batch %d began %v after batch %d, which took %v; want a rest of at least %v", i, rest, i-1, took, purgeRest*took)
		}
	}
	if rows != backlog || len(rec.batches) != 4 {
		t.Errorf("%d rows in %d batches; want %d in 4", rows, len(rec.batches), backlog)
	}
}

func TestNextPurgeLimit(t *testing.T) {
	for _, c := range []struct {
		limit      int
		took       time.Duration
		most, want int
	}{
		{100, purgeBatchTime / 10, 1000, 200}, // fast: at most twice as many
		{100, purgeBatchTime / 2, 1000, 200},
		{100, purgeBatchTime, 1000, 100},
		{100, 4 * purgeBatchTime, 1000, 25}, // as many as fit in the time
		{100, time.Second, 1000, purgeMinRows},
		{800, 0, 1000, 1000},   // never more than the most
		{2, time.Second, 2, 2}, // nor fewer than the least, unless the most is lower
	} {
		if got := nextPurgeLimit(c.limit, c.took, c.most); got != c.want {
			t.Errorf("nextPurgeLimit(%d, %v, %d) = %d; want %d", c.limit, c.took, c.most, got, c.want)
		}
	}
}

// TestJanitorFinishesDeletionsCutShort: an application whose deletion was
// cut short between its batches is deleted by the janitor's second pass
// that finds it so (the first leaves it, as it would a deletion under way).
func TestJanitorFinishesDeletionsCutShort(t *testing.T) {
	clk := &testClock{t: time.Now()}
	g := openNodes(t, 1, clk)[0]
	ctx := context.Background()
	c := createJanitorApp(t, g)
	now := clk.Now()
	const tokens = store.BulkBatch + store.BulkBatch/4 // more than one batch
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < tokens; i += 16 {
				h := fmt.Sprint("t", i)
				tok := store.Token{Hash: []byte(h), Kind: store.KindAccess, GrantID: h, ClientID: c.ID, Scope: "READ", CreatedAt: now, GrantedAt: now, ExpiresAt: now.Add(time.Hour)}
				if err := g.Store.IssueTokens(ctx, store.Issue{Access: tok}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	cut, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := g.Store.DeleteClient(store.WithBatchObserver(cut, func(int64) { cancel() }), c.ID, nil); err == nil {
		t.Fatal("the deletion was not cut short")
	}
	left := 0
	for i := range tokens {
		if _, err := g.Store.TokenByHash(ctx, []byte(fmt.Sprint("t", i))); err == nil {
			left++
		}
	}
	if left == 0 {
		t.Fatal("no token left by the deletion cut short")
	}

	if !g.PurgeOnce(ctx) {
		t.Fatal("the only node did not get the janitor lease")
	}
	if _, err := g.Store.ClientByID(ctx, c.ID); err != nil {
		t.Fatalf("the first pass finished a deletion it had not seen before: %v", err)
	}
	g.PurgeOnce(ctx)
	if _, err := g.Store.ClientByID(ctx, c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the second pass left the application: %v", err)
	}
	for i := range tokens {
		if _, err := g.Store.TokenByHash(ctx, []byte(fmt.Sprint("t", i))); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("token %d outlived its application: %v", i, err)
		}
	}
	if ids, err := g.Store.DeletingClients(ctx); err != nil || len(ids) != 0 {
		t.Fatalf("still deleting: %v, %v", ids, err)
	}
}
