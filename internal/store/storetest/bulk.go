package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// bulkPairs is how many token pairs the bulk cases give one application or
// user: more rows than fit in two of store.BulkBatch.
const bulkPairs = store.BulkBatch + store.BulkBatch/4

// issueMany stores n pairs named prefix-i from a few goroutines, so that
// SQLite's group commit stores them in shared transactions.
func issueMany(t *testing.T, s store.Store, n int, prefix, client, user string) []string {
	t.Helper()
	names := make([]string, n)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				names[i] = fmt.Sprintf("%s-%d", prefix, i)
				if err := s.IssueTokens(t.Context(), pair(names[i], "g-"+names[i], client, user, t0)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatalf("IssueTokens: %v", err)
	}
	return names
}

func hashesOf(names []string) [][]byte {
	var hs [][]byte
	for _, name := range names {
		hs = append(hs, accessOf(name), refreshOf(name))
	}
	return hs
}

// batches records what a bulk change's observer saw; between(i) runs at
// each batch, outside the change's transactions.
type batches struct {
	t       *testing.T
	rows    []int64
	between func(i int)
}

func (b *batches) observe(rows int64) {
	b.rows = append(b.rows, rows)
	if b.between != nil {
		b.between(len(b.rows) - 1)
	}
}

// check wants total rows in batches of at most store.BulkBatch each.
func (b *batches) check(total int64) {
	b.t.Helper()
	var sum int64
	for _, n := range b.rows {
		if n > store.BulkBatch {
			b.t.Errorf("a batch changed %d rows; want at most %d (batches %v)", n, store.BulkBatch, b.rows)
		}
		sum += n
	}
	if sum != total || int64(len(b.rows)) < (total+store.BulkBatch-1)/store.BulkBatch {
		b.t.Errorf("batches %v change %d rows; want %d in batches of at most %d", b.rows, sum, total, store.BulkBatch)
	}
}

// testDeleteClientInBatches: deleting an application with thousands of
// tokens makes them all unusable in its first transaction, deletes them in
// bounded transactions between which other writes go through, and returns
// once none is left.
func testDeleteClientInBatches(t *testing.T, raw store.Store) {
	ctx := t.Context()
	// Through the application cache a node reads them with, primed: the
	// deleting node sees the application disabled from the first
	// transaction on, not its cached copy until the last batch is done.
	s := store.NewClientCache(raw, time.Hour, nil)
	addClient(t, s, "big")
	addClient(t, s, "other")
	names := issueMany(t, s, bulkPairs, "big", "big", "u1")
	if c, err := s.ClientByID(ctx, "big"); err != nil || !c.Enabled {
		t.Fatalf("priming the cache: %+v, %v", c, err)
	}
	code := store.Code{Hash: hash("code-big"), ClientID: "big", UserID: "u1", GrantID: "gc", CreatedAt: t0, ExpiresAt: at(time.Hour)}
	if err := s.CreateCode(ctx, code); err != nil {
		t.Fatalf("CreateCode: %v", err)
	}
	var between []string
	b := &batches{t: t}
	b.between = func(i int) {
		// Between two batches: the application no longer lets a token be
		// used, its codes are gone, and another write commits at once.
		c, err := s.ClientByID(ctx, "big")
		if err == nil && c.Enabled {
			t.Errorf("batch %d: the application being deleted is still enabled", i)
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Errorf("batch %d: ClientByID: %v", i, err)
		}
		if _, err := s.CodeByHash(ctx, code.Hash); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("batch %d: the deleted application's code is still there (%v)", i, err)
		}
		name := fmt.Sprint("between-", i)
		if err := s.IssueTokens(ctx, pair(name, "g-"+name, "other", "u1", t0)); err != nil {
			t.Errorf("batch %d: a write between batches: %v", i, err)
		}
		between = append(between, name)
	}
	if err := s.DeleteClient(store.WithBatchObserver(ctx, b.observe), "big", nil); err != nil {
		t.Fatalf("DeleteClient: %v", err)
	}
	b.check(2 * bulkPairs)
	if len(between) < 2 {
		t.Errorf("%d writes went between the batches; want one per batch", len(between))
	}
	_, err := s.ClientByID(ctx, "big")
	wantErr(t, "ClientByID after delete", err, store.ErrNotFound)
	wantMissing(t, s, hashesOf(names)...)
	wantActive(t, s, t0, true, hashesOf(between)...)
}

