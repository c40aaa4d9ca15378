package resource_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testnode"
	"github.com/gatehouse/gatehouse/internal/user"
	"github.com/gatehouse/gatehouse/pkg/resource"
)

const callback = "http://127.0.0.1:9999/callback"

// fixture is a real node with alice, a web application she uses, a
// machine-to-machine job, and the resource server's own application, which
// may introspect every application's tokens.
type fixture struct {
	t         *testing.T
	base      string
	node      *testnode.Node
	alice     store.User
	web       store.Client
	webSecret string
	job       store.Client
	jobSecret string
	rs        store.Client
	rsSecret  string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	n := testnode.Start(t, testnode.Options{})
	f := &fixture{t: t, base: n.BaseURL, node: n}
	ctx := context.Background()
	var err error
	if f.alice, err = n.Users.Create(ctx, user.NewUser{Username: "alice", Password: "alice-password", Level: store.LevelUser}); err != nil {
		t.Fatal(err)
	}
	f.web, f.webSecret = f.createApp(app.Registration{Name: "Web app", RedirectURIs: []string{callback}, Scopes: []string{"READ", "WRITE", "ADMIN"}})
	f.job, f.jobSecret = f.createApp(app.Registration{Name: "Nightly job", Grants: []string{app.GrantClientCredentials}, RedirectURIs: []string{}, Scopes: []string{"READ"}})
	f.rs, f.rsSecret = f.createApp(app.Registration{Name: "Resource server", Grants: []string{app.GrantClientCredentials}, RedirectURIs: []string{}, Scopes: []string{"READ"}, IntrospectAny: true})
	return f
}

func (f *fixture) createApp(r app.Registration) (store.Client, string) {
	f.t.Helper()
	c, secretValue, err := f.node.Apps.Create(context.Background(), r)
	if err != nil {
		f.t.Fatal(err)
	}
	return c, secretValue
}

// userToken runs the authorization code flow with PKCE for alice in the web
// application: the authorization request and the code exchange are
// golang.org/x/oauth2's, the consent is what the consent page's Allow does.
func (f *fixture) userToken(scopes ...string) *oauth2.Token {
	f.t.Helper()
	ctx := context.Background()
	cfg := oauth2.Config{
		ClientID: f.web.ID, ClientSecret: f.webSecret, RedirectURL: callback, Scopes: scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL: f.base + "/rest/oauth2/latest/authorize", TokenURL: f.base + "/rest/oauth2/latest/token",
			AuthStyle: oauth2.AuthStyleInHeader,
		},
	}
	verifier := oauth2.GenerateVerifier()
	authURL, err := url.Parse(cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
	if err != nil {
		f.t.Fatal(err)
	}
	req, err := f.node.OAuth.ParseAuthorize(ctx, authURL.Query())
	if err != nil {
		f.t.Fatal(err)
	}
	redirect, err := f.node.OAuth.Approve(ctx, req, f.alice)
	if err != nil {
		f.t.Fatal(err)
	}
	back, err := url.Parse(redirect)
	if err != nil {
		f.t.Fatal(err)
	}
	tok, err := cfg.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		f.t.Fatal(err)
	}
	return tok
}

