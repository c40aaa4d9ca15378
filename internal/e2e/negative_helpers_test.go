package e2e

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/token"
)

// Texts of the English pages (internal/web/i18n/en.json) the tests look for.
const (
	textErrorRequest = "The application sent an invalid request, so it cannot be sent back an answer safely."
	textSignedOut    = "You are not signed in."
	textLoginFailed  = "Incorrect username or password."
	textThrottled    = "Too many failed sign-ins. Wait up to 15 min, then try again."
	textCSRF         = "This form has expired or did not come from this site."
	textDropped      = "Your account cannot grant these, so they will be left out:"
)

const (
	alicePassword = "alice-password"
	pathToken     = "/rest/oauth2/latest/token"
	pathRevoke    = "/rest/oauth2/latest/revoke"
	pathIntro     = "/rest/oauth2/latest/introspect"
	pathConsent   = "/plugins/servlet/oauth2/consent"
)

// world is a fresh node with alice (a user-level account) signed in, one
// confidential application under test, and a separate resource server
// application (allowed to introspect every application's tokens) used only to
// introspect, so that what the application under test may do never changes
// what the test can observe.
type world struct {
	*env
	t      *testing.T
	alice  *browser
	client store.Client
	secret string
	rs     store.Client
	rsKey  string

	auditorOnce sync.Once
	auditor     string // auditorToken's token
}

func newWorld(t *testing.T, reg app.Registration, mutate ...func(*config.Config)) *world {
	t.Helper()
	e := newEnv(t, mutate...)
	e.createUser("alice", alicePassword, store.LevelUser)
	w := &world{env: e, t: t}
	w.client, w.secret = e.createClient(reg)
	w.rs, w.rsKey = e.createClient(app.Registration{Name: "Resource server", Grants: []string{app.GrantClientCredentials}, RedirectURIs: []string{}, IntrospectAny: true})
	w.alice = e.newBrowser()
	if p := w.alice.signIn("alice", alicePassword); p.status != http.StatusSeeOther {
		t.Fatalf("alice could not sign in: %d", p.status)
	}
	return w
}

// isActive asks whether tok is active (introspect).
func (w *world) isActive(tok string) bool {
	w.t.Helper()
	return w.introspect(tok).body["active"] == true
}

// introspect asks as the resource server application; a refresh token,
// which is active to no resource server, is asked about with an
// administrator's token.
func (w *world) introspect(tok string) tokenResult {
	w.t.Helper()
	var r tokenResult
	if token.KindOf(tok) == token.Refresh {
		r = w.request("POST", pathIntro, formType, strings.NewReader(form("token", tok).Encode()), withHeader("Authorization", "Bearer "+w.auditorToken()))
	} else {
		r = w.postForm(pathIntro, form("token", tok), w.rs.ID, w.rsKey)
	}
	if r.status != http.StatusOK {
		w.t.Fatalf("introspect: %d %s", r.status, r.raw)
	}
	return r
}

// auditorToken is an administrator's access token with ADMIN, made on first
// use through an application of its own, which the tests' changes to the
// world's applications leave alone.
func (w *world) auditorToken() string {
	w.t.Helper()
	w.auditorOnce.Do(func() {
		w.createUser("auditor", "auditor-password", store.LevelAdmin)
		b := w.newBrowser()
		b.signIn("auditor", "auditor-password")
		c, secretValue := w.createClient(app.Registration{Name: "Auditor", Scopes: []string{"ADMIN"}})
		w.auditor = w.issue(b, c, secretValue, "ADMIN").str("access_token")
	})
	return w.auditor
}

// wantActive checks the introspection answer of each token.
func (w *world) wantActive(want bool, what string, tokens ...string) {
	w.t.Helper()
	for i, tok := range tokens {
		if got := w.isActive(tok); got != want {
			w.t.Fatalf("%s #%d: active=%v, want %v", what, i, got, want)
		}
	}
}

// newPKCE returns a fresh verifier and its S256 challenge.
func newPKCE() (verifier, challenge string) {
	v := oauth2.GenerateVerifier()
	return v, oauth2.S256ChallengeFromVerifier(v)
}

// set changes v by key, value pairs; an empty value removes the key.
func set(v url.Values, kv ...string) url.Values {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			v.Del(kv[i])
		} else {
			v.Set(kv[i], kv[i+1])
		}
	}
	return v
}

// tokenAs posts f to the token endpoint as c: HTTP Basic when secretValue is
// set, else client_id in the body (a public client).
func (e *env) tokenAs(c store.Client, secretValue string, f url.Values) tokenResult {
	e.t.Helper()
	if secretValue == "" {
		f.Set("client_id", c.ID)
		return e.token(f, "", "")
	}
	return e.token(f, c.ID, secretValue)
}

// redeem exchanges code as c; extra key, value pairs change the request
// (redirect_uri is callback unless changed).
func (e *env) redeem(c store.Client, secretValue, code string, extra ...string) tokenResult {
	e.t.Helper()
	f := set(form("grant_type", "authorization_code", "code", code, "redirect_uri", callback), extra...)
	return e.tokenAs(c, secretValue, f)
}

// refresh rotates a refresh token as c.
func (e *env) refresh(c store.Client, secretValue, refreshToken string, extra ...string) tokenResult {
	e.t.Helper()
	return e.tokenAs(c, secretValue, set(form("grant_type", "refresh_token", "refresh_token", refreshToken), extra...))
}

