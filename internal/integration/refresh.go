package integration

import (
	"context"
	"errors"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/validation"
)

// waitPoll is how often a caller waiting for another node's refresh looks
// at the result.
const waitPoll = 100 * time.Millisecond

// accessToken implements AccessToken.
func (s *Service) accessToken(ctx context.Context, id string, force bool) (Token, error) {
	in, err := s.store.IntegrationByID(ctx, id)
	if err != nil {
		return Token{}, err
	}
	return s.tokenOf(ctx, in, force)
}

// tokenOf is accessToken for the integration as just read.
func (s *Service) tokenOf(ctx context.Context, in store.Integration, force bool) (Token, error) {
	id := in.ID
	t, ok, err := s.open(in)
	if err != nil {
		return Token{}, err
	}
	now := s.now()
	v := in.Vault
	switch {
	case !ok:
		return Token{}, notAuthorized()
	case v.NeedsReauth:
		return Token{}, stored(v, true)
	case !force && !due(v, now):
		return t.token(v), nil
	case t.Refresh == "":
		if !force && now.Before(v.ExpiresAt) {
			return t.token(v), nil // due, but nothing to refresh with
		}
		return Token{}, &Failure{NeedsReauth: true, Why: noRefreshToken()}
	case !force && v.Failures > 0 && now.Before(v.NextRefreshAt):
		// Backing off after a failure: hand out the old token while it is
		// valid rather than ask the provider at every call.
		if now.Before(v.ExpiresAt) {
			return t.token(v), nil
		}
		return Token{}, stored(v, false)
	}
	key := id
	if force {
		key += " force"
	}
	// The refresh runs detached from the caller: a refresh token the provider
	// rotated must be stored even if this caller has gone. Wait waits for it
	// before the process ends.
	flight := make(chan singleflight.Result, 1)
	s.detach(ctx, func(ctx context.Context) {
		flight <- <-s.flights.DoChan(key, func() (any, error) { return s.refreshShared(ctx, id, force, now) })
	})
	wait := time.NewTimer(s.answerWithin)
	defer wait.Stop()
	// A caller that waited as long as it may gets the token in hand while it
	// is still valid (a due refresh starts minutes before expiry), unless it
	// asked for a fresh one.
	gaveUp := func() (Token, error) {
		if !force && s.now().Before(v.ExpiresAt) {
			return t.token(v), nil
		}
		return Token{}, stillRefreshing()
	}
	select {
	case r := <-flight:
		if r.Err != nil {
			return Token{}, r.Err
		}
		return r.Val.(Token), nil
	case <-wait.C:
		return gaveUp()
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return gaveUp() // the caller's own bound (a mail test's)
		}
		return Token{}, ctx.Err()
	}
}

// detach runs fn apart from the caller, whose request may end first: for as
// long as a refresh lease and one more request may take, and counted by Wait.
func (s *Service) detach(ctx context.Context, fn func(ctx context.Context)) {
	s.detached.Go(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.lease+s.timeout)
		defer cancel()
		fn(ctx)
	})
}

// Wait returns once the refreshes and code exchanges under way on this node
// have ended and stored what they brought: a process that ended sooner would lose a
// refresh token the provider rotated, and the integration with it.
func (s *Service) Wait() { s.detached.Wait() }

// stillRefreshing answers a caller that waited as long as it may for a
// refresh still under way.
func stillRefreshing() *Failure {
	return fail(problem("integration.still_refreshing",
		"the provider has not answered in time; the refresh goes on, and a token it brings is kept: try again in a moment"))
}

