package sqlstore

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// The read cache must never change an answer: these tests read, change the
// row through this store or through another one on the same file (as the
// CLI, another process, would), and read again at once.

func openPath(t *testing.T, path string) *Store {
	t.Helper()
	s, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func cacheFixture(t *testing.T) (path string, s *Store) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "gatehouse.db")
	s = openPath(t, path)
	if s.cache == nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("no read cache: the sqlitevfs VFS is unavailable (Linux AIO refused?); with CI=true these tests fail rather than skip")
		}
		t.Skip("no read cache here (the sqlitevfs VFS is unavailable)")
	}
	ctx := t.Context()
	if err := s.CreateClient(ctx, store.Client{ID: "c", Name: "c", Enabled: true}, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, store.User{ID: "u", Username: "u", Level: store.LevelUser}); err != nil {
		t.Fatal(err)
	}
	return path, s
}

func tokenHash(label string) []byte {
	h := sha256.Sum256([]byte(label))
	return h[:]
}

func issuePair(t testing.TB, s *Store, name, grant string, now time.Time) (access, refresh []byte) {
	access, refresh = tokenHash(name+"/a"), tokenHash(name+"/r")
	a := store.Token{Hash: access, Kind: store.KindAccess, GrantID: grant, ClientID: "c", UserID: "u", Scope: "READ",
		CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	r := store.Token{Hash: refresh, Kind: store.KindRefresh, GrantID: grant, ClientID: "c", UserID: "u", Scope: "READ",
		CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour), AccessHash: access}
	if err := s.IssueTokens(t.Context(), store.Issue{Access: a, Refresh: &r}); err != nil {
		t.Fatal(err)
	}
	return access, refresh
}