// jobToken is a client_credentials token of the job: no user.
func (f *fixture) jobToken() string {
	f.t.Helper()
	cfg := clientcredentials.Config{ClientID: f.job.ID, ClientSecret: f.jobSecret, TokenURL: f.base + "/rest/oauth2/latest/token"}
	tok, err := cfg.Token(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return tok.AccessToken
}

// revoke revokes a token of the web application at the real endpoint.
func (f *fixture) revoke(value string) {
	f.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.base+"/rest/oauth2/latest/revoke", strings.NewReader(url.Values{"token": {value}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(f.web.ID, f.webSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("revocation answered %d", resp.StatusCode)
	}
}

// counter counts the introspection requests; with gate set, each one waits
// for it to close first.
type counter struct {
	n    atomic.Int32
	gate chan struct{}
}

func (c *counter) RoundTrip(req *http.Request) (*http.Response, error) {
	c.n.Add(1)
	if c.gate != nil {
		<-c.gate
	}
	return http.DefaultTransport.RoundTrip(req)
}

// middleware returns a Middleware for the resource server application with
// the changes opt makes (Issuer, credentials and the counting client
// unless opt sets them), and its counter.
func (f *fixture) middleware(opt resource.Options) (*resource.Middleware, *counter) {
	f.t.Helper()
	c := &counter{}
	if opt.IntrospectionURL == "" && opt.Issuer == "" {
		opt.Issuer = f.base
	}
	if opt.ClientID == "" {
		opt.ClientID, opt.ClientSecret = f.rs.ID, f.rsSecret
	}
	if opt.HTTPClient == nil {
		opt.HTTPClient = &http.Client{Transport: c, Timeout: 10 * time.Second}
	}
	opt.Realm = "test"
	m, err := resource.New(opt)
	if err != nil {
		f.t.Fatal(err)
	}
	return m, c
}

// echo answers the token the middleware handed over, as JSON.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	tok, ok := resource.FromContext(r.Context())
	if !ok {
		http.Error(w, "no token in the context", http.StatusInternalServerError)
		return
	}
	json.NewEncoder(w).Encode(tok)
})

// call sends a request with these Authorization headers to h.
func call(h http.Handler, authorization ...string) *httptest.ResponseRecorder {
	return callContext(context.Background(), h, authorization...)
}

func callContext(ctx context.Context, h http.Handler, authorization ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequestWithContext(ctx, http.MethodGet, "/api", nil)
	for _, a := range authorization {
		r.Header.Add("Authorization", a)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func echoed(t *testing.T, w *httptest.ResponseRecorder) resource.Token {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d, want 200: %s %s", w.Code, w.Header().Get("WWW-Authenticate"), w.Body)
	}
	var tok resource.Token
	if err := json.Unmarshal(w.Body.Bytes(), &tok); err != nil {
		t.Fatal(err)
	}
	return tok
}

func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// clock is a settable clock for the middleware (the node keeps real time).
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

func TestHandlerSeesUserClientAndScopes(t *testing.T) {
	f := newFixture(t)
	m, _ := f.middleware(resource.Options{})
	h := m.Handler(echo)

	start := time.Now()
	got := echoed(t, call(h, "Bearer "+f.userToken("READ", "WRITE").AccessToken))
	want := resource.Token{Username: "alice", Subject: f.alice.ID, ClientID: f.web.ID, Scopes: []string{"READ", "WRITE"}}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(resource.Token{}, "Expiry")); diff != "" {
		t.Errorf("alice's token (-want +got):\n%s", diff)
	}
	// Access tokens live 2 hours by default; exp has whole seconds.
	if lo, hi := start.Add(2*time.Hour-time.Minute), time.Now().Add(2*time.Hour+time.Second); got.Expiry.Before(lo) || got.Expiry.After(hi) {
		t.Errorf("expiry %v, want about 2 hours from now", got.Expiry)
	}

	// An application's own token has no user: the subject is the client.
	got = echoed(t, call(h, "Bearer "+f.jobToken()))
	want = resource.Token{Subject: f.job.ID, ClientID: f.job.ID, Scopes: []string{"READ"}}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(resource.Token{}, "Expiry")); diff != "" {
		t.Errorf("the job's token (-want +got):\n%s", diff)
	}
}

