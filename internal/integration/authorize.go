package integration

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	neturl "net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/store"
)

// AuthorizationTTL is how long an authorization URL (its state) works.
const AuthorizationTTL = 10 * time.Minute

// pendingLimit bounds the authorizations in progress per integration.
const pendingLimit = 20

// ErrUnknownState refuses a callback whose state is missing, unknown,
// already used, expired, or bound to another browser session.
var ErrUnknownState = errors.New("this authorization is unknown, already finished or expired (links work once, for 10 minutes, in the browser that started them): start it again from the integration's page")

func verifierContext(id string) string { return "integration pkce verifier " + id }

// StartAuthorization returns the provider's authorization URL for the
// integration, with a single-use state (valid AuthorizationTTL) and a PKCE
// S256 challenge. binding ties the state to the browser session that asks
// (the console's Authorize button); nil makes a URL any browser may complete
// (the command line's, for headless set-ups).
func (s *Service) StartAuthorization(ctx context.Context, a Actor, id string, binding []byte) (url string, expires time.Time, err error) {
	if err := checkActor(a); err != nil {
		return "", expires, err
	}
	in, err := s.store.IntegrationByID(ctx, id)
	if err != nil {
		return "", expires, err
	}
	if in.ClientID == "" {
		return "", expires, invalid("integration.authorize_no_client_id", "enter the client ID that the provider gave before authorizing")
	}
	if err := s.endpointsAllowed(in); err != nil {
		return "", expires, err
	}
	state := randomString()
	now := s.now()
	pending := store.IntegrationAuth{
		StateHash: s.stateHash(state), IntegrationID: in.ID, Binding: binding, RedirectURL: s.RedirectURL(in),
		Actor: a.Username, CreatedAt: now, ExpiresAt: now.Add(AuthorizationTTL),
	}
	var opts []oauth2.AuthCodeOption
	if in.PKCE {
		verifier := oauth2.GenerateVerifier()
		pending.VerifierSealed = s.keys.Seal([]byte(verifier), verifierContext(in.ID))
		opts = append(opts, oauth2.S256ChallengeOption(verifier))
	}
	params, _ := neturl.ParseQuery(in.AuthParams) // normalized when saved
	for name, values := range params {
		opts = append(opts, oauth2.SetAuthURLParam(name, values[0]))
	}
	if err := s.store.CreateIntegrationAuth(ctx, pending, now, pendingLimit); err != nil {
		return "", expires, err
	}
	return s.config(in, "").AuthCodeURL(state, opts...), pending.ExpiresAt, nil
}

// endpointsAllowed refuses http endpoints outside development mode (saved
// in development mode, say, and served in production later).
func (s *Service) endpointsAllowed(in store.Integration) error {
	for field, u := range map[string]string{"authorization_endpoint": in.AuthURL, "token_endpoint": in.TokenURL} {
		if err := s.checkURL(field, u); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) stateHash(state string) []byte { return s.keys.Hash("integration-state:" + state) }

func randomString() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// config is the x/oauth2 client of in. Google and Microsoft document the
// client secret in the form body; a custom provider gets HTTP Basic, which
// RFC 6749 §2.3.1 requires every provider to accept. The style is never
// auto-detected: detection retries a refused request the other way, and a
// refresh retried is a refresh token presented twice.
func (s *Service) config(in store.Integration, clientSecret string) *oauth2.Config {
	style := oauth2.AuthStyleInHeader
	if in.Provider != Custom {
		style = oauth2.AuthStyleInParams
	}
	return &oauth2.Config{
		ClientID: in.ClientID, ClientSecret: clientSecret, RedirectURL: s.RedirectURL(in), Scopes: in.Scopes,
		Endpoint: oauth2.Endpoint{AuthURL: in.AuthURL, TokenURL: in.TokenURL, AuthStyle: style},
	}
}

// withClient makes x/oauth2 use the Service's HTTP client.
func (s *Service) withClient(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, s.client)
}

// Callback is the browser's return from the provider.
type Callback struct {
	Key     string        // the last path segment of the redirect URL
	Query   neturl.Values // code, state, iss, or error and error_description
	Binding []byte        // the binding of the browser session it arrives in (nil without one)
	Address string
}

// Completion is the outcome of a callback whose state was valid.
type Completion struct {
	Integration store.Integration
	// Bound: started from the console in this session (else from a URL made
	// for any browser).
	Bound bool
	// Failure is the provider's refusal, or why the exchange failed; the
	// stored tokens are then as they were.
	Failure *Failure
}

