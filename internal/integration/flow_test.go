package integration

import (
	"errors"
	"log/slog"
	"net/url"
	"path"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testprovider"
)

func wantKey(t *testing.T, what string, err error, key string) *Failure {
	t.Helper()
	var f *Failure
	if !errors.As(err, &f) || f.Why.Key != key {
		t.Fatalf("%s = %v; want a failure with key %s", what, err, key)
	}
	return f
}

// TestGoogle: the Google preset against a stand-in that returns a refresh
// token only with access_type=offline and prompt=consent and keeps it on
// refresh: Gatehouse keeps the one it has.
func TestGoogle(t *testing.T) {
	e := newEnv(t)
	p := testprovider.Start(t, testprovider.Options{Style: testprovider.Google})
	e.useStandIn(Google, p)
	in := e.create(Settings{Provider: Google, Name: "Gmail"}, p)
	in = e.authorized(in.ID, p)
	if q := p.Authorizations()[0]; q.Get("access_type") != "offline" || q.Get("prompt") != "consent" {
		t.Fatalf("authorization request %v lacks access_type=offline and prompt=consent", q)
	}
	first := e.tokens(in.ID)
	st := StateOf(in, e.s.now())
	if first.Refresh == "" || st.Status != StatusHealthy || !st.Renewable || st.Account != "ops@example.com" ||
		st.Scope != "https://mail.google.com/ openid email" {
		t.Fatalf("after authorization: refresh token %v, state %+v", first.Refresh != "", st)
	}
	for range 2 {
		tok, err := e.s.AccessToken(t.Context(), in.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		now := e.tokens(in.ID)
		if now.Refresh != first.Refresh || tok.AccessToken == first.Access || now.Access != tok.AccessToken {
			t.Fatalf("after a refresh: kept the refresh token %v, new access token %v", now.Refresh == first.Refresh, tok.AccessToken != first.Access)
		}
	}
	res, err := e.s.Test(t.Context(), root, in.ID)
	if err != nil || !res.OK || !res.FromUserinfo || res.Account != "ops@example.com" {
		t.Fatalf("Test = %+v, %v", res, err)
	}
	if msg := res.Message(); msg != "Signed in as ops@example.com; token valid for 59 minutes" {
		t.Errorf("Test message %q", msg)
	}
	e.noSecretsLogged(first.Access, first.Refresh, p.ClientSecret())

	// Without the parameters Google gives no refresh token: the token
	// cannot be renewed, and says so once expired.
	bare := ""
	if _, err := e.s.Update(t.Context(), root, in.ID, Change{AuthParams: &bare}); err != nil {
		t.Fatal(err)
	}
	in = e.authorized(in.ID, p)
	if e.tokens(in.ID).Refresh != "" || StateOf(in, e.s.now()).Renewable {
		t.Fatal("Google returned a refresh token without access_type=offline and prompt=consent")
	}
	if got := StateOf(in, in.Vault.ExpiresAt).Status; got != StatusNeedsReauth {
		t.Errorf("status of an expired token without a refresh token = %s", got)
	}
	_, err = e.s.AccessToken(t.Context(), in.ID, true)
	wantKey(t, "a forced refresh without a refresh token", err, "integration.no_refresh_token")
}

// TestMicrosoft: the Microsoft preset against a stand-in that requires
// offline_access, rotates the refresh token at every refresh and words its
// refusals as AADSTS codes.
func TestMicrosoft(t *testing.T) {
	e := newEnv(t)
	p := testprovider.Start(t, testprovider.Options{Style: testprovider.Microsoft})
	e.useStandIn(Microsoft, p)
	in := e.create(Settings{Provider: Microsoft, Name: "Outlook", Tenant: "contoso.onmicrosoft.com"}, p)
	if in.TokenURL != p.URL+"/contoso.onmicrosoft.com/oauth2/v2.0/token" {
		t.Fatalf("token endpoint %s does not hold the tenant", in.TokenURL)
	}
	in = e.authorized(in.ID, p)
	previous := e.tokens(in.ID)
	for range 3 {
		if _, err := e.s.AccessToken(t.Context(), in.ID, true); err != nil {
			t.Fatal(err)
		}
		now := e.tokens(in.ID)
		if now.Refresh == previous.Refresh || now.Refresh == "" {
			t.Fatal("the rotated refresh token did not replace the old one")
		}
		previous = now
	}
	if reused := p.Reused(); len(reused) > 0 {
		t.Fatalf("refresh tokens presented twice: %v", reused)
	}
	res, err := e.s.Test(t.Context(), root, in.ID)
	if err != nil || !res.OK || res.FromUserinfo || res.Account != "ops@example.com" {
		t.Fatalf("Test = %+v, %v (Microsoft has no user-info endpoint for an Outlook token; the ID token names the account)", res, err)
	}

	// The grant revoked at Microsoft: AADSTS in plain words, and the
	// integration needs authorizing again; the refresher stops trying.
	p.RevokeAll()
	_, err = e.s.AccessToken(t.Context(), in.ID, true)
	f := wantKey(t, "a refresh of a revoked grant", err, "integration.aadsts")
	if !errors.Is(err, ErrNeedsReauthorization) || f.Why.Args[1] != "AADSTS70000" {
		t.Errorf("failure %v (args %v): want needs re-authorization with AADSTS70000", f, f.Why.Args)
	}
	in = e.get(in.ID)
	if st := StateOf(in, e.s.now()); st.Status != StatusNeedsReauth || st.LastError == nil || !in.Vault.NextRefreshAt.IsZero() {
		t.Errorf("state after invalid_grant: %+v, next refresh %v", st, in.Vault.NextRefreshAt)
	}
	_, err = e.s.AccessToken(t.Context(), in.ID, false)
	if !errors.Is(err, ErrNeedsReauthorization) {
		t.Errorf("AccessToken after invalid_grant = %v", err)
	}
	if got := p.Refreshes(); got != 3 {
		t.Errorf("the provider answered %d refreshes; want 3 (no retry after invalid_grant)", got)
	}

	// Without offline_access, no refresh token.
	scopes := []string{"https://outlook.office.com/IMAP.AccessAsUser.All", "openid", "email"}
	if _, err := e.s.Update(t.Context(), root, in.ID, Change{Scopes: &scopes}); err != nil {
		t.Fatal(err)
	}
	in = e.authorized(in.ID, p)
	if e.tokens(in.ID).Refresh != "" {
		t.Error("Microsoft returned a refresh token without offline_access")
	}
}

// TestProviderRefusesAtAuthorization: a provider's error at the
// authorization endpoint is a failure in plain words; the stored tokens
// stay as they were.
func TestProviderRefusesAtAuthorization(t *testing.T) {
	e := newEnv(t)
	p := testprovider.Start(t, testprovider.Options{})
	in := e.create(Settings{Provider: Custom}, p)
	in = e.authorized(in.ID, p)
	kept := e.tokens(in.ID)
	cases := []struct {
		query url.Values
		key   string
	}{
		{url.Values{"error": {"access_denied"}, "error_description": {"The user said no"}}, "integration.access_denied"},
		{url.Values{"error": {"invalid_scope"}}, "integration.invalid_scope"},
		{url.Values{"error": {"access_denied"}, "error_description": {"AADSTS65004: User declined to consent to access the app."}}, "integration.aadsts"},
		{url.Values{}, "integration.no_code"},
		{url.Values{"code": {"unknown"}}, "integration.invalid_grant"},
	}
	for _, c := range cases {
		u, _, err := e.s.StartAuthorization(t.Context(), root, in.ID, binding)
		if err != nil {
			t.Fatal(err)
		}
		redirect, q := p.Approve(t, u)
		c.query.Set("state", q.Get("state"))
		got, err := e.s.CompleteAuthorization(t.Context(), Callback{Key: path.Base(redirect), Query: c.query, Binding: binding})
		if err != nil || got.Failure == nil || got.Failure.Why.Key != c.key {
			t.Errorf("callback %v = %+v, %v; want failure %s", c.query, got.Failure, err, c.key)
		}
	}
	if e.tokens(in.ID) != kept {
		t.Error("a failed authorization changed the stored tokens")
	}
	events, err := e.store.ListAudit(t.Context(), store.AuditFilter{Kind: "integration.authorize.failure"})
	if err != nil || len(events) != len(cases) {
		t.Errorf("%d failures audited, want %d (%v)", len(events), len(cases), err)
	}
}

// TestCallbackState: the callback refuses a missing, unknown, reused or
// expired state, one from another browser session (without using it up),
// and one whose integration's endpoints changed meanwhile.
func TestCallbackState(t *testing.T) {
	now := time.Now()
	e := newEnv(t, func(o *Options) { o.Now = func() time.Time { return now } })
	p := testprovider.Start(t, testprovider.Options{})
	in := e.create(Settings{Provider: Custom}, p)
	start := func() (string, url.Values) {
		u, _, err := e.s.StartAuthorization(t.Context(), root, in.ID, binding)
		if err != nil {
			t.Fatal(err)
		}
		redirect, q := p.Approve(t, u)
		return path.Base(redirect), q
	}
	complete := func(key string, q url.Values, b []byte) (Completion, error) {
		return e.s.CompleteAuthorization(t.Context(), Callback{Key: key, Query: q, Binding: b})
	}
	key, q := start()
	missing := url.Values{"code": q["code"]}
	if _, err := complete(key, missing, binding); !errors.Is(err, ErrUnknownState) {
		t.Errorf("missing state: %v", err)
	}
	unknown := url.Values{"code": q["code"], "state": {"made-up"}}
	if _, err := complete(key, unknown, binding); !errors.Is(err, ErrUnknownState) {
		t.Errorf("unknown state: %v", err)
	}
	if _, err := complete(key, q, []byte("another browser")); !errors.Is(err, ErrUnknownState) {
		t.Errorf("another session: %v", err)
	}
	if _, err := complete(key, q, nil); !errors.Is(err, ErrUnknownState) {
		t.Errorf("no session: %v", err)
	}
	// Whoever learnt the state from another browser cannot use it up: the
	// browser that started the authorization still completes it.
	if c, err := complete(key, q, binding); err != nil || c.Failure != nil {
		t.Fatalf("a good callback after refused ones: %+v, %v", c.Failure, err)
	}
	if _, err := complete(key, q, binding); !errors.Is(err, ErrUnknownState) {
		t.Errorf("reused state: %v", err)
	}
	key, q = start()
	now = now.Add(AuthorizationTTL)
	if _, err := complete(key, q, binding); !errors.Is(err, ErrUnknownState) {
		t.Errorf("expired state: %v", err)
	}
	key, q = start()
	moved := p.URL + "/authorize?v=2"
	if _, err := e.s.Update(t.Context(), root, in.ID, Change{AuthURL: &moved}); err != nil {
		t.Fatal(err)
	}
	if c, err := complete(key, q, binding); err != nil || c.Failure == nil || c.Failure.Why.Key != "integration.endpoints_changed" {
		t.Errorf("endpoints changed meanwhile: %+v, %v", c.Failure, err)
	}
	// A URL made for any browser (the command line's) needs no session.
	u, _, err := e.s.StartAuthorization(t.Context(), root, in.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	redirect, q := p.Approve(t, u)
	if c, err := complete(path.Base(redirect), q, nil); err != nil || c.Failure != nil || c.Bound {
		t.Errorf("an unbound URL: %+v, %v", c, err)
	}
}

// TestIssuerMixUp: an iss that is not the integration's issuer is refused
// (RFC 9207).
func TestIssuerMixUp(t *testing.T) {
	e := newEnv(t)
	p := testprovider.Start(t, testprovider.Options{Issuer: "https://evil.example"})
	in := e.create(Settings{Provider: Custom, Issuer: "https://idp.example.com"}, p)
	c := e.authorize(in.ID, p)
	if c.Failure == nil || c.Failure.Why.Key != "integration.wrong_issuer" {
		t.Fatalf("a foreign iss: %v", c.Failure)
	}
}

// TestOneRefreshForManyCallers: however many callers ask at once for a
// token inside the margin, the provider sees one refresh.
func TestOneRefreshForManyCallers(t *testing.T) {
	e := newEnv(t)
	p := testprovider.Start(t, testprovider.Options{RefreshDelay: 200 * time.Millisecond})
	in := e.authorized(e.create(Settings{Provider: Custom}, p).ID, p)
	v := in.Vault
	v.AuthorizedAt, v.ExpiresAt = e.s.now().Add(-time.Hour), e.s.now().Add(time.Second) // inside the margin
	v.NextRefreshAt = v.ExpiresAt
	if err := e.store.StoreIntegrationTokens(t.Context(), in.ID, v); err != nil {
		t.Fatal(err)
	}
	const n = 40
	tokens := make(chan string, n)
	errs := make(chan error, n)
	for range n {
		go func() {
			tok, err := e.s.AccessToken(t.Context(), in.ID, false)
			errs <- err
			tokens <- tok.AccessToken
		}()
	}
	seen := map[string]bool{}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		seen[<-tokens] = true
	}
	if p.Refreshes() != 1 || len(seen) != 1 {
		t.Errorf("%d refreshes, %d distinct tokens handed out; want 1 and 1", p.Refreshes(), len(seen))
	}
}

// TestSecretsSealedAtRest: the database holds no token or secret in the clear.
func TestSecretsSealedAtRest(t *testing.T) {
	e := newEnv(t)
	p := testprovider.Start(t, testprovider.Options{})
	in := e.authorized(e.create(Settings{Provider: Custom}, p).ID, p)
	if _, err := e.s.AccessToken(t.Context(), in.ID, true); err != nil {
		t.Fatal(err)
	}
	tok := e.tokens(in.ID)
	if _, _, err := e.s.StartAuthorization(t.Context(), root, in.ID, binding); err != nil {
		t.Fatal(err)
	}
	raw := readFile(t, e.path) + readFile(t, e.path+"-wal")
	if !containsString(raw, p.ClientID()) {
		t.Fatal("the database files do not hold even the client ID: is this the right file?")
	}
	for what, v := range map[string]string{"access token": tok.Access, "refresh token": tok.Refresh, "client secret": p.ClientSecret()} {
		if containsString(raw, v) {
			t.Errorf("the database file holds the %s in the clear", what)
		}
	}
}

// TestProductionRefusesHTTPEndpointsSavedInDevelopment: an integration saved
// with http endpoints in development mode, opened by a node in production,
// is neither refreshed nor asked who its token acts for over plain http —
// the user-info request would carry the access token in the clear.
func TestProductionRefusesHTTPEndpointsSavedInDevelopment(t *testing.T) {
	p := testprovider.Start(t, testprovider.Options{})
	dev := newEnv(t)
	in := dev.create(Settings{Provider: Custom}, p)
	dev.authorized(in.ID, p)
	asked := p.Userinfos()

	prod := New(dev.store, dev.s.keys, Options{BaseURL: "https://gatehouse.example.com", Node: "node-b", RequestTimeout: 3 * time.Second,
		PollInterval: time.Hour, Log: slog.New(slog.DiscardHandler)})
	res, err := prod.Test(t.Context(), root, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.OK || res.Failure == nil || res.Failure.Why.Key != "integration.url_https" {
		t.Errorf("Test in production = %+v; want the http user-info endpoint refused", res)
	}
	if got := p.Userinfos(); got != asked {
		t.Errorf("the user-info endpoint was asked %d times in production; want none", got-asked)
	}
	if _, err := prod.AccessToken(t.Context(), in.ID, true); err == nil {
		t.Error("a refresh over an http token endpoint in production succeeded")
	}
}

// TestSlowCodeExchangeAnswersInTime: a provider slower to redeem the code
// than a browser's answer may wait (the HTTP server gives up on an answer
// after 30 s, where one provider request may take as long) gets the browser
// a failure in words in time, while the exchange goes on and stores the
// tokens — and audits the authorization — when the provider answers.
func TestSlowCodeExchangeAnswersInTime(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.AnswerWithin = 200 * time.Millisecond })
	p := testprovider.Start(t, testprovider.Options{ExchangeDelay: time.Second})
	in := e.create(Settings{Provider: Custom}, p)
	start := time.Now()
	c := e.authorize(in.ID, p)
	if took := time.Since(start); took > 900*time.Millisecond {
		t.Errorf("the callback waited %v for a provider that takes 1 s; want about 200 ms", took)
	}
	var err error
	if c.Failure != nil {
		err = c.Failure
	}
	wantKey(t, "a slow exchange", err, "integration.exchange_slow")
	e.s.Wait()
	if v := e.get(in.ID).Vault; v.AuthorizedAt.IsZero() {
		t.Fatal("the exchange that went on stored no tokens")
	}
	if events, err := e.store.ListAudit(t.Context(), store.AuditFilter{Kind: audit.IntegrationAuthorize}); err != nil || len(events) != 1 {
		t.Fatalf("authorizations audited: %v, %v; want the one that went on", events, err)
	}
	if tok, err := e.s.AccessToken(t.Context(), in.ID, false); err != nil || tok.AccessToken == "" {
		t.Fatalf("after the slow exchange: %v", err)
	}
}

// TestAnswerAtAnotherIntegrationsCallback: a provider that sends the browser
// to another integration's redirect URL (its registration names the wrong
// one) is told so, not that the endpoints changed, and nothing is stored.
func TestAnswerAtAnotherIntegrationsCallback(t *testing.T) {
	e := newEnv(t)
	p := testprovider.Start(t, testprovider.Options{})
	in := e.create(Settings{Provider: Custom}, p)
	u, _, err := e.s.StartAuthorization(t.Context(), root, in.ID, binding)
	if err != nil {
		t.Fatal(err)
	}
	_, q := p.Approve(t, u)
	c, err := e.s.CompleteAuthorization(t.Context(), Callback{Key: "AAAAAAAAAAAAAAAA", Query: q, Binding: binding})
	if err != nil {
		t.Fatal(err)
	}
	var failure error
	if c.Failure != nil {
		failure = c.Failure
	}
	wantKey(t, "an answer at another integration's callback", failure, "integration.wrong_callback")
	if !e.get(in.ID).Vault.AuthorizedAt.IsZero() {
		t.Error("tokens were stored from an answer at the wrong callback")
	}
}
