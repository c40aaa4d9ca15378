package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func integration(id, name string) store.Integration {
	return store.Integration{
		ID: id, Name: name, Description: "Mail for " + name, Provider: "custom", ClientID: "client-" + id,
		SecretSealed: []byte("sealed secret of " + id), Scopes: []string{"openid", "email"},
		AuthURL: "https://idp.example/authorize", TokenURL: "https://idp.example/token",
		UserinfoURL: "https://idp.example/userinfo", Issuer: "https://idp.example", AuthParams: "prompt=consent",
		PKCE: true, CreatedAt: t0, UpdatedAt: t0,
	}
}

func addIntegration(t *testing.T, s store.Store, in store.Integration) {
	t.Helper()
	if err := s.CreateIntegration(t.Context(), in); err != nil {
		t.Fatalf("CreateIntegration(%s): %v", in.Name, err)
	}
}

func integrationByID(t *testing.T, s store.Store, id string) store.Integration {
	t.Helper()
	in, err := s.IntegrationByID(t.Context(), id)
	if err != nil {
		t.Fatalf("IntegrationByID(%s): %v", id, err)
	}
	return in
}

// authorized is a vault holding tokens, due for refresh at next.
func authorized(label string, next time.Time) store.IntegrationVault {
	return store.IntegrationVault{
		TokensSealed: []byte("sealed tokens " + label), Account: "ops@example.com", Scope: "openid email",
		ExpiresAt: next.Add(time.Minute), AuthorizedAt: t0, NextRefreshAt: next,
	}
}

