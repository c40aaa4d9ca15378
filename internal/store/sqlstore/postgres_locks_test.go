package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// The tests here race two writers of the store on PostgreSQL in the one
// order that would deadlock them: one is held in the middle of its
// transaction, the other starts and is seen waiting for a lock
// (pg_stat_activity), then the first goes on. Both must finish as they
// would one after the other, and no transaction may have run again
// (Store.retried counts the deadlock's victims).

// waitForLockWaits returns once, for each of fragments, a session of s's
// database waits for a lock in a statement containing it, failing t after
// 10 seconds.
func waitForLockWaits(t *testing.T, s *Store, fragments ...string) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("a session waiting for a lock in a statement with each of %q", fragments), func() bool {
		for _, f := range fragments {
			if !lockWaiting(t, s, f) {
				return false
			}
		}
		return true
	})
}

// lockWaiting reports whether a session of s's database waits for a lock
// in a statement containing fragment.
func lockWaiting(t *testing.T, s *Store, fragment string) bool {
	t.Helper()
	var waiting int
	if err := s.r.QueryRowContext(t.Context(), `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'
		AND strpos(query, $1) > 0`, fragment).Scan(&waiting); err != nil {
		t.Fatal(err)
	}
	return waiting > 0
}

// waitUntil polls cond until it holds, failing t after 10 seconds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10 s for %s", what)
		}
	}
}

// retriesSince fails t when a transaction of s ran again since before.
func retriesSince(t *testing.T, s *Store, before int64, what string) {
	t.Helper()
	if n := s.metrics.retries.Load() - before; n != 0 {
		t.Fatalf("%d transactions run again: %s deadlocked", n, what)
	}
}

// lockTestClient stores the application c1 and, unless userID is empty,
// the user userID, for a race test.
func lockTestClient(t *testing.T, s *Store, userID string) {
	t.Helper()
	ctx := t.Context()
	if err := s.CreateClient(ctx, store.Client{ID: "c1", Name: "c1", Enabled: true, CreatedAt: benchNow}, 0); err != nil {
		t.Fatal(err)
	}
	if userID == "" {
		return
	}
	if err := s.CreateUser(ctx, store.User{ID: userID, Username: userID, CreatedAt: benchNow}); err != nil {
		t.Fatal(err)
	}
}

// lockTestToken is a token of grant g1 of user u1 and application c1.
func lockTestToken(name string, kind store.TokenKind, created time.Time) store.Token {
	return store.Token{
		Hash: []byte(name + "/" + string(kind)), Kind: kind, GrantID: "g1", ClientID: "c1", UserID: "u1",
		Scope: "read", GrantedAt: benchNow, CreatedAt: created, ExpiresAt: created.Add(time.Hour),
	}
}

// lockTestPair is an access and refresh token of grant g1, uncapped.
func lockTestPair(name string, created time.Time) store.Issue {
	access := lockTestToken(name, store.KindAccess, created)
	refresh := lockTestToken(name, store.KindRefresh, created)
	refresh.AccessHash = access.Hash
	return store.Issue{Access: access, Refresh: &refresh}
}

