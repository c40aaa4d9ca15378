package server

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/cpubench"
	"github.com/gatehouse/gatehouse/internal/heapfloor"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/token"
	"github.com/gatehouse/gatehouse/internal/user"
)

// These benchmarks drive the whole handler chain (middleware, form parsing,
// client authentication, minting, the SQLite file with durable commits) without
// the network, so a CPU profile shows the server's own cost per request:
//
//	go test ./internal/server -run '^$' -bench . -cpuprofile cpu.out
//
// The load tool (gatehouse-bench) measures the same paths over loopback HTTP.

type benchNode struct {
	g        *Gatehouse
	h        http.Handler
	clientID string
	secret   string
	userID   string
}

func newBenchNode(b *testing.B) *benchNode {
	return newBenchNodeWith(b, func(cfg *config.Config) {
		cfg.Limits.RefreshTokensPerUserClient = 0 // parallel refresh chains of one user
	})
}

func newBenchNodeWith(b *testing.B, configure func(*config.Config)) *benchNode {
	heapfloor.Keep(heapfloor.ServingNode) // as Serve does: the collector paces as in a node
	cfg := config.Default()
	cfg.Dev = true
	cfg.DataDir = b.TempDir()
	configure(&cfg)
	if err := cfg.ValidateServe(); err != nil {
		b.Fatal(err)
	}
	g, err := Open(b.Context(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)),
		Options{Argon2: &user.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { g.Close() })
	c, secretValue, err := g.Apps.Create(b.Context(), app.Registration{
		Name: "bench", RedirectURIs: []string{"http://127.0.0.1/cb"}, Scopes: []string{"READ", "WRITE"},
		Grants: []string{app.GrantAuthorizationCode, app.GrantRefreshToken, app.GrantClientCredentials},
	})
	if err != nil {
		b.Fatal(err)
	}
	u, err := g.Users.Create(b.Context(), user.NewUser{Username: "bench", Password: "bench-password-1", Level: store.LevelUser})
	if err != nil {
		b.Fatal(err)
	}
	return &benchNode{g: g, h: g.Handler(), clientID: c.ID, secret: secretValue, userID: u.ID}
}

// post sends a form with the bench client's Basic credentials and decodes the JSON answer.
func (n *benchNode) post(b *testing.B, path string, form url.Values) map[string]any {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(n.clientID, n.secret)
	req.RemoteAddr = "127.0.0.1:40000"
	rec := httptest.NewRecorder()
	n.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("POST %s: %d %s", path, rec.Code, rec.Body)
	}
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		b.Fatal(err)
	}
	return out
}

// userPair issues a user's token pair the way a finished authorization-code flow does.
func (n *benchNode) userPair(b *testing.B) (access, refresh string) {
	// The code is stored as the consent page would store it.
	code, hash, err := token.NewMinter(n.g.Keys, nil).New(token.Code)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	if err := n.g.Store.CreateCode(context.Background(), store.Code{
		Hash: hash, ClientID: n.clientID, UserID: n.userID, RedirectURI: "http://127.0.0.1/cb", Scope: "READ",
		GrantID: hex.EncodeToString(hash[:8]), CreatedAt: now, ExpiresAt: now.Add(time.Minute),
	}); err != nil {
		b.Fatal(err)
	}
	out := n.post(b, "/rest/oauth2/latest/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"http://127.0.0.1/cb"},
	})
	return out["access_token"].(string), out["refresh_token"].(string)
}

func BenchmarkClientCredentials(b *testing.B) {
	n := newBenchNode(b)
	form := url.Values{"grant_type": {"client_credentials"}}
	b.SetParallelism(16) // 16×GOMAXPROCS requests in flight, as a c=32 load on two cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if out := n.post(b, "/rest/oauth2/latest/token", form); out["access_token"] == nil {
				b.Fatal("no access token")
			}
		}
	})
}

func BenchmarkIntrospect(b *testing.B) {
	n := newBenchNode(b)
	var tokens []string
	for range 64 {
		out := n.post(b, "/rest/oauth2/latest/token", url.Values{"grant_type": {"client_credentials"}})
		tokens = append(tokens, out["access_token"].(string))
	}
	var next atomic.Uint64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tok := tokens[next.Add(1)%uint64(len(tokens))]
			if out := n.post(b, "/rest/oauth2/latest/introspect", url.Values{"token": {tok}}); out["active"] != true {
				b.Fatal("token not active")
			}
		}
	})
}

// BenchmarkIntrospectHandler is one introspection through the whole
// handler chain, one request at a time, with neither httptest's recorder
// nor the answer's decoding in the measurement: the server's own share of
// the introspect scenario, and its allocations.
//
//	go test ./internal/server -run '^$' -bench IntrospectHandler -cpu 1
func BenchmarkIntrospectHandler(b *testing.B) {
	n := newBenchNode(b)
	out := n.post(b, "/rest/oauth2/latest/token", url.Values{"grant_type": {"client_credentials"}})
	body := "token=" + out["access_token"].(string)
	req := httptest.NewRequest(http.MethodPost, "/rest/oauth2/latest/introspect", nil)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(n.clientID, n.secret)
	req.RemoteAddr = "127.0.0.1:40000"
	req.ContentLength = int64(len(body))
	w := &answerSink{}
	b.ReportAllocs()
	for b.Loop() {
		r := *req
		r.Body = io.NopCloser(strings.NewReader(body))
		w.header, w.status = http.Header{}, http.StatusOK
		n.h.ServeHTTP(w, &r)
		if w.status != http.StatusOK {
			b.Fatalf("introspect: %d", w.status)
		}
	}
}

