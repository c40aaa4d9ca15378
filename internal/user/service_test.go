package user

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

func newTestService(t *testing.T, tp ThrottlePolicy) *Service {
	t.Helper()
	s, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return NewService(s, NewHasher(fastArgon2, 2), tp, nil)
}

// The decoy verified for unknown users exists from the start, whatever the
// first sign-in's fate: a first request cancelled while the decoy was being
// made used to leave none, so unknown users then answered at once.
func TestDecoyHashSurvivesACancelledFirstSignIn(t *testing.T) {
	s := newTestService(t, DefaultThrottle)
	if _, _, _, err := parsePHC(s.decoy); err != nil {
		t.Fatalf("decoy %q is not a usable hash: %v", s.decoy, err)
	}
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Authenticate(cancelled, "nobody", "guess", netip.MustParseAddr("192.0.2.1")); err == nil {
		t.Fatal("a cancelled sign-in succeeded")
	}
	if _, _, _, err := parsePHC(s.decoy); err != nil {
		t.Fatalf("after a cancelled sign-in the decoy %q is not a usable hash: %v", s.decoy, err)
	}
	if ok, err := s.hasher.Verify(t.Context(), s.decoy, ""); ok || err != nil {
		t.Fatalf("Verify(decoy) = %v, %v; want false, nil", ok, err)
	}
	if _, err := s.Authenticate(t.Context(), "nobody", "guess", netip.MustParseAddr("192.0.2.1")); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("unknown user: %v", err)
	}
}

// One host usually holds a whole IPv6 /64: the per-address limit counts it as one.
func TestThrottleKeysIPv6ByPrefix(t *testing.T) {
	s := newTestService(t, ThrottlePolicy{PerAccount: 100, PerAddress: 3, Window: time.Hour})
	for i, a := range []string{"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::9"} {
		if _, err := s.Authenticate(t.Context(), "nobody", "guess", netip.MustParseAddr(a)); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("attempt %d from %s: %v", i, a, err)
		}
	}
	if _, err := s.Authenticate(t.Context(), "nobody", "guess", netip.MustParseAddr("2001:db8:1:2::77")); !errors.Is(err, ErrThrottled) {
		t.Fatalf("a fourth address of the same /64: %v; want ErrThrottled", err)
	}
	if _, err := s.Authenticate(t.Context(), "nobody", "guess", netip.MustParseAddr("2001:db8:1:3::1")); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("another /64: %v; want a plain refusal", err)
	}
	// IPv4 (and IPv4-mapped IPv6) stays per address.
	if got, want := addressKey(netip.MustParseAddr("::ffff:192.0.2.7")), "192.0.2.7"; got != want {
		t.Errorf("addressKey(mapped) = %q; want %q", got, want)
	}
}

// The CLI reaches the same rule as the console: the last enabled system
// administrator can be neither demoted nor disabled.
func TestServiceKeepsASystemAdmin(t *testing.T) {
	s := newTestService(t, DefaultThrottle)
	if _, err := s.Create(t.Context(), NewUser{Username: "root", Password: "root-password", Level: store.LevelSystemAdmin}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLevel(t.Context(), "root", store.LevelAdmin); !errors.Is(err, ErrInvalid) {
		t.Errorf("SetLevel on the last system administrator = %v; want a refusal", err)
	}
	if err := s.SetDisabled(t.Context(), "root", true); !errors.Is(err, ErrInvalid) {
		t.Errorf("SetDisabled on the last system administrator = %v; want a refusal", err)
	}
}

// Refused attempts count nothing: a burst of right passwords beyond the
// limit is refused while the others are being checked, but locks neither the
// account nor the address afterwards; wrong ones still lock both.
func TestThrottleCountsOnlyGuesses(t *testing.T) {
	s := newTestService(t, ThrottlePolicy{PerAccount: 3, PerAddress: 6, Window: time.Hour})
	if _, err := s.Create(t.Context(), NewUser{Username: "alice", Password: "alice-password", Level: store.LevelUser}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(t.Context(), NewUser{Username: "bob", Password: "bob-password", Level: store.LevelUser}); err != nil {
		t.Fatal(err)
	}
	addr := netip.MustParseAddr("192.0.2.1")
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() { s.Authenticate(t.Context(), "alice", "alice-password", addr) })
	}
	wg.Wait()
	for _, name := range []string{"alice", "bob"} {
		if _, err := s.Authenticate(t.Context(), name, name+"-password", addr); err != nil {
			t.Fatalf("%s after a burst of right passwords: %v; want signed in", name, err)
		}
	}
	for range 3 {
		if _, err := s.Authenticate(t.Context(), "alice", "wrong", addr); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("a wrong password: %v", err)
		}
	}
	for range 5 { // refused attempts do not wear the lock out either
		if _, err := s.Authenticate(t.Context(), "alice", "alice-password", addr); !errors.Is(err, ErrThrottled) {
			t.Fatalf("after three wrong passwords: %v; want ErrThrottled", err)
		}
	}
}