// TestPostgresReplayedRotationRacingARevocation: a refresh token replayed
// past its grace, while the grant is being revoked, with the refresh cap
// off. The rotation took the grant's lock and, finding the replay, asked
// for the cap's lock to revoke the grant; the revocation held the cap's and
// waited for the grant's, so PostgreSQL aborted one as a deadlock's victim.
// The rotation is held after its locks by a third transaction that is
// spending the token's last grace reuse.
func TestPostgresReplayedRotationRacingARevocation(t *testing.T) {
	s := openPostgres(t)
	ctx := t.Context()
	lockTestClient(t, s, "u1")
	grace := store.ReuseGrace{Window: time.Hour, Max: 1}
	first, second, replay := lockTestPair("first", benchNow), lockTestPair("second", benchNow.Add(time.Minute)), lockTestPair("replay", benchNow.Add(2*time.Minute))
	if err := s.IssueTokens(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := s.RotateRefreshToken(ctx, first.Refresh.Hash, benchNow.Add(time.Minute), grace, second); err != nil {
		t.Fatal(err)
	}

	// Another request spends the first token's one grace reuse and holds
	// its row until the rotation waits for it, with its locks taken.
	spender, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer spender.Rollback()
	if _, err := spender.ExecContext(ctx, `UPDATE tokens SET grace_reuses = 1 WHERE hash = $1`, first.Refresh.Hash); err != nil {
		t.Fatal(err)
	}
	retriesBefore := s.metrics.retries.Load()
	var wg sync.WaitGroup
	var rotateErr, revokeErr error
	wg.Go(func() {
		rotateErr = s.RotateRefreshToken(ctx, first.Refresh.Hash, benchNow.Add(2*time.Minute), grace, replay)
	})
	waitForLockWaits(t, s, "grace_reuses")
	wg.Go(func() { _, revokeErr = s.RevokeGrant(ctx, "g1", benchNow.Add(2*time.Minute)) })
	waitForLockWaits(t, s, "grace_reuses", "FROM clients")
	if err := spender.Commit(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	if !errors.Is(rotateErr, store.ErrTokenReused) {
		t.Errorf("the replayed rotation = %v, want ErrTokenReused (its grace spent)", rotateErr)
	}
	if revokeErr != nil {
		t.Errorf("RevokeGrant: %v", revokeErr)
	}
	for _, h := range [][]byte{first.Access.Hash, first.Refresh.Hash, second.Access.Hash, second.Refresh.Hash} {
		tok, err := s.TokenByHash(ctx, h)
		if err != nil {
			t.Fatalf("TokenByHash(%s): %v", h, err)
		}
		if tok.Active(benchNow.Add(2 * time.Minute)) {
			t.Errorf("token %s of the revoked grant is active", h)
		}
	}
	if _, err := s.TokenByHash(ctx, replay.Access.Hash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the replay's access token was stored (%v)", err)
	}
	retriesSince(t, s, retriesBefore, "the replayed rotation and the revocation")
}

// TestPostgresDisablingWaitsForADeletionBatch: a disabled user's tokens
// are revoked in batches (finishDisabling), each one UPDATE of many rows;
// a deleted application's go in batches too (deleteClientTokens), each one
// DELETE of many rows that holds the application's row. Where the two
// shared tokens they locked them in different orders and deadlocked
// (conformance DisableRacesDeleteClient: one run in four, found in the
// server's log). The disabling's batch now takes the rows of its tokens'
// applications first, so it waits for a deletion holding one, before it
// holds any token: here for the deletion's first step, held by its allow
// callback, which holds the row as each batch does.
func TestPostgresDisablingWaitsForADeletionBatch(t *testing.T) {
	s := openPostgres(t)
	ctx := t.Context()
	lockTestClient(t, s, "u1")
	var hashes [][]byte
	for i := range 4 {
		issue := lockTestPair(fmt.Sprint("pair", i), benchNow)
		issue.Access.GrantID, issue.Refresh.GrantID = fmt.Sprint("g", i), fmt.Sprint("g", i)
		if err := s.IssueTokens(ctx, issue); err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, issue.Access.Hash, issue.Refresh.Hash)
	}
	retriesBefore := s.metrics.retries.Load()
	disabled := make(chan error, 1)
	err := s.DeleteClient(ctx, "c1", func(store.Client) error {
		go func() {
			_, err := s.UpdateUser(ctx, "u1", func(u *store.User) error { u.Disabled, u.UpdatedAt = true, benchNow.Add(time.Minute); return nil })
			disabled <- err
		}()
		waitUntil(t, "the disabling to finish or wait", func() bool {
			select {
			case err := <-disabled:
				disabled <- err
				return true
			default:
				return lockWaiting(t, s, "FOR KEY SHARE")
			}
		})
		select {
		case <-disabled:
			t.Error("the disabling revoked the tokens of an application whose deletion held its row: a deletion's batch and it lock those tokens in their own orders")
			disabled <- nil
		default:
		}
		return nil
	})
	if err != nil {
		t.Fatalf("DeleteClient: %v", err)
	}
	if err := <-disabled; err != nil {
		t.Fatalf("disabling the user: %v", err)
	}
	for _, h := range hashes {
		if _, err := s.TokenByHash(ctx, h); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("token %s of the deleted application: %v, want ErrNotFound", h, err)
		}
	}
	if u, err := s.UserByID(ctx, "u1"); err != nil || !u.Disabled {
		t.Errorf("UserByID = %+v, %v; want disabled", u, err)
	}
	retriesSince(t, s, retriesBefore, "the disabling and the deletion")
}

