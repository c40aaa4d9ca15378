package browsertest

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/web"
)

// Selectors of the pages' controls. They name the form fields and buttons by
// what they do (ids, names, values), not by layout, so that the tests survive
// changes of look.
const (
	allowButton = `button[name="decision"][value="allow"]`
	denyButton  = `button[name="decision"][value="deny"]`
)

// TestAuthorizationFlowAllow: a user who is not signed in follows a client's
// authorization link, signs in on the real sign-in page, reads the consent
// page, clicks Allow, and the client's callback receives a code that the
// client redeems for a token that works.
func TestAuthorizationFlowAllow(t *testing.T) {
	n := startNode(t)
	cb := newCallback(t)
	n.createUser("alice", "alice-password", store.LevelUser)
	c, secretValue := n.createClient(cb, app.Registration{Name: "Issue Tracker Sync", Description: "Keeps issues in step with the tracker."})
	ctx := newBrowser(t)

	resp := navigate(t, ctx, n.authorizeURL(c, cb, "READ WRITE", "st-allow"))
	if resp.Status != http.StatusOK || !onSignInPage(t, ctx) {
		t.Fatalf("authorize without a session: got %d at %s, want the sign-in page", resp.Status, location(t, ctx))
	}
	wantLang(t, ctx, "en")
	if got, want := text(t, ctx, "#signin-for"), catalogue(t).T("en", "login.continue", c.Name); got != want {
		t.Errorf("the sign-in page says %q, want %q", got, want)
	}
	screenshot(t, ctx, "signin-en")

	resp = submitSignIn(t, ctx, "alice", "alice-password")
	if resp.Status != http.StatusOK {
		t.Fatalf("consent page answered %d", resp.Status)
	}
	checkConsentPage(t, ctx, n, c, "en", "READ", "WRITE")
	screenshot(t, ctx, "consent-en")

	clickPage(t, ctx, allowButton)
	q := cb.wait(t, ctx)
	if q.Get("code") == "" || q.Get("state") != "st-allow" || q.Get("error") != "" {
		t.Fatalf("callback query %v: want a code and state st-allow", q)
	}
	if got := location(t, ctx); !strings.HasPrefix(got, cb.URL+"?") {
		t.Fatalf("browser is at %s, want the client's callback", got)
	}
	screenshot(t, ctx, "callback-after-allow")

	tok := n.exchange(q.Get("code"), cb.URL, c.ID, secretValue)
	if tok.status != http.StatusOK || tok.str("access_token") == "" {
		t.Fatalf("token exchange: %d %s", tok.status, tok.raw)
	}
	me := n.myself(tok.str("access_token"))
	if me.status != http.StatusOK || me.str("name") != "alice" {
		t.Fatalf("myself: %d %s", me.status, me.raw)
	}
}

// TestAuthorizationFlowDeny: a signed-in user clicks Deny, and the client's
// callback receives error=access_denied with its state and no code.
func TestAuthorizationFlowDeny(t *testing.T) {
	n := startNode(t)
	cb := newCallback(t)
	n.createUser("bob", "bob-password", store.LevelUser)
	c, _ := n.createClient(cb, app.Registration{})
	ctx := newBrowser(t)

	signIn(t, ctx, n.base, "bob", "bob-password")
	navigate(t, ctx, n.authorizeURL(c, cb, "READ", "st-deny"))
	checkConsentPage(t, ctx, n, c, "en", "READ")

	clickPage(t, ctx, denyButton)
	q := cb.wait(t, ctx)
	if q.Get("error") != "access_denied" || q.Get("state") != "st-deny" || q.Get("code") != "" {
		t.Fatalf("callback query %v: want error=access_denied, state st-deny and no code", q)
	}
}