// pkceCode runs the browser side with a fresh S256 challenge and returns the code and its verifier.
func pkceCode(b *browser, c store.Client, scope string) (code, verifier string) {
	verifier, challenge := newPKCE()
	return b.code(authParams(c, scope, "code_challenge", challenge, "code_challenge_method", "S256")), verifier
}

// issue runs a whole authorization-code flow with PKCE for c in b and
// returns the successful token answer.
func (e *env) issue(b *browser, c store.Client, secretValue, scope string) tokenResult {
	e.t.Helper()
	code, verifier := pkceCode(b, c, scope)
	r := e.redeem(c, secretValue, code, "code_verifier", verifier)
	wantOK(e.t, r)
	return r
}

// wantOK fails unless r is a complete successful token answer.
func wantOK(t *testing.T, r tokenResult) {
	t.Helper()
	if r.status != http.StatusOK || r.str("access_token") == "" {
		t.Fatalf("got %d %s, want 200 with an access token", r.status, r.raw)
	}
}

// wantErrorPage checks that an authorization request ended on the server's
// own error page: 400, HTML, and no redirect anywhere.
func wantErrorPage(t *testing.T, p page, detail string) {
	t.Helper()
	if p.status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400; Location %q", p.status, p.header.Get("Location"))
	}
	if loc := p.header.Get("Location"); loc != "" {
		t.Fatalf("the error page redirects to %q", loc)
	}
	if !strings.HasPrefix(p.header.Get("Content-Type"), "text/html") {
		t.Fatalf("content type %q, want an HTML page", p.header.Get("Content-Type"))
	}
	if !strings.Contains(p.body, textErrorRequest) || !strings.Contains(p.body, detail) {
		t.Fatalf("error page lacks %q / %q:\n%s", textErrorRequest, detail, p.body)
	}
}

// wantRedirectError checks an RFC 6749 §4.1.2.1 error redirect to callback
// with error, error_description, the state "st-123" and iss (RFC 9207).
func wantRedirectError(t *testing.T, e *env, p page, status int, code string) url.Values {
	t.Helper()
	q := wantRedirectErrorNoState(t, e, p, status, code)
	if q.Get("state") != "st-123" {
		t.Fatalf("redirect lacks state: %s", p.header.Get("Location"))
	}
	return q
}

func wantRedirectErrorNoState(t *testing.T, e *env, p page, status int, code string) url.Values {
	t.Helper()
	if p.status != status {
		t.Fatalf("status %d, want %d: %s", p.status, status, p.body)
	}
	loc, err := url.Parse(p.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	q := loc.Query()
	if target := loc.Scheme + "://" + loc.Host + loc.Path; target != callback {
		t.Fatalf("redirect goes to %s, want %s", target, callback)
	}
	if q.Get("error") != code || q.Get("error_description") == "" || q.Get("iss") != e.base {
		t.Fatalf("redirect %s, want error=%s with a description and iss", loc, code)
	}
	wantDescriptionChars(t, q.Get("error_description"))
	if q.Has("code") {
		t.Fatalf("an error redirect carries a code: %s", loc)
	}
	return q
}

// request sends a hand-made request and decodes the answer.
func (e *env) request(method, path, contentType string, body io.Reader, mods ...func(*http.Request)) tokenResult {
	e.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, e.base+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for _, m := range mods {
		m(req)
	}
	return e.send(req)
}

const formType = "application/x-www-form-urlencoded"

func withBasic(id, secretValue string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secretValue)) }
}

func withHeader(k, v string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set(k, v) }
}

// bearer calls a protected path with an arbitrary Authorization header value.
func (e *env) withAuthorization(path, authorization string) tokenResult {
	e.t.Helper()
	return e.request("GET", path, "", nil, withHeader("Authorization", authorization))
}

// wantBearerChallenge checks an RFC 6750 §3 answer with its WWW-Authenticate header.
func wantBearerChallenge(t *testing.T, r tokenResult, status int, code string) {
	t.Helper()
	if r.status != status || r.str("error") != code {
		t.Fatalf("got %d %s, want %d %s", r.status, r.raw, status, code)
	}
	ch := r.header.Get("WWW-Authenticate")
	if !strings.HasPrefix(ch, "Bearer ") || (code != "" && !strings.Contains(ch, `error="`+code+`"`)) {
		t.Fatalf("WWW-Authenticate %q, want a Bearer challenge with error=%q", ch, code)
	}
}

// registration returns c's settings, to change and pass to Apps.Update.
func registration(c store.Client) app.Registration {
	return app.Registration{
		Name: c.Name, Description: c.Description, RedirectURIs: c.RedirectURIs, Scopes: c.Scopes,
		Grants: c.Grants, Public: c.Public, RequirePKCE: c.RequirePKCE, Disabled: !c.Enabled,
		SubscriberUsers: c.SubscriberUsers, SubscriberGroups: c.SubscriberGroups, AllowedIPs: c.AllowedIPs,
		IntrospectAny: c.IntrospectAny,
	}
}

func (e *env) updateClient(c store.Client, change func(*app.Registration)) store.Client {
	e.t.Helper()
	r := registration(c)
	change(&r)
	updated, _, err := e.node.Apps.Update(context.Background(), c.ID, r, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return updated
}

var alertText = regexp.MustCompile(`<p class="alert" role="alert">([^<]*)</p>`)

// alert returns the text of the page's alert paragraph.
func alert(body string) string {
	m := alertText.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return unescapeHTML(m[1])
}
