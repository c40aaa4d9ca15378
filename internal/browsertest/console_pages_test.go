package browsertest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/store"
)

// TestConsoleShowsWhatIsWrong walks the console in an English and in a
// Japanese browser where it must say what went wrong, and where: a wrong
// password on the sign-in form and a bad redirect URI on the application
// form mark the field at fault, with the reason right under it and the
// summary at the top, and keep what was typed; a refused logo comes back to
// the application's page with the reason by the logo form (a file that is
// not an image, and one too large to be read); a user search that finds
// nothing says so and clears; the application page's endpoint URLs are
// copied with their buttons; the audit log names applications; the icon
// loads. Screenshots: console-problem-*.png.
func TestConsoleShowsWhatIsWrong(t *testing.T) {
	for _, lang := range []string{"en", "ja"} {
		t.Run(lang, func(t *testing.T) {
			n := startNode(t)
			cb := newCallback(t)
			n.createUser("root", "root-password", store.LevelSystemAdmin)
			c, _ := n.createClient(cb, app.Registration{Name: "Build Radiator"})
			msgs := catalogue(t)
			tr := func(key string, args ...any) string { return msgs.T(lang, key, args...) }
			ctx := newBrowserLang(t, lang)
			grantClipboard(t, ctx, n.base)
			shot := func(name string) { screenshot(t, ctx, "console-problem-"+name+"-"+lang) }

			// The sign-in form: a wrong password.
			navigate(t, ctx, n.base+"/login")
			typeInto(t, ctx, "#username", "Root")
			typeInto(t, ctx, "#password", "not-the-password")
			if resp := clickPage(t, ctx, `form[action="/login"] button[type=submit]`); resp.Status != http.StatusUnauthorized {
				t.Fatalf("wrong password: %d", resp.Status)
			}
			wantMarked(t, ctx, "#password", "password-error", tr("login.failed"))
			if u := fieldValue(t, ctx, "#username"); u != "Root" {
				t.Errorf("the username field holds %q after the refusal, want what was typed", u)
			}
			shot("signin")
			submitSignIn(t, ctx, "root", "root-password")

			// The application form: a redirect URI with a forbidden scheme.
			navigate(t, ctx, n.base+"/admin/apps/new")
			typeInto(t, ctx, "#name", "Wiki")
			typeInto(t, ctx, "#redirect_uris", "javascript://wiki.example/cb")
			if resp := clickPage(t, ctx, `form[action="/admin/apps/new"] button[type=submit]`); resp.Status != http.StatusBadRequest {
				t.Fatalf("bad redirect URI: %d", resp.Status)
			}
			reason := tr("refusal.app.redirect_uri_scheme_forbidden", "javascript://wiki.example/cb")
			wantMarked(t, ctx, "#redirect_uris", "redirect_uris-error", reason)
			if got := fieldValue(t, ctx, "#name"); got != "Wiki" {
				t.Errorf("the name field holds %q after the refusal, want what was typed", got)
			}
			if got := fieldValue(t, ctx, "#redirect_uris"); got != "javascript://wiki.example/cb" {
				t.Errorf("the redirect URIs hold %q after the refusal, want what was typed", got)
			}
			if marked := evaluate[int](t, ctx, `document.querySelectorAll('[aria-invalid="true"]').length`); marked != 1 {
				t.Errorf("%d fields are marked, want only the redirect URIs", marked)
			}
			shot("app-form")

			// The logo: not an image, then too large to read. Each time the
			// answer is the application's page, with the reason by the form.
			dir := t.TempDir()
			for _, f := range []struct {
				name   string
				data   []byte
				status int64
				reason string
			}{
				{"logo.png", []byte("<html>not an image</html>"), http.StatusBadRequest, tr("refusal.admin.logo_format")},
				{"huge.png", bytes.Repeat([]byte{0x89}, 2<<20), http.StatusRequestEntityTooLarge, tr("refusal.admin.logo_too_large", 256)},
			} {
				file := filepath.Join(dir, f.name)
				if err := os.WriteFile(file, f.data, 0o644); err != nil {
					t.Fatal(err)
				}
				navigate(t, ctx, n.base+"/admin/apps/"+c.ID)
				if err := chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.CSS("#logo"), []string{file})); err != nil {
					t.Fatal(err)
				}
				resp := clickPage(t, ctx, `form[action$="/logo"] button[type=submit]:not([name])`)
				if resp.Status != f.status {
					t.Fatalf("%s: %d, want %d", f.name, resp.Status, f.status)
				}
				if h := text(t, ctx, "main h1"); h != c.Name {
					t.Fatalf("%s: the answer is %q, want the application's page", f.name, h)
				}
				wantMarked(t, ctx, "#logo", "logo-error", f.reason)
				if f.status == http.StatusBadRequest {
					shot("logo")
				}
			}

			// The endpoints, copied with their buttons.
			shot("app-endpoints")
			for id, path := range map[string]string{
				"endpoint_metadata":  "/.well-known/oauth-authorization-server",
				"endpoint_authorize": "/rest/oauth2/latest/authorize",
				"endpoint_token":     "/rest/oauth2/latest/token",
			} {
				if got := fieldValue(t, ctx, "#"+id); got != n.base+path {
					t.Errorf("%s shows %q, want %q", id, got, n.base+path)
				}
				if got := copyWithButton(t, ctx, id); got != n.base+path {
					t.Errorf("the copy button of %s copied %q, want %q", id, got, n.base+path)
				}
			}

			// A user search that finds nothing, then cleared.
			navigate(t, ctx, n.base+"/admin/users")
			typeInto(t, ctx, "#q", "nobody-here")
			clickPage(t, ctx, `form.search button[type=submit]`)
			if got := text(t, ctx, "main p.empty"); !strings.HasPrefix(got, tr("admin.no_user_match", "nobody-here")) {
				t.Errorf("the empty search says %q, want %q", got, tr("admin.no_user_match", "nobody-here"))
			}
			shot("users-no-match")
			clickPage(t, ctx, `main p.empty a`)
			wantPath(t, ctx, n, "/admin/users")
			if rows := texts(t, ctx, "main table tbody td:first-child"); len(rows) != 1 || rows[0] != "root" {
				t.Errorf("after clearing the search the list shows %q", rows)
			}

			// The user form: an email that is not an address.
			navigate(t, ctx, n.base+"/admin/users/root")
			if err := chromedp.Do(ctx, chromedp.SetAttributeValue(chromedp.CSS("#email"), "type", "text")); err != nil {
				t.Fatal(err) // let the server, not the browser, refuse the address
			}
			typeInto(t, ctx, "#display_name", "Root Typed")
			typeInto(t, ctx, "#email", "root at example")
			clickPage(t, ctx, `form[action="/admin/users/root"] button[type=submit]`)
			wantMarked(t, ctx, "#email", "email-error", tr("refusal.user.email_invalid", "root at example"))
			if got := fieldValue(t, ctx, "#display_name"); got != "Root Typed" {
				t.Errorf("the display name holds %q after the refusal, want what was typed", got)
			}
			shot("user-form")

			// The audit log names the application (refusals changed nothing:
			// disable it to have an event).
			navigate(t, ctx, n.base+"/admin/apps/"+c.ID)
			clickPage(t, ctx, `form[action$="/enabled"] button[type=submit]`)
			navigate(t, ctx, n.base+"/admin/audit")
			var found bool
			for _, r := range auditRows(t, ctx) {
				if r.AppID == c.ID {
					found = true
					if r.App != c.Name {
						t.Errorf("the audit log names the application %q, want %q", r.App, c.Name)
					}
				}
			}
			if !found {
				t.Errorf("no audit row for %s", c.ID)
			}
			shot("audit")

			// The icon loads (the CSP allows it) and is linked for the tab.
			if w := evaluate[int](t, ctx, `document.querySelector(".brand img").naturalWidth`); w == 0 {
				t.Error("the header's icon did not load")
			}
			for _, icon := range []string{"/static/favicon.svg", "/static/favicon.png"} {
				w, err := chromedp.Run(ctx, chromedp.Evaluate[int](`new Promise(done => {
					const i = new Image(); i.onload = () => done(i.naturalWidth); i.onerror = () => done(0); i.src = `+jsString(icon)+`;
				})`, chromedp.EvalAwaitPromise))
				if err != nil || w == 0 {
					t.Errorf("the icon %s does not load: %v", icon, err)
				}
			}
		})
	}
}

