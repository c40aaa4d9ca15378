package integration

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testprovider"
	"github.com/gatehouse/gatehouse/internal/validation"
)

func TestMargin(t *testing.T) {
	for lifetime, want := range map[time.Duration]time.Duration{
		2 * time.Second: 2 * time.Second / 3, 3 * time.Minute: time.Minute, 15 * time.Minute: 5 * time.Minute,
		time.Hour: 5 * time.Minute, 24 * time.Hour: 5 * time.Minute,
	} {
		if got := margin(lifetime); got != want {
			t.Errorf("margin(%v) = %v, want %v", lifetime, got, want)
		}
	}
	t0 := time.Unix(1_767_225_600, 0)
	v := store.IntegrationVault{TokensSealed: []byte("x"), AuthorizedAt: t0, ExpiresAt: t0.Add(3 * time.Second)}
	if due(v, t0.Add(1999*time.Millisecond)) || !due(v, t0.Add(2*time.Second)) {
		t.Error("a 3-second token is due after 2 seconds, not before")
	}
	v.RefreshedAt = t0.Add(time.Hour) // refreshed since: the lifetime counts from then
	v.ExpiresAt = v.RefreshedAt.Add(time.Hour)
	if due(v, v.RefreshedAt.Add(54*time.Minute)) || !due(v, v.RefreshedAt.Add(55*time.Minute)) {
		t.Error("an hour-long token is due 5 minutes before its end")
	}
	if !schedule(v, false, t0).IsZero() {
		t.Error("a token without a refresh token is scheduled")
	}
	v.Failures = 3
	if at := schedule(v, true, t0); at.Before(t0.Add(4*time.Second)) || !at.Before(t0.Add(12*time.Second)) {
		t.Errorf("the third failure retries after %v; want 4-12s (8s ±50%%)", at.Sub(t0))
	}
	for failures := range 20 {
		if d := backoff(failures + 1); d <= 0 || d > 450*time.Second {
			t.Errorf("backoff(%d) = %v", failures+1, d)
		}
	}
}

// TestRefresherRenews: the background refresher renews a 3-second token
// about a second before it expires, again and again, and never in a loop.
func TestRefresherRenews(t *testing.T) {
	e := newEnv(t)
	p := testprovider.Start(t, testprovider.Options{AccessTTL: 3 * time.Second})
	in := e.authorized(e.create(Settings{Provider: Custom}, p).ID, p)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { e.s.RunRefresher(ctx); close(done) }()
	time.Sleep(7 * time.Second)
	cancel()
	<-done
	// Due at 2s, then every 2s: 3 in 7 seconds (a loop would make hundreds).
	if n := p.Refreshes(); n < 2 || n > 4 {
		t.Errorf("%d refreshes in 7 seconds of a 3-second token; want about 3", n)
	}
	in = e.get(in.ID)
	if st := StateOf(in, e.s.now()); st.Status != StatusHealthy || st.RefreshedAt.IsZero() || !in.Vault.ExpiresAt.After(e.s.now()) {
		t.Errorf("after the refresher: %+v", st)
	}
	if len(p.Reused()) > 0 {
		t.Errorf("refresh tokens presented twice: %v", p.Reused())
	}
}

