package adminapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
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

// The minimum of internal/e2e's harness: one real node on a loopback port,
// a cookie-keeping browser for sign-in and consent, and a JSON caller.
// Every admin API request of these tests goes through a client wrapped by
// internal/adminapi/contract, which fails the test when a request or answer
// does not match the OpenAPI description (openapi.yaml).

var netipLoopback = netip.MustParseAddr("127.0.0.1")

const callback = "http://127.0.0.1:7777/callback"

// env is one running node.
type env struct {
	t    testing.TB
	node *server.Gatehouse
	base string
}

func newEnv(t testing.TB, mutate ...func(*config.Config)) *env {
	t.Helper()
	n := testnode.Start(t, testnode.Options{}, mutate...)
	return &env{t: t, node: n.Gatehouse, base: n.BaseURL}
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
		r.Name = "Test application"
	}
	if r.RedirectURIs == nil {
		r.RedirectURIs = []string{callback}
	}
	if r.Scopes == nil {
		r.Scopes = []string{"READ", "WRITE", "ADMIN", "SYSTEM_ADMIN"}
	}
	c, secretValue, err := e.node.Apps.Create(context.Background(), r)
	for n := 2; errors.Is(err, store.ErrConflict) && n < 100; n++ { // names are unique
		named := r
		named.Name = fmt.Sprintf("%s (%d)", r.Name, n)
		c, secretValue, err = e.node.Apps.Create(context.Background(), named)
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return c, secretValue
}

// browser is a cookie-keeping client that does not follow redirects; its
// admin API exchanges are held against the OpenAPI description.
type browser struct {
	e    *env
	http *http.Client
}

func (e *env) newBrowser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, http: &http.Client{
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     contract.Transport(e.t, nil),
	}}
}

func (b *browser) send(method, rawURL string, form url.Values) (*http.Response, string) {
	b.e.t.Helper()
	if strings.HasPrefix(rawURL, "/") {
		rawURL = b.e.base + rawURL
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, rawURL, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.http.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, string(raw)
}

var hiddenField = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// formFields returns the hidden fields of the last form on the page.
func formFields(body string) url.Values {
	v := url.Values{}
	forms := strings.Split(body, "<form")
	for _, m := range hiddenField.FindAllStringSubmatch(forms[len(forms)-1], -1) {
		v.Set(m[1], strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#39;", "'", "&quot;", `"`, "&#34;", `"`).Replace(m[2]))
	}
	return v
}

// signIn signs in through the real form.
func (b *browser) signIn(username, password string) {
	b.e.t.Helper()
	_, page := b.send("GET", "/login", nil)
	form := formFields(page)
	form.Set("username", username)
	form.Set("password", password)
	if resp, body := b.send("POST", "/login", form); resp.StatusCode != http.StatusSeeOther {
		b.e.t.Fatalf("sign-in as %s: %d %s", username, resp.StatusCode, body)
	}
}

// accessToken runs the authorization code flow through the real sign-in and
// consent pages for username and returns the access token.
func (e *env) accessToken(username, password, scope string) string {
	e.t.Helper()
	c, secretValue := e.createClient(app.Registration{Name: "token for " + username,
		Scopes: []string{"READ", "WRITE", "ADMIN", "SYSTEM_ADMIN", "INTEGRATION_TOKEN"}})
	b := e.newBrowser()
	b.signIn(username, password)
	params := url.Values{"client_id": {c.ID}, "redirect_uri": {callback}, "response_type": {"code"}, "scope": {scope}, "state": {"s"}}
	resp, page := b.send("GET", "/rest/oauth2/latest/authorize?"+params.Encode(), nil)
	for i := 0; i < 5 && resp.StatusCode >= 300 && resp.StatusCode < 400; i++ {
		loc, _ := resp.Request.URL.Parse(resp.Header.Get("Location"))
		resp, page = b.send("GET", loc.String(), nil)
	}
	form := formFields(page)
	form.Set("decision", "allow")
	resp, body := b.send("POST", "/plugins/servlet/oauth2/consent", form)
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("consent: %d %s", resp.StatusCode, body)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	code := loc.Query().Get("code")
	if code == "" {
		e.t.Fatalf("no code in %s", loc)
	}
	r := e.tokenRequest(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {callback}}, c.ID, secretValue)
	tok, _ := r.body["access_token"].(string)
	if r.status != http.StatusOK || tok == "" {
		e.t.Fatalf("token: %d %s", r.status, r.raw)
	}
	return tok
}

// clientCredentialsToken returns a token that acts for no user, with ADMIN scope.
func (e *env) clientCredentialsToken() string {
	e.t.Helper()
	c, secretValue := e.createClient(app.Registration{Grants: []string{app.GrantClientCredentials}, RedirectURIs: []string{}})
	r := e.tokenRequest(url.Values{"grant_type": {"client_credentials"}, "scope": {"ADMIN"}}, c.ID, secretValue)
	tok, _ := r.body["access_token"].(string)
	if r.status != http.StatusOK || tok == "" {
		e.t.Fatalf("client credentials: %d %s", r.status, r.raw)
	}
	return tok
}

func (e *env) tokenRequest(form url.Values, id, secretValue string) result {
	e.t.Helper()
	return e.postForm("/rest/oauth2/latest/token", form, id, secretValue)
}

func (e *env) postForm(path string, form url.Values, id, secretValue string) result {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secretValue))
	return e.roundTrip(http.DefaultClient, req)
}