// CompleteAuthorization finishes an authorization: it takes the state
// (once), checks the session binding, the endpoints and iss (RFC 9207),
// exchanges the code with the PKCE verifier and seals the tokens. An
// invalid state is ErrUnknownState; everything after it is a Completion,
// failed or not, and audited.
func (s *Service) CompleteAuthorization(ctx context.Context, cb Callback) (Completion, error) {
	state := cb.Query.Get("state")
	if state == "" {
		return Completion{}, ErrUnknownState
	}
	pending, err := s.store.TakeIntegrationAuth(ctx, s.stateHash(state), cb.Binding, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return Completion{}, ErrUnknownState
	}
	if err != nil {
		return Completion{}, err
	}
	in, err := s.store.IntegrationByID(ctx, pending.IntegrationID)
	if errors.Is(err, store.ErrNotFound) {
		return Completion{}, ErrUnknownState
	}
	if err != nil {
		return Completion{}, err
	}
	c := Completion{Integration: in, Bound: pending.Binding != nil}
	actor := Actor{Username: pending.Actor, Address: cb.Address}
	// The exchange runs detached from the browser's request, as a refresh
	// does from its caller's: the provider has redeemed the code once it
	// answers, so its tokens must be stored (and the outcome audited) even
	// if the browser was answered first, in time for the HTTP server.
	done := make(chan Completion, 1)
	exchanging := c // the goroutine's own copy: c is answered below meanwhile
	s.detach(ctx, func(ctx context.Context) {
		c := exchanging
		c.Failure = s.exchange(ctx, &c.Integration, pending, cb)
		if c.Failure != nil {
			s.record(ctx, actor, audit.IntegrationAuthFailure, in, c.Failure.Error())
		} else {
			detail := "tokens stored"
			if c.Integration.Vault.Account != "" {
				detail += " for " + c.Integration.Vault.Account
			}
			s.record(ctx, actor, audit.IntegrationAuthorize, in, detail)
			s.poke()
		}
		done <- c
	})
	wait := time.NewTimer(s.answerWithin)
	defer wait.Stop()
	select {
	case c = <-done:
	case <-wait.C:
		c.Failure = fail(problem("integration.exchange_slow",
			"the provider has not redeemed the authorization code in time; the exchange goes on, and the integration is authorized if it succeeds: look at the integration's status in a moment"))
	}
	return c, nil
}

// exchange checks the callback against the pending authorization, redeems
// the code and stores the tokens in in's vault.
func (s *Service) exchange(ctx context.Context, in *store.Integration, pending store.IntegrationAuth, cb Callback) *Failure {
	q := cb.Query
	redirect := s.RedirectURL(*in)
	if redirect != pending.RedirectURL {
		return fail(problem("integration.endpoints_changed",
			"the integration's endpoints changed while it was being authorized: register the new redirect URL at the provider and authorize again"))
	}
	if !strings.HasSuffix(redirect, "/"+cb.Key) {
		// The provider sent the browser to another integration's redirect
		// URL (its registration names the wrong one), or someone did.
		return fail(problem("integration.wrong_callback",
			"the answer came to another integration's redirect URL, not this one's: check the redirect URL registered at the provider and authorize again"))
	}
	if iss := q.Get("iss"); q.Has("iss") && in.Issuer != "" && strings.TrimRight(iss, "/") != strings.TrimRight(in.Issuer, "/") {
		return fail(problem("integration.wrong_issuer", "the answer came from the issuer %s, not %s: authorize again", providerText(iss), in.Issuer))
	}
	if code := q.Get("error"); code != "" {
		return oauthError(code, q.Get("error_description"))
	}
	code := q.Get("code")
	if code == "" {
		return fail(problem("integration.no_code", "the provider sent the browser back without an authorization code: authorize again"))
	}
	clientSecret, err := s.clientSecret(*in)
	if err != nil {
		return fail(keyMismatch())
	}
	var opts []oauth2.AuthCodeOption
	if pending.VerifierSealed != nil {
		verifier, err := s.keys.Open(pending.VerifierSealed, verifierContext(in.ID))
		if err != nil {
			return fail(keyMismatch())
		}
		opts = append(opts, oauth2.VerifierOption(string(verifier)))
	}
	cfg := s.config(*in, clientSecret)
	cfg.RedirectURL = pending.RedirectURL
	ctx, seen := recordAnswer(ctx)
	asked := s.now()
	tok, err := cfg.Exchange(s.withClient(ctx), code, opts...)
	if err != nil {
		return transportError(err, in.TokenURL, seconds(s.timeout), seen)
	}
	if f := unusable(tok); f != nil {
		return f
	}
	now := s.now()
	v := s.vaultOf(*in, tok, sealedTokens{}, store.IntegrationVault{Scope: strings.Join(in.Scopes, " ")}, asked, now)
	v.AuthorizedAt, v.RefreshedAt = now, time.Time{}
	v.NextRefreshAt = schedule(v, tok.RefreshToken != "", now)
	if v.Account == "" && in.UserinfoURL != "" {
		v.Account, _ = s.userinfo(ctx, in.UserinfoURL, tok.AccessToken, s.timeout) // best effort: Test connection says more
	}
	if err := s.store.StoreIntegrationTokens(ctx, in.ID, v); err != nil {
		s.log.Error("integration tokens not stored", "integration", in.ID, "error", err)
		return fail(problem("integration.store_failed", "the tokens could not be stored: the database did not answer; authorize again"))
	}
	in.Vault, in.LeaseHolder, in.LeaseUntil = v, "", time.Time{}
	return nil
}

// poke wakes this node's refresher to look at its schedule again.
func (s *Service) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}
