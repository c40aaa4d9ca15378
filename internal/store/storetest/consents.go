package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// testDecideConsent: a consent page is decided once; its code and audit
// event commit with the decision, and a second decision stores nothing.
func testDecideConsent(t *testing.T, s store.Store) {
	ctx := t.Context()
	addClient(t, s, "c1")
	id, expires := hash("consent/decide"), at(15*time.Minute)
	code := store.Code{Hash: hash("decided code"), ClientID: "c1", UserID: "u1", GrantID: "g", CreatedAt: t0, ExpiresAt: at(10 * time.Minute)}
	event := store.AuditEvent{At: at(time.Minute), Kind: "consent.allow", Actor: "u1", Username: "u1", ClientID: "c1", Detail: "decided"}
	if err := s.DecideConsent(ctx, id, expires, &code, &event); err != nil {
		t.Fatalf("DecideConsent: %v", err)
	}
	if _, err := s.CodeByHash(ctx, code.Hash); err != nil {
		t.Errorf("the decision's code: %v", err)
	}
	if evs, err := s.ListAudit(ctx, store.AuditFilter{Kind: "consent.allow"}); err != nil || len(evs) != 1 || evs[0].Detail != "decided" {
		t.Errorf("the decision's audit event: %v %v", evs, err)
	}
	// Decided again (an Allow after a Deny, a form posted twice): refused,
	// nothing stored.
	again := store.Code{Hash: hash("second code"), ClientID: "c1", UserID: "u1", GrantID: "g", CreatedAt: t0, ExpiresAt: at(10 * time.Minute)}
	if err := s.DecideConsent(ctx, id, expires, &again, &event); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DecideConsent twice = %v; want ErrNotFound", err)
	}
	if _, err := s.CodeByHash(ctx, again.Hash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused decision stored its code: %v", err)
	}
	if evs, _ := s.ListAudit(ctx, store.AuditFilter{Kind: "consent.allow"}); len(evs) != 1 {
		t.Errorf("a refused decision recorded its event: %d events", len(evs))
	}
	// A decision without a code (a denial) is single-use too.
	deny := hash("consent/deny")
	if err := s.DecideConsent(ctx, deny, expires, nil, nil); err != nil {
		t.Fatalf("DecideConsent (deny): %v", err)
	}
	if err := s.DecideConsent(ctx, deny, expires, nil, nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DecideConsent (deny) twice = %v; want ErrNotFound", err)
	}
}

// testConcurrentDecideConsent: one form posted many times at once gets one
// decision, and one code.
func testConcurrentDecideConsent(t *testing.T, s store.Store) {
	ctx := t.Context()
	addClient(t, s, "c1")
	id := hash("consent/race")
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code := store.Code{Hash: hash(fmt.Sprint("race code ", i)), ClientID: "c1", UserID: "u1", GrantID: "g", CreatedAt: t0, ExpiresAt: at(10 * time.Minute)}
			errs <- s.DecideConsent(ctx, id, at(15*time.Minute), &code, nil)
		}()
	}
	wg.Wait()
	close(errs)
	won := 0
	for err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrNotFound):
			t.Errorf("DecideConsent: %v", err)
		}
	}
	if won != 1 {
		t.Errorf("%d of %d concurrent decisions won; want 1", won, n)
	}
	codes := 0
	for i := range n {
		if _, err := s.CodeByHash(ctx, hash(fmt.Sprint("race code ", i))); err == nil {
			codes++
		}
	}
	if codes != 1 {
		t.Errorf("%d codes stored; want 1", codes)
	}
}

// testDecidedConsentsPurged: the janitor forgets a decided page once the
// page itself has expired (the pages refuse it by then), and not before.
func testDecidedConsentsPurged(t *testing.T, s store.Store) {
	ctx := t.Context()
	id, expires := hash("consent/purged"), at(15*time.Minute)
	if err := s.DecideConsent(ctx, id, expires, nil, nil); err != nil {
		t.Fatalf("DecideConsent: %v", err)
	}
	if _, err := s.Purge(ctx, at(14*time.Minute), store.PurgePolicy{}, 1000); err != nil {
		t.Fatalf("Purge: %v", err)
	}
	if err := s.DecideConsent(ctx, id, expires, nil, nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("decided again before its expiry, after a purge: %v; want ErrNotFound", err)
	}
	if _, err := s.Purge(ctx, at(16*time.Minute), store.PurgePolicy{}, 1000); err != nil {
		t.Fatalf("Purge: %v", err)
	}
	if err := s.DecideConsent(ctx, id, expires, nil, nil); err != nil {
		t.Fatalf("the purge kept a decided consent past its expiry: %v", err)
	}
}