// testDeleteClientCutShort: a deletion cut short after its first batch
// leaves an application that lets no token be used, cannot be enabled
// again and is listed as deleting; deleting it again finishes the work, also
// when two try at once (the janitor and an administrator): neither fails
// for the other having finished it.
func testDeleteClientCutShort(t *testing.T, s store.Store) {
	addClient(t, s, "big")
	names := issueMany(t, s, bulkPairs, "big", "big", "u1")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	b := &batches{t: t, between: func(int) { cancel() }} // a crash after the first batch
	if err := s.DeleteClient(store.WithBatchObserver(ctx, b.observe), "big", nil); err == nil {
		t.Fatal("DeleteClient cut short returned no error")
	}
	ctx = t.Context()
	left := 0
	for _, h := range hashesOf(names) {
		if _, err := s.TokenByHash(ctx, h); err == nil {
			left++
		}
	}
	if left == 0 || left == len(names)*2 {
		t.Fatalf("%d of %d tokens left after one batch; want some", left, len(names)*2)
	}
	if c := client(t, s, "big"); c.Enabled {
		t.Error("an application whose deletion was cut short is enabled")
	}
	_, err := s.UpdateClient(ctx, "big", func(c *store.Client) error { c.Enabled = true; return nil })
	wantErr(t, "enabling an application whose deletion was cut short", err, store.ErrNotFound)
	err = s.SetClientLogo(ctx, "big", []byte("\x89PNG"), "image/png")
	wantErr(t, "a logo for an application whose deletion was cut short", err, store.ErrNotFound)
	if c := client(t, s, "big"); c.Enabled {
		t.Error("an application whose deletion was cut short was enabled again")
	}
	addClient(t, s, "other")
	if ids, err := s.DeletingClients(ctx); err != nil || !slices.Equal(ids, []string{"big"}) {
		t.Fatalf("DeletingClients = %v, %v; want [big]", ids, err)
	}
	// Each of two at once finishes it, or finds it gone if the other
	// finished before it began.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() { errs[i] = s.DeleteClient(ctx, "big", nil) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil && (!errors.Is(err, store.ErrNotFound) || errs[1-i] != nil) {
			t.Errorf("DeleteClient again, two at once: %v", errs)
			break
		}
	}
	_, err = s.ClientByID(ctx, "big")
	wantErr(t, "ClientByID after the second delete", err, store.ErrNotFound)
	wantMissing(t, s, hashesOf(names)...)
	if ids, err := s.DeletingClients(ctx); err != nil || len(ids) != 0 {
		t.Fatalf("DeletingClients after the deletion finished = %v, %v; want none", ids, err)
	}
	if err := s.DeleteClient(ctx, "big", nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting a deleted application: %v, want ErrNotFound", err)
	}
}