func TestRequireScope(t *testing.T) {
	f := newFixture(t)
	m, _ := f.middleware(resource.Options{})
	readOnly := "Bearer " + f.userToken("READ").AccessToken
	writeOnly := "Bearer " + f.userToken("WRITE").AccessToken
	guarded := func(scopes ...string) http.Handler { return m.Handler(resource.RequireScope(scopes...)(echo)) }

	w := call(guarded("WRITE"), readOnly)
	if w.Code != http.StatusForbidden {
		t.Fatalf("READ token at a WRITE endpoint: status %d, want 403", w.Code)
	}
	wantChallenge := `Bearer realm="test", error="insufficient_scope", error_description="the access token lists none of the scopes this request accepts", scope="WRITE"`
	if got := w.Header().Get("WWW-Authenticate"); got != wantChallenge {
		t.Errorf("challenge\n got %s\nwant %s", got, wantChallenge)
	}
	if !strings.Contains(w.Body.String(), `"error":"insufficient_scope"`) {
		t.Errorf("body %s", w.Body)
	}
	echoed(t, call(guarded("READ"), readOnly))

	// Gatehouse lists what was granted, not what it implies: WRITE includes
	// READ in the atlassian catalogue, but the token lists WRITE alone.
	if tok := echoed(t, call(m.Handler(echo), writeOnly)); !cmp.Equal(tok.Scopes, []string{"WRITE"}) {
		t.Fatalf("a WRITE token lists %q", tok.Scopes)
	}
	w = call(guarded("READ"), writeOnly)
	if got := w.Header().Get("WWW-Authenticate"); w.Code != http.StatusForbidden || !strings.HasSuffix(got, `scope="READ"`) {
		t.Errorf("WRITE token at a READ-only endpoint: %d %s", w.Code, got)
	}
	echoed(t, call(guarded("READ", "WRITE", "ADMIN", "SYSTEM_ADMIN"), writeOnly))
	w = call(guarded("ADMIN", "SYSTEM_ADMIN"), writeOnly)
	if got := w.Header().Get("WWW-Authenticate"); w.Code != http.StatusForbidden || !strings.HasSuffix(got, `scope="ADMIN SYSTEM_ADMIN"`) {
		t.Errorf("WRITE token at an ADMIN endpoint: %d %s", w.Code, got)
	}

	// Without the middleware in front, nothing gets through.
	if w := call(resource.RequireScope("READ")(echo), readOnly); w.Code != http.StatusInternalServerError {
		t.Errorf("RequireScope alone: status %d, want 500", w.Code)
	}
}

func TestRevocationSeenWithinCacheTTL(t *testing.T) {
	f := newFixture(t)
	clk := &clock{t: time.Now()}
	m, c := f.middleware(resource.Options{Now: clk.Now, CacheTTL: 10 * time.Second})
	h := m.Handler(echo)
	bearer := "Bearer " + f.userToken("READ").AccessToken

	echoed(t, call(h, bearer))
	f.revoke(strings.TrimPrefix(bearer, "Bearer "))
	// Within the bound the cached answer may still be used...
	clk.Set(clk.Now().Add(10*time.Second - time.Millisecond))
	echoed(t, call(h, bearer))
	if n := c.n.Load(); n != 1 {
		t.Fatalf("%d introspections, want 1 (the second request is served from the cache)", n)
	}
	// ...and at the bound it is not.
	clk.Set(clk.Now().Add(time.Millisecond))
	for i := range 2 {
		w := call(h, bearer)
		if w.Code != http.StatusUnauthorized || !strings.Contains(w.Header().Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Fatalf("request %d after the bound: %d %s", i, w.Code, w.Header().Get("WWW-Authenticate"))
		}
	}
	// Negative answers are not cached: each refusal asked again.
	if n := c.n.Load(); n != 3 {
		t.Errorf("%d introspections, want 3", n)
	}
}

func TestCacheNeverOutlivesToken(t *testing.T) {
	f := newFixture(t)
	bearer := "Bearer " + f.userToken("READ").AccessToken
	m, _ := f.middleware(resource.Options{})
	exp := echoed(t, call(m.Handler(echo), bearer)).Expiry

	// A middleware whose clock is a second before the token's expiry.
	clk := &clock{t: exp.Add(-time.Second)}
	m, c := f.middleware(resource.Options{Now: clk.Now, CacheTTL: time.Hour})
	h := m.Handler(echo)
	echoed(t, call(h, bearer))
	clk.Set(exp.Add(-time.Millisecond))
	echoed(t, call(h, bearer))
	if n := c.n.Load(); n != 1 {
		t.Fatalf("%d introspections before expiry, want 1", n)
	}
	// At exp the cached answer is gone; Gatehouse (on real time) still says
	// active, but the middleware refuses a token past its exp.
	clk.Set(exp)
	if w := call(h, bearer); w.Code != http.StatusUnauthorized {
		t.Fatalf("at expiry: status %d, want 401", w.Code)
	}
	if n := c.n.Load(); n != 2 {
		t.Errorf("%d introspections, want 2", n)
	}
}