// TestBadProviders: a provider that answers a web page, a 500 or garbage,
// an unreachable host, a wrong port or a TLS failure each give a clear
// failure; the stored tokens are kept and the still-valid access token is
// handed out meanwhile.
func TestBadProviders(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()
	notHTTP, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer notHTTP.Close()
	go func() {
		for {
			c, err := notHTTP.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("220 smtp.example.com ESMTP ready\r\n"))
			c.Close()
		}
	}()
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler()) // a certificate nobody trusts
	defer tlsSrv.Close()
	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()

	cases := []struct {
		name     string
		answer   testprovider.Answer
		tokenURL string // "" keeps the stand-in's
		key      string
	}{
		{"a web page", testprovider.AnswerHTML, "", "integration.html"},
		{"a 500", testprovider.Answer500, "", "integration.server_error"},
		{"garbage", testprovider.AnswerGarbage, "", "integration.not_oauth"},
		{"an unreachable host", "", "http://" + closedAddr + "/token", "integration.refused"},
		{"an unknown host", "", "http://no-such-host.invalid/token", "integration.dns"},
		{"a port that does not speak HTTP", "", "http://" + notHTTP.Addr().String() + "/token", "integration.not_http"},
		{"a TLS failure", "", tlsSrv.URL + "/token", "integration.tls_certificate"},
		{"https to a plain port", "", strings.Replace(plain.URL, "http:", "https:", 1) + "/token", "integration.tls_plain"},
		{"a 404 web page", "", plain.URL + "/token", "integration.not_oauth"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			p := testprovider.Start(t, testprovider.Options{})
			in := e.authorized(e.create(Settings{Provider: Custom}, p).ID, p)
			kept := e.tokens(in.ID)
			p.SetAnswer(c.answer)
			if c.tokenURL != "" {
				// Moved by hand in the database: an edit would drop the tokens.
				if _, err := e.store.UpdateIntegration(t.Context(), in.ID, func(in *store.Integration) error { in.TokenURL = c.tokenURL; return nil }); err != nil {
					t.Fatal(err)
				}
			}
			_, err := e.s.AccessToken(t.Context(), in.ID, true)
			f := wantKey(t, "a refresh", err, c.key)
			if f.NeedsReauth {
				t.Error("a transport failure asks for re-authorization")
			}
			if msg := f.Error(); strings.Contains(msg, "oauth2:") || strings.Contains(msg, "Get \"") || strings.Contains(msg, "Post \"") {
				t.Errorf("the message is not in plain words: %s", msg)
			}
			t.Logf("%s: %s", c.name, f.Error())
			if e.tokens(in.ID) != kept {
				t.Error("a failed refresh changed the stored tokens")
			}
			in = e.get(in.ID)
			if st := StateOf(in, e.s.now()); st.Status != StatusFailing || st.LastError == nil || st.LastError.Key != c.key || in.Vault.NextRefreshAt.IsZero() {
				t.Errorf("state after the failure: %+v, next refresh %v", st, in.Vault.NextRefreshAt)
			}
			// Inside the backoff a caller gets the old token, still valid.
			tok, err := e.s.AccessToken(t.Context(), in.ID, false)
			if err != nil || tok.AccessToken != kept.Access {
				t.Errorf("AccessToken while the provider fails = %v; want the stored token", err)
			}
			e.noSecretsLogged(kept.Access, kept.Refresh, p.ClientSecret())
		})
	}
}

// TestOddLifetimesKeepTheRotatedRefreshToken: a provider that rotates its
// refresh tokens and states expires_in as a fraction, a string or something
// that is no number at all still has its answer taken — its new refresh
// token stored — where x/oauth2 alone refused the whole answer and the
// rotated token was lost (the next refresh presented the old one: invalid_grant).
func TestOddLifetimesKeepTheRotatedRefreshToken(t *testing.T) {
	cases := []struct {
		expiresIn any
		want      time.Duration // the lifetime stored; 0: none stated
	}{
		{3599.5, 3599 * time.Second},
		{3600.0, time.Hour},
		{"3600", time.Hour},
		{1e20, math.MaxInt32 * time.Second},
		{"", 0},
		{true, 0},
		{"soon", 0},
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.expiresIn), func(t *testing.T) {
			e := newEnv(t)
			p := testprovider.Start(t, testprovider.Options{ExpiresIn: c.expiresIn})
			in := e.authorized(e.create(Settings{Provider: Custom}, p).ID, p)
			for range 3 {
				if _, err := e.s.AccessToken(t.Context(), in.ID, true); err != nil {
					t.Fatalf("refresh: %v", err)
				}
			}
			if reused := p.Reused(); len(reused) > 0 {
				t.Fatalf("refresh tokens presented twice: %v", reused)
			}
			v := e.get(in.ID).Vault
			if got := v.ExpiresAt.Sub(v.RefreshedAt); c.want == 0 && !v.ExpiresAt.IsZero() || c.want != 0 && (got < c.want-time.Second || got > c.want+time.Second) {
				t.Errorf("stored lifetime %v (expires %v), want %v", got, v.ExpiresAt, c.want)
			}
		})
	}
}