// testDisableInBatches: disabling a user with thousands of tokens refuses
// them all in its first transaction (the user's flag, which every use
// reads), revokes them in bounded transactions between which other writes
// go through, and returns once every one is revoked; enabling the user
// again revives none.
func testDisableInBatches(t *testing.T, s store.Store) {
	ctx := t.Context()
	addClient(t, s, "c1")
	addClient(t, s, "c2")
	for _, id := range []string{"u1", "u2"} {
		if err := s.CreateUser(ctx, store.User{ID: id, Username: id, CreatedAt: t0, UpdatedAt: t0}); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
	}
	names := issueMany(t, s, bulkPairs-10, "mine", "c1", "u1")
	names = append(names, issueMany(t, s, 10, "mine-c2", "c2", "u1")...)
	theirs := issueMany(t, s, 3, "theirs", "c1", "u2")
	now := at(time.Minute)
	var between []string
	b := &batches{t: t}
	b.between = func(i int) {
		for _, h := range [][]byte{accessOf(names[0]), refreshOf(names[len(names)-1])} {
			tok, u, err := s.TokenWithUser(ctx, h)
			if err != nil || (tok.Active(now) && (u == nil || !u.Disabled)) {
				t.Errorf("batch %d: a token of the user being disabled is usable (user %+v, %v)", i, u, err)
			}
		}
		name := fmt.Sprint("between-", i)
		if err := s.IssueTokens(ctx, pair(name, "g-"+name, "c1", "u2", now)); err != nil {
			t.Errorf("batch %d: a write between batches: %v", i, err)
		}
		between = append(between, name)
	}
	disable := func(u *store.User) error { u.Disabled, u.UpdatedAt = true, now; return nil }
	if _, err := s.UpdateUser(store.WithBatchObserver(ctx, b.observe), "u1", disable); err != nil {
		t.Fatalf("disable: %v", err)
	}
	b.check(2 * bulkPairs)
	if len(between) < 2 {
		t.Errorf("%d writes went between the batches; want one per batch", len(between))
	}
	wantActive(t, s, now, false, hashesOf(names)...)
	for _, h := range hashesOf(names) {
		if r := token(t, s, h).RevokedAt; !r.Equal(now) {
			t.Fatalf("RevokedAt = %v; want %v", r, now)
		}
	}
	wantActive(t, s, now, true, hashesOf(theirs)...)
	wantActive(t, s, now, true, hashesOf(between)...)
	if _, err := s.UpdateUser(ctx, "u1", func(u *store.User) error { u.Disabled = false; return nil }); err != nil {
		t.Fatalf("enable: %v", err)
	}
	wantActive(t, s, now, false, hashesOf(names)...)
}

// testDisableCutShort: a disabling cut short after its first batch leaves
// the user disabled, so every token of theirs is refused; enabling them
// again, or disabling them again, first revokes what is left.
func testDisableCutShort(t *testing.T, s store.Store) {
	addClient(t, s, "c1")
	now := at(time.Minute)
	for _, again := range []string{"enable", "disable"} {
		t.Run(again, func(t *testing.T) {
			user := "u-" + again
			if err := s.CreateUser(t.Context(), store.User{ID: user, Username: user, CreatedAt: t0, UpdatedAt: t0}); err != nil {
				t.Fatalf("CreateUser: %v", err)
			}
			names := issueMany(t, s, bulkPairs, user, "c1", user)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			b := &batches{t: t, between: func(int) { cancel() }} // a crash after the first batch
			_, err := s.UpdateUser(store.WithBatchObserver(ctx, b.observe), user, func(u *store.User) error { u.Disabled, u.UpdatedAt = true, now; return nil })
			if err == nil {
				t.Fatal("a disabling cut short returned no error")
			}
			ctx = t.Context()
			if u, err := s.UserByID(ctx, user); err != nil || !u.Disabled {
				t.Fatalf("after a disabling cut short the user is %+v, %v; want disabled", u, err)
			}
			live := 0
			for _, h := range hashesOf(names) {
				tok, u, err := s.TokenWithUser(ctx, h)
				if err != nil || u == nil || !u.Disabled {
					t.Fatalf("TokenWithUser = %+v, %v; want the user disabled", u, err)
				}
				if tok.Active(now) {
					live++
				}
			}
			if live == 0 {
				t.Fatal("a disabling cut short after one batch revoked every token; the case tests nothing")
			}
			_, err = s.UpdateUser(ctx, user, func(u *store.User) error {
				u.Disabled = again == "disable"
				return nil
			})
			if err != nil {
				t.Fatalf("%s again: %v", again, err)
			}
			wantActive(t, s, now, false, hashesOf(names)...)
		})
	}
}