func TestConcurrentRequestsShareOneIntrospection(t *testing.T) {
	const requests = 20
	f := newFixture(t)
	m, c := f.middleware(resource.Options{})
	// The introspection is held until every request is in, so without
	// sharing each would send its own.
	c.gate = make(chan struct{})
	var arrived atomic.Int32
	protected := m.Handler(echo)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if arrived.Add(1) == requests {
			close(c.gate)
		}
		protected.ServeHTTP(w, r)
	})
	bearer := "Bearer " + f.jobToken()

	var wg sync.WaitGroup
	codes := make([]int, requests)
	for i := range requests {
		wg.Go(func() { codes[i] = call(h, bearer).Code })
	}
	wg.Wait()
	for i, code := range codes {
		if code != http.StatusOK {
			t.Errorf("request %d: status %d", i, code)
		}
	}
	if n := c.n.Load(); n != 1 {
		t.Errorf("%d introspections for %d concurrent requests with one token, want 1", n, requests)
	}
}

func TestCallerGoingAwayLeavesSharedIntrospection(t *testing.T) {
	f := newFixture(t)
	m, c := f.middleware(resource.Options{})
	c.gate = make(chan struct{})
	h := m.Handler(echo)
	bearer := "Bearer " + f.jobToken()

	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan int)
	go func() { first <- callContext(ctx, h, bearer).Code }()
	for c.n.Load() == 0 { // until the first request's introspection is under way
		time.Sleep(time.Millisecond)
	}
	second := make(chan int)
	go func() { second <- call(h, bearer).Code }()
	cancel()
	// The client that went away gets an answer nobody reads; the handler did not run.
	if code := <-first; code != http.StatusServiceUnavailable {
		t.Errorf("the cancelled request: status %d, want 503", code)
	}
	close(c.gate)
	if code := <-second; code != http.StatusOK {
		t.Errorf("the request still waiting: status %d, want 200", code)
	}
	if n := c.n.Load(); n != 1 {
		t.Errorf("%d introspections, want 1", n)
	}
}

func TestAuthorizationServerFailureIs503(t *testing.T) {
	f := newFixture(t)
	bearer := "Bearer " + f.jobToken()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + ln.Addr().String() + "/rest/oauth2/latest/introspect"
	ln.Close()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	defer failing.Close()
	garbled := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<html>a proxy's page</html>"))
	}))
	defer garbled.Close()

	// Answers that only a lenient reader takes for "active": a member
	// spelled otherwise, or "active" twice (which one counts is a guess).
	answering := func(body string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(body))
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	for _, tc := range []struct {
		name string
		opt  resource.Options
	}{
		{"unreachable", resource.Options{IntrospectionURL: closedURL}},
		{"500", resource.Options{IntrospectionURL: failing.URL}},
		{"not JSON", resource.Options{IntrospectionURL: garbled.URL}},
		{"active twice", resource.Options{IntrospectionURL: answering(`{"active":false,"active":true}`)}},
		// The resource server's own credentials are refused (401 invalid_client):
		// the caller's token is not at fault.
		{"wrong secret", resource.Options{ClientID: f.rs.ID, ClientSecret: "gcs_not-the-secret"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			tc.opt.Logger = slogTo(&logs)
			m, _ := f.middleware(tc.opt)
			w := call(m.Handler(echo), bearer)
			if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
				t.Fatalf("status %d, Retry-After %q; want 503 with Retry-After", w.Code, w.Header().Get("Retry-After"))
			}
			if got := w.Header().Get("WWW-Authenticate"); got != "" {
				t.Errorf("a failure to check the token challenges the client: %s", got)
			}
			if !strings.Contains(w.Body.String(), `"error":"temporarily_unavailable"`) {
				t.Errorf("body %s", w.Body)
			}
			if logs.Len() == 0 {
				t.Error("the failure was not logged")
			}
			value := strings.TrimPrefix(bearer, "Bearer ")
			if strings.Contains(logs.String(), value) || strings.Contains(w.Body.String(), value) {
				t.Errorf("the token leaked:\nlog: %s\nbody: %s", logs.String(), w.Body)
			}
		})
	}
}

// Only the member "active" spelled so says a token is active (RFC 7662
// §2.2), and a token not yet valid (nbf) is not.
func TestOnlyAnExactActiveCounts(t *testing.T) {
	f := newFixture(t)
	bearer := "Bearer " + f.jobToken()
	for name, body := range map[string]string{
		"Active":         `{"Active":true,"scope":"READ"}`,
		"ACTIVE":         `{"ACTIVE":true,"scope":"READ"}`,
		"not yet valid":  fmt.Sprintf(`{"active":true,"scope":"READ","nbf":%d}`, time.Now().Add(time.Hour).Unix()),
		"active as text": `{"active":"true","scope":"READ"}`,
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(body))
			}))
			defer srv.Close()
			m, _ := f.middleware(resource.Options{IntrospectionURL: srv.URL})
			if w := call(m.Handler(echo), bearer); w.Code == http.StatusOK {
				t.Fatalf("%s: the token was let through", body)
			}
		})
	}
}

