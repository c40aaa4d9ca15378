// Package testprovider is a stand-in OAuth 2.0 provider on loopback for the
// tests of the outgoing integrations: Google and Microsoft Entra cannot be
// reached from a test, so it enforces each one's documented behaviour, and a
// strict style that refuses any reuse of a refresh token and counts every
// refresh token presented. It can also answer badly (a web page, a 500,
// garbage) on demand. Only tests import it.
package testprovider

import (
	"cmp"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Style is whose documented behaviour the provider follows.
type Style int

const (
	// Strict issues a refresh token with every code and rotates it at every
	// refresh; a rotated token presented again is refused (invalid_grant).
	Strict Style = iota
	// Google returns a refresh token only to an authorization request with
	// access_type=offline and prompt=consent, and keeps it on refresh (the
	// answer carries none).
	Google
	// Microsoft returns a refresh token only for the scope offline_access,
	// rotates it at every refresh, takes the client secret in the form
	// body, and words its errors as AADSTS codes in error_description.
	Microsoft
)

// Options configure a Provider.
type Options struct {
	Style        Style
	ClientID     string        // default "gatehouse-client"
	ClientSecret string        // default "gatehouse-secret"
	AccessTTL    time.Duration // default 1h; whole seconds are announced
	Account      string        // default "ops@example.com"
	// RefreshDelay holds every refresh this long before answering; a
	// refresh whose caller hung up meanwhile is dropped unprocessed, as a
	// request lost with a dying node would be.
	RefreshDelay time.Duration
	// UserinfoDelay holds every user-info answer this long (a slow
	// provider), or until the caller hangs up.
	UserinfoDelay time.Duration
	// ExchangeDelay holds every code exchange this long before answering
	// (a slow provider); the code is redeemed all the same.
	ExchangeDelay time.Duration
	// Issuer, when set, is sent as iss with the authorization response.
	Issuer string
	// ExpiresIn, when set, is sent as the token answers' expires_in in place
	// of AccessTTL's whole seconds (a fraction, a string, a boolean …).
	ExpiresIn any
}

// Answer makes the token endpoint misbehave.
type Answer string

// Misbehaviours.
const (
	AnswerNormal  Answer = ""
	AnswerHTML    Answer = "html"    // 200 text/html, a sign-in page
	Answer500     Answer = "500"     // 500 with a web page
	AnswerGarbage Answer = "garbage" // 200 application/json that is not JSON
	// AnswerNoAccessToken processes the request (a refresh rotates) and
	// answers without access_token.
	AnswerNoAccessToken Answer = "no_access_token"
)

// Provider is a running stand-in.
type Provider struct {
	URL  string // http://127.0.0.1:PORT
	opt  Options
	srv  *httptest.Server
	mu   sync.Mutex
	code map[string]grant // code → its grant
	// refresh maps each refresh token ever issued to its grant; used marks
	// the rotated ones.
	refresh map[string]*refreshState
	access  map[string]time.Time // access token → expiry
	answer  Answer
	// Presented counts each refresh token the token endpoint processed.
	presented map[string]int
	refreshes int
	userinfos int // user-info requests, answered or not
	// tokenType replaces "Bearer" and accessSuffix is added to each access
	// token from now on (SetTokenShape).
	tokenType, accessSuffix string
	dropped                 int                         // refreshes whose caller hung up before they were processed
	inFlight                map[*http.Request]time.Time // refreshes held by RefreshDelay, by arrival
	// authorizations are the queries of the authorization requests seen.
	authorizations []url.Values
	revoked        bool
}

type grant struct {
	scope, challenge, redirectURI string
	offline                       bool // a refresh token may be issued
}

type refreshState struct {
	grant grant
	used  bool
}

// Start runs a provider until the test ends.
func Start(t testing.TB, opt Options) *Provider {
	t.Helper()
	if opt.ClientID == "" {
		opt.ClientID = "gatehouse-client"
	}
	if opt.ClientSecret == "" {
		opt.ClientSecret = "gatehouse-secret"
	}
	if opt.AccessTTL == 0 {
		opt.AccessTTL = time.Hour
	}
	if opt.Account == "" {
		opt.Account = "ops@example.com"
	}
	p := &Provider{opt: opt, code: map[string]grant{}, refresh: map[string]*refreshState{}, access: map[string]time.Time{},
		presented: map[string]int{}, inFlight: map[*http.Request]time.Time{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/oauth2/v2.0/authorize", p.handleAuthorize)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", p.handleToken)
	mux.HandleFunc("GET /authorize", p.handleAuthorize)
	mux.HandleFunc("POST /token", p.handleToken)
	mux.HandleFunc("GET /userinfo", p.handleUserinfo)
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	p.URL = p.srv.URL
	return p
}

// Endpoints returns the authorization, token and user-info endpoints
// (Microsoft's with {tenant} in them, as the preset writes them).
func (p *Provider) Endpoints() (auth, token, userinfo string) {
	if p.opt.Style == Microsoft {
		return p.URL + "/{tenant}/oauth2/v2.0/authorize", p.URL + "/{tenant}/oauth2/v2.0/token", ""
	}
	return p.URL + "/authorize", p.URL + "/token", p.URL + "/userinfo"
}

// ClientID and ClientSecret are the credentials it expects.
func (p *Provider) ClientID() string     { return p.opt.ClientID }
func (p *Provider) ClientSecret() string { return p.opt.ClientSecret }

// SetAnswer makes the token endpoint answer badly until set back to AnswerNormal.
func (p *Provider) SetAnswer(a Answer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.answer = a
}

// RevokeAll revokes every grant, as a user removing the application's
// access at the provider: refreshes then fail with invalid_grant.
func (p *Provider) RevokeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.revoked = true
	for _, r := range p.refresh {
		r.used = true
	}
}

// Refreshes is how many refreshes the provider answered with tokens.
func (p *Provider) Refreshes() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.refreshes
}