// TestUnusableTokensAreRefusedButTheRotatedRefreshTokenKept: an access
// token with characters RFC 6749 does not allow (a line break, a NUL), or of
// a type other than Bearer, is not handed out, at authorization or at a
// refresh; a refresh refused so still keeps the refresh token the provider
// rotated in its answer, so the next refresh works.
func TestUnusableTokensAreRefusedButTheRotatedRefreshTokenKept(t *testing.T) {
	for name, c := range map[string]struct{ tokenType, suffix, key string }{
		"a line break in the access token": {"", "\r\nX-Injected: 1", "integration.token_characters"},
		"a NUL in the access token":        {"", "\x00", "integration.token_characters"},
		"a MAC token":                      {"MAC", "", "integration.token_type"},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			p := testprovider.Start(t, testprovider.Options{})
			in := e.authorized(e.create(Settings{Provider: Custom}, p).ID, p)
			p.SetTokenShape(c.tokenType, c.suffix)
			_, err := e.s.AccessToken(t.Context(), in.ID, true)
			wantKey(t, "a refresh answered with "+name, err, c.key)
			if got := e.authorize(e.create(Settings{Provider: Custom, Name: "Second"}, p).ID, p); got.Failure == nil || got.Failure.Why.Key != c.key {
				t.Errorf("an authorization answered with %s: %+v", name, got.Failure)
			}
			p.SetTokenShape("", "")
			tok, err := e.s.AccessToken(t.Context(), in.ID, true)
			if err != nil || strings.ContainsAny(tok.AccessToken, "\r\n\x00") {
				t.Fatalf("the refresh after: %v", err)
			}
			if reused := p.Reused(); len(reused) > 0 {
				t.Fatalf("the refresh token rotated in the refused answer was lost: %v presented again", reused)
			}
		})
	}
}

// TestAnswerWithoutAccessTokenKeepsTheRotatedRefreshToken: a provider that
// rotates the refresh token but leaves access_token out of its answer has
// the answer refused (x/oauth2 reads no token from it) and its new refresh
// token kept, so the next refresh presents that one, not the old.
func TestAnswerWithoutAccessTokenKeepsTheRotatedRefreshToken(t *testing.T) {
	e := newEnv(t)
	p := testprovider.Start(t, testprovider.Options{})
	in := e.authorized(e.create(Settings{Provider: Custom}, p).ID, p)
	first := e.tokens(in.ID)
	p.SetAnswer(testprovider.AnswerNoAccessToken)
	_, err := e.s.AccessToken(t.Context(), in.ID, true)
	if f := wantKey(t, "a refresh answered without access_token", err, "integration.not_oauth"); f.NeedsReauth {
		t.Error("an answer without access_token asks for re-authorization")
	}
	if kept := e.tokens(in.ID); kept.Refresh == first.Refresh || kept.Access != first.Access {
		t.Errorf("after the refused answer: the rotated refresh token kept %v, the old access token kept %v", kept.Refresh != first.Refresh, kept.Access == first.Access)
	}
	p.SetAnswer(testprovider.AnswerNormal)
	if _, err := e.s.AccessToken(t.Context(), in.ID, true); err != nil {
		t.Fatalf("the refresh after: %v", err)
	}
	if reused := p.Reused(); len(reused) > 0 {
		t.Fatalf("the refresh token rotated in the refused answer was lost: %v presented again", reused)
	}
}

// TestRetryAfterAFailedRefreshRefreshes: after a refresh failed (here a
// forced one, answered with a token that cannot be used), the refresher's
// retry after its backoff asks the provider again even though the stored
// token is not due yet, so an integration whose provider has recovered is
// healthy again within the backoff, not only when its token falls due (55
// minutes later for a 1-hour token).
func TestRetryAfterAFailedRefreshRefreshes(t *testing.T) {
	e := newEnv(t)
	p := testprovider.Start(t, testprovider.Options{})
	in := e.authorized(e.create(Settings{Provider: Custom}, p).ID, p)
	p.SetTokenShape("MAC", "")
	if _, err := e.s.AccessToken(t.Context(), in.ID, true); err == nil {
		t.Fatal("a forced refresh answered with a MAC token succeeded")
	}
	p.SetTokenShape("", "")
	failed := e.get(in.ID)
	if st := StateOf(failed, e.s.now()); st.Status != StatusFailing {
		t.Fatalf("after the refused refresh: %+v", st)
	}
	time.Sleep(time.Until(failed.Vault.NextRefreshAt) + 50*time.Millisecond)
	var wg sync.WaitGroup
	e.s.RefreshDue(t.Context(), &wg, make(chan struct{}, 1))
	wg.Wait()
	after := e.get(in.ID)
	if st := StateOf(after, e.s.now()); st.Status != StatusHealthy || after.Vault.Failures != 0 {
		t.Errorf("after the retry: %+v, %d failures", st, after.Vault.Failures)
	}
	if reused := p.Reused(); len(reused) > 0 {
		t.Errorf("refresh tokens presented twice: %v", reused)
	}
}