func testIntegrations(t *testing.T, s store.Store) {
	ctx := t.Context()
	mail := integration("i1", "Mail")
	mail.Vault = authorized("mail", at(time.Hour))
	addIntegration(t, s, mail)
	addIntegration(t, s, integration("i2", "another"))
	diff(t, "IntegrationByID", mail, integrationByID(t, s, "i1"))
	got, err := s.IntegrationByName(ctx, "MAIL")
	if err != nil || got.ID != "i1" {
		t.Fatalf("IntegrationByName(MAIL) = %s, %v; want i1 (names match whatever their case)", got.ID, err)
	}
	_, err = s.IntegrationByName(ctx, "nobody")
	wantErr(t, "IntegrationByName(unknown)", err, store.ErrNotFound)
	_, err = s.IntegrationByID(ctx, "nobody")
	wantErr(t, "IntegrationByID(unknown)", err, store.ErrNotFound)
	wantErr(t, "CreateIntegration(mail, another case)", s.CreateIntegration(ctx, integration("i3", "mAIL")), store.ErrConflict)
	wantErr(t, "CreateIntegration(same ID)", s.CreateIntegration(ctx, integration("i1", "Third")), store.ErrConflict)

	list, err := s.ListIntegrations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, in := range list {
		names = append(names, in.Name)
	}
	diff(t, "ListIntegrations names (by name, whatever the case)", []string{"another", "Mail"}, names)

	broken := integration("i3", "broken")
	broken.Vault = store.IntegrationVault{TokensSealed: []byte("sealed"), NeedsReauth: true, Failures: 3, ExpiresAt: at(-time.Minute)}
	addIntegration(t, s, broken)
	summaries, err := s.ListIntegrationSummaries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "ListIntegrationSummaries", []store.IntegrationSummary{
		{ID: "i2", Name: "another"},
		{ID: "i3", Name: "broken", Authorized: true, NeedsReauth: true, Failures: 3, ExpiresAt: at(-time.Minute)},
		{ID: "i1", Name: "Mail", Authorized: true, ExpiresAt: mail.Vault.ExpiresAt, NextRefreshAt: mail.Vault.NextRefreshAt},
	}, summaries)
	if err := s.DeleteIntegration(ctx, "i3"); err != nil {
		t.Fatal(err)
	}

	updated, err := s.UpdateIntegration(ctx, "i1", func(in *store.Integration) error {
		in.Name, in.Scopes, in.PKCE, in.UpdatedAt = "Mail (EU)", []string{"mail"}, false, at(time.Minute)
		in.ID, in.CreatedAt = "changed", at(time.Hour) // neither may change
		in.Vault = store.IntegrationVault{}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := mail
	want.Name, want.Scopes, want.PKCE, want.UpdatedAt, want.Vault = "Mail (EU)", []string{"mail"}, false, at(time.Minute), store.IntegrationVault{}
	diff(t, "UpdateIntegration's answer", want, updated)
	diff(t, "the stored integration after UpdateIntegration", want, integrationByID(t, s, "i1"))

	refusal := errors.New("refused")
	_, err = s.UpdateIntegration(ctx, "i1", func(in *store.Integration) error { in.Name = "Lost"; return refusal })
	if err != refusal {
		t.Errorf("UpdateIntegration with a refusing change = %v; want the refusal as it is", err)
	}
	_, err = s.UpdateIntegration(ctx, "i1", func(in *store.Integration) error { in.Name = "ANOTHER"; return nil })
	wantErr(t, "UpdateIntegration to a taken name", err, store.ErrConflict)
	_, err = s.UpdateIntegration(ctx, "nobody", func(*store.Integration) error { return nil })
	wantErr(t, "UpdateIntegration(unknown)", err, store.ErrNotFound)
	diff(t, "the integration after refused updates", want, integrationByID(t, s, "i1"))

	if err := s.CreateIntegrationAuth(ctx, pendingAuth("gone-with-it", "i1", t0), t0, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteIntegration(ctx, "i1"); err != nil {
		t.Fatal(err)
	}
	_, err = s.IntegrationByID(ctx, "i1")
	wantErr(t, "IntegrationByID after DeleteIntegration", err, store.ErrNotFound)
	_, err = s.TakeIntegrationAuth(ctx, hash("gone-with-it"), hash("session of gone-with-it"), t0)
	wantErr(t, "TakeIntegrationAuth of a deleted integration", err, store.ErrNotFound)
	wantErr(t, "DeleteIntegration again", s.DeleteIntegration(ctx, "i1"), store.ErrNotFound)
}

func testIntegrationLease(t *testing.T, s store.Store) {
	ctx := t.Context()
	in := integration("i1", "Mail")
	in.Vault = authorized("first", at(time.Minute))
	addIntegration(t, s, in)
	claim := func(holder string, now time.Time, want bool) store.Integration {
		t.Helper()
		got, ok, err := s.ClaimIntegrationRefresh(ctx, "i1", holder, now, 30*time.Second)
		if err != nil || ok != want {
			t.Fatalf("ClaimIntegrationRefresh(%s, %v) = %v, %v; want %v", holder, now.Sub(t0), ok, err, want)
		}
		return got
	}
	got := claim("a", at(time.Minute), true)
	if got.LeaseHolder != "a" || !got.LeaseUntil.Equal(at(90*time.Second)) || !got.Vault.NextRefreshAt.Equal(at(90*time.Second)) {
		t.Errorf("claimed: holder %q until %v, next refresh %v; want a, and 1m30s for both (a dead holder's refresh is due again then)",
			got.LeaseHolder, got.LeaseUntil.Sub(t0), got.Vault.NextRefreshAt.Sub(t0))
	}
	if string(got.Vault.TokensSealed) != "sealed tokens first" {
		t.Errorf("the claim returned tokens %q", got.Vault.TokensSealed)
	}
	claim("b", at(80*time.Second), false)
	claim("a", at(80*time.Second), false) // a lease is not taken twice, even by its holder
	_, _, err := s.ClaimIntegrationRefresh(ctx, "nobody", "a", t0, time.Minute)
	wantErr(t, "ClaimIntegrationRefresh(unknown)", err, store.ErrNotFound)

	// The holder's lease ended: b takes over, and a's late answer is dropped.
	claim("b", at(90*time.Second), true)
	next := authorized("second", at(time.Hour))
	next.RefreshedAt = at(91 * time.Second)
	wantErr(t, "FinishIntegrationRefresh by a lost lease", s.FinishIntegrationRefresh(ctx, "i1", "a", next), store.ErrNotFound)
	if err := s.FinishIntegrationRefresh(ctx, "i1", "b", next); err != nil {
		t.Fatalf("FinishIntegrationRefresh by the holder: %v", err)
	}
	stored := integrationByID(t, s, "i1")
	diff(t, "the vault after the refresh", next, stored.Vault)
	if stored.LeaseHolder != "" || !stored.LeaseUntil.IsZero() {
		t.Errorf("lease after FinishIntegrationRefresh: %q until %v; want released", stored.LeaseHolder, stored.LeaseUntil)
	}
	wantErr(t, "FinishIntegrationRefresh twice", s.FinishIntegrationRefresh(ctx, "i1", "b", next), store.ErrNotFound)

	// A new authorization while a refresh is in flight wins over its answer.
	claim("c", at(2*time.Minute), true)
	fresh := authorized("reauthorized", at(2*time.Hour))
	if err := s.StoreIntegrationTokens(ctx, "i1", fresh); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "FinishIntegrationRefresh after StoreIntegrationTokens", s.FinishIntegrationRefresh(ctx, "i1", "c", next), store.ErrNotFound)
	diff(t, "the vault after a new authorization", fresh, integrationByID(t, s, "i1").Vault)
	claim("d", at(2*time.Minute), true) // StoreIntegrationTokens dropped c's lease
	wantErr(t, "StoreIntegrationTokens(unknown)", s.StoreIntegrationTokens(ctx, "nobody", fresh), store.ErrNotFound)
}

func testIntegrationsDue(t *testing.T, s store.Store) {
	ctx := t.Context()
	if next, err := s.NextIntegrationRefresh(ctx); err != nil || !next.IsZero() {
		t.Fatalf("NextIntegrationRefresh with none = %v, %v; want zero", next, err)
	}
	for i, due := range []time.Duration{3 * time.Minute, time.Minute, 0, 2 * time.Minute, time.Hour} {
		in := integration(fmt.Sprint("i", i), fmt.Sprint("Integration ", i))
		if due != 0 {
			in.Vault = authorized(in.ID, at(due))
		}
		addIntegration(t, s, in)
	}
	if next, err := s.NextIntegrationRefresh(ctx); err != nil || !next.Equal(at(time.Minute)) {
		t.Fatalf("NextIntegrationRefresh = %v, %v; want 1m", next.Sub(t0), err)
	}
	ids := func(ins []store.Integration) []string {
		var out []string
		for _, in := range ins {
			out = append(out, in.ID)
		}
		return out
	}
	now := at(3 * time.Minute)
	got, err := s.ClaimDueIntegrations(ctx, "a", now, 30*time.Second, 2)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "first claim of the due (earliest first, at most 2)", []string{"i1", "i3"}, ids(got))
	for _, in := range got {
		if in.LeaseHolder != "a" || !in.Vault.NextRefreshAt.Equal(now.Add(30*time.Second)) {
			t.Errorf("%s claimed by %q, next refresh %v", in.ID, in.LeaseHolder, in.Vault.NextRefreshAt.Sub(t0))
		}
	}
	got, err = s.ClaimDueIntegrations(ctx, "b", now, 30*time.Second, 10)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "second claim (the claimed ones are not due again)", []string{"i0"}, ids(got))
	got, err = s.ClaimDueIntegrations(ctx, "b", now, 30*time.Second, 10)
	if err != nil || len(got) != 0 {
		t.Fatalf("third claim = %v, %v; want none", ids(got), err)
	}
	// a dies: its claims are due again when the lease ends.
	later := now.Add(30 * time.Second)
	got, err = s.ClaimDueIntegrations(ctx, "c", later, 30*time.Second, 10)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "claim after the leases ended", []string{"i0", "i1", "i3"}, slices.Sorted(slices.Values(ids(got))))
	if err := s.FinishIntegrationRefresh(ctx, "i3", "c", store.IntegrationVault{TokensSealed: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if next, err := s.NextIntegrationRefresh(ctx); err != nil || !next.Equal(later.Add(30*time.Second)) {
		t.Fatalf("NextIntegrationRefresh = %v, %v; want the leases' end (i3 has nothing to refresh)", next.Sub(t0), err)
	}
}

// testConcurrentIntegrationClaims: of nodes claiming at once, exactly one
// refreshes each integration, whether they ask for one or for the due ones.
func testConcurrentIntegrationClaims(t *testing.T, s store.Store) {
	ctx := t.Context()
	const integrations, claimants = 20, 8
	for i := range integrations {
		in := integration(fmt.Sprint("i", i), fmt.Sprint("Integration ", i))
		in.Vault = authorized(in.ID, t0)
		addIntegration(t, s, in)
	}
	claimed := make(map[string]int)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for c := range claimants {
		wg.Go(func() {
			holder := fmt.Sprint("node", c)
			if _, ok, err := s.ClaimIntegrationRefresh(ctx, "i0", holder, t0, time.Minute); err != nil {
				t.Errorf("ClaimIntegrationRefresh: %v", err)
			} else if ok {
				mu.Lock()
				claimed["i0"]++
				mu.Unlock()
			}
			for {
				got, err := s.ClaimDueIntegrations(ctx, holder, t0, time.Minute, 3)
				if err != nil {
					t.Errorf("ClaimDueIntegrations: %v", err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, in := range got {
					claimed[in.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for i := range integrations {
		if id := fmt.Sprint("i", i); claimed[id] != 1 {
			t.Errorf("%s was claimed %d times; want exactly once", id, claimed[id])
		}
	}
}

func pendingAuth(state, integrationID string, created time.Time) store.IntegrationAuth {
	return store.IntegrationAuth{
		StateHash: hash(state), IntegrationID: integrationID, Binding: hash("session of " + state),
		VerifierSealed: []byte("sealed verifier"), RedirectURL: "https://gatehouse.example/cb/key", Actor: "admin",
		CreatedAt: created, ExpiresAt: created.Add(10 * time.Minute),
	}
}

func testIntegrationAuths(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := pendingAuth("s1", "i1", t0)
	if err := s.CreateIntegrationAuth(ctx, a, t0, 5); err != nil {
		t.Fatal(err)
	}
	for _, other := range [][]byte{nil, hash("another session")} {
		_, err := s.TakeIntegrationAuth(ctx, a.StateHash, other, at(time.Minute))
		wantErr(t, fmt.Sprintf("TakeIntegrationAuth with binding %x", other), err, store.ErrNotFound)
	}
	got, err := s.TakeIntegrationAuth(ctx, a.StateHash, a.Binding, at(time.Minute))
	if err != nil {
		t.Fatal("a take with another binding used it up:", err)
	}
	diff(t, "TakeIntegrationAuth", a, got)
	_, err = s.TakeIntegrationAuth(ctx, a.StateHash, a.Binding, at(time.Minute))
	wantErr(t, "TakeIntegrationAuth twice", err, store.ErrNotFound)

	unbound := pendingAuth("s2", "i1", t0)
	unbound.Binding, unbound.VerifierSealed = nil, nil
	if err := s.CreateIntegrationAuth(ctx, unbound, t0, 5); err != nil {
		t.Fatal(err)
	}
	if got, err := s.TakeIntegrationAuth(ctx, unbound.StateHash, hash("any session"), t0); err != nil || got.Binding != nil || got.VerifierSealed != nil {
		t.Fatalf("TakeIntegrationAuth(unbound) = %+v, %v; want nil binding and verifier", got, err)
	}

	expired := pendingAuth("s3", "i1", t0)
	if err := s.CreateIntegrationAuth(ctx, expired, t0, 5); err != nil {
		t.Fatal(err)
	}
	_, err = s.TakeIntegrationAuth(ctx, expired.StateHash, expired.Binding, at(10*time.Minute))
	wantErr(t, "TakeIntegrationAuth at its expiry", err, store.ErrNotFound)

	// Creating one drops the expired and the oldest beyond the limit.
	old := pendingAuth("old", "i2", t0)
	if err := s.CreateIntegrationAuth(ctx, old, t0, 5); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := s.CreateIntegrationAuth(ctx, pendingAuth(fmt.Sprint("new", i), "i1", at(11*time.Minute+time.Duration(i)*time.Second)), at(11*time.Minute), 2); err != nil {
			t.Fatal(err)
		}
	}
	_, err = s.TakeIntegrationAuth(ctx, old.StateHash, old.Binding, t0)
	wantErr(t, "TakeIntegrationAuth of one expired when another was created", err, store.ErrNotFound)
	_, err = s.TakeIntegrationAuth(ctx, hash("new0"), hash("session of new0"), at(12*time.Minute))
	wantErr(t, "TakeIntegrationAuth of the oldest beyond the limit", err, store.ErrNotFound)
	for _, state := range []string{"new1", "new2"} {
		if _, err := s.TakeIntegrationAuth(ctx, hash(state), hash("session of "+state), at(12*time.Minute)); err != nil {
			t.Errorf("TakeIntegrationAuth(%s): %v", state, err)
		}
	}
}

func testConcurrentTakeIntegrationAuth(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := pendingAuth("race", "i1", t0)
	if err := s.CreateIntegrationAuth(ctx, a, t0, 0); err != nil {
		t.Fatal(err)
	}
	const n = 16
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			_, err := s.TakeIntegrationAuth(ctx, a.StateHash, a.Binding, at(time.Minute))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	won := 0
	for err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrNotFound):
			t.Errorf("TakeIntegrationAuth: %v", err)
		}
	}
	if won != 1 {
		t.Errorf("%d of %d concurrent takes got the authorization; want 1", won, n)
	}
}
