package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/adminapi/contract"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testnode"
	"github.com/gatehouse/gatehouse/internal/user"
)

// clock is the injected time source; tests move it forward.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is one running node.
type env struct {
	t     *testing.T
	node  *server.Gatehouse
	base  string
	clock *clock
	// unnamed counts the applications createClient named itself, since
	// application names are unique.
	unnamed int
}

const callback = "http://127.0.0.1:7777/callback"

// newEnv starts a node on a free loopback port with a fresh SQLite file.
func newEnv(t *testing.T, mutate ...func(*config.Config)) *env {
	t.Helper()
	var logs io.Writer
	if testing.Verbose() {
		logs = &testWriter{t}
	}
	return newLoggedEnv(t, logs, mutate...)
}

// newLoggedEnv is newEnv with the node's log, from level info, written to
// logs (nil: nowhere).
func newLoggedEnv(t *testing.T, logs io.Writer, mutate ...func(*config.Config)) *env {
	t.Helper()
	clk := &clock{t: time.Now()}
	opt := testnode.Options{Server: server.Options{Now: clk.Now}}
	if logs != nil {
		opt.Log = slog.New(slog.NewTextHandler(logs, nil))
	}
	n := testnode.Start(t, opt, mutate...)
	return &env{t: t, node: n.Gatehouse, base: n.BaseURL, clock: clk}
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func (e *env) createUser(username, password string, level store.Level, groups ...string) store.User {
	e.t.Helper()
	u, err := e.node.Users.Create(context.Background(), user.NewUser{Username: username, Password: password, Level: level, Groups: groups})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *env) createClient(r app.Registration) (store.Client, string) {
	e.t.Helper()
	if r.Name == "" {
		e.unnamed++
		r.Name = "Test application"
		if e.unnamed > 1 {
			r.Name = fmt.Sprintf("Test application %d", e.unnamed)
		}
	}
	if r.RedirectURIs == nil {
		r.RedirectURIs = []string{callback}
	}
	if r.Scopes == nil {
		r.Scopes = []string{"READ", "WRITE", "ADMIN"}
	}
	c, secretValue, err := e.node.Apps.Create(context.Background(), r)
	if err != nil {
		e.t.Fatal(err)
	}
	return c, secretValue
}

// browser is a cookie-keeping client that does not follow redirects by
// itself. Its admin API exchanges, and those of env.send, are held against
// the API's OpenAPI description (internal/adminapi/contract).
type browser struct {
	e    *env
	http *http.Client
	lang string
}

func (e *env) newBrowser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, http: &http.Client{
		Transport:     contract.Transport(e.t, nil),
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// page is a fetched response with its body read.
type page struct {
	status int
	header http.Header
	body   string
	url    *url.URL
}

func (p page) location() *url.URL {
	loc, _ := p.url.Parse(p.header.Get("Location"))
	return loc
}

func (b *browser) do(req *http.Request) page {
	b.e.t.Helper()
	if b.lang != "" {
		req.Header.Set("Accept-Language", b.lang)
	}
	resp, err := b.http.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, header: resp.Header, body: string(body), url: req.URL}
}

func (b *browser) get(rawURL string) page {
	b.e.t.Helper()
	req, _ := http.NewRequest("GET", b.resolve(rawURL), nil)
	return b.do(req)
}

func (b *browser) post(rawURL string, form url.Values) page {
	b.e.t.Helper()
	req, _ := http.NewRequest("POST", b.resolve(rawURL), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func (b *browser) resolve(rawURL string) string {
	if strings.HasPrefix(rawURL, "/") {
		return b.e.base + rawURL
	}
	return rawURL
}

// follow walks redirects that stay on the server and returns the first page
// that is not such a redirect (a page, or a redirect to the client).
func (b *browser) follow(p page) page {
	b.e.t.Helper()
	for i := 0; i < 10 && p.status >= 300 && p.status < 400; i++ {
		loc := p.location()
		if !strings.HasPrefix(loc.String(), b.e.base+"/") {
			return p
		}
		p = b.get(loc.String())
	}
	return p
}

// pageTextFields are the text fields (and the type and level) that a
// console form always sends, even empty; a post without one is refused.
var pageTextFields = map[string][]string{
	"app":      {"name", "description", "redirect_uris", "type", "subscriber_users", "subscriber_groups", "allowed_ips"},
	"user":     {"display_name", "email", "groups", "level"},
	"new user": {"username", "password", "display_name", "email", "groups", "level"},
}

// pageForm is a console form of kind as its page sends it: every text field,
// empty unless set gives it, and set's other fields (ticked boxes, the token).
func pageForm(kind string, set url.Values) url.Values {
	f := url.Values{}
	for _, name := range pageTextFields[kind] {
		f.Set(name, "")
	}
	for k, v := range set {
		f[k] = v
	}
	return f
}

var hiddenField = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// formFields returns the hidden fields of the last form on the page (the
// consent or sign-in form; the first form is the header's sign-out).
func formFields(body string) url.Values {
	v := url.Values{}
	forms := strings.Split(body, "<form")
	last := forms[len(forms)-1]
	for _, m := range hiddenField.FindAllStringSubmatch(last, -1) {
		v.Set(m[1], unescapeHTML(m[2]))
	}
	return v
}

func unescapeHTML(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#39;", "'", "&quot;", `"`, "&lt;", "<", "&gt;", ">", "&#34;", `"`).Replace(s)
}

// signIn signs in through the real form.
func (b *browser) signIn(username, password string) page {
	b.e.t.Helper()
	login := b.get("/login")
	form := formFields(login.body)
	form.Set("username", username)
	form.Set("password", password)
	return b.post("/login", form)
}

// authorize starts an authorization request and returns the consent page
// (or whatever page or client redirect the request ends at).
func (b *browser) authorize(params url.Values) page {
	b.e.t.Helper()
	return b.follow(b.get("/rest/oauth2/latest/authorize?" + params.Encode()))
}

// decide answers the consent page with allow or deny and returns the redirect to the client.
func (b *browser) decide(consent page, decision string) *url.URL {
	b.e.t.Helper()
	if consent.status != http.StatusOK || !strings.Contains(consent.body, `name="decision"`) {
		b.e.t.Fatalf("not a consent page: %d %s", consent.status, consent.body)
	}
	form := formFields(consent.body)
	form.Set("decision", decision)
	p := b.post("/plugins/servlet/oauth2/consent", form)
	if p.status != http.StatusSeeOther {
		b.e.t.Fatalf("consent answered %d: %s", p.status, p.body)
	}
	return p.location()
}

// authParams is a complete authorization request for c.
func authParams(c store.Client, scope string, extra ...string) url.Values {
	v := url.Values{"client_id": {c.ID}, "redirect_uri": {callback}, "response_type": {"code"}, "scope": {scope}, "state": {"st-123"}}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == "" {
			v.Del(extra[i])
		} else {
			v.Set(extra[i], extra[i+1])
		}
	}
	return v
}

// code runs the whole browser side (sign-in if needed, consent Allow) and returns the code.
func (b *browser) code(params url.Values) string {
	b.e.t.Helper()
	redirect := b.decide(b.authorize(params), "allow")
	q := redirect.Query()
	if q.Get("code") == "" {
		b.e.t.Fatalf("no code in %s", redirect)
	}
	return q.Get("code")
}

// tokenResult is a decoded token-endpoint answer.
type tokenResult struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (r tokenResult) str(k string) string { s, _ := r.body[k].(string); return s }

// postForm sends a form to an endpoint, optionally with Basic credentials.
func (e *env) postForm(path string, form url.Values, basicID, basicSecret string) tokenResult {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicID != "" {
		req.SetBasicAuth(url.QueryEscape(basicID), url.QueryEscape(basicSecret))
	}
	return e.send(req)
}

func (e *env) send(req *http.Request) tokenResult {
	e.t.Helper()
	resp, err := contract.Client(e.t, nil).Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := tokenResult{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	json.Unmarshal(raw, &r.body)
	return r
}

func (e *env) token(form url.Values, id, secretValue string) tokenResult {
	e.t.Helper()
	return e.postForm("/rest/oauth2/latest/token", form, id, secretValue)
}

// introspect asks as the given confidential client whether tok is active.
func (e *env) active(tok, id, secretValue string) bool {
	e.t.Helper()
	r := e.postForm("/rest/oauth2/latest/introspect", url.Values{"token": {tok}}, id, secretValue)
	if r.status != http.StatusOK {
		e.t.Fatalf("introspect: %d %s", r.status, r.raw)
	}
	return r.body["active"] == true
}

// myself calls the protected resource with a Bearer token.
func (e *env) myself(accessToken string) tokenResult {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.base+"/rest/api/latest/myself", nil)
	req.Header.Set("Authorization", "Bearer "+accessToken)
	return e.send(req)
}

// wantError checks an OAuth JSON error answer.
func wantError(t *testing.T, r tokenResult, status int, code string) {
	t.Helper()
	if r.status != status || r.str("error") != code {
		t.Fatalf("got %d %s, want %d %s", r.status, r.raw, status, code)
	}
	if r.str("error_description") == "" {
		t.Fatalf("error %s has no description", code)
	}
	wantDescriptionChars(t, r.str("error_description"))
}

// descriptionChars is RFC 6749's error_description: %x20-21 / %x23-5B / %x5D-7E
// (§4.1.2.1, §5.2); strict clients refuse an answer with any other character.
var descriptionChars = regexp.MustCompile(`^[\x20-\x21\x23-\x5B\x5D-\x7E]*$`)

func wantDescriptionChars(t *testing.T, d string) {
	t.Helper()
	if !descriptionChars.MatchString(d) {
		t.Fatalf("error_description %q has characters RFC 6749 §5.2 forbids", d)
	}
}