// TestCompactHeaderOnPhones: on a phone the header is one row — the name, the
// language link and a Menu that opens the account's links over the page —
// and neither it nor the console's navigation makes the page wider than the
// screen, in English and in Japanese, for a system administrator (every
// section) with a long display name, and signed out. On a wide screen the
// links are in the header itself. Screenshots: phone-header-*.png.
func TestCompactHeaderOnPhones(t *testing.T) {
	for _, lang := range []string{"en", "ja"} {
		t.Run(lang, func(t *testing.T) {
			n := startNode(t)
			u := n.createUser("kanri", "kanri-password", store.LevelSystemAdmin)
			if _, err := n.gh.Users.Update(context.Background(), u.Username, func(u *store.User) error {
				u.DisplayName = "Administrator Of Everything Here"
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			msgs := catalogue(t)
			ctx := newBrowserLang(t, lang)
			signIn(t, ctx, n.base, "kanri", "kanri-password")

			// Wide: every link in the header, no menu.
			navigate(t, ctx, n.base+"/admin/apps")
			if !visible(t, ctx, `header .account-links a[href="/admin/apps"]`) || visible(t, ctx, "header details.menu") {
				t.Error("on a wide screen the header does not show the account's links, or shows the menu")
			}

			for _, width := range []int64{390, 320} {
				if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 800, chromedp.EmulateMobile)); err != nil {
					t.Fatal(err)
				}
				for _, path := range []string{"/admin/apps", "/admin/users", "/"} {
					navigate(t, ctx, n.base+path)
					wantOneRowHeader(t, ctx, path)
					if visible(t, ctx, `header .account-links`) || !visible(t, ctx, "header details.menu summary") {
						t.Errorf("%s at %dpx: the account's links are not behind the menu", path, width)
					}
				}
				screenshot(t, ctx, fmt.Sprintf("phone-header-home-%dpx-%s", width, lang))
			}
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 800, chromedp.EmulateMobile)); err != nil {
				t.Fatal(err)
			}
			navigate(t, ctx, n.base+"/admin/apps")
			screenshot(t, ctx, "phone-header-apps-"+lang)
			if got := text(t, ctx, "header details.menu summary"); got != msgs.T(lang, "nav.menu") {
				t.Errorf("the menu button reads %q, want %q", got, msgs.T(lang, "nav.menu"))
			}
			if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("header details.menu summary"), chromedp.NodeVisible)); err != nil {
				t.Fatal(err)
			}
			for _, css := range []string{`.menu-panel a[href="/admin/apps"]`, `.menu-panel a[href="/plugins/servlet/oauth2/authorized-apps"]`, `.menu-panel form[action="/logout"] button`} {
				if !visible(t, ctx, css) {
					t.Errorf("the open menu does not show %s", css)
				}
			}
			if r := evaluate[[]float64](t, ctx, `(() => { const r = document.querySelector(".menu-panel").getBoundingClientRect(); return [r.left, r.right, innerWidth]; })()`); r[0] < 0 || r[1] > r[2] {
				t.Errorf("the open menu spans %v–%v on a %vpx screen", r[0], r[1], r[2])
			}
			screenshot(t, ctx, "phone-header-menu-"+lang)
			// Escape closes it, as a menu does, and leaves the focus on its button.
			if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Escape)); err != nil {
				t.Fatal(err)
			}
			if open := evaluate[[]bool](t, ctx, `[document.querySelector("header details.menu").open, document.activeElement === document.querySelector("header details.menu summary")]`); open[0] || !open[1] {
				t.Errorf("after Escape the menu is open: %v, its button has the focus: %v", open[0], open[1])
			}
			// The focus leaving it (Tab past its last item) closes it too.
			if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("header details.menu summary"), chromedp.NodeVisible)); err != nil {
				t.Fatal(err)
			}
			if evaluate[bool](t, ctx, `(document.querySelector("main a, main button, main input").focus(), document.querySelector("header details.menu").open)`) {
				t.Error("the menu stays open over the page once the focus left it")
			}
			if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("header details.menu summary"), chromedp.NodeVisible)); err != nil {
				t.Fatal(err)
			}
			clickPage(t, ctx, `.menu-panel a[href="/plugins/servlet/oauth2/authorized-apps"]`)
			wantPath(t, ctx, n, "/plugins/servlet/oauth2/authorized-apps")

			// Signed out.
			if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("header details.menu summary"), chromedp.NodeVisible)); err != nil {
				t.Fatal(err)
			}
			clickPage(t, ctx, `.menu-panel form[action="/logout"] button`)
			wantOneRowHeader(t, ctx, "/login")
			screenshot(t, ctx, "phone-header-signin-"+lang)
		})
	}
}

