package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// testPurgeBatches: Purge deletes at most limit rows per call, across kinds
// of rows, and repeated until a call comes back short it removes everything
// due and nothing live.
func testPurgeBatches(t *testing.T, s store.Store) {
	ctx := t.Context()
	addClient(t, s, "c1")
	now := at(48 * time.Hour)
	policy := store.PurgePolicy{RevokedRetention: time.Hour, RotatedRetention: time.Hour}
	code := func(name string, expires time.Time) []byte {
		c := store.Code{Hash: hash(name), ClientID: "c1", GrantID: "g-" + name, CreatedAt: t0, ExpiresAt: expires}
		if err := s.CreateCode(ctx, c); err != nil {
			t.Fatalf("CreateCode: %v", err)
		}
		return c.Hash
	}
	var dueCodes, dueTokens [][]byte
	for i := range 5 {
		dueCodes = append(dueCodes, code(fmt.Sprint("code-due-", i), now.Add(-2*time.Hour))) // past RevokedRetention
	}
	liveCode := code("code-live", now.Add(time.Minute))
	for i := range 4 {
		name := fmt.Sprint("token-due-", i)
		issue(t, s, store.Issue{Access: store.Token{Hash: hash(name), Kind: store.KindAccess, GrantID: "g-" + name, ClientID: "c1", CreatedAt: t0, ExpiresAt: now.Add(-2 * time.Hour)}})
		dueTokens = append(dueTokens, hash(name))
	}
	issue(t, s, store.Issue{Access: store.Token{Hash: hash("token-live"), Kind: store.KindAccess, GrantID: "g-live", ClientID: "c1", CreatedAt: t0, ExpiresAt: now.Add(time.Hour)}})
	for token, expiry := range map[string]time.Time{"s-due-1": now.Add(-time.Second), "s-due-2": now.Add(-time.Hour), "s-live": now.Add(time.Hour)} {
		if err := s.CommitSession(ctx, token, []byte(token), expiry); err != nil {
			t.Fatalf("CommitSession: %v", err)
		}
	}
	for key, start := range map[string]time.Time{"k-due": now.Add(-20 * time.Minute), "k-live": now.Add(-5 * time.Minute)} {
		if _, _, err := s.AddFailure(ctx, key, start, 15*time.Minute); err != nil {
			t.Fatalf("AddFailure: %v", err)
		}
	}
	const due = 5 + 4 + 2 + 1

	// The first batch stops at the limit: it takes four of the five codes.
	const limit = 4
	n, err := s.Purge(ctx, now, policy, limit)
	if err != nil || n != limit {
		t.Fatalf("first Purge(limit %d) = %d, %v; want %d", limit, n, err, limit)
	}
	left := 0
	for _, h := range dueCodes {
		_, err := s.CodeByHash(ctx, h)
		if err == nil {
			left++
		} else if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("CodeByHash: %v", err)
		}
	}
	if left != 1 {
		t.Errorf("after one batch of %d, %d of 5 due codes are left; want 1", limit, left)
	}

	// Batches go on until one comes back short; then nothing due is left.
	batches := []int64{n}
	for n == limit {
		if n, err = s.Purge(ctx, now, policy, limit); err != nil {
			t.Fatalf("Purge: %v", err)
		}
		batches = append(batches, n)
		if len(batches) > due {
			t.Fatalf("Purge never came back short: %v", batches)
		}
	}
	if want := []int64{4, 4, 4, 0}; !slices.Equal(batches, want) {
		t.Errorf("rows per batch %v, want %v (%d due)", batches, want, due)
	}
	for _, h := range dueCodes {
		_, err := s.CodeByHash(ctx, h)
		wantErr(t, "CodeByHash(due) after purging", err, store.ErrNotFound)
	}
	wantMissing(t, s, dueTokens...)
	for _, token := range []string{"s-due-1", "s-due-2"} {
		if _, found, err := s.FindSession(ctx, token, at(0)); err != nil || found {
			t.Errorf("FindSession(%s) after purging = %v, %v; want gone", token, found, err)
		}
	}
	if n, err := s.Failures(ctx, "k-due", now.Add(-20*time.Minute), 15*time.Minute); err != nil || n != 0 {
		t.Errorf("Failures(k-due) after purging = %d, %v; want 0", n, err)
	}

	// Live rows stay.
	if _, err := s.CodeByHash(ctx, liveCode); err != nil {
		t.Errorf("CodeByHash(live) after purging: %v", err)
	}
	if _, err := s.TokenByHash(ctx, hash("token-live")); err != nil {
		t.Errorf("TokenByHash(live) after purging: %v", err)
	}
	if _, found, err := s.FindSession(ctx, "s-live", now); err != nil || !found {
		t.Errorf("FindSession(live) after purging = %v, %v; want found", found, err)
	}
	if n, err := s.Failures(ctx, "k-live", now, 15*time.Minute); err != nil || n != 1 {
		t.Errorf("Failures(live) after purging = %d, %v; want 1", n, err)
	}

	if _, err := s.Purge(ctx, now, policy, 0); err == nil {
		t.Error("Purge with limit 0 succeeded; want an error")
	}
}