// TestJapaneseBrowser: a browser whose language is Japanese gets the sign-in
// and consent pages, and the scope descriptions, in Japanese, and the flow
// works the same.
func TestJapaneseBrowser(t *testing.T) {
	n := startNode(t)
	cb := newCallback(t)
	n.createUser("hanako", "hanako-password", store.LevelUser)
	c, _ := n.createClient(cb, app.Registration{Name: "課題トラッカー連携"})
	ctx := newBrowserLang(t, "ja")

	navigate(t, ctx, n.authorizeURL(c, cb, "READ WRITE", "st-ja"))
	if !onSignInPage(t, ctx) {
		t.Fatalf("want the sign-in page, at %s", location(t, ctx))
	}
	wantLang(t, ctx, "ja")
	if h := text(t, ctx, "h1"); !strings.Contains(h, "サインイン") {
		t.Errorf("sign-in heading %q, want サインイン", h)
	}
	if b := text(t, ctx, `form[action="/login"] button[type="submit"]`); !strings.Contains(b, "サインイン") {
		t.Errorf("sign-in button %q, want サインイン", b)
	}
	if got := text(t, ctx, "#signin-for"); got != "課題トラッカー連携 へ進むにはサインインしてください。" {
		t.Errorf("the sign-in page says %q, want that it is for 課題トラッカー連携", got)
	}
	screenshot(t, ctx, "signin-ja")

	submitSignIn(t, ctx, "hanako", "hanako-password")
	checkConsentPage(t, ctx, n, c, "ja", "READ", "WRITE")
	if b := text(t, ctx, allowButton); b != "許可する" {
		t.Errorf("allow button %q, want 許可する", b)
	}
	screenshot(t, ctx, "consent-ja")

	clickPage(t, ctx, allowButton)
	if q := cb.wait(t, ctx); q.Get("code") == "" || q.Get("state") != "st-ja" {
		t.Fatalf("callback query %v: want a code and state st-ja", q)
	}
}

// TestErrorPageUnknownClient: an authorization request from an unknown
// client cannot be answered at any redirect URI, so the browser gets an error
// page from Gatehouse and the callback is never called.
func TestErrorPageUnknownClient(t *testing.T) {
	for _, lang := range []string{"en", "ja"} {
		t.Run(lang, func(t *testing.T) {
			n := startNode(t)
			cb := newCallback(t)
			ctx := newBrowserLang(t, lang)
			v := url.Values{"client_id": {"no-such-client"}, "redirect_uri": {cb.URL}, "response_type": {"code"}, "scope": {"READ"}, "state": {"st-unknown"}}
			resp := navigate(t, ctx, n.base+"/rest/oauth2/latest/authorize?"+v.Encode())
			if resp.Status < 400 || resp.Status >= 500 {
				t.Errorf("unknown client: status %d, want 4xx", resp.Status)
			}
			if got := location(t, ctx); !strings.HasPrefix(got, n.base+"/") {
				t.Fatalf("browser left Gatehouse for %s", got)
			}
			wantLang(t, ctx, lang)
			msgs := catalogue(t)
			if alerts := texts(t, ctx, `[role="alert"]`); len(alerts) != 1 || alerts[0] != msgs.T(lang, "error.request") {
				t.Errorf("the error page says %q, want %q", alerts, msgs.T(lang, "error.request"))
			}
			// The detail too is in the page's language, not the OAuth
			// error description in English.
			if d := text(t, ctx, "main p.muted"); d != msgs.T(lang, "error.detail.unknown_client") {
				t.Errorf("the error detail reads %q, want %q", d, msgs.T(lang, "error.detail.unknown_client"))
			}
			screenshot(t, ctx, "error-unknown-client-"+lang)
			select {
			case q := <-cb.got:
				t.Fatalf("the callback was called with %v", q)
			default:
			}
		})
	}
}

// checkConsentPage checks that the current page is the consent page for c:
// it names the application, lists every requested scope in plain words (the
// catalogue's description in lang), and offers Allow and Deny.
func checkConsentPage(t *testing.T, ctx context.Context, n *node, c store.Client, lang string, scopes ...string) {
	t.Helper()
	if !exists(t, ctx, allowButton) || !exists(t, ctx, denyButton) {
		t.Fatalf("not a consent page with Allow and Deny: %s", location(t, ctx))
	}
	wantLang(t, ctx, lang)
	body := evaluate[string](t, ctx, `document.body.innerText`)
	if !strings.Contains(body, c.Name) {
		t.Errorf("the consent page does not name the application %q", c.Name)
	}
	items := strings.Join(texts(t, ctx, "main li"), "\n")
	for _, s := range scopes {
		desc := n.gh.Scopes.Describe(s, lang)
		if desc == "" || desc == s {
			t.Fatalf("scope %s has no %s description in the catalogue", s, lang)
		}
		if !strings.Contains(items, desc) {
			t.Errorf("the consent page does not list %s as %q; its list items:\n%s", s, desc, items)
		}
	}
}

// wantLang checks the language the page declares (<html lang>).
func wantLang(t *testing.T, ctx context.Context, lang string) {
	t.Helper()
	if got := evaluate[string](t, ctx, `document.documentElement.lang`); got != lang {
		t.Errorf("page %s declares lang %q, want %q", location(t, ctx), got, lang)
	}
}

// exists reports whether an element matches the CSS selector now.
func exists(t *testing.T, ctx context.Context, css string) bool {
	t.Helper()
	return evaluate[bool](t, ctx, `!!document.querySelector(`+jsString(css)+`)`)
}

