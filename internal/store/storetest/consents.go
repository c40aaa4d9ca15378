package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/internal/store"
)

func consent(name, userID string, created time.Time) store.PendingConsent {
	return store.PendingConsent{
		IDHash: hash("consent/" + name), UserID: userID, Binding: hash("binding/" + name),
		Request: "client_id=c1&state=" + name, CreatedAt: created, ExpiresAt: created.Add(10 * time.Minute),
	}
}

func testConsents(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := consent("one", "u1", t0)
	if err := s.CreateConsent(ctx, c, 0); err != nil {
		t.Fatalf("CreateConsent: %v", err)
	}
	if err := s.CreateConsent(ctx, c, 0); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateConsent twice = %v; want ErrConflict", err)
	}
	got, err := s.TakeConsent(ctx, c.IDHash, at(time.Minute))
	if err != nil {
		t.Fatalf("TakeConsent: %v", err)
	}
	if diff := cmp.Diff(c, got); diff != "" {
		t.Errorf("TakeConsent (-want +got):\n%s", diff)
	}
	if _, err := s.TakeConsent(ctx, c.IDHash, at(time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TakeConsent a second time = %v; want ErrNotFound", err)
	}
	if _, err := s.TakeConsent(ctx, hash("never"), t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TakeConsent(unknown) = %v; want ErrNotFound", err)
	}

	// An expired consent is refused, and gone.
	old := consent("old", "u1", t0)
	if err := s.CreateConsent(ctx, old, 0); err != nil {
		t.Fatalf("CreateConsent: %v", err)
	}
	if _, err := s.TakeConsent(ctx, old.IDHash, old.ExpiresAt); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TakeConsent at expiry = %v; want ErrNotFound", err)
	}
	if _, err := s.TakeConsent(ctx, old.IDHash, t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TakeConsent after an expired take = %v; want ErrNotFound", err)
	}
}

// testConsentLimit: a user's oldest pending consents beyond the limit go;
// other users' stay.
func testConsentLimit(t *testing.T, s store.Store) {
	ctx := t.Context()
	other := consent("other", "u2", t0)
	if err := s.CreateConsent(ctx, other, 3); err != nil {
		t.Fatalf("CreateConsent: %v", err)
	}
	for i := range 5 {
		if err := s.CreateConsent(ctx, consent(fmt.Sprint(i), "u1", at(time.Duration(i)*time.Second)), 3); err != nil {
			t.Fatalf("CreateConsent %d: %v", i, err)
		}
	}
	for i := range 5 {
		_, err := s.TakeConsent(ctx, hash(fmt.Sprint("consent/", i)), at(time.Minute))
		if want := i >= 2; (err == nil) != want {
			t.Errorf("TakeConsent(%d) = %v; want found %v", i, err, want)
		}
	}
	if _, err := s.TakeConsent(ctx, other.IDHash, at(time.Minute)); err != nil {
		t.Errorf("another user's consent: %v", err)
	}
}

// testConcurrentTakeConsent: one form posted many times at once gets exactly
// one decision.
func testConcurrentTakeConsent(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := consent("race", "u1", t0)
	if err := s.CreateConsent(ctx, c, 0); err != nil {
		t.Fatalf("CreateConsent: %v", err)
	}
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.TakeConsent(ctx, c.IDHash, at(time.Minute))
			errs <- err
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
			t.Errorf("TakeConsent: %v", err)
		}
	}
	if won != 1 {
		t.Errorf("%d of %d concurrent takes got the consent; want 1", won, n)
	}
}

// testDecideConsent: the decision takes the consent and stores its code and
// audit event in one transaction; a missing, expired or taken consent stores
// nothing.
func testDecideConsent(t *testing.T, s store.Store) {
	ctx := t.Context()
	addClient(t, s, "c1")
	c := consent("decide", "u1", t0)
	if err := s.CreateConsent(ctx, c, 0); err != nil {
		t.Fatalf("CreateConsent: %v", err)
	}
	got, err := s.PendingConsent(ctx, c.IDHash, at(time.Minute))
	if err != nil {
		t.Fatalf("PendingConsent: %v", err)
	}
	if diff := cmp.Diff(c, got); diff != "" {
		t.Errorf("PendingConsent (-want +got):\n%s", diff)
	}
	if _, err := s.PendingConsent(ctx, c.IDHash, c.ExpiresAt); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("PendingConsent at expiry = %v; want ErrNotFound", err)
	}
	code := store.Code{Hash: hash("decided code"), ClientID: "c1", UserID: "u1", GrantID: "g", CreatedAt: t0, ExpiresAt: at(10 * time.Minute)}
	event := store.AuditEvent{At: at(time.Minute), Kind: "consent.allow", Actor: "u1", Username: "u1", ClientID: "c1", Detail: "decided"}
	if err := s.DecideConsent(ctx, c.IDHash, at(time.Minute), &code, &event); err != nil {
		t.Fatalf("DecideConsent: %v", err)
	}
	if _, err := s.CodeByHash(ctx, code.Hash); err != nil {
		t.Errorf("the decision's code: %v", err)
	}
	if evs, err := s.ListAudit(ctx, store.AuditFilter{Kind: "consent.allow"}); err != nil || len(evs) != 1 || evs[0].Detail != "decided" {
		t.Errorf("the decision's audit event: %v %v", evs, err)
	}
	if _, err := s.PendingConsent(ctx, c.IDHash, at(time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("PendingConsent after the decision = %v; want ErrNotFound", err)
	}
	// Decided again, or never pending, or expired: nothing is stored.
	again := store.Code{Hash: hash("second code"), ClientID: "c1", UserID: "u1", GrantID: "g", CreatedAt: t0, ExpiresAt: at(10 * time.Minute)}
	old := consent("expired", "u1", t0)
	if err := s.CreateConsent(ctx, old, 0); err != nil {
		t.Fatalf("CreateConsent: %v", err)
	}
	for name, id := range map[string][]byte{"twice": c.IDHash, "unknown": hash("never"), "expired": old.IDHash} {
		err := s.DecideConsent(ctx, id, old.ExpiresAt, &again, &event)
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DecideConsent %s = %v; want ErrNotFound", name, err)
		}
	}
	if _, err := s.CodeByHash(ctx, again.Hash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused decision stored its code: %v", err)
	}
	if evs, _ := s.ListAudit(ctx, store.AuditFilter{Kind: "consent.allow"}); len(evs) != 1 {
		t.Errorf("a refused decision recorded its event: %d events", len(evs))
	}
}

// testConcurrentDecideConsent: one form posted many times at once gets one
// decision, and one code.
func testConcurrentDecideConsent(t *testing.T, s store.Store) {
	ctx := t.Context()
	addClient(t, s, "c1")
	c := consent("race", "u1", t0)
	if err := s.CreateConsent(ctx, c, 0); err != nil {
		t.Fatalf("CreateConsent: %v", err)
	}
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code := store.Code{Hash: hash(fmt.Sprint("race code ", i)), ClientID: "c1", UserID: "u1", GrantID: "g", CreatedAt: t0, ExpiresAt: at(10 * time.Minute)}
			errs <- s.DecideConsent(ctx, c.IDHash, at(time.Minute), &code, nil)
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
