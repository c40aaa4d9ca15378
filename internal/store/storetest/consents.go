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