// answerSink is a ResponseWriter that keeps only the status.
type answerSink struct {
	header http.Header
	status int
}

func (a *answerSink) Header() http.Header         { return a.header }
func (a *answerSink) WriteHeader(status int)      { a.status = status }
func (a *answerSink) Write(p []byte) (int, error) { return len(p), nil }

func BenchmarkRefresh(b *testing.B) {
	n := newBenchNode(b)
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		_, refresh := n.userPair(b)
		for pb.Next() {
			out := n.post(b, "/rest/oauth2/latest/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
			refresh = out["refresh_token"].(string)
		}
	})
}

func BenchmarkBearer(b *testing.B) {
	n := newBenchNode(b)
	access, _ := n.userPair(b)
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodGet, "/rest/api/latest/myself", nil)
			req.Header.Set("Authorization", "Bearer "+access)
			req.RemoteAddr = "127.0.0.1:40000"
			rec := httptest.NewRecorder()
			n.h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("myself: %d %s", rec.Code, rec.Body)
			}
		}
	})
}

// BenchmarkAuthorizationCodeFlow is the load tool's authcode scenario
// without the network: a browser already signed in asks for authorization
// and gets the consent page, allows, and the application exchanges the code
// (with PKCE) at the token endpoint. Eight browsers of one user run at once,
// at the default refresh-token cap, which every flow after the tenth meets,
// as the load tool's users do. allocs/op is per flow.
//
//	go test ./internal/server -run '^$' -bench AuthorizationCodeFlow -benchmem -cpu 1
func BenchmarkAuthorizationCodeFlow(b *testing.B) {
	n := newBenchNodeWith(b, func(*config.Config) {})
	const browsers = 8
	signedIn := make(chan *benchBrowser, browsers*runtime.GOMAXPROCS(0))
	for range cap(signedIn) { // one after another: sign-in is rate-limited
		br := &benchBrowser{n: n, b: b, cookies: map[string]string{}}
		br.signIn()
		signedIn <- br
	}
	b.SetParallelism(browsers)
	b.ResetTimer()
	defer cpubench.Report(b)()
	b.RunParallel(func(pb *testing.PB) {
		br := <-signedIn
		for pb.Next() {
			br.flow()
		}
	})
}

// benchBrowser keeps one browser's cookies.
type benchBrowser struct {
	n       *benchNode
	b       *testing.B
	cookies map[string]string
}

func (br *benchBrowser) do(method, target string, form url.Values) *httptest.ResponseRecorder {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for name, value := range br.cookies {
		req.AddCookie(&http.Cookie{Name: name, Value: value})
	}
	req.RemoteAddr = "127.0.0.1:40000"
	rec := httptest.NewRecorder()
	br.n.h.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		br.cookies[c.Name] = c.Value
	}
	return rec
}

// hiddenValue reads a hidden form field's value from a page.
func hiddenValue(b *testing.B, page, name string) string {
	_, rest, ok := strings.Cut(page, `name="`+name+`" value="`)
	value, _, closed := strings.Cut(rest, `"`)
	if !ok || !closed {
		b.Fatalf("no %s in the page", name)
	}
	return value
}

func (br *benchBrowser) signIn() {
	page := br.do("GET", "/login", nil)
	rec := br.do("POST", "/login", url.Values{"csrf_token": {hiddenValue(br.b, page.Body.String(), "csrf_token")},
		"username": {"bench"}, "password": {"bench-password-1"}})
	if rec.Code != http.StatusSeeOther {
		br.b.Fatalf("sign-in: %d", rec.Code)
	}
}

func (br *benchBrowser) flow() {
	b := br.b
	// RFC 7636 appendix B's pair; each code gets its own challenge checked all the same.
	const verifier, challenge = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	q := url.Values{"response_type": {"code"}, "client_id": {br.n.clientID}, "redirect_uri": {"http://127.0.0.1/cb"},
		"scope": {"READ"}, "state": {"s1"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	page := br.do("GET", "/rest/oauth2/latest/authorize?"+q.Encode(), nil)
	if page.Code != http.StatusOK {
		b.Fatalf("authorize: %d %s", page.Code, page.Body)
	}
	body := page.Body.String()
	allow := br.do("POST", "/plugins/servlet/oauth2/consent", url.Values{"decision": {"allow"},
		"csrf_token": {hiddenValue(b, body, "csrf_token")}, "consent_id": {hiddenValue(b, body, "consent_id")}})
	back, err := url.Parse(allow.Header().Get("Location"))
	if allow.Code != http.StatusSeeOther || err != nil || back.Query().Get("code") == "" {
		b.Fatalf("consent: %d, Location %q", allow.Code, allow.Header().Get("Location"))
	}
	out := br.n.post(b, "/rest/oauth2/latest/token", url.Values{"grant_type": {"authorization_code"},
		"code": {back.Query().Get("code")}, "redirect_uri": {"http://127.0.0.1/cb"}, "code_verifier": {verifier}})
	if out["access_token"] == nil || out["refresh_token"] == nil {
		b.Fatal("no token pair")
	}
}