// refreshShared refreshes under the integration's lease, or waits for the
// node that holds it and uses its result: one refresh across the cluster
// however many callers ask at once.
func (s *Service) refreshShared(ctx context.Context, id string, force bool, started time.Time) (Token, error) {
	for {
		in, ok, err := s.store.ClaimIntegrationRefresh(ctx, id, s.holder, s.now(), s.lease)
		if err != nil {
			return Token{}, err
		}
		if ok {
			return s.refreshHeld(ctx, in, force, started)
		}
		if in, err = s.waitLease(ctx, id); err != nil {
			return Token{}, err
		}
		t, ok, err := s.open(in)
		v, now := in.Vault, s.now()
		switch {
		case err != nil:
			return Token{}, err
		case !ok:
			return Token{}, notAuthorized()
		case v.NeedsReauth:
			return Token{}, stored(v, true)
		case force && !v.RefreshedAt.Before(started), !force && !due(v, now):
			return t.token(v), nil // the other node's refresh did it
		case force && v.Failures > 0 && !v.ErrorAt.Before(started):
			return Token{}, stored(v, false) // it failed just now: no second try at once
		case !force && v.Failures > 0 && now.Before(v.NextRefreshAt):
			// It failed: back off, with the old token while it works.
			if now.Before(v.ExpiresAt) {
				return t.token(v), nil
			}
			return Token{}, stored(v, false)
		}
	}
}

// waitLease polls until nobody holds the integration's lease.
func (s *Service) waitLease(ctx context.Context, id string) (store.Integration, error) {
	for {
		select {
		case <-ctx.Done():
			return store.Integration{}, ctx.Err()
		case <-time.After(waitPoll):
		}
		in, err := s.store.IntegrationByID(ctx, id)
		if err != nil || in.LeaseHolder == "" || !s.now().Before(in.LeaseUntil) {
			return in, err
		}
	}
}

// refreshHeld refreshes in, whose lease this node holds, unless that is no
// longer needed, and releases the lease with the outcome. started is when
// a forced refresh was asked for: one that finished since will do.
func (s *Service) refreshHeld(ctx context.Context, in store.Integration, force bool, started time.Time) (Token, error) {
	now := s.now()
	t, ok, err := s.open(in)
	if err != nil {
		s.finish(in, s.restored(in, false, now))
		return Token{}, err
	}
	v := in.Vault
	switch {
	case !ok:
		s.finish(in, s.restored(in, false, now))
		return Token{}, notAuthorized()
	case v.NeedsReauth || t.Refresh == "":
		s.finish(in, s.restored(in, false, now))
		if !v.NeedsReauth && now.Before(v.ExpiresAt) && !force {
			return t.token(v), nil
		}
		return Token{}, &Failure{NeedsReauth: true, Why: noRefreshToken()}
	// A retry after a failure refreshes even before the token is due: it is
	// what tells a recovered provider from a failing one.
	case force && !v.RefreshedAt.Before(started), !force && !due(v, now) && v.Failures == 0:
		s.finish(in, s.restored(in, true, now))
		return t.token(v), nil
	case now.Add(s.timeout + time.Second).After(in.LeaseUntil):
		// Claimed, then queued too long: the lease could end while the
		// provider answers, and another node would present the same
		// refresh token. Leave it to whoever claims it next.
		return Token{}, errLeaseShort
	}
	asked := s.now()
	tok, rotated, f := s.callProvider(ctx, in, t.Refresh)
	now = s.now()
	if f == nil {
		if f = unusable(tok); f != nil {
			rotated = tok.RefreshToken
		}
	}
	if f != nil {
		if rotated != "" {
			// The answer is refused, but its rotated refresh token is the
			// only one the provider still takes: keep it.
			t.Refresh = rotated
			in.Vault.TokensSealed = s.seal(in.ID, t)
		}
		return s.failed(in, t, f, force, now)
	}
	next := s.vaultOf(in, tok, t, v, asked, now)
	if err := s.finish(in, next); err != nil {
		return Token{}, err
	}
	s.refreshes.WithLabelValues(resultSuccess).Inc()
	fresh := sealedTokens{Access: tok.AccessToken, Refresh: tok.RefreshToken, Type: tok.TokenType}
	return fresh.token(next), nil
}

var errLeaseShort = errors.New("integration: refresh lease too short to finish; left to the next claimant")