// activeNow reads the token as a request does, from memory first
// (CachedTokenWithUser) and then through TokenWithUser: both must agree.
func activeNow(t testing.TB, s *Store, hash []byte, now time.Time) bool {
	t.Helper()
	ct, cu, cached := s.CachedTokenWithUser(hash)
	tok, u, err := s.TokenWithUser(t.Context(), hash)
	if errors.Is(err, store.ErrNotFound) {
		if cached {
			t.Fatal("CachedTokenWithUser found a token TokenWithUser does not")
		}
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	active := tok.Active(now) && u != nil && !u.Disabled
	if cached && (ct.Active(now) && cu != nil && !cu.Disabled) != active {
		t.Fatalf("CachedTokenWithUser says active=%v, TokenWithUser %v", !active, active)
	}
	return active
}

func TestReadCacheHitsAndSeesThisStoresWrites(t *testing.T) {
	_, s := cacheFixture(t)
	now := time.Now()
	access, refresh := issuePair(t, s, "t1", "g1", now)
	for range 3 {
		if !activeNow(t, s, access, now) {
			t.Fatal("fresh token inactive")
		}
	}
	if s.cache.hits.Load() < 4 {
		t.Fatalf("%d cache hits for three reads of one token, each from memory first, want 4", s.cache.hits.Load())
	}
	if _, u, ok := s.CachedTokenWithUser(access); !ok || u == nil || u.ID != "u" {
		t.Fatalf("CachedTokenWithUser after reads = %+v, %v; want the token and its user", u, ok)
	}
	misses := s.cache.misses.Load()
	if _, _, ok := s.CachedTokenWithUser(tokenHash("never issued")); ok || s.cache.misses.Load() != misses {
		t.Fatalf("CachedTokenWithUser of an unknown hash: ok %v, misses %d → %d; want not found and no miss counted (the read that follows counts it)",
			ok, misses, s.cache.misses.Load())
	}
	if err := s.RevokeToken(t.Context(), access, now); err != nil {
		t.Fatal(err)
	}
	if activeNow(t, s, access, now) {
		t.Fatal("revoked token still active")
	}
	// A rotation revokes the old pair.
	if !activeNow(t, s, refresh, now) {
		t.Fatal("refresh token inactive")
	}
	a2, r2 := tokenHash("t2/a"), tokenHash("t2/r")
	issue := store.Issue{
		Access:  store.Token{Hash: a2, Kind: store.KindAccess, GrantID: "g1", ClientID: "c", UserID: "u", CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
		Refresh: &store.Token{Hash: r2, Kind: store.KindRefresh, GrantID: "g1", ClientID: "c", UserID: "u", CreatedAt: now, ExpiresAt: now.Add(time.Hour), AccessHash: a2},
	}
	if err := s.RotateRefreshToken(t.Context(), refresh, now, store.ReuseGrace{}, issue); err != nil {
		t.Fatal(err)
	}
	if activeNow(t, s, refresh, now) {
		t.Fatal("rotated refresh token still active")
	}
	// A replay revokes the grant: the new pair too.
	if !activeNow(t, s, a2, now) {
		t.Fatal("new access token inactive")
	}
	if err := s.RotateRefreshToken(t.Context(), refresh, now, store.ReuseGrace{}, issue); !errors.Is(err, store.ErrTokenReused) {
		t.Fatalf("replay: %v", err)
	}
	if activeNow(t, s, a2, now) {
		t.Fatal("access token of a revoked grant still active")
	}
	// Disabling the user.
	a3, _ := issuePair(t, s, "t3", "g3", now)
	if !activeNow(t, s, a3, now) {
		t.Fatal("fresh token inactive")
	}
	if _, err := s.UpdateUser(t.Context(), "u", func(u *store.User) error { u.Disabled = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if activeNow(t, s, a3, now) {
		t.Fatal("token of a disabled user still active")
	}
	if u, err := s.UserByID(t.Context(), "u"); err != nil || !u.Disabled {
		t.Fatalf("UserByID after disabling: %+v %v", u, err)
	}
}

func TestReadCacheSeesAnotherProcesssWrites(t *testing.T) {
	path, s := cacheFixture(t)
	other := openPath(t, path) // as the CLI would: its own connections, its own committer
	ctx := t.Context()
	now := time.Now()

	access, _ := issuePair(t, s, "t1", "g1", now)
	activeNow(t, s, access, now)
	if !activeNow(t, s, access, now) {
		t.Fatal("fresh token inactive")
	}
	if _, err := other.RevokeGrant(ctx, "g1", now); err != nil {
		t.Fatal(err)
	}
	if activeNow(t, s, access, now) {
		t.Fatal("a grant revoked by another process is still active here")
	}

	if u, err := s.UserByID(ctx, "u"); err != nil || u.Level != store.LevelUser {
		t.Fatal(u, err)
	}
	if _, err := other.UpdateUser(ctx, "u", func(u *store.User) error { u.Level = store.LevelAdmin; return nil }); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.UserByID(ctx, "u"); u.Level != store.LevelAdmin {
		t.Fatal("a user changed by another process is stale here")
	}

	if err := s.CommitSession(ctx, "k", []byte("one"), now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if d, ok, err := s.FindSession(ctx, "k", now); err != nil || !ok || string(d) != "one" {
			t.Fatal(string(d), ok, err)
		}
	}
	if err := other.CommitSession(ctx, "k", []byte("two"), now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if d, _, _ := s.FindSession(ctx, "k", now); string(d) != "two" {
		t.Fatalf("session changed by another process reads %q here", d)
	}
	if err := other.DeleteSession(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.FindSession(ctx, "k", now); ok {
		t.Fatal("session deleted by another process still found here")
	}
	// An expired session is not served from the cache either.
	if err := s.CommitSession(ctx, "e", []byte("x"), now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	s.FindSession(ctx, "e", now)
	if _, ok, _ := s.FindSession(ctx, "e", now.Add(2*time.Second)); ok {
		t.Fatal("expired session served")
	}
}

// TestReadCacheRevocationRace revokes tokens, alternately here and through
// another store, while readers keep the cache busy; after each revocation
// returns, a read must find the token revoked.
func TestReadCacheRevocationRace(t *testing.T) {
	path, s := cacheFixture(t)
	other := openPath(t, path)
	ctx := t.Context()
	now := time.Now()
	const n = 60
	hashes := make([][]byte, n)
	for i := range hashes {
		hashes[i], _ = issuePair(t, s, fmt.Sprint("race", i), fmt.Sprint("g", i), now)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range 4 { // readers, filling and hitting the cache
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; !stop.Load(); i++ {
				s.TokenWithUser(ctx, hashes[i%n])
			}
		}()
	}
	wg.Add(1)
	go func() { // unrelated writes, so that batches commit meanwhile
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			h := tokenHash(fmt.Sprint("noise", i))
			s.IssueTokens(ctx, store.Issue{Access: store.Token{Hash: h, Kind: store.KindAccess, ClientID: "c", CreatedAt: now}})
		}
	}()
	for i, h := range hashes {
		activeNow(t, s, h, now)
		var err error
		if i%2 == 0 {
			err = s.RevokeToken(ctx, h, now)
		} else {
			err = other.RevokeToken(ctx, h, now)
		}
		if err != nil {
			t.Fatal(err)
		}
		if activeNow(t, s, h, now) {
			t.Fatalf("token %d still active after its revocation returned (through %s)", i, map[bool]string{true: "this store", false: "another store"}[i%2 == 0])
		}
	}
	stop.Store(true)
	wg.Wait()
}

// TestReadCacheKeepsOnlyCommittedInserts checks the write-through of new
// tokens: a committed insert is served from the cache at once, and an
// insert undone with its job (the batch runs again without it) never is.
func TestReadCacheKeepsOnlyCommittedInserts(t *testing.T) {
	_, s := cacheFixture(t)
	ctx := t.Context()
	now := time.Now()
	if _, err := s.UserByID(ctx, "u"); err != nil { // the user, cached
		t.Fatal(err)
	}
	access, _ := issuePair(t, s, "t1", "g1", now)
	misses := s.cache.misses.Load()
	if !activeNow(t, s, access, now) {
		t.Fatal("fresh token inactive")
	}
	if s.cache.misses.Load() != misses {
		t.Error("a token just issued was read from the database, not from the cache")
	}

	// A pair whose refresh token collides: the job fails, its access token
	// was inserted and undone.
	a2 := tokenHash("t2/a")
	dup := store.Token{Hash: tokenHash("t1/r"), Kind: store.KindRefresh, GrantID: "g2", ClientID: "c", UserID: "u", CreatedAt: now}
	err := s.IssueTokens(ctx, store.Issue{Access: store.Token{Hash: a2, Kind: store.KindAccess, GrantID: "g2", ClientID: "c", UserID: "u", CreatedAt: now}, Refresh: &dup})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("colliding refresh token: %v", err)
	}
	if _, err := s.TokenByHash(ctx, a2); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the access token of a failed issue: %v", err)
	}

	// The same inside a batch of several jobs, which then runs again.
	ok, bad := tokenHash("ok"), tokenHash("bad")
	insertJob := func(h []byte, then error) *writeJob {
		eff := &effects{}
		return &writeJob{ctx: ctx, result: make(chan error, 1), effects: eff, fn: func(ctx context.Context, q querier) error {
			if err := s.insertToken(ctx, q, store.Token{Hash: h, Kind: store.KindAccess, ClientID: "c", CreatedAt: now}, eff); err != nil {
				return err
			}
			return then
		}}
	}
	boom := errors.New("boom")
	jobs := []*writeJob{insertJob(ok, nil), insertJob(bad, boom)}
	g := newTestCommitter(s)
	g.cache = s.cache
	g.run(jobs)
	if err := <-jobs[0].result; err != nil {
		t.Fatal(err)
	}
	if err := <-jobs[1].result; !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if _, err := s.TokenByHash(ctx, ok); err != nil {
		t.Fatalf("the committed insert: %v", err)
	}
	if _, err := s.TokenByHash(ctx, bad); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the undone insert: %v", err)
	}
}

// The token API reads an integration at every call from the cache: a new
// token stored here or by another process, a refresher's claim, a change of
// settings and a deletion must each be seen by the next read.
func TestReadCacheIntegrations(t *testing.T) {
	path, s := cacheFixture(t)
	other := openPath(t, path)
	ctx := t.Context()
	now := time.Now().Truncate(time.Millisecond)
	in := store.Integration{ID: "i1", Name: "Mail", Provider: "custom", ClientID: "x", Scopes: []string{"a"},
		AuthURL: "https://p.example/auth", TokenURL: "https://p.example/token", CreatedAt: now, UpdatedAt: now}
	if err := s.CreateIntegration(ctx, in); err != nil {
		t.Fatal(err)
	}
	read := func(who string) store.Integration {
		t.Helper()
		got, err := s.IntegrationByID(ctx, "i1")
		if err != nil {
			t.Fatalf("%s: %v", who, err)
		}
		return got
	}
	read("first")
	hits := s.cache.hits.Load()
	if got := read("again"); got.Name != "Mail" || s.cache.hits.Load() != hits+1 {
		t.Fatalf("second read: %+v, hits %d → %d", got, hits, s.cache.hits.Load())
	}
	// A caller changing its copy changes nothing cached.
	got := read("copy")
	got.Scopes[0] = "changed"
	if read("after changing a copy").Scopes[0] != "a" {
		t.Fatal("the cached integration shares memory with a caller's copy")
	}

	vault := func(account string) store.IntegrationVault {
		return store.IntegrationVault{TokensSealed: []byte("sealed " + account), Account: account, Scope: "a",
			ExpiresAt: now.Add(time.Hour), AuthorizedAt: now, RefreshedAt: now, NextRefreshAt: now.Add(time.Minute)}
	}
	if err := s.StoreIntegrationTokens(ctx, "i1", vault("here@example.com")); err != nil {
		t.Fatal(err)
	}
	if got := read("after storing tokens here"); got.Vault.Account != "here@example.com" {
		t.Fatalf("tokens stored here not seen: %+v", got.Vault)
	}
	if err := other.StoreIntegrationTokens(ctx, "i1", vault("there@example.com")); err != nil {
		t.Fatal(err)
	}
	if got := read("after storing tokens elsewhere"); got.Vault.Account != "there@example.com" {
		t.Fatalf("tokens stored by another process not seen: %+v", got.Vault)
	}
	claimed, err := s.ClaimDueIntegrations(ctx, "node-a", now.Add(2*time.Minute), time.Minute, 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	if got := read("after a claim"); got.LeaseHolder != "node-a" {
		t.Fatalf("a claim here not seen: lease holder %q", got.LeaseHolder)
	}
	if _, err := other.UpdateIntegration(ctx, "i1", func(in *store.Integration) error { in.Description = "renamed"; return nil }); err != nil {
		t.Fatal(err)
	}
	if got := read("after an edit elsewhere"); got.Description != "renamed" {
		t.Fatal("an edit by another process not seen")
	}
	if err := other.DeleteIntegration(ctx, "i1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.IntegrationByID(ctx, "i1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a deleted integration still read: %v", err)
	}
}

// TestReadCacheCodes: a code this store inserted (by the consent decision or
// CreateCode) is read back from the cache exactly as the database returns
// it; its redemption, a change by another process, a purge and a deleted
// client are all seen at the next read.
func TestReadCacheCodes(t *testing.T) {
	path, s := cacheFixture(t)
	other := openPath(t, path)
	ctx := t.Context()
	now := time.Now()
	code := func(label string) store.Code {
		return store.Code{Hash: tokenHash(label), ClientID: "c", UserID: "u", RedirectURI: "https://app.example/cb", Scope: "READ",
			Challenge: "ch", ChallengeMethod: "S256", GrantID: "g-" + label, CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute)}
	}
	// fromDB reads a code around the cache, for comparison.
	fromDB := func(hash []byte) store.Code {
		t.Helper()
		got, err := other.CodeByHash(ctx, hash)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	read := func(hash []byte) (store.Code, error) {
		return s.CodeByHash(ctx, hash)
	}

	decided := code("decided")
	if err := s.DecideConsent(ctx, tokenHash("consent page"), now.Add(time.Minute), &decided, nil); err != nil {
		t.Fatal(err)
	}
	created := code("created")
	if err := s.CreateCode(ctx, created); err != nil {
		t.Fatal(err)
	}
	for _, c := range []store.Code{decided, created} {
		hits := s.cache.hits.Load()
		got, err := read(c.Hash)
		if err != nil || s.cache.hits.Load() != hits+1 {
			t.Fatalf("%s: %v, hits %d → %d: want a cache hit", c.GrantID, err, hits, s.cache.hits.Load())
		}
		if want := fromDB(c.Hash); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s from the cache:\n%+v\nfrom the database:\n%+v", c.GrantID, got, want)
		}
		got.Hash[0] ^= 1 // a caller's copy is its own
	}
	if got, _ := read(decided.Hash); got.Hash[0] != decided.Hash[0] {
		t.Fatal("the cached code shares memory with a caller's copy")
	}

	// Redeemed here: the next read shows it used.
	access := store.Token{Hash: tokenHash("code access"), Kind: store.KindAccess, GrantID: decided.GrantID, ClientID: "c", UserID: "u",
		Scope: "READ", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.RedeemCode(ctx, decided.Hash, now, store.Issue{Access: access}); err != nil {
		t.Fatal(err)
	}
	if got, err := read(decided.Hash); err != nil || got.UsedAt.IsZero() {
		t.Fatalf("a code redeemed here reads as unused: %+v %v", got, err)
	}
	// Redeemed by another process.
	if err := other.RedeemCode(ctx, created.Hash, now, store.Issue{Access: store.Token{Hash: tokenHash("other access"),
		Kind: store.KindAccess, GrantID: created.GrantID, ClientID: "c", UserID: "u", Scope: "READ", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	if got, err := read(created.Hash); err != nil || got.UsedAt.IsZero() {
		t.Fatalf("a code redeemed by another process reads as unused here: %+v %v", got, err)
	}

	// Purged when expired, and gone with its client.
	expired := code("expired")
	expired.ExpiresAt = now.Add(-time.Minute)
	gone := code("gone")
	for _, c := range []store.Code{expired, gone} {
		if err := s.CreateCode(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := read(expired.Hash); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Purge(ctx, now, store.PurgePolicy{}, 100); err != nil {
		t.Fatal(err)
	}
	if _, err := read(expired.Hash); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a purged code: %v, want not found", err)
	}
	if _, err := read(gone.Hash); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteClient(ctx, "c", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := read(gone.Hash); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a code of a deleted client: %v, want not found", err)
	}
}