// wantMarked checks that the control css is marked invalid, described by
// the element errID, which shows reason right under the control; that the
// control looks marked (its border in the danger colour); and that the
// summary at the top says the same.
func wantMarked(t *testing.T, ctx context.Context, css, errID, reason string) {
	t.Helper()
	type marking struct {
		Invalid   string  `json:"invalid"`
		Described string  `json:"described"`
		Text      string  `json:"text"`
		Gap       float64 `json:"gap"`
		Border    string  `json:"border"`
		Alert     string  `json:"alert"`
	}
	m := evaluate[marking](t, ctx, `(() => {
		const el = document.querySelector(`+jsString(css)+`), err = document.getElementById(`+jsString(errID)+`);
		const alert = document.querySelector("main [role=alert]");
		if (!el || !err) return {invalid: "", described: "", text: "", gap: -1, border: "", alert: ""};
		return {invalid: el.getAttribute("aria-invalid") || "", described: el.getAttribute("aria-describedby") || "",
			text: err.innerText.trim(), gap: err.getBoundingClientRect().top - el.getBoundingClientRect().bottom,
			border: getComputedStyle(el).borderTopColor, alert: alert ? alert.innerText.trim() : ""};
	})()`)
	if m.Invalid != "true" || !strings.Contains(" "+m.Described+" ", " "+errID+" ") {
		t.Errorf("%s: aria-invalid %q, aria-describedby %q; want true and %s", css, m.Invalid, m.Described, errID)
	}
	if m.Text != reason {
		t.Errorf("%s: the message by the field reads %q, want %q", css, m.Text, reason)
	}
	if m.Gap < 0 || m.Gap > 24 {
		t.Errorf("%s: the message is %.0fpx from the field, want it right under it", css, m.Gap)
	}
	if css != "#logo" && m.Border != "rgb(174, 42, 25)" {
		t.Errorf("%s: border %s, want the danger colour", css, m.Border)
	}
	if m.Alert != reason {
		t.Errorf("the summary at the top reads %q, want %q", m.Alert, reason)
	}
}

