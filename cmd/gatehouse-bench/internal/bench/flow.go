package bench

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Paths of the endpoints under test.
const (
	pathToken      = "/rest/oauth2/latest/token"
	pathIntrospect = "/rest/oauth2/latest/introspect"
	pathAuthorize  = "/rest/oauth2/latest/authorize"
	pathMyself     = "/rest/api/latest/myself"
	pathLogin      = "/login"
)

// failure is why one operation failed: its kind (the report's key) and a
// sample of what was seen.
type failure struct {
	kind, detail string
}

const (
	kindTransport = "transport error"
	kindBadBody   = "bad body"
)

func transportFailure(err error) *failure { return &failure{kindTransport, err.Error()} }

// statusKinds keeps "status NNN" strings from being built on every failure.
var statusKinds = func() map[int]string {
	m := map[int]string{}
	for code := 100; code < 600; code++ {
		m[code] = "status " + strconv.Itoa(code)
	}
	return m
}()

func statusFailure(resp *http.Response, body []byte) *failure {
	kind, ok := statusKinds[resp.StatusCode]
	if !ok {
		kind = "status " + strconv.Itoa(resp.StatusCode)
	}
	detail := snippet(body)
	if loc := resp.Header.Get("Location"); loc != "" {
		detail = "Location: " + loc
	}
	return &failure{kind, detail}
}

func badBody(why string, body []byte) *failure {
	return &failure{kindBadBody, why + ": " + snippet(body)}
}