// TestCallersWaitAtMostAnswerWithin: a provider slower than a caller may
// wait (the token API, Test connection: the HTTP server gives up on an
// answer after 30 s, where a provider request may take longer) gets the
// caller a failure in words in time — never a silence or a bare "context
// deadline exceeded" — while the refresh goes on and its rotated token is
// kept for the next call.
func TestCallersWaitAtMostAnswerWithin(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.AnswerWithin = 300 * time.Millisecond })
	p := testprovider.Start(t, testprovider.Options{RefreshDelay: 1500 * time.Millisecond})
	in := e.authorized(e.create(Settings{Provider: Custom}, p).ID, p)
	first := e.tokens(in.ID)

	start := time.Now()
	_, err := e.s.AccessToken(t.Context(), in.ID, true)
	if took := time.Since(start); took > time.Second {
		t.Errorf("the caller waited %v for a provider that takes 1.5 s; want about 300 ms", took)
	}
	if f := wantKey(t, "a refresh slower than the wait", err, "integration.still_refreshing"); f.NeedsReauth {
		t.Error("a slow provider asks for re-authorization")
	}
	// A caller's own shorter bound (a mail test's) says the same.
	short, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err = e.s.AccessToken(short, in.ID, true)
	wantKey(t, "a refresh slower than the caller's deadline", err, "integration.still_refreshing")

	// The detached refresh finishes, and its token is what callers get next.
	deadline := time.Now().Add(5 * time.Second)
	for e.tokens(in.ID).Access == first.Access && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	tok, err := e.s.AccessToken(t.Context(), in.ID, false)
	if err != nil || tok.AccessToken == first.Access {
		t.Fatalf("after the slow refresh: %v, a new access token %v", err, tok.AccessToken != first.Access)
	}
	if len(p.Reused()) > 0 {
		t.Errorf("refresh tokens presented twice: %v", p.Reused())
	}
}

// TestSlowRefreshHandsOutTheTokenStillValid: a refresh due but slower than
// the caller may wait leaves it the access token in hand while that is still
// valid (as integrations.md promises), rather than a 424 on every node for
// the last minutes of a good token; a forced refresh (Test) still says it
// is under way.
func TestSlowRefreshHandsOutTheTokenStillValid(t *testing.T) {
	var ahead atomic.Int64 // how far the service's clock runs ahead
	e := newEnv(t, func(o *Options) {
		o.AnswerWithin = 200 * time.Millisecond
		o.Now = func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	})
	p := testprovider.Start(t, testprovider.Options{RefreshDelay: time.Second}) // tokens of an hour
	in := e.authorized(e.create(Settings{Provider: Custom}, p).ID, p)
	first := e.tokens(in.ID)
	ahead.Store(int64(56 * time.Minute)) // due (5 minutes before expiry), still valid
	tok, err := e.s.AccessToken(t.Context(), in.ID, false)
	if err != nil || tok.AccessToken != first.Access {
		t.Fatalf("a due refresh slower than the wait = %v, %v; want the stored token, still valid", tok.AccessToken == first.Access, err)
	}
	_, err = e.s.AccessToken(t.Context(), in.ID, true)
	wantKey(t, "a forced refresh slower than the wait", err, "integration.still_refreshing")
	e.s.Wait()
	if got := e.tokens(in.ID); got.Access == first.Access {
		t.Fatal("the refresh left running did not store its token")
	}
}