// wantOneRowHeader checks that the header is one row that fits the screen,
// and that nothing makes the page wider than the screen.
func wantOneRowHeader(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	type header struct {
		Tops    []float64 `json:"tops"`
		Rights  []float64 `json:"rights"`
		Height  float64   `json:"height"`
		Width   float64   `json:"width"`
		Scroll  float64   `json:"scroll"`
		Page    float64   `json:"page"`
		Heights []float64 `json:"heights"`
	}
	h := evaluate[header](t, ctx, `(() => {
		const bar = document.querySelector("header.bar");
		const items = Array.from(bar.querySelectorAll(".brand, nav > *")).filter(e => e.getClientRects().length > 0);
		const rects = items.map(e => e.getBoundingClientRect());
		return {tops: rects.map(r => r.top + r.height / 2), rights: rects.map(r => r.right), heights: rects.map(r => r.height),
			height: bar.getBoundingClientRect().height, width: innerWidth, scroll: bar.scrollWidth - bar.clientWidth,
			page: document.documentElement.scrollWidth - document.documentElement.clientWidth};
	})()`)
	for i := range h.Tops {
		if d := h.Tops[i] - h.Tops[0]; d > 4 || d < -4 {
			t.Errorf("%s: the header's items are not in one row (middles %v)", path, h.Tops)
			break
		}
	}
	for _, r := range h.Rights {
		if r > h.Width {
			t.Errorf("%s: a header item ends at %.0fpx on a %.0fpx screen", path, r, h.Width)
		}
	}
	if h.Height > 64 || h.Scroll > 0 || h.Page > 0 {
		t.Errorf("%s: header %.0fpx high, %.0fpx too wide; page %.0fpx too wide", path, h.Height, h.Scroll, h.Page)
	}
}

// visible reports whether an element that matches css is rendered now.
func visible(t *testing.T, ctx context.Context, css string) bool {
	t.Helper()
	return evaluate[bool](t, ctx, `(() => { const e = document.querySelector(`+jsString(css)+`); return !!e && e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden"; })()`)
}