// TestLongNamesWrapOnPhones: an application's name may be 200 characters
// without a space, and its description may hold line breaks. On a phone the
// sign-in and consent pages wrap the name rather than widen the page past
// the screen, and the consent page keeps the description's lines.
func TestLongNamesWrapOnPhones(t *testing.T) {
	n := startNode(t)
	cb := newCallback(t)
	n.createUser("alice", "alice-password", store.LevelUser)
	name := strings.Repeat("Longname", 25)
	c, _ := n.createClient(cb, app.Registration{Name: name, Description: "Line one.\nLine two."})
	ctx := newBrowser(t)
	navigate(t, ctx, n.base+"/healthz") // a page to emulate the phone's screen on
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(375, 800, chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
	fits := func(page string) { fitsScreen(t, ctx, page) }
	navigate(t, ctx, n.authorizeURL(c, cb, "READ", "st-long"))
	fits("sign-in")
	screenshot(t, ctx, "signin-long-name-375px")
	submitSignIn(t, ctx, "alice", "alice-password")
	fits("consent")
	screenshot(t, ctx, "consent-long-name-375px")
	if got := evaluate[string](t, ctx, `document.querySelector(".description").innerText`); got != "Line one.\nLine two." {
		t.Errorf("the description reads %q", got)
	}
}

// fitsScreen fails the test when the page is wider than the screen, which
// makes a phone's user scroll sideways to read each line.
func fitsScreen(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	// A page wider than the screen widens the layout viewport too
	// (innerWidth), so it is compared with the screen itself.
	if w := evaluate[[]float64](t, ctx, `[document.documentElement.scrollWidth, screen.width]`); w[0] > w[1] {
		t.Errorf("the %s page is %vpx wide on a %vpx screen", page, w[0], w[1])
	}
}

// TestLongScopeNamesWrapOnPhones: URL-like scope names of a custom
// catalogue, and a display name without spaces, wrap on a 320 px screen
// (a phone, or 400% zoom) on the consent page, the authorized-applications
// page, the home page and the console's application form, rather than widen
// the page.
func TestLongScopeNamesWrapOnPhones(t *testing.T) {
	long := "https://api.example.com/auth/calendar.events.readonly.everything"
	file := filepath.Join(t.TempDir(), "scopes.yaml")
	catalogue := "scopes:\n  - name: " + long + "\n    level: user\n    description: {en: \"Read every calendar\"}\n" +
		"  - name: short\n    level: user\n    description: {en: \"Something short\"}\n"
	if err := os.WriteFile(file, []byte(catalogue), 0o600); err != nil {
		t.Fatal(err)
	}
	n := startNode(t, func(c *config.Config) { c.Scopes.Catalogue = file })
	cb := newCallback(t)
	u := n.createUser("alice", "alice-password", store.LevelUser)
	if _, err := n.gh.Users.Update(context.Background(), u.Username, func(u *store.User) error {
		u.DisplayName = strings.Repeat("Alexandrina", 8)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	n.createUser("root", "root-password", store.LevelSystemAdmin)
	c, _ := n.createClient(cb, app.Registration{Scopes: []string{long, "short"}})

	phone := func() context.Context {
		ctx := newBrowser(t)
		navigate(t, ctx, n.base+"/healthz") // a page to emulate the phone's screen on
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(320, 640, chromedp.EmulateMobile)); err != nil {
			t.Fatal(err)
		}
		return ctx
	}
	ctx := phone()
	navigate(t, ctx, n.authorizeURL(c, cb, long+" short", "st-scopes"))
	submitSignIn(t, ctx, "alice", "alice-password")
	fitsScreen(t, ctx, "consent")
	screenshot(t, ctx, "consent-long-scope-320px")
	clickPage(t, ctx, allowButton)
	navigate(t, ctx, n.base+web.PathAuthorizedApps)
	fitsScreen(t, ctx, "authorized applications")
	navigate(t, ctx, n.base+"/")
	fitsScreen(t, ctx, "home")

	admin := phone()
	navigate(t, admin, n.base+"/login")
	submitSignIn(t, admin, "root", "root-password")
	navigate(t, admin, n.base+"/admin/apps/new")
	fitsScreen(t, admin, "new application")
	screenshot(t, admin, "app-form-long-scope-320px")
	// Dates in tables (kept on one line on wider screens) fit too.
	for _, page := range []string{"/admin/audit", "/admin/apps", "/admin/apps/" + c.ID, "/admin/users/alice"} {
		navigate(t, admin, n.base+page)
		fitsScreen(t, admin, page)
	}
	screenshot(t, admin, "admin-user-320px")
}
