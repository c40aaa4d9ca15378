package web_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testnode"
	"github.com/gatehouse/gatehouse/internal/user"
	"github.com/gatehouse/gatehouse/internal/web"
)

// These tests run the pages in a real node (SQLite, the real OAuth server and
// user service) over HTTP, as internal/e2e does, and read the HTML.

const callbackURL = "http://127.0.0.1:7777/callback"

type site struct {
	t    *testing.T
	gh   *server.Gatehouse
	base string
	addr string // the listener, which serves base
	msgs web.Messages
}

// newSite starts a node in development mode; options change its configuration.
func newSite(t *testing.T, options ...func(*config.Config)) *site {
	t.Helper()
	n := testnode.Start(t, testnode.Options{}, options...)
	msgs, err := web.LoadMessages()
	if err != nil {
		t.Fatal(err)
	}
	return &site{t: t, gh: n.Gatehouse, base: n.BaseURL, addr: n.Addr, msgs: msgs}
}

// production runs the node as in production (https redirect URIs only,
// Secure cookies) behind a TLS-terminating proxy at base; browsers reach it
// through toListener.
func production(cfg *config.Config) {
	cfg.Dev = false
	cfg.BaseURL = "https://gatehouse.test"
}

// toListener sends every request to the node's listener over plain HTTP, as
// the TLS-terminating proxy in front of a production node does, while the
// browser (and its cookie jar) sees the https base URL.
type toListener struct{ addr string }

func (l toListener) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.URL.Scheme, r.URL.Host = "http", l.addr
	return http.DefaultTransport.RoundTrip(r)
}