// Right passwords whose attempts read the clock out of order — concurrent
// attempts, or nodes whose clocks differ by a second — each give back the
// count they reserved, even when a later-clocked attempt opened the window
// they were counted in. They used to release from "the window at or before
// my time", found none, and left phantom failures that locked the owner out.
func TestRightPasswordsOnAClockGoingBackLeaveNoFailures(t *testing.T) {
	st, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	start := time.Now()
	var clock atomic.Int64
	clock.Store(start.UnixNano())
	s := NewService(st, NewHasher(fastArgon2, 2), ThrottlePolicy{PerAccount: 3, PerAddress: 6, Window: time.Hour},
		func() time.Time { return time.Unix(0, clock.Load()) })
	if _, err := s.Create(t.Context(), NewUser{Username: "alice", Password: "alice-password", Level: store.LevelUser}); err != nil {
		t.Fatal(err)
	}
	addr := netip.MustParseAddr("192.0.2.1")
	for i := range 10 {
		clock.Store(start.Add(-time.Duration(i) * time.Second).UnixNano())
		if _, err := s.Authenticate(t.Context(), "alice", "alice-password", addr); err != nil {
			t.Fatalf("right password %d, a second earlier than the one before: %v", i, err)
		}
	}
	for i := range 3 {
		if _, err := s.Authenticate(t.Context(), "alice", "wrong", addr); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("wrong password %d of the 3 allowed: %v; want ErrInvalidCredentials", i+1, err)
		}
	}
	if _, err := s.Authenticate(t.Context(), "alice", "wrong", addr); !errors.Is(err, ErrThrottled) {
		t.Fatalf("a fourth wrong password: %v; want ErrThrottled", err)
	}
}

// A password the sign-in page can never send — a NUL (the page refuses the
// form), a line break (a password field cannot hold one), another control
// character, invalid UTF-8 — is refused when it is set, by the command line
// or an administrator, rather than lock the user out of the pages.
func TestPasswordsTheSignInPageCannotSendAreRefused(t *testing.T) {
	s := newTestService(t, DefaultThrottle)
	if _, err := s.Create(t.Context(), NewUser{Username: "bob", Password: "bob-password", Level: store.LevelUser}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"pass\x00word123", "abc\ndefghij", "abc\rdefghij", "tab\tseparated", "bad\xffutf8-password", "esc\x1b[31mword"} {
		if err := s.SetPassword(t.Context(), "bob", p, nil); !errors.Is(err, ErrInvalid) {
			t.Errorf("SetPassword(%q) = %v; want a refusal", p, err)
		}
		if _, err := s.Create(t.Context(), NewUser{Username: "carol", Password: p}); !errors.Is(err, ErrInvalid) {
			t.Errorf("Create with password %q = %v; want a refusal", p, err)
		}
	}
	// Spaces and any printable character, in any script, are fine.
	if err := s.SetPassword(t.Context(), "bob", " pässwörd 秘密 🔑 ", nil); err != nil {
		t.Errorf("a printable password: %v", err)
	}
}

// lookupFails is a store whose user lookups fail while failing is set (the
// database locked or gone between the throttle's count and the lookup), or
// wait for the request's end while stalling is.
type lookupFails struct {
	store.Store
	failing, stalling atomic.Bool
}

func (s *lookupFails) UserByUsername(ctx context.Context, name string) (store.User, error) {
	switch {
	case s.failing.Load():
		return store.User{}, fmt.Errorf("lookup: %w", store.ErrUnavailable)
	case s.stalling.Load():
		<-ctx.Done()
		return store.User{}, ctx.Err()
	}
	return s.Store.UserByUsername(ctx, name)
}

// TestAFailedSignInCheckCountsNoGuess: a sign-in that ends before its
// password was checked — the database failing after the throttle counted
// it, or stalling past the request's deadline — gives back what it counted,
// the stalled one after its request, which answers at its deadline. Otherwise an
// outage turned right passwords into counted failures, and once it was over
// the account and the whole address stayed locked for the window.
func TestAFailedSignInCheckCountsNoGuess(t *testing.T) {
	db, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st := &lookupFails{Store: db}
	s := NewService(st, NewHasher(fastArgon2, 2), ThrottlePolicy{PerAccount: 3, PerAddress: 6, Window: time.Hour}, nil)
	if _, err := s.Create(t.Context(), NewUser{Username: "alice", Password: "alice-password", Level: store.LevelUser}); err != nil {
		t.Fatal(err)
	}
	addr := netip.MustParseAddr("192.0.2.1")
	st.failing.Store(true)
	for range 8 {
		if _, err := s.Authenticate(t.Context(), "alice", "alice-password", addr); !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("a sign-in while lookups fail: %v", err)
		}
	}
	st.failing.Store(false)
	// Lookups that outlast the request (a lock held elsewhere): the request
	// answers at its deadline, and its counts are given back after it.
	st.stalling.Store(true)
	for range 8 {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		start := time.Now()
		_, err := s.Authenticate(ctx, "alice", "alice-password", addr)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
			t.Fatalf("a sign-in past its deadline: %v after %v; want the deadline's error at once", err, time.Since(start))
		}
	}
	st.stalling.Store(false)
	// Given back in the background: within a few seconds the right password
	// signs in (the account allows 3).
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err = s.Authenticate(t.Context(), "alice", "alice-password", addr); err == nil {
			return
		}
	}
	t.Fatalf("the right password after the failures: %v; want signed in", err)
}