// setUserDisabled disables or enables user id at now, as the user service does.
func setUserDisabled(t *testing.T, s store.Store, id string, disabled bool, now time.Time) error {
	t.Helper()
	_, err := s.UpdateUser(t.Context(), id, func(u *store.User) error { u.Disabled, u.UpdatedAt = disabled, now; return nil })
	return err
}

// wantNoCode checks that the code named hash is neither stored nor
// redeemable at now.
func wantNoCode(t *testing.T, s store.Store, what string, code store.Code, now time.Time) {
	t.Helper()
	if _, err := s.CodeByHash(t.Context(), code.Hash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("%s: CodeByHash = %v; want ErrNotFound", what, err)
	}
	redeemed := fmt.Sprintf("redeemed %x", code.Hash[:4])
	err := s.RedeemCode(t.Context(), code.Hash, now, pair(redeemed, code.GrantID, code.ClientID, code.UserID, now))
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("%s: RedeemCode = %v; want ErrNotFound", what, err)
	}
}

// testDecideConsentDisabledUser: an Allow decided for a user already
// disabled (the page checked the user before the disabling committed) is
// refused like a token write for them, and stores nothing, so enabling the
// user again revives no code.
func testDecideConsentDisabledUser(t *testing.T, s store.Store) {
	ctx := t.Context()
	addClient(t, s, "c1")
	if err := s.CreateUser(ctx, store.User{ID: "u1", Username: "u1", CreatedAt: t0, UpdatedAt: t0}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	now := at(time.Minute)
	if err := setUserDisabled(t, s, "u1", true, now); err != nil {
		t.Fatalf("disable: %v", err)
	}
	code := store.Code{Hash: hash("a disabled user's code"), ClientID: "c1", UserID: "u1", GrantID: "g", CreatedAt: now, ExpiresAt: at(10 * time.Minute)}
	event := store.AuditEvent{At: now, Kind: "consent.allow", Actor: "u1", Username: "u1", ClientID: "c1"}
	err := s.DecideConsent(ctx, hash("consent/disabled"), at(15*time.Minute), &code, &event)
	wantErr(t, "deciding an Allow for a disabled user", err, store.ErrNotFound)
	if evs, _ := s.ListAudit(ctx, store.AuditFilter{Kind: "consent.allow"}); len(evs) != 0 {
		t.Errorf("a refused decision recorded its event: %d events", len(evs))
	}
	if err := setUserDisabled(t, s, "u1", false, now); err != nil {
		t.Fatalf("enable: %v", err)
	}
	wantNoCode(t, s, "after enabling the user again", code, now)
}

// testDisableRacesDecideConsent: a user disabled while an Allow of theirs
// is being decided keeps no code: the decision commits first and the
// disabling drops its code, or it finds the user disabled and is refused.
// Once the disabling has returned, enabling the user again revives none.
func testDisableRacesDecideConsent(t *testing.T, s store.Store) {
	ctx := t.Context()
	addClient(t, s, "c1")
	if err := s.CreateUser(ctx, store.User{ID: "u1", Username: "u1", CreatedAt: t0, UpdatedAt: t0}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	now := at(time.Minute)
	for round := range raceRounds {
		code := store.Code{Hash: hash(fmt.Sprint("raced code ", round)), ClientID: "c1", UserID: "u1", GrantID: fmt.Sprint("g", round), CreatedAt: now, ExpiresAt: at(10 * time.Minute)}
		errs := race(2, func(i int) error {
			if i == 0 {
				return s.DecideConsent(ctx, hash(fmt.Sprint("consent/raced ", round)), at(15*time.Minute), &code, nil)
			}
			return setUserDisabled(t, s, "u1", true, now)
		})
		if errs[1] != nil {
			t.Fatalf("round %d: disable: %v", round, errs[1])
		}
		tally(t, errs[:1], store.ErrNotFound)
		if err := setUserDisabled(t, s, "u1", false, now); err != nil {
			t.Fatalf("round %d: enable: %v", round, err)
		}
		wantNoCode(t, s, fmt.Sprint("round ", round), code, now)
	}
}