// introspector answers whether tokens are active, as a confidential
// application allowed to introspect every application's tokens.
type introspector struct {
	e          *env
	id, secret string
}

func (e *env) newIntrospector() introspector {
	c, secretValue := e.createClient(app.Registration{Name: "resource server", IntrospectAny: true})
	return introspector{e, c.ID, secretValue}
}

func (i introspector) active(tok string) bool {
	i.e.t.Helper()
	r := i.e.postForm("/rest/oauth2/latest/introspect", url.Values{"token": {tok}}, i.id, i.secret)
	if r.status != http.StatusOK {
		i.e.t.Fatalf("introspect: %d %s", r.status, r.raw)
	}
	return r.body["active"] == true
}

// result is an API answer with its body read (and decoded when JSON).
type result struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

func (r result) str(k string) string { s, _ := r.body[k].(string); return s }

func (r result) list(k string) []any { l, _ := r.body[k].([]any); return l }

// roundTrip sends req with c, holding an admin API exchange against the
// OpenAPI description.
func (e *env) roundTrip(c *http.Client, req *http.Request) result {
	e.t.Helper()
	resp, err := contract.Client(e.t, c).Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := result{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	json.Unmarshal(raw, &r.body)
	return r
}

// caller sends API requests as one identity.
type caller struct {
	e      *env
	http   *http.Client
	bearer string
	origin string // sent as Origin on every request when set
}

func (e *env) anonymous() *caller { return &caller{e: e, http: http.DefaultClient} }

func (e *env) withToken(tok string) *caller {
	return &caller{e: e, http: http.DefaultClient, bearer: tok}
}

// withSession signs in through the browser and calls with its cookie, as a
// same-origin page would (Origin set).
func (e *env) withSession(username, password string) *caller {
	b := e.newBrowser()
	b.signIn(username, password)
	return &caller{e: e, http: b.http, origin: e.base}
}

// raw is a body sent as is, with its content type.
type raw struct {
	contentType string
	data        []byte
}

// do sends a request. body: nil (none), raw, or anything else as JSON.
// header holds extra name, value pairs.
func (c *caller) do(method, path string, body any, header ...string) result {
	c.e.t.Helper()
	var rd io.Reader
	contentType := ""
	switch b := body.(type) {
	case nil:
	case raw:
		rd, contentType = bytes.NewReader(b.data), b.contentType
	default:
		data, err := json.Marshal(b)
		if err != nil {
			c.e.t.Fatal(err)
		}
		rd, contentType = bytes.NewReader(data), "application/json"
	}
	req, _ := http.NewRequest(method, c.e.base+path, rd)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	if c.origin != "" {
		req.Header.Set("Origin", c.origin)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	return c.e.roundTrip(c.http, req)
}

// want checks the status, and for an error its JSON code and message.
func want(t testing.TB, r result, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	if code == "" {
		return
	}
	if r.str("error") != code || r.str("message") == "" {
		t.Fatalf("error body %s, want error %q with a message", r.raw, code)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error Content-Type %q", ct)
	}
}

// fixture is a node with a system administrator (the only one), an
// administrator and a user, and API callers for them.
type fixture struct {
	*env
	root  *caller // root, system-admin, ADMIN-scoped token
	admin *caller // ada, admin, ADMIN-scoped token
}

const (
	rootPassword  = "root-password"
	adaPassword   = "ada-password"
	userPassword  = "uma-password"
	adminPathUser = "/rest/gatehouse/latest/users"
	pathClients   = "/rest/oauth2/latest/client"
)

func newFixture(t testing.TB, mutate ...func(*config.Config)) *fixture {
	t.Helper()
	e := newEnv(t, mutate...)
	e.createUser("root", rootPassword, store.LevelSystemAdmin)
	e.createUser("ada", adaPassword, store.LevelAdmin, "admins", "staff")
	e.createUser("uma", userPassword, store.LevelUser, "staff")
	return &fixture{
		env:   e,
		root:  e.withToken(e.accessToken("root", rootPassword, "SYSTEM_ADMIN")),
		admin: e.withToken(e.accessToken("ada", adaPassword, "ADMIN")),
	}
}

// newClient creates an application through the API and returns its JSON.
func (f *fixture) newClient(name string, extra map[string]any) result {
	f.t.Helper()
	body := map[string]any{"name": name, "redirect_uris": []string{callback}, "scopes": []string{"READ", "WRITE"}}
	for k, v := range extra {
		body[k] = v
	}
	r := f.admin.do("POST", pathClients, body)
	want(f.t, r, http.StatusCreated, "")
	return r
}

// auditKinds returns the kinds of the audit events about a client, newest first.
func (f *fixture) auditKinds(clientID string) []string {
	f.t.Helper()
	r := f.admin.do("GET", "/rest/gatehouse/latest/audit?limit=1000&client="+url.QueryEscape(clientID), nil)
	want(f.t, r, http.StatusOK, "")
	var kinds []string
	for _, ev := range r.list("events") {
		kinds = append(kinds, ev.(map[string]any)["kind"].(string))
	}
	return kinds
}

// auditCount is how many audit events exist.
func (f *fixture) auditCount() int {
	f.t.Helper()
	r := f.admin.do("GET", "/rest/gatehouse/latest/audit?limit=1000", nil)
	want(f.t, r, http.StatusOK, "")
	return len(r.list("events"))
}