// TestPostgresPurgeRacingARevocation: the janitor's purge deletes, in one
// transaction, a grant's long-expired access token with one query and its
// long-rotated refresh token with a later one; RevokeGrant revokes every
// unrevoked token of the grant with one UPDATE, the rotated one first (it
// was stored first). A purge that waited between its queries (here for a
// revoked token of another grant, held by a third transaction) while the
// revocation held the rotated token and waited for the expired one
// deadlocked with it. The purge now skips the rows others hold, and
// waits for none.
func TestPostgresPurgeRacingARevocation(t *testing.T) {
	s := openPostgres(t)
	ctx := t.Context()
	lockTestClient(t, s, "u1")
	rotated := lockTestToken("rotated", store.KindRefresh, benchNow)
	rotated.RotatedAt = benchNow.Add(time.Minute)
	expired := lockTestToken("expired", store.KindAccess, benchNow.Add(time.Minute))
	held := lockTestToken("held", store.KindAccess, benchNow)
	held.GrantID, held.RevokedAt = "g2", benchNow.Add(time.Minute)
	now := benchNow.Add(48 * time.Hour) // every other token is past its retention
	held.ExpiresAt = now.Add(time.Hour) // so only the query of revoked tokens takes it
	err := s.inTx(ctx, func(ctx context.Context, tx querier) error {
		for _, tok := range []store.Token{rotated, expired, held} { // in this order in the heap
			if err := s.insertToken(ctx, tx, tok, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	policy := store.PurgePolicy{RevokedRetention: time.Hour, RotatedRetention: time.Hour}

	other, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Rollback()
	if _, err := other.ExecContext(ctx, `SELECT 1 FROM tokens WHERE hash = $1 FOR UPDATE`, held.Hash); err != nil {
		t.Fatal(err)
	}
	retriesBefore := s.metrics.retries.Load()
	var purgeErr, revokeErr error
	purged, revoked := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(purged)
		_, purgeErr = s.Purge(ctx, now, policy, 100)
	}()
	waitUntil(t, "the purge to finish or wait for the held token", func() bool {
		return closed(purged) || lockWaiting(t, s, "revoked_at <> 0 AND revoked_at < $1")
	})
	go func() {
		defer close(revoked)
		_, revokeErr = s.RevokeGrant(ctx, "g1", now)
	}()
	waitUntil(t, "the revocation to finish or wait", func() bool {
		return closed(revoked) || lockWaiting(t, s, "WHERE grant_id = $1 AND revoked_at = 0")
	})
	if err := other.Commit(); err != nil {
		t.Fatal(err)
	}
	<-purged
	<-revoked
	if purgeErr != nil {
		t.Errorf("Purge: %v", purgeErr)
	}
	if revokeErr != nil {
		t.Errorf("RevokeGrant: %v", revokeErr)
	}
	for _, tok := range []store.Token{rotated, expired} {
		if got, err := s.TokenByHash(ctx, tok.Hash); err == nil && got.Active(now) {
			t.Errorf("token %s of the revoked grant is active", tok.Hash)
		}
	}
	retriesSince(t, s, retriesBefore, "the purge and the revocation")
}

// TestPostgresDeleteClientRacingAnUpdate: an application's deletion that
// holds its row while an update of it waits must not deadlock with that
// update. UpdateClient locks the clients table before the row; a deletion
// that locked the row first and the table only with its own UPDATE was
// aborted by PostgreSQL as a deadlock's victim (and run again a second
// late). Both now take the table first, so the update just waits.
func TestPostgresDeleteClientRacingAnUpdate(t *testing.T) {
	s := openPostgres(t)
	ctx := t.Context()
	lockTestClient(t, s, "")
	retriesBefore := s.metrics.retries.Load()
	updated := make(chan error, 1)
	err := s.DeleteClient(ctx, "c1", func(store.Client) error {
		// The deletion holds what it has locked; the update starts now
		// and must be waiting on it before the deletion goes on.
		go func() {
			_, err := s.UpdateClient(ctx, "c1", func(c *store.Client) error { c.Description = "changed"; return nil })
			updated <- err
		}()
		waitForLockWaits(t, s, "clients")
		return nil
	})
	if err != nil {
		t.Fatalf("DeleteClient: %v", err)
	}
	if err := <-updated; !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateClient racing the deletion = %v, want ErrNotFound (it waited, then found it deleted)", err)
	}
	if n := s.metrics.retries.Load() - retriesBefore; n != 0 {
		t.Fatalf("%d transactions run again: the deletion and the update deadlocked", n)
	}
}

// closed reports whether c is closed, without waiting.
func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// TestPostgresLogoRacingTheDeletionsLastStep: a logo stored while the
// application's row is being deleted finds it gone (ErrNotFound, a 404),
// not the foreign key's raw error (a 500). The deletion's last step is
// stood in for by a transaction that deletes the row and commits once the
// logo's insert waits for it.
func TestPostgresLogoRacingTheDeletionsLastStep(t *testing.T) {
	s := openPostgres(t)
	ctx := t.Context()
	lockTestClient(t, s, "")
	deletion, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer deletion.Rollback()
	if _, err := deletion.ExecContext(ctx, `DELETE FROM clients WHERE id = $1`, "c1"); err != nil {
		t.Fatal(err)
	}
	stored := make(chan error, 1)
	go func() { stored <- s.SetClientLogo(ctx, "c1", []byte("\x89PNG"), "image/png") }()
	waitForLockWaits(t, s, "client_logos")
	if err := deletion.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-stored; !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SetClientLogo racing the deletion = %v, want ErrNotFound", err)
	}
}

// TestPostgresIntegrationAuthSkipsHeldExpiredRows: starting an
// integration's authorization clears every expired pending authorization
// on the way; one another transaction holds (being taken, or cleared by
// another start) is left for a later start rather than waited for, so two
// starts clearing the same rows in different orders cannot deadlock.
func TestPostgresIntegrationAuthSkipsHeldExpiredRows(t *testing.T) {
	s := openPostgres(t)
	ctx := t.Context()
	in := store.Integration{ID: "i1", Name: "mail", Provider: "custom", ClientID: "client-i1", AuthURL: "https://idp.example/authorize",
		TokenURL: "https://idp.example/token", CreatedAt: benchNow, UpdatedAt: benchNow}
	if err := s.CreateIntegration(ctx, in); err != nil {
		t.Fatal(err)
	}
	auth := func(state string, created time.Time) store.IntegrationAuth {
		return store.IntegrationAuth{StateHash: []byte(state), IntegrationID: "i1", VerifierSealed: []byte("v"),
			RedirectURL: "https://gatehouse.example/cb", Actor: "admin", CreatedAt: created, ExpiresAt: created.Add(10 * time.Minute)}
	}
	if err := s.CreateIntegrationAuth(ctx, auth("expired", benchNow), benchNow, 5); err != nil {
		t.Fatal(err)
	}
	holder, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Rollback()
	var one int
	if err := holder.QueryRowContext(ctx, `SELECT 1 FROM integration_auths WHERE state_hash = $1 FOR UPDATE`, []byte("expired")).Scan(&one); err != nil {
		t.Fatal(err)
	}
	later := benchNow.Add(time.Hour)
	started := make(chan error, 1)
	go func() { started <- s.CreateIntegrationAuth(ctx, auth("new", later), later, 5) }()
	var done bool
	waitUntil(t, "the start to finish or wait", func() bool {
		select {
		case err := <-started:
			if err != nil {
				t.Fatalf("CreateIntegrationAuth: %v", err)
			}
			done = true
			return true
		default:
			return lockWaiting(t, s, "integration_auths")
		}
	})
	if !done {
		holder.Rollback()
		<-started
		t.Fatal("starting an authorization waited for an expired one another transaction holds")
	}
}