// SetTokenShape makes the token endpoint answer from now on with tokens of
// tokenType ("" for Bearer) whose access tokens end with accessSuffix.
func (p *Provider) SetTokenShape(tokenType, accessSuffix string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tokenType, p.accessSuffix = tokenType, accessSuffix
}

// Userinfos is how many requests reached the user-info endpoint.
func (p *Provider) Userinfos() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.userinfos
}

// InFlight returns how long ago each refresh now held by RefreshDelay arrived.
func (p *Provider) InFlight() []time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ages []time.Duration
	for _, at := range p.inFlight {
		ages = append(ages, time.Since(at))
	}
	return ages
}

// Dropped is how many refreshes were dropped unprocessed because their
// caller hung up during RefreshDelay.
func (p *Provider) Dropped() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dropped
}

// Reused lists the refresh tokens that were presented more than once.
func (p *Provider) Reused() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for tok, n := range p.presented {
		if n > 1 {
			out = append(out, tok[:8]+"…")
		}
	}
	return out
}

// Authorizations returns the queries of the authorization requests seen.
func (p *Provider) Authorizations() []url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.authorizations)
}

// Approve plays the browser and the consenting user: it follows authURL
// to the provider, which approves at once, and returns the query that the
// provider sent the browser back to the redirect URL with, and that URL.
func (p *Provider) Approve(t testing.TB, authURL string) (redirect string, query url.Values) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatalf("authorization request: %v", err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("authorization request answered %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	query = loc.Query()
	loc.RawQuery = ""
	return loc.String(), query
}

func random() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// handleAuthorize approves at once and redirects with a code.
func (p *Provider) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	p.authorizations = append(p.authorizations, q)
	p.mu.Unlock()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Scheme == "" || q.Get("client_id") != p.opt.ClientID || q.Get("response_type") != "code" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	back := url.Values{"state": {q.Get("state")}}
	if p.opt.Issuer != "" {
		back.Set("iss", p.opt.Issuer)
	}
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		back.Set("error", "invalid_request")
		back.Set("error_description", "PKCE S256 is required")
	} else {
		scopes := strings.Fields(q.Get("scope"))
		g := grant{scope: strings.Join(scopes, " "), challenge: q.Get("code_challenge"), redirectURI: q.Get("redirect_uri")}
		switch p.opt.Style {
		case Google:
			g.offline = q.Get("access_type") == "offline" && q.Get("prompt") == "consent"
		case Microsoft:
			g.offline = slices.Contains(scopes, "offline_access")
		default:
			g.offline = true
		}
		code := "code-" + random()
		p.mu.Lock()
		p.code[code] = g
		p.mu.Unlock()
		back.Set("code", code)
	}
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func (p *Provider) oauthError(w http.ResponseWriter, status int, code, description string) {
	if p.opt.Style == Microsoft {
		description += " Trace ID: 0d1f Correlation ID: 9a2b Timestamp: 2026-01-01 00:00:00Z"
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
}

func (p *Provider) handleToken(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	answer := p.answer
	p.mu.Unlock()
	switch answer {
	case AnswerHTML:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><title>Sign in</title><form>Sign in to continue</form>")
		return
	case Answer500:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, "<h1>Internal Server Error</h1>")
		return
	case AnswerGarbage:
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, "\x00\x01 this is not {json")
		return
	}
	if err := r.ParseForm(); err != nil {
		p.oauthError(w, http.StatusBadRequest, "invalid_request", "unreadable form")
		return
	}
	id, secretValue, basic := r.BasicAuth()
	if !basic {
		id, secretValue = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	} else {
		id, _ = url.QueryUnescape(id)
		secretValue, _ = url.QueryUnescape(secretValue)
	}
	if basic && p.opt.Style != Strict {
		// Google and Microsoft document the secret in the body.
		p.oauthError(w, http.StatusUnauthorized, "invalid_client", "send client_secret in the request body")
		return
	}
	if id != p.opt.ClientID || secretValue != p.opt.ClientSecret {
		msg := "The OAuth client was not found."
		if p.opt.Style == Microsoft {
			msg = "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value."
		}
		p.oauthError(w, http.StatusUnauthorized, "invalid_client", msg)
		return
	}
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		p.exchangeCode(w, r)
	case "refresh_token":
		p.refreshToken(w, r)
	default:
		p.oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "only authorization_code and refresh_token")
	}
}