// snippet is the start of a body for an error sample.
func snippet(b []byte) string {
	const n = 200
	s := strings.Join(strings.Fields(string(b[:min(len(b), 4*n)])), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

// browser is a worker's page-flow client on its lean connection: it keeps
// the session cookie and follows nothing by itself.
type browser struct {
	t        *target
	n        node
	c        *conn
	jar      cookies
	req      request
	user     Credentials
	signedIn bool
}

func (b *browser) get(path string) (*http.Response, []byte, *failure) {
	r := b.req.start("GET", path, b.n.host)
	if b.jar.header != "" {
		r.header("Cookie", b.jar.header)
	}
	return b.send(r.end(nil))
}

func (b *browser) post(path string, form string) (*http.Response, []byte, *failure) {
	r := b.req.start("POST", path, b.n.host)
	if b.jar.header != "" {
		r.header("Cookie", b.jar.header)
	}
	return b.send(r.form([]byte(form)))
}

func (b *browser) send(req []byte) (*http.Response, []byte, *failure) {
	resp, body, err := b.c.do(req)
	if err != nil {
		return nil, nil, transportFailure(err)
	}
	b.jar.update(resp.Header)
	return resp, body, nil
}

// local turns a link on a page or in a Location header into a request
// target on this node; ok is false for a link elsewhere.
func (b *browser) local(link string) (string, bool) {
	if strings.HasPrefix(link, "/") && !strings.HasPrefix(link, "//") {
		return link, true
	}
	if rest, ok := strings.CutPrefix(link, b.n.base); ok && strings.HasPrefix(rest, "/") {
		return rest, true
	}
	return "", false
}

// signIn signs in through the sign-in page with a session of its own.
func (b *browser) signIn() *failure {
	b.signedIn = false
	resp, body, f := b.get(pathLogin)
	if f != nil {
		return f
	}
	if resp.StatusCode != http.StatusOK {
		return statusFailure(resp, body)
	}
	form, ok := findForm(body, pathLogin)
	if !ok {
		return badBody("no sign-in form", body)
	}
	v := url.Values{}
	for _, kv := range form.fields {
		v.Set(kv[0], kv[1])
	}
	v.Set("username", b.user.Username)
	v.Set("password", b.user.Password)
	action, ok := b.local(form.action)
	if !ok {
		return badBody("the sign-in form posts elsewhere", body)
	}
	resp, body, f = b.post(action, v.Encode())
	if f != nil {
		return f
	}
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		return statusFailure(resp, body)
	}
	if strings.HasPrefix(resp.Header.Get("Location"), pathLogin) {
		return badBody("sign-in sent back to the sign-in page", body)
	}
	b.signedIn = true
	return nil
}

// pkce returns a fresh code verifier and its S256 challenge (RFC 7636).
func pkce() (verifier, challenge string) {
	var raw [32]byte
	rand.Read(raw[:])
	verifier = base64.RawURLEncoding.EncodeToString(raw[:])
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

func newState() string {
	var raw [8]byte
	rand.Read(raw[:])
	return hex.EncodeToString(raw[:])
}

// authorize runs the browser side of one authorization: the authorization
// request, the consent page, Allow, and the redirect to the client (read,
// not followed). It returns the code and the PKCE verifier.
func (b *browser) authorize() (code, verifier string, f *failure) {
	verifier, challenge := pkce()
	state := newState()
	q := url.Values{
		"response_type": {"code"}, "client_id": {b.t.client.ID}, "redirect_uri": {b.t.client.RedirectURI},
		"scope": {b.t.scope}, "state": {state}, "code_challenge": {challenge}, "code_challenge_method": {"S256"},
	}
	resp, body, f := b.get(pathAuthorize + "?" + q.Encode())
	// Follow redirects on this node (authorize → consent page) a few times.
	for i := 0; f == nil && i < 4 && resp.StatusCode/100 == 3; i++ {
		loc := resp.Header.Get("Location")
		next, ok := b.local(loc)
		if !ok {
			return "", "", badBody("redirected away before consent", []byte(loc))
		}
		if strings.HasPrefix(next, pathLogin) {
			b.signedIn = false
			return "", "", &failure{"signed out", "sent to the sign-in page: " + loc}
		}
		resp, body, f = b.get(next)
	}
	if f != nil {
		return "", "", f
	}
	if resp.StatusCode != http.StatusOK {
		return "", "", statusFailure(resp, body)
	}
	form, ok := findForm(body, "/consent")
	if !ok {
		return "", "", badBody("no consent form", body)
	}
	v := url.Values{}
	for _, kv := range form.fields {
		v.Set(kv[0], kv[1])
	}
	v.Set("decision", "allow")
	action, ok := b.local(form.action)
	if !ok {
		return "", "", badBody("the consent form posts elsewhere", body)
	}
	resp, body, f = b.post(action, v.Encode())
	if f != nil {
		return "", "", f
	}
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		return "", "", statusFailure(resp, body)
	}
	loc := resp.Header.Get("Location")
	rest, ok := strings.CutPrefix(loc, b.t.client.RedirectURI+"?")
	if !ok {
		return "", "", badBody("consent did not redirect to the client", []byte(loc))
	}
	back, err := url.ParseQuery(rest)
	if err != nil || back.Get("state") != state || back.Get("code") == "" {
		return "", "", badBody("redirect without a code or with another state", []byte(loc))
	}
	return back.Get("code"), verifier, nil
}

// redeem exchanges a code at the token endpoint; the answer's body aliases
// the connection's buffer.
func (b *browser) redeem(code, verifier string) ([]byte, *failure) {
	form := "grant_type=authorization_code&code=" + url.QueryEscape(code) +
		"&redirect_uri=" + url.QueryEscape(b.t.client.RedirectURI) + "&code_verifier=" + verifier
	r := b.req.start("POST", pathToken, b.n.host).header("Authorization", b.t.basic)
	resp, body, f := b.send(r.form([]byte(form)))
	if f != nil {
		return nil, f
	}
	if resp.StatusCode != http.StatusOK {
		return nil, statusFailure(resp, body)
	}
	if tok, ok := jsonString(body, "access_token"); !ok || len(tok) == 0 {
		return nil, badBody("no access_token", body)
	}
	return body, nil
}

// flow is one whole authorization code flow, signing in first if needed.
func (b *browser) flow() ([]byte, *failure) {
	if !b.signedIn {
		if f := b.signIn(); f != nil {
			return nil, f
		}
	}
	code, verifier, f := b.authorize()
	if f != nil {
		return nil, f
	}
	return b.redeem(code, verifier)
}