// callProvider presents the refresh token at the token endpoint, once. On
// a failure, rotated is the refresh token of a successful answer that
// x/oauth2 refused (no access_token, say): the provider may have rotated.
func (s *Service) callProvider(ctx context.Context, in store.Integration, refresh string) (tok *oauth2.Token, rotated string, f *Failure) {
	if err := s.endpointsAllowed(in); err != nil {
		if errors.As(err, &f) {
			return nil, "", f
		}
		return nil, "", fail(problem("integration.insecure_endpoint", "the token endpoint %s must use https outside development mode", in.TokenURL))
	}
	clientSecret, err := s.clientSecret(in)
	if err != nil {
		return nil, "", fail(keyMismatch())
	}
	ctx, seen := recordAnswer(ctx)
	tok, err = s.config(in, clientSecret).TokenSource(s.withClient(ctx), &oauth2.Token{RefreshToken: refresh}).Token()
	if err != nil {
		return nil, seen.rotated, transportError(err, in.TokenURL, seconds(s.timeout), seen)
	}
	return tok, "", nil
}

// failed records a failed refresh. invalid_grant stops the refresher until
// the integration is authorized again; anything else is tried again after a
// backoff, and the old token is handed out meanwhile while it is valid.
func (s *Service) failed(in store.Integration, t sealedTokens, f *Failure, force bool, now time.Time) (Token, error) {
	v := in.Vault
	v.Failures++
	v.ErrorKey, v.ErrorDetail = f.encode()
	v.ErrorAt = now
	v.NeedsReauth = f.NeedsReauth
	v.NextRefreshAt = schedule(v, true, now)
	result := resultFailure
	if f.NeedsReauth {
		result = resultReauth
	}
	s.refreshes.WithLabelValues(result).Inc()
	s.log.Warn("integration token refresh failed", "integration", in.ID, "name", in.Name, "failures", v.Failures,
		"needs_reauthorization", f.NeedsReauth, "reason", f.Error())
	if err := s.finish(in, v); err != nil {
		return Token{}, err
	}
	if !f.NeedsReauth && !force && now.Before(in.Vault.ExpiresAt) {
		return t.token(in.Vault), nil
	}
	return Token{}, f
}

// restored is in's vault as it was, with its schedule recomputed (the claim
// moved it to the lease's end).
func (s *Service) restored(in store.Integration, hasRefresh bool, now time.Time) store.IntegrationVault {
	v := in.Vault
	v.NextRefreshAt = schedule(v, hasRefresh, now)
	return v
}

// finish writes the outcome and releases the lease. A write that fails is
// tried again while the lease lasts: the provider may have rotated the
// refresh token, and the new one exists nowhere else. It runs detached from
// any caller for the same reason.
func (s *Service) finish(in store.Integration, v store.IntegrationVault) error {
	ctx, cancel := context.WithDeadline(context.Background(), in.LeaseUntil)
	defer cancel()
	for {
		err := s.store.FinishIntegrationRefresh(ctx, in.ID, s.holder, v)
		switch {
		case err == nil:
			s.poke()
			return nil
		case errors.Is(err, store.ErrNotFound):
			// A new authorization or new endpoints took the lease: this
			// outcome belongs to the old grant.
			s.log.Warn("integration refresh outcome dropped: the lease was taken over", "integration", in.ID)
			return errLeaseLost
		}
		select {
		case <-ctx.Done():
			s.log.Error("integration refresh outcome not stored", "integration", in.ID, "error", err)
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

var errLeaseLost = errors.New("integration: the refresh lease was taken over; authorize again if the status says so")

// notAuthorized is AccessToken's failure before the first authorization.
func notAuthorized() *Failure {
	return &Failure{NeedsReauth: true, Why: problem("integration.not_authorized", "the integration has not been authorized yet: press Authorize on its page")}
}

func noRefreshToken() *validation.Error {
	return problem("integration.no_refresh_token",
		"the provider gave no refresh token, so the expired access token cannot be renewed: authorize again (Google needs access_type=offline and prompt=consent, Microsoft offline_access)")
}

// stored is the failure the vault records.
func stored(v store.IntegrationVault, reauth bool) *Failure {
	why := decodeWords(v.ErrorKey, v.ErrorDetail)
	if why == nil {
		why = problem("integration.refresh_failed", "the last refresh failed")
	}
	return &Failure{NeedsReauth: reauth, Why: why}
}
