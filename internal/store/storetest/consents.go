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