// A disabling revokes a user's tokens in batches; the caller hanging up
// after the first one (a browser closed, a request's deadline) does not cut
// the rest short: every token is revoked when Update returns.
func TestDisablingOutlivesTheCallersHangUp(t *testing.T) {
	s := newTestService(t, DefaultThrottle)
	ctx := t.Context()
	u, err := s.Create(ctx, NewUser{Username: "alice", Password: "alice-password", Level: store.LevelUser})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.store.CreateClient(ctx, store.Client{ID: "c1", Name: "Wiki", Enabled: true, CreatedAt: time.Now()}, 0); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	n := store.BulkBatch * 2
	for i := range n {
		tok := store.Token{Hash: []byte(fmt.Sprintf("token-%05d", i)), Kind: store.KindAccess, GrantID: fmt.Sprint("g", i), ClientID: "c1", UserID: u.ID,
			Scope: "READ", GrantedAt: now, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := s.store.IssueTokens(ctx, store.Issue{Access: tok}); err != nil {
			t.Fatal(err)
		}
	}
	caller, hangUp := context.WithCancel(ctx)
	defer hangUp()
	batches := 0
	observed := store.WithBatchObserver(caller, func(int64) { batches++; hangUp() })
	if err := s.SetDisabled(observed, "alice", true); err != nil {
		t.Fatalf("disabling, the caller gone after the first batch: %v", err)
	}
	if batches < 2 {
		t.Fatalf("%d batches; want the revocation to go on past the hang-up", batches)
	}
	for i := range n {
		tok, err := s.store.TokenByHash(ctx, []byte(fmt.Sprintf("token-%05d", i)))
		if err != nil || tok.RevokedAt.IsZero() {
			t.Fatalf("token %d not revoked after the disabling returned: %+v, %v", i, tok, err)
		}
	}
}

// A sign-in that proves its password moves a hash made with other
// parameters (a default changed since) to the current ones, once; a wrong
// password moves nothing, and a password changed after the sign-in read
// the user is not overwritten with the old one.
func TestSignInRehashesAnOutdatedPassword(t *testing.T) {
	st, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	older := Argon2Params{MemoryKiB: 128, Time: 1, Threads: 1}
	if _, err := NewService(st, NewHasher(older, 1), DefaultThrottle, nil).Create(t.Context(), NewUser{Username: "alice", Password: "alice-password", Level: store.LevelUser}); err != nil {
		t.Fatal(err)
	}
	s := NewService(st, NewHasher(fastArgon2, 1), DefaultThrottle, nil)
	addr := netip.MustParseAddr("192.0.2.1")
	stored := func() string {
		t.Helper()
		u, err := st.UserByUsername(t.Context(), "alice")
		if err != nil {
			t.Fatal(err)
		}
		return u.PasswordHash
	}
	paramsOf := func(phc string) Argon2Params {
		t.Helper()
		p, _, _, err := parsePHC(phc)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	old := stored()
	if _, err := s.Authenticate(t.Context(), "alice", "wrong-password", addr); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("a wrong password: %v", err)
	}
	if got := stored(); got != old {
		t.Fatalf("a wrong password rehashed: %s", got)
	}
	signedIn, err := s.Authenticate(t.Context(), "alice", "alice-password", addr)
	if err != nil {
		t.Fatal(err)
	}
	moved := stored()
	if p := paramsOf(moved); p != fastArgon2 {
		t.Fatalf("after a sign-in the hash has %+v; want %+v", p, fastArgon2)
	}
	if ok, err := s.hasher.Verify(t.Context(), moved, "alice-password"); !ok || err != nil {
		t.Fatalf("the rehashed password does not verify: %v, %v", ok, err)
	}
	if _, err := s.Authenticate(t.Context(), "alice", "alice-password", addr); err != nil {
		t.Fatal(err)
	}
	if got := stored(); got != moved {
		t.Fatal("a current hash was hashed again")
	}

	// The sign-in read the old hash; the password changed before its rehash.
	if _, err := st.UpdateUser(t.Context(), signedIn.ID, func(u *store.User) error { u.PasswordHash = old; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPassword(t.Context(), "alice", "a-new-password", nil); err != nil {
		t.Fatal(err)
	}
	changed := stored()
	s.rehash(t.Context(), store.User{ID: signedIn.ID, PasswordHash: old}, "alice-password")
	if got := stored(); got != changed {
		t.Fatal("a rehash overwrote a password changed after its sign-in")
	}
}