func (s *site) createClient(r app.Registration) store.Client {
	s.t.Helper()
	if r.RedirectURIs == nil {
		r.RedirectURIs = []string{callbackURL}
	}
	if r.Scopes == nil {
		r.Scopes = []string{"READ"}
	}
	c, _, err := s.gh.Apps.Create(context.Background(), r)
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

// browser is a cookie jar that does not follow redirects, in one language.
type browser struct {
	s    *site
	lang string
	c    *http.Client
}

func (s *site) browser(lang string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{s: s, lang: lang, c: &http.Client{
		Jar: jar, Timeout: 10 * time.Second, Transport: toListener{s.addr},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type answer struct {
	status   int
	location string
	body     string
	header   http.Header
}

func (b *browser) do(method, path string, form url.Values) answer {
	b.s.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.s.base+path, body)
	if err != nil {
		b.s.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept-Language", b.lang)
	resp, err := b.c.Do(req)
	if err != nil {
		b.s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header.Get("Location"), string(raw), resp.Header}
}

func (b *browser) get(path string) answer { return b.do("GET", path, nil) }

// follow GETs path and follows redirects on this site.
func (b *browser) follow(path string) answer {
	b.s.t.Helper()
	a := b.get(path)
	for i := 0; a.location != "" && strings.HasPrefix(a.location, "/") && i < 5; i++ {
		a = b.get(a.location)
	}
	return a
}

// element returns the text of the first element with the attribute (for
// example `id="signin-for"`), unescaped, and whether there is one.
func element(body, attr string) (string, bool) {
	m := regexp.MustCompile(`<[a-z0-9]+ [^>]*` + regexp.QuoteMeta(attr) + `[^>]*>([^<]*)<`).FindStringSubmatch(body)
	if m == nil {
		return "", false
	}
	return html.UnescapeString(m[1]), true
}

// hidden returns the value of the hidden form field name.
func hidden(body, name string) string {
	m := regexp.MustCompile(`name="` + regexp.QuoteMeta(name) + `" value="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

func authorizeQuery(c store.Client, extra ...string) url.Values {
	q := url.Values{"client_id": {c.ID}, "redirect_uri": {callbackURL}, "response_type": {"code"}, "scope": {"READ"}, "state": {"st"}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return q
}

// TestErrorPageDetailsAreLocalised provokes every authorization error that is
// shown on the error page rather than sent back to the client, in English and
// in Japanese, and checks that the page words its detail in the page's
// language, from the catalogue.
func TestErrorPageDetailsAreLocalised(t *testing.T) {
	s := newSite(t)
	c := s.createClient(app.Registration{Name: "One"})
	several := s.createClient(app.Registration{Name: "Several", RedirectURIs: []string{callbackURL, "http://127.0.0.1:8888/callback"}})
	none := s.createClient(app.Registration{Name: "Server to server", RedirectURIs: []string{}, Grants: []string{app.GrantClientCredentials}})
	cases := []struct {
		name, query, key string
		args             []any
	}{
		{"no client_id", authorizeQuery(c, "client_id", "").Encode(), "error.detail.no_client_id", nil},
		{"unknown client", authorizeQuery(c, "client_id", strings.Repeat("0", 32)).Encode(), "error.detail.unknown_client", nil},
		{"unregistered redirect_uri", authorizeQuery(c, "redirect_uri", "https://evil.example/callback").Encode(), "error.detail.redirect_uri_unregistered", nil},
		{"no redirect_uri, several registered", authorizeQuery(several, "redirect_uri", "").Encode(), "error.detail.redirect_uri_ambiguous", nil},
		{"no redirect_uri, none registered", authorizeQuery(none, "redirect_uri", "").Encode(), "error.detail.redirect_uri_none", nil},
		{"client_id twice", authorizeQuery(c).Encode() + "&client_id=" + c.ID, "error.detail.repeated", []any{"client_id"}},
		{"redirect_uri twice", authorizeQuery(c).Encode() + "&redirect_uri=" + url.QueryEscape(callbackURL), "error.detail.repeated", []any{"redirect_uri"}},
		{"bad URL encoding", authorizeQuery(c).Encode() + "&redirect_uri=%zz", "error.detail.bad_encoding", nil},
	}
	for _, lang := range web.Languages {
		for _, tc := range cases {
			t.Run(lang+"/"+tc.name, func(t *testing.T) {
				for _, path := range []string{oauth.PathAuthorize, oauth.PathConsent} {
					a := s.browser(lang).get(path + "?" + tc.query)
					if a.status != http.StatusBadRequest || a.location != "" {
						t.Fatalf("%s: %d to %q, want the 400 error page", path, a.status, a.location)
					}
					if !strings.Contains(a.body, `<html lang="`+lang+`">`) {
						t.Fatalf("%s: the error page is not in %s", path, lang)
					}
					detail, ok := element(a.body, `class="muted"`)
					want := s.msgs.T(lang, tc.key, tc.args...)
					if !ok || detail != want {
						t.Errorf("%s: detail %q, want %q", path, detail, want)
					}
					if lang != "en" && regexp.MustCompile(`[a-z]+ [a-z]+ [a-z]+`).MatchString(detail) {
						t.Errorf("%s: the %s detail %q has English words in it", path, lang, detail)
					}
				}
			})
		}
	}
}

// TestSignInNamesTheApplication: the sign-in page that an authorization
// request leads to says which application the user signs in for, in the
// page's language, also after a wrong password; a next that is not this
// site's pending authorization request names nothing.
func TestSignInNamesTheApplication(t *testing.T) {
	s := newSite(t)
	if _, err := s.gh.Users.Create(context.Background(), user.NewUser{Username: "alice", Password: "alice-password", Level: store.LevelUser}); err != nil {
		t.Fatal(err)
	}
	c := s.createClient(app.Registration{Name: `Wiki <Sync> & "Co"`})

	for _, lang := range web.Languages {
		t.Run(lang, func(t *testing.T) {
			b := s.browser(lang)
			// The authorization request sends the signed-out browser to
			// consent, and consent to the sign-in page with next.
			a := b.follow(oauth.PathAuthorize + "?" + authorizeQuery(c).Encode())
			if a.status != http.StatusOK || !strings.Contains(a.body, `action="/login"`) {
				t.Fatalf("authorize without a session: %d, want the sign-in page", a.status)
			}
			next := hidden(a.body, "next")
			if !strings.HasPrefix(next, oauth.PathConsent+"?") {
				t.Fatalf("sign-in page continues to %q, want the consent page", next)
			}
			want := s.msgs.T(lang, "login.continue", c.Name)
			if got, ok := element(a.body, `id="signin-for"`); !ok || got != want {
				t.Errorf("sign-in page says %q, want %q", got, want)
			}
			if strings.Contains(a.body, "<Sync>") {
				t.Error("the application's name is not escaped")
			}

			// A wrong password: the page still names the application.
			wrong := b.do("POST", "/login", url.Values{"csrf_token": {hidden(a.body, "csrf_token")}, "next": {next}, "username": {"alice"}, "password": {"wrong"}})
			if wrong.status != http.StatusUnauthorized {
				t.Fatalf("wrong password: %d", wrong.status)
			}
			if got, _ := element(wrong.body, `id="signin-for"`); got != want {
				t.Errorf("after a wrong password the page says %q, want %q", got, want)
			}
			// The right one continues to the consent page.
			ok := b.do("POST", "/login", url.Values{"csrf_token": {hidden(wrong.body, "csrf_token")}, "next": {next}, "username": {"alice"}, "password": {"alice-password"}})
			if ok.status != http.StatusSeeOther || ok.location != next {
				t.Fatalf("sign-in: %d to %q, want %q", ok.status, ok.location, next)
			}
		})
	}

	disabled := s.createClient(app.Registration{Name: "Disabled one", Disabled: true})
	consent := oauth.PathConsent + "?" + authorizeQuery(c).Encode()
	cases := []struct{ name, next, wantNext string }{
		{"no next", "", "/"},
		{"another page of the site", "/plugins/servlet/oauth2/authorized-apps?client_id=" + c.ID, "/plugins/servlet/oauth2/authorized-apps?client_id=" + c.ID},
		{"unknown client", oauth.PathConsent + "?" + authorizeQuery(c, "client_id", strings.Repeat("0", 32)).Encode(), ""},
		{"redirect_uri the client did not register", oauth.PathConsent + "?" + authorizeQuery(c, "redirect_uri", "https://evil.example/cb").Encode(), ""},
		{"disabled client", oauth.PathConsent + "?" + authorizeQuery(disabled).Encode(), ""},
		{"another host", "//evil.example" + consent, "/"},
		{"another host, backslash", "/\\evil.example" + consent, "/"},
		{"absolute URL", "https://evil.example" + consent, "/"},
		{"absolute URL of this site", s.base + consent, "/"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := s.browser("en").get("/login?" + url.Values{"next": {tc.next}}.Encode())
			if a.status != http.StatusOK {
				t.Fatalf("sign-in page: %d", a.status)
			}
			if got, ok := element(a.body, `id="signin-for"`); ok {
				t.Errorf("the sign-in page names an application: %q", got)
			}
			if tc.wantNext != "" && hidden(a.body, "next") != tc.wantNext {
				t.Errorf("sign-in continues to %q, want %q", hidden(a.body, "next"), tc.wantNext)
			}
		})
	}
	t.Run("authorize path", func(t *testing.T) {
		a := s.browser("en").get("/login?" + url.Values{"next": {oauth.PathAuthorize + "?" + authorizeQuery(c).Encode()}}.Encode())
		if got, _ := element(a.body, `id="signin-for"`); got != s.msgs.T("en", "login.continue", c.Name) {
			t.Errorf("sign-in for an authorize URL says %q", got)
		}
	})
}

// signedInAt is a browser signed in as username by the sign-in page that an
// authorization request of c sends it to.
func (s *site) signedInAt(c store.Client, username, password string) *browser {
	s.t.Helper()
	b := s.browser("en")
	signIn := b.follow(oauth.PathAuthorize + "?" + authorizeQuery(c).Encode())
	if a := b.do("POST", "/login", url.Values{"csrf_token": {hidden(signIn.body, "csrf_token")}, "next": {hidden(signIn.body, "next")}, "username": {username}, "password": {password}}); a.status != http.StatusSeeOther {
		s.t.Fatalf("%s signs in: %d", username, a.status)
	}
	return b
}

// TestKeptConsentPagesAreEachRequestsOwn: the consent page is kept rendered
// (slottedPages), yet through real HTTP each user sees a page with their own
// name and their own form, an application or a user renamed is shown by the
// new name at the next request, and a page shown again carries this request's
// consent ID and form token, which decide it.
func TestKeptConsentPagesAreEachRequestsOwn(t *testing.T) {
	s := newSite(t)
	c := s.createClient(app.Registration{Name: "Wiki"})
	signedIn := map[string]*browser{}
	for _, name := range []string{"alice", "bob"} {
		if _, err := s.gh.Users.Create(context.Background(), user.NewUser{Username: name, DisplayName: "Display " + name, Password: name + "-password", Level: store.LevelUser}); err != nil {
			t.Fatal(err)
		}
		signedIn[name] = s.signedInAt(c, name, name+"-password")
	}
	displayName := map[string]string{"alice": "Display alice", "bob": "Display bob"}
	consentPage := func(name, wantApp string) answer {
		t.Helper()
		page := signedIn[name].get(oauth.PathAuthorize + "?" + authorizeQuery(c).Encode())
		if page.status != http.StatusOK {
			t.Fatalf("%s's consent page: %d", name, page.status)
		}
		if who, _ := element(page.body, `class="who"`); who != displayName[name] {
			t.Errorf("%s's consent page is for %q, want %q", name, who, displayName[name])
		}
		if got, _ := element(page.body, `class="lead"`); got != s.msgs.T("en", "consent.intro", wantApp) {
			t.Errorf("%s's consent page says %q", name, got)
		}
		return page
	}
	seen := map[string]bool{}
	for range 2 { // the second round's pages come from the kept ones
		for _, name := range []string{"alice", "bob", "alice"} {
			page := consentPage(name, "Wiki")
			id := hidden(page.body, "consent_id")
			if id == "" || seen[id] {
				t.Fatalf("%s's consent page carries the consent ID %q, shown before or empty", name, id)
			}
			seen[id] = true
		}
	}
	if _, _, err := s.gh.Apps.Update(context.Background(), c.ID, app.Registration{Name: "Wiki renamed", RedirectURIs: c.RedirectURIs, Scopes: c.Scopes, KeepEnabled: true}, nil); err != nil {
		t.Fatal(err)
	}
	consentPage("alice", "Wiki renamed")
	if _, err := s.gh.Users.Update(context.Background(), "alice", func(u *store.User) error { u.DisplayName = "Alice Renamed"; return nil }); err != nil {
		t.Fatal(err)
	}
	displayName["alice"] = "Alice Renamed"
	page := consentPage("alice", "Wiki renamed")
	consentPage("bob", "Wiki renamed")
	a := signedIn["alice"].do("POST", oauth.PathConsent, url.Values{"csrf_token": {hidden(page.body, "csrf_token")}, "consent_id": {hidden(page.body, "consent_id")}, "decision": {"allow"}})
	if back, err := url.Parse(a.location); a.status != http.StatusSeeOther || err != nil || back.Query().Get("code") == "" {
		t.Fatalf("Allow on a kept page: %d to %q, want the client's redirect URI with a code", a.status, a.location)
	}
}

// TestAuthorizeAnswersWithTheConsentPage: a signed-in user's authorization
// request is answered with the consent page itself, no redirect in between,
// and its form decides the request like the one at the consent path.
func TestAuthorizeAnswersWithTheConsentPage(t *testing.T) {
	s := newSite(t)
	if _, err := s.gh.Users.Create(context.Background(), user.NewUser{Username: "alice", Password: "alice-password", Level: store.LevelUser}); err != nil {
		t.Fatal(err)
	}
	c := s.createClient(app.Registration{Name: "Wiki"})
	b := s.signedInAt(c, "alice", "alice-password")

	for _, path := range []string{oauth.PathAuthorize, oauth.PathConsent} {
		t.Run(path, func(t *testing.T) {
			page := b.get(path + "?" + authorizeQuery(c, "state", "st-"+path).Encode())
			if page.status != http.StatusOK || page.location != "" || !strings.Contains(page.body, `action="`+oauth.PathConsent+`"`) {
				t.Fatalf("%d to %q, want the consent page", page.status, page.location)
			}
			// Rendered whole before it is sent (web.render): its length is known.
			if cl := page.header.Get("Content-Length"); cl != strconv.Itoa(len(page.body)) {
				t.Errorf("Content-Length %q for a page of %d bytes", cl, len(page.body))
			}
			if got, want := hidden(page.body, "consent_id"), ""; got == want {
				t.Fatal("the consent form has no consent_id")
			}
			if got, _ := element(page.body, `class="lead"`); got != s.msgs.T("en", "consent.intro", c.Name) {
				t.Errorf("the consent page says %q", got)
			}
			a := b.do("POST", oauth.PathConsent, url.Values{"csrf_token": {hidden(page.body, "csrf_token")}, "consent_id": {hidden(page.body, "consent_id")}, "decision": {"allow"}})
			back, err := url.Parse(a.location)
			if a.status != http.StatusSeeOther || err != nil || !strings.HasPrefix(a.location, callbackURL+"?") || back.Query().Get("code") == "" || back.Query().Get("state") != "st-"+path {
				t.Fatalf("Allow: %d to %q, want the client's redirect URI with a code and the state", a.status, a.location)
			}
		})
	}
}

// TestAbandonedPageIsNotAServerError: a page whose caller hung up while it
// read the database (the session, here) is logged as 499, as the token
// endpoint's is — not a 500, which would page whoever watches the node's
// errors each time a browser gives up on a slow page.
func TestAbandonedPageIsNotAServerError(t *testing.T) {
	s := newSite(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, s.base+"/", nil)
	req.AddCookie(&http.Cookie{Name: session.Cookie, Value: strings.Repeat("a", 43)}) // not in any cache
	rec := httptest.NewRecorder()
	s.gh.Handler().ServeHTTP(rec, req)
	if rec.Code != oauth.StatusClientClosedRequest {
		t.Fatalf("an abandoned page: %d, want %d", rec.Code, oauth.StatusClientClosedRequest)
	}
}