func (p *Provider) exchangeCode(w http.ResponseWriter, r *http.Request) {
	time.Sleep(p.opt.ExchangeDelay)
	f := r.PostForm
	p.mu.Lock()
	g, ok := p.code[f.Get("code")]
	delete(p.code, f.Get("code"))
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(f.Get("code_verifier")))
	switch {
	case !ok:
		p.oauthError(w, http.StatusBadRequest, "invalid_grant", p.words("AADSTS70008: The provided authorization code or refresh token has expired due to inactivity.", "the code is unknown or used"))
	case base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge:
		p.oauthError(w, http.StatusBadRequest, "invalid_grant", p.words("AADSTS501481: The Code_Verifier does not match the code_challenge supplied in the authorization request.", "code_verifier does not match"))
	case f.Get("redirect_uri") != g.redirectURI:
		p.oauthError(w, http.StatusBadRequest, "invalid_grant", p.words("AADSTS50011: The redirect URI does not match the one of the authorization request.", "redirect_uri does not match"))
	default:
		p.issue(w, g, true)
	}
}

func (p *Provider) refreshToken(w http.ResponseWriter, r *http.Request) {
	if p.opt.RefreshDelay > 0 {
		p.mu.Lock()
		p.inFlight[r] = time.Now()
		p.mu.Unlock()
		defer func() {
			p.mu.Lock()
			delete(p.inFlight, r)
			p.mu.Unlock()
		}()
		select {
		case <-time.After(p.opt.RefreshDelay):
		case <-r.Context().Done():
		}
		if r.Context().Err() != nil {
			p.mu.Lock()
			p.dropped++ // the caller died before the provider processed it
			p.mu.Unlock()
			return
		}
	}
	presented := r.PostForm.Get("refresh_token")
	p.mu.Lock()
	p.presented[presented]++
	st, ok := p.refresh[presented]
	usable := ok && !p.revoked && !st.used
	if usable && p.opt.Style != Google {
		st.used = true // rotated: never again
	}
	if usable {
		p.refreshes++
	}
	p.mu.Unlock()
	if !usable {
		p.oauthError(w, http.StatusBadRequest, "invalid_grant", p.refusedText())
		return
	}
	p.issue(w, st.grant, p.opt.Style != Google)
}

// words is Microsoft's wording (an AADSTS code) or everybody else's.
func (p *Provider) words(microsoft, others string) string {
	if p.opt.Style == Microsoft {
		return microsoft
	}
	return others
}

func (p *Provider) refusedText() string {
	switch p.opt.Style {
	case Google:
		return "Token has been expired or revoked."
	case Microsoft:
		return "AADSTS70000: The provided value for the 'refresh_token' is not valid."
	}
	return "the refresh token is unknown, revoked or already used"
}

// issue answers a token response; withRefresh adds a new refresh token
// when the grant allows one.
func (p *Provider) issue(w http.ResponseWriter, g grant, withRefresh bool) {
	p.mu.Lock()
	access, tokenType, answer := "at-"+random()+p.accessSuffix, cmp.Or(p.tokenType, "Bearer"), p.answer
	p.mu.Unlock()
	body := map[string]any{
		"access_token": access, "token_type": tokenType, "expires_in": int(p.opt.AccessTTL / time.Second), "scope": g.scope,
		"id_token": idToken(p.opt.Account),
	}
	if answer == AnswerNoAccessToken {
		delete(body, "access_token")
	}
	if p.opt.ExpiresIn != nil {
		body["expires_in"] = p.opt.ExpiresIn
	}
	p.mu.Lock()
	p.access[access] = time.Now().Add(p.opt.AccessTTL)
	if withRefresh && g.offline {
		rt := "rt-" + random()
		p.refresh[rt] = &refreshState{grant: g}
		body["refresh_token"] = rt
	}
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(body)
}

// idToken is an ID token naming the account; the integrations read it
// without its signature (it comes straight from the token endpoint).
func idToken(account string) string {
	enc := base64.RawURLEncoding.EncodeToString
	claims, _ := json.Marshal(map[string]any{"email": account, "sub": "user-1", "iat": time.Now().Unix()})
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc(claims) + ".c2lnbmF0dXJl"
}

func (p *Provider) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	if p.opt.UserinfoDelay > 0 {
		select {
		case <-r.Context().Done():
			return
		case <-time.After(p.opt.UserinfoDelay):
		}
	}
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	p.mu.Lock()
	p.userinfos++
	expires, ok := p.access[token]
	p.mu.Unlock()
	if !ok || time.Now().After(expires) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, "invalid token", http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"sub": "user-1", "email": p.opt.Account})
}