func TestBadRequests(t *testing.T) {
	f := newFixture(t)
	tok := f.userToken("READ")
	m, c := f.middleware(resource.Options{})
	h := m.Handler(echo)
	const invalidToken = `Bearer realm="test", error="invalid_token", error_description="the access token is invalid, expired or revoked"`
	const invalidRequest = `Bearer realm="test", error="invalid_request", error_description="the Authorization header must be one: Bearer <access token>"`

	for _, tc := range []struct {
		name           string
		authorization  []string
		status         int
		challenge      string
		introspections int32
	}{
		// RFC 6750 §3.1: no token, or another scheme, gets no error code.
		{"no header", nil, http.StatusUnauthorized, `Bearer realm="test"`, 0},
		{"Basic", []string{"Basic YWxpY2U6cHc="}, http.StatusUnauthorized, `Bearer realm="test"`, 0},
		{"scheme alone", []string{"Bearer"}, http.StatusBadRequest, invalidRequest, 0},
		{"scheme and space", []string{"Bearer "}, http.StatusBadRequest, invalidRequest, 0},
		{"space in token", []string{"Bearer gat_a b"}, http.StatusBadRequest, invalidRequest, 0},
		{"comma in token", []string{"Bearer gat_a,b"}, http.StatusBadRequest, invalidRequest, 0},
		{"padding in the middle", []string{"Bearer gat_a=b"}, http.StatusBadRequest, invalidRequest, 0},
		{"two headers", []string{"Bearer " + tok.AccessToken, "Bearer " + tok.AccessToken}, http.StatusBadRequest, invalidRequest, 0},
		{"overlong", []string{"Bearer " + strings.Repeat("a", 5000)}, http.StatusUnauthorized, invalidToken, 0},
		{"unknown token", []string{"Bearer gat_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, http.StatusUnauthorized, invalidToken, 1},
		// Gatehouse introspects a refresh token as active with token_type
		// refresh_token: it is no Bearer token.
		{"refresh token", []string{"Bearer " + tok.RefreshToken}, http.StatusUnauthorized, invalidToken, 1},
		{"lower-case scheme, two spaces", []string{"bearer  " + tok.AccessToken}, http.StatusOK, "", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := c.n.Load()
			w := call(h, tc.authorization...)
			if w.Code != tc.status {
				t.Errorf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tc.challenge {
				t.Errorf("challenge\n got %s\nwant %s", got, tc.challenge)
			}
			if n := c.n.Load() - before; n != tc.introspections {
				t.Errorf("%d introspections, want %d", n, tc.introspections)
			}
		})
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	ok := resource.Options{Issuer: "https://gatehouse.example.com", ClientID: "id", ClientSecret: "secret"}
	for _, tc := range []struct {
		name   string
		change func(*resource.Options)
	}{
		{"no endpoint", func(o *resource.Options) { o.Issuer = "" }},
		{"both endpoints", func(o *resource.Options) {
			o.IntrospectionURL = "https://gatehouse.example.com/rest/oauth2/latest/introspect"
		}},
		{"relative", func(o *resource.Options) { o.Issuer = "gatehouse.example.com" }},
		{"credentials in the URL", func(o *resource.Options) { o.Issuer = "https://id:secret@gatehouse.example.com" }},
		{"no client ID", func(o *resource.Options) { o.ClientID = "" }},
		{"no secret", func(o *resource.Options) { o.ClientSecret = "" }},
		{"negative MaxEntries", func(o *resource.Options) { o.MaxEntries = -1 }},
		{"control character in the realm", func(o *resource.Options) { o.Realm = "a\r\nb" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opt := ok
			tc.change(&opt)
			if _, err := resource.New(opt); err == nil {
				t.Error("accepted")
			}
		})
	}
	if _, err := resource.New(ok); err != nil {
		t.Errorf("good options refused: %v", err)
	}
}