// TestWaitOutlastsTheCallersRefresh: a caller that gave up on a slow
// provider leaves its refresh under way; Wait, which a node and a command
// call before their process ends, returns only once that refresh has stored
// the rotated tokens — a process that ended sooner lost the new refresh
// token, and the next refresh presented the old one (needs re-authorization
// at a provider that detects reuse).
func TestWaitOutlastsTheCallersRefresh(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.AnswerWithin = 200 * time.Millisecond })
	p := testprovider.Start(t, testprovider.Options{RefreshDelay: time.Second})
	in := e.authorized(e.create(Settings{Provider: Custom}, p).ID, p)
	first := e.tokens(in.ID)
	_, err := e.s.AccessToken(t.Context(), in.ID, true)
	wantKey(t, "a refresh slower than the wait", err, "integration.still_refreshing")
	e.s.Wait()
	if got := e.tokens(in.ID); got.Access == first.Access || got.Refresh == first.Refresh {
		t.Fatalf("Wait returned before the refresh stored its tokens: access changed %v, refresh changed %v", got.Access != first.Access, got.Refresh != first.Refresh)
	}
	if len(p.Reused()) > 0 {
		t.Errorf("refresh tokens presented twice: %v", p.Reused())
	}
}

// TestTestConnectionAnswersWithinAnswerWithin: the token and the user-info
// request together stay within the caller's bound.
func TestTestConnectionAnswersWithinAnswerWithin(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.AnswerWithin = time.Second })
	p := testprovider.Start(t, testprovider.Options{UserinfoDelay: 5 * time.Second})
	in := e.authorized(e.create(Settings{Provider: Custom}, p).ID, p)
	start := time.Now()
	res, err := e.s.Test(t.Context(), root, in.ID)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Test connection took %v with a 1 s bound", took)
	}
	if err != nil || res.OK || res.Failure == nil || res.Failure.Why.Key != "integration.timeout" {
		t.Fatalf("Test with a user-info endpoint slower than the bound = %+v, %v", res, err)
	}
	t.Log(res.Message())
}

// TestDiscoveryFailureNamesTheMetadata: an issuer whose metadata URLs both
// answer 404 is refused in words about its metadata, not about a token
// endpoint it was never asked for.
func TestDiscoveryFailureNamesTheMetadata(t *testing.T) {
	e := newEnv(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	_, err := e.s.Discover(t.Context(), srv.URL+"/tenant")
	var why *validation.Error
	if !errors.As(err, &why) || why.Key != "integration.discovery_failed" {
		t.Fatalf("discovery at an issuer without metadata = %v; want integration.discovery_failed", err)
	}
	if msg := why.Error(); !strings.Contains(msg, "HTTP 404, not metadata") || strings.Contains(msg, "token endpoint") {
		t.Errorf("discovery failure: %s", msg)
	}
}

// TestDiscoveryAnswersWithinAnswerWithin: an issuer that accepts the
// connection and never answers is given up on within the wait of one answer
// — both metadata documents together — not a request's limit for each (the
// HTTP server had closed the console's connection by then).
func TestDiscoveryAnswersWithinAnswerWithin(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.AnswerWithin = 2 * time.Second })
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer hang.Close()
	start := time.Now()
	_, err := e.s.Discover(t.Context(), hang.URL+"/tenant")
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("discovery took %v with a 2 s bound (the request limit is 3 s, twice)", took)
	}
	var why *validation.Error
	if !errors.As(err, &why) || why.Key != "integration.discovery_failed" || !strings.Contains(why.Error(), "did not answer within 1 seconds") {
		t.Fatalf("discovery at a silent issuer = %v", err)
	}
}

// TestLifetimeCountsFromTheRequest: a token's expiry counts from when the
// refresh was asked for, not from when the provider's answer arrived — the
// provider's clock started first, and counting from the answer handed the
// token out past its real expiry by as long as the provider took.
func TestLifetimeCountsFromTheRequest(t *testing.T) {
	e := newEnv(t)
	p := testprovider.Start(t, testprovider.Options{RefreshDelay: time.Second})
	in := e.authorized(e.create(Settings{Provider: Custom}, p).ID, p)
	if _, err := e.s.AccessToken(t.Context(), in.ID, true); err != nil {
		t.Fatal(err)
	}
	v := e.get(in.ID).Vault
	if lived := v.ExpiresAt.Sub(v.RefreshedAt); lived > time.Hour-900*time.Millisecond {
		t.Fatalf("a 1h token from a provider that took 1 s expires %v after its answer; want at most 1h less the second", lived)
	}
}
