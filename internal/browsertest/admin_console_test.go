package browsertest

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/web"
)

// TestAdminConsoleStory is the administrator's and the user's whole story in
// two real browsers:
//
//  1. an administrator signs in on the sign-in page, opens the console,
//     creates a confidential application through the form and copies its
//     client ID and secret from the page that shows them once;
//  2. an ordinary user, in a browser of their own, authorizes that
//     application through the sign-in and consent pages, and the client
//     redeems the code with the copied credentials;
//  3. the user revokes the application on the authorized-applications page,
//     and its token stops working at once;
//  4. the administrator can see the credentials again only after re-entering
//     their password, and the view is in the audit log.
//
// Every page on the way is saved as a screenshot (console-*.png).
func TestAdminConsoleStory(t *testing.T) {
	n := startNode(t)
	cb := newCallback(t)
	n.createUser("root", "root-password", store.LevelAdmin)
	n.createUser("dana", "dana-password", store.LevelUser)
	msgs := catalogue(t)
	en := func(key string, args ...any) string { return msgs.T("en", key, args...) }

	const (
		appName = "Build Radiator & Reports"
		appDesc = "Shows the state of every build on the office screen."
	)

	// 1. The administrator creates the application.
	admin := newBrowser(t)
	grantClipboard(t, admin, n.base)
	signIn(t, admin, n.base, "root", "root-password")
	screenshot(t, admin, "console-01-home-admin")
	clickPage(t, admin, `header nav a[href="/admin/apps"]`)
	wantPath(t, admin, n, "/admin/apps")
	if h := text(t, admin, "main h1"); h != en("admin.apps") {
		t.Fatalf("console heading %q, want %q", h, en("admin.apps"))
	}
	if cur := text(t, admin, `nav.subnav a[aria-current="page"]`); cur != en("admin.apps") {
		t.Errorf("the console navigation marks %q as current, want %q", cur, en("admin.apps"))
	}
	screenshot(t, admin, "console-02-apps-empty")

	clickPage(t, admin, `main a[href="/admin/apps/new"]`)
	wantPath(t, admin, n, "/admin/apps/new")
	// Every scope of the catalogue is offered as a checkbox with its plain-words description.
	offered := evaluate[[]string](t, admin, `Array.from(document.querySelectorAll('input[type=checkbox][name=scope]'), e => e.value)`)
	for _, sc := range n.gh.Scopes.All() {
		if !slices.Contains(offered, sc.Name) {
			t.Errorf("the form offers no checkbox for scope %s (offers %v)", sc.Name, offered)
		}
	}
	if label := text(t, admin, `label.check:has(input[name=scope][value=WRITE])`); !strings.Contains(label, n.gh.Scopes.Describe("WRITE", "en")) {
		t.Errorf("the WRITE checkbox reads %q, want its description", label)
	}
	screenshot(t, admin, "console-03-app-form-empty")
	typeInto(t, admin, "#name", appName)
	typeInto(t, admin, "#description", appDesc)
	typeInto(t, admin, "#redirect_uris", cb.URL)
	for _, sc := range offered {
		setChecked(t, admin, `input[name=scope][value="`+sc+`"]`, sc == "READ" || sc == "WRITE")
	}
	setChecked(t, admin, `input[name=type][value=confidential]`, true)
	screenshot(t, admin, "console-04-app-form-filled")
	resp := clickPage(t, admin, `form[action="/admin/apps/new"] button[type=submit]`)
	if resp.Status != http.StatusOK {
		t.Fatalf("create application: %d, alerts %v", resp.Status, texts(t, admin, `[role=alert]`))
	}
	if h := text(t, admin, "main h1"); h != en("admin.app_created") {
		t.Fatalf("after creating: heading %q, want %q", h, en("admin.app_created"))
	}
	// Read the credentials as a person copying them would: from the fields,
	// and with the copy buttons.
	clientID := fieldValue(t, admin, "#client_id")
	clientSecret := fieldValue(t, admin, "#client_secret")
	if clientID == "" || clientSecret == "" || clientID == clientSecret {
		t.Fatalf("credentials on the page: id %q, secret %q", clientID, clientSecret)
	}
	secretPage := location(t, admin)
	if strings.Contains(secretPage, clientSecret) {
		t.Errorf("the secret page's URL %s holds the secret", secretPage)
	}
	for _, field := range []string{"client_id", "client_secret"} {
		button := `button.copy[data-copy="` + field + `"]`
		if b := text(t, admin, button); b != en("admin.copy") {
			t.Errorf("copy button for %s reads %q, want %q", field, b, en("admin.copy"))
		}
	}
	screenshot(t, admin, "console-05-app-created-credentials")
	if got := copyWithButton(t, admin, "client_secret"); got != clientSecret {
		t.Errorf("the copy button put %q on the clipboard, want the secret", got)
	}
	if got := copyWithButton(t, admin, "client_id"); got != clientID {
		t.Errorf("the copy button put %q on the clipboard, want the client ID", got)
	}
	// A screen reader hears that it was copied: the button's own text turns
	// into a check mark for the eye only.
	said, err := chromedp.Run(admin, chromedp.Evaluate[string](`new Promise(done => setTimeout(() => done(document.getElementById("copied").textContent), 300))`, chromedp.EvalAwaitPromise))
	if err != nil || said != en("admin.copied") {
		t.Errorf("the copy was announced as %q (%v), want %q", said, err, en("admin.copied"))
	}

	// The console stored what the form said.
	c, err := n.gh.Apps.Get(context.Background(), clientID)
	if err != nil {
		t.Fatalf("the copied client ID names no application: %v", err)
	}
	if c.Name != appName || c.Description != appDesc || c.Public || !slices.Equal(c.RedirectURIs, []string{cb.URL}) ||
		!slices.Equal(c.Scopes, []string{"READ", "WRITE"}) || !c.Enabled {
		t.Fatalf("stored application %+v does not match the form", c)
	}

	clickPage(t, admin, `main a.button[href="/admin/apps/`+clientID+`"]`) // Done
	if h := text(t, admin, "main h1"); h != appName {
		t.Fatalf("application page heading %q, want %q", h, appName)
	}
	wantNoSecret(t, admin, clientSecret)
	// The back button does not show it again either: the back/forward
	// cache's copy of the page is not shown, but reloaded, which leads to the
	// application's page (Chromium keeps even a no-store page there).
	goBack(t, admin)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		html := evaluate[string](t, admin, `document.documentElement.outerHTML + Array.from(document.querySelectorAll("input"), e => e.value).join()`)
		if !strings.Contains(html, clientSecret) && strings.HasSuffix(location(t, admin), "/admin/apps/"+clientID) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after Back, %s shows the secret (or is not the application's page)", location(t, admin))
		}
	}
	// The secret was shown once: going back to its page (a reload) does not
	// show it again, and leads to the application's page.
	if again := navigate(t, admin, secretPage); again.Status != http.StatusOK || text(t, admin, "main h1") != appName {
		t.Fatalf("the new-secret page again: %d at %s", again.Status, location(t, admin))
	}
	wantNoSecret(t, admin, clientSecret)
	screenshot(t, admin, "console-06-app-page")

	// 2. An ordinary user authorizes it in a browser of their own.
	user := newBrowser(t)
	navigate(t, user, n.authorizeURL(c, cb, "READ WRITE", "st-console"))
	if !onSignInPage(t, user) {
		t.Fatalf("authorize without a session: at %s, want the sign-in page", location(t, user))
	}
	if got, want := text(t, user, "#signin-for"), en("login.continue", appName); got != want {
		t.Errorf("sign-in page for the application says %q, want %q", got, want)
	}
	screenshot(t, user, "console-07-user-signin")
	submitSignIn(t, user, "dana", "dana-password")
	checkConsentPage(t, user, n, c, "en", "READ", "WRITE")
	screenshot(t, user, "console-08-user-consent")
	clickPage(t, user, allowButton)
	q := cb.wait(t, user)
	if q.Get("code") == "" || q.Get("state") != "st-console" {
		t.Fatalf("callback query %v: want a code and state st-console", q)
	}
	screenshot(t, user, "console-09-user-callback")
	tok := n.exchange(q.Get("code"), cb.URL, clientID, clientSecret)
	if tok.status != http.StatusOK || tok.str("access_token") == "" {
		t.Fatalf("token exchange with the copied credentials: %d %s", tok.status, tok.raw)
	}
	access := tok.str("access_token")
	if me := n.myself(access); me.status != http.StatusOK || me.str("name") != "dana" {
		t.Fatalf("myself: %d %s", me.status, me.raw)
	}
	if in := n.introspect(access, clientID, clientSecret); in.body["active"] != true {
		t.Fatalf("fresh token introspects as %s", in.raw)
	}

	// The console shows the new authorization on the application's page.
	navigate(t, admin, n.base+"/admin/apps/"+clientID)
	if users := texts(t, admin, "main table tbody td:first-child"); !slices.Equal(users, []string{"dana"}) {
		t.Errorf("the application's authorizations list users %q, want dana", users)
	}
	if scopes := text(t, admin, "main table tbody td:nth-child(2)"); scopes != "READ WRITE" {
		t.Errorf("the authorization's scopes read %q, want READ WRITE", scopes)
	}
	// A screen reader's list of buttons tells one Revoke from another: each
	// names whose authorization it ends.
	// (innerText puts the hidden part on a line of its own; a screen reader
	// reads one name.)
	if name := strings.Join(strings.Fields(text(t, admin, `main table tbody button.danger`)), " "); name != en("apps.revoke")+" dana" {
		t.Errorf("the grant's revoke button reads %q to a screen reader, want it to name dana", name)
	}
	// So does a user's "sign out everywhere", which is not the administrator's own.
	navigate(t, admin, n.base+"/admin/users/dana")
	if name := text(t, admin, `form[action$="/signout"] button`); name != en("admin.signout_user", "dana") {
		t.Errorf("the user's sign-out button reads %q", name)
	}
	screenshot(t, admin, "console-10-app-page-with-grant")

	// 3. The user revokes it on the authorized-applications page.
	navigate(t, user, n.base+"/")
	screenshot(t, user, "console-11-user-home")
	clickPage(t, user, `header nav a[href="`+web.PathAuthorizedApps+`"]`)
	wantPath(t, user, n, web.PathAuthorizedApps)
	grants := texts(t, user, "li.grant h2")
	if !slices.Equal(grants, []string{appName}) {
		t.Fatalf("authorized applications %q, want just %q", grants, appName)
	}
	scopes := strings.Join(texts(t, user, "li.grant ul.scopes li"), "\n")
	for _, sc := range []string{"READ", "WRITE"} {
		if !strings.Contains(scopes, sc) || !strings.Contains(scopes, n.gh.Scopes.Describe(sc, "en")) {
			t.Errorf("the grant does not list scope %s in plain words; it lists:\n%s", sc, scopes)
		}
	}
	screenshot(t, user, "console-12-user-authorized-apps")
	if name := strings.Join(strings.Fields(text(t, user, `li.grant form[action$="/revoke"] button[type=submit]`)), " "); name != en("apps.revoke")+" "+appName {
		t.Errorf("the revoke button reads %q to a screen reader, want it to name %s", name, appName)
	}
	// Revoke is one form button with no confirmation step: the user can
	// authorize the application again at any time.
	clickPage(t, user, `li.grant form[action$="/revoke"] button[type=submit]`)
	wantPath(t, user, n, web.PathAuthorizedApps)
	if f := text(t, user, `[role=status]`); f != en("apps.revoked") {
		t.Errorf("after revoking the page says %q, want %q", f, en("apps.revoked"))
	}
	if left := texts(t, user, "li.grant h2"); len(left) != 0 {
		t.Errorf("still listed after revoking: %q", left)
	}
	if none := text(t, user, "main p:not(.muted):not(.flash)"); none != en("apps.none") {
		t.Errorf("the empty list says %q, want %q", none, en("apps.none"))
	}
	screenshot(t, user, "console-13-user-revoked")
	if in := n.introspect(access, clientID, clientSecret); in.status != http.StatusOK || in.body["active"] != false {
		t.Fatalf("revoked token introspects as %d %s, want active:false", in.status, in.raw)
	}
	if me := n.myself(access); me.status != http.StatusUnauthorized {
		t.Fatalf("myself with the revoked token: %d %s, want 401", me.status, me.raw)
	}

	// 4. Credentials again, only after re-entering the password.
	clickPage(t, admin, `nav.subnav a[href="/admin/apps"]`)
	if names := texts(t, admin, "main table tbody td:first-child a"); !slices.Equal(names, []string{appName}) {
		t.Errorf("application list %q, want %q", names, appName)
	}
	screenshot(t, admin, "console-14-apps-list")
	clickPage(t, admin, `main table a[href="/admin/apps/`+clientID+`"]`)
	clickPage(t, admin, `main a[href="/admin/apps/`+clientID+`/credentials"]`)
	wantPath(t, admin, n, "/admin/reauth")
	if h := text(t, admin, "main h1"); h != en("admin.reauth") {
		t.Fatalf("view credentials led to %q, want the re-authentication form", h)
	}
	wantNoSecret(t, admin, clientSecret)
	screenshot(t, admin, "console-15-reauth")

	typeInto(t, admin, "#password", "not-the-password")
	resp = clickPage(t, admin, `form[action="/admin/reauth"] button[type=submit]`)
	if resp.Status != http.StatusUnauthorized {
		t.Errorf("wrong password: %d, want 401", resp.Status)
	}
	if a := text(t, admin, `main [role=alert]`); a != en("admin.reauth_failed") {
		t.Errorf("wrong password: the page says %q, want %q", a, en("admin.reauth_failed"))
	}
	wantNoSecret(t, admin, clientSecret)
	screenshot(t, admin, "console-16-reauth-wrong-password")

	typeInto(t, admin, "#password", "root-password")
	resp = clickPage(t, admin, `form[action="/admin/reauth"] button[type=submit]`)
	if resp.Status != http.StatusOK {
		t.Fatalf("right password: %d", resp.Status)
	}
	wantPath(t, admin, n, "/admin/apps/"+clientID+"/credentials")
	if h := text(t, admin, "main h1"); h != en("admin.credentials") {
		t.Errorf("credentials page heading %q, want %q", h, en("admin.credentials"))
	}
	if id := fieldValue(t, admin, "#client_id"); id != clientID {
		t.Errorf("credentials page shows client ID %q, want %q", id, clientID)
	}
	if s := fieldValue(t, admin, "#client_secret"); s != clientSecret {
		t.Errorf("credentials page shows another secret than the one shown at creation")
	}
	screenshot(t, admin, "console-17-credentials")

	clickPage(t, admin, `nav.subnav a[href="/admin/audit"]`)
	rows := auditRows(t, admin)
	var view *auditRow
	for i := range rows {
		if rows[i].Kind == audit.ClientSecretView {
			view = &rows[i]
			break
		}
	}
	if view == nil {
		t.Fatalf("no %s row on the audit page; rows: %+v", audit.ClientSecretView, rows)
	}
	if view.Actor != "root" || view.App != appName || view.AppID != clientID || view.Address == "" {
		t.Errorf("credential view audited as %+v, want actor root, application %s (%s) and an address", *view, appName, clientID)
	}
	kinds := map[string]bool{}
	for _, r := range rows {
		kinds[r.Kind] = true
	}
	for _, k := range []string{audit.ClientCreate, audit.AdminReauth, audit.ConsentAllow, audit.GrantRevoke} {
		if !kinds[k] {
			t.Errorf("the audit page has no %s row", k)
		}
	}
	screenshot(t, admin, "console-18-audit")

	// The audit filter narrows to credential views.
	if err := chromedp.Do(admin, chromedp.SetValue(chromedp.CSS("#kind"), audit.ClientSecretView)); err != nil {
		t.Fatal(err)
	}
	clickPage(t, admin, `form.filters button[type=submit]`)
	rows = auditRows(t, admin)
	if len(rows) != 1 || rows[0].Kind != audit.ClientSecretView {
		t.Errorf("filtered by %s: rows %+v", audit.ClientSecretView, rows)
	}
	screenshot(t, admin, "console-19-audit-filtered")
}

// TestAdminConsoleJapanese: an administrator whose browser is Japanese gets
// the console in Japanese: the application list, an application's page and
// the form, with the scope descriptions from the Japanese catalogue.
func TestAdminConsoleJapanese(t *testing.T) {
	n := startNode(t)
	cb := newCallback(t)
	n.createUser("kanri", "kanri-password", store.LevelSystemAdmin)
	c, _ := n.createClient(cb, app.Registration{Name: "ビルド監視", Description: "ビルドの状態を表示します。", Scopes: []string{"READ", "WRITE"}})
	msgs := catalogue(t)
	ja := func(key string, args ...any) string { return msgs.T("ja", key, args...) }
	ctx := newBrowserLang(t, "ja")

	signIn(t, ctx, n.base, "kanri", "kanri-password")
	navigate(t, ctx, n.base+"/admin/apps")
	wantLang(t, ctx, "ja")
	if h := text(t, ctx, "main h1"); h != ja("admin.apps") || h == msgs.T("en", "admin.apps") {
		t.Errorf("applications heading %q, want %q", h, ja("admin.apps"))
	}
	heads := texts(t, ctx, "main table thead th")
	for _, key := range []string{"admin.name", "admin.type", "admin.scopes", "admin.status", "admin.active_tokens", "admin.last_used"} {
		if !slices.Contains(heads, ja(key)) {
			t.Errorf("the list's columns %q lack %q", heads, ja(key))
		}
	}
	if row := text(t, ctx, "main table tbody tr"); !strings.Contains(row, c.Name) || !strings.Contains(row, ja("admin.confidential")) || !strings.Contains(row, ja("admin.enabled")) {
		t.Errorf("the application's row %q is not in Japanese", row)
	}
	if b := text(t, ctx, `main a[href="/admin/apps/new"]`); b != ja("admin.app_new") {
		t.Errorf("create button %q, want %q", b, ja("admin.app_new"))
	}
	screenshot(t, ctx, "console-ja-apps")

	clickPage(t, ctx, `main table a[href="/admin/apps/`+c.ID+`"]`)
	facts := strings.Join(texts(t, ctx, "dl.facts dt"), "|")
	for _, key := range []string{"admin.client_id", "admin.type", "admin.status", "admin.redirect_uris", "admin.scopes"} {
		if !strings.Contains(facts, ja(key)) {
			t.Errorf("the application page's facts %q lack %q", facts, ja(key))
		}
	}
	if dd := text(t, ctx, "dl.facts dd:nth-of-type(5)"); !strings.Contains(dd, n.gh.Scopes.Describe("WRITE", "ja")) {
		t.Errorf("scopes on the application page %q, want the Japanese description of WRITE", dd)
	}
	screenshot(t, ctx, "console-ja-app")

	navigate(t, ctx, n.base+"/admin/apps/new")
	if h := text(t, ctx, "main h1"); h != ja("admin.app_new") {
		t.Errorf("form heading %q, want %q", h, ja("admin.app_new"))
	}
	if label := text(t, ctx, `label.check:has(input[name=scope][value=READ])`); !strings.Contains(label, n.gh.Scopes.Describe("READ", "ja")) {
		t.Errorf("the READ checkbox reads %q, want its Japanese description", label)
	}
	screenshot(t, ctx, "console-ja-app-form")

	navigate(t, ctx, n.base+"/admin/apps/"+c.ID+"/credentials")
	if h := text(t, ctx, "main h1"); h != ja("admin.reauth") {
		t.Errorf("re-authentication heading %q, want %q", h, ja("admin.reauth"))
	}
	screenshot(t, ctx, "console-ja-reauth")

	navigate(t, ctx, n.base+"/admin/audit")
	if h := text(t, ctx, "main h1"); h != ja("admin.audit") {
		t.Errorf("audit heading %q, want %q", h, ja("admin.audit"))
	}
	screenshot(t, ctx, "console-ja-audit")

	// On a phone the console's pages fit the screen's width.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
	for _, pg := range []struct{ path, name string }{
		{"/admin/apps", "console-ja-phone-apps"},
		{"/admin/apps/" + c.ID, "console-ja-phone-app"},
		{"/admin/audit", "console-ja-phone-audit"},
	} {
		navigate(t, ctx, n.base+pg.path)
		if w := evaluate[[]int](t, ctx, `[document.documentElement.scrollWidth, document.documentElement.clientWidth]`); w[0] > w[1] {
			t.Errorf("%s is %dpx wide on a %dpx screen", pg.path, w[0], w[1])
		}
		screenshot(t, ctx, pg.name)
	}
}

// ---------------------------------------------------------------------------
// Helpers of the console tests

// catalogue is the pages' message catalogue, so the tests expect the very
// words the pages are meant to show.
func catalogue(t *testing.T) web.Messages {
	t.Helper()
	m, err := web.LoadMessages()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// introspect asks the introspection endpoint about a token, as the client's
// back end would, with HTTP Basic client credentials.
func (n *node) introspect(tok, clientID, clientSecret string) jsonAnswer {
	n.t.Helper()
	form := url.Values{"token": {tok}}
	req, _ := http.NewRequest("POST", n.base+"/rest/oauth2/latest/introspect", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(clientSecret))
	return n.send(req)
}

// wantPath checks that the browser is on the node at path (any query).
func wantPath(t *testing.T, ctx context.Context, n *node, path string) {
	t.Helper()
	loc := location(t, ctx)
	u, err := url.Parse(loc)
	if err != nil || !strings.HasPrefix(loc, n.base+"/") || u.Path != path {
		t.Fatalf("browser is at %s, want %s%s", loc, n.base, path)
	}
}

// typeInto replaces the content of a field with text typed as a person would.
// The field is emptied by script first: chromedp.Clear refuses an empty
// textarea, and SetValue refuses the empty value.
func typeInto(t *testing.T, ctx context.Context, css, s string) {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS(css)),
		chromedp.Evaluate[chromedp.Void](`document.querySelector(`+jsString(css)+`).value = ""`),
		chromedp.SendKeys(chromedp.CSS(css), s),
	); err != nil {
		t.Fatalf("type into %s: %v", css, err)
	}
	if got := fieldValue(t, ctx, css); got != s {
		t.Fatalf("%s holds %q after typing %q", css, got, s)
	}
}

// fieldValue is the current value of a form field.
func fieldValue(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(css)))
	if err != nil {
		t.Fatalf("value of %s: %v", css, err)
	}
	return v
}

// setChecked clicks a checkbox or radio button, as a person would, until its
// state is want.
func setChecked(t *testing.T, ctx context.Context, css string, want bool) {
	t.Helper()
	checked := `document.querySelector(` + jsString(css) + `).checked`
	if evaluate[bool](t, ctx, checked) != want {
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(css), chromedp.NodeVisible)); err != nil {
			t.Fatalf("click %s: %v", css, err)
		}
	}
	if evaluate[bool](t, ctx, checked) != want {
		t.Fatalf("%s: checked is not %v after clicking", css, want)
	}
}

// grantClipboard lets the pages of origin use the clipboard, as a person's
// browser does after they allow it, so the copy buttons can be tried.
func grantClipboard(t *testing.T, ctx context.Context, origin string) {
	t.Helper()
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		_, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: name, AllowWithoutSanitization: true},
			Setting:    browser.PermissionSettingGranted,
			Origin:     origin,
		})
		if err != nil {
			t.Fatalf("grant %s: %v", name, err)
		}
	}
}

// copyWithButton clicks the copy button of the field id and returns what is
// then on the clipboard. The page writes the clipboard asynchronously, so the
// clipboard is read until it changes from a marker put there first (at most
// 200 reads, without a clock).
func copyWithButton(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	const marker = "-- nothing copied --"
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`navigator.clipboard.writeText(`+jsString(marker)+`)`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatalf("clear the clipboard: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`button.copy[data-copy="`+id+`"]`), chromedp.NodeVisible)); err != nil {
		t.Fatalf("click the copy button of %s: %v", id, err)
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async () => {
		let s = "";
		for (let i = 0; i < 200; i++) {
			s = await navigator.clipboard.readText();
			if (s !== `+jsString(marker)+`) return s;
			await new Promise(requestAnimationFrame);
		}
		return s;
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("read the clipboard: %v", err)
	}
	return got
}

// wantNoSecret checks that the secret is nowhere in the current page: not in
// its text, its fields or its markup.
func wantNoSecret(t *testing.T, ctx context.Context, secretValue string) {
	t.Helper()
	html := evaluate[string](t, ctx, `document.documentElement.outerHTML + "\n" +
		Array.from(document.querySelectorAll("input, textarea"), e => e.value).join("\n")`)
	if strings.Contains(html, secretValue) {
		t.Errorf("the page %s shows the client secret", location(t, ctx))
	}
}

// auditRow is one row of the audit page's table.
type auditRow struct {
	When    string `json:"when"`
	Kind    string `json:"kind"`
	Actor   string `json:"actor"`
	User    string `json:"user"`
	App     string `json:"app"`   // the application's name, or a note that it was deleted
	AppID   string `json:"appID"` // its client ID
	Address string `json:"address"`
	Detail  string `json:"detail"`
}

// auditRows reads the audit page's table, newest first.
func auditRows(t *testing.T, ctx context.Context) []auditRow {
	t.Helper()
	return evaluate[[]auditRow](t, ctx, `Array.from(document.querySelectorAll("table.audit tbody tr"), tr => {
		const c = Array.from(tr.cells, td => td.innerText.trim());
		// The kind cell labels the kind in the page's language; the kind itself is its code.
		const kind = tr.cells[1].querySelector("code");
		// The application cell names it, with its client ID small beside the name.
		const name = tr.cells[4].querySelector(".app-name"), id = tr.cells[4].querySelector("code");
		return {when: c[0], kind: kind ? kind.innerText.trim() : c[1], actor: c[2], user: c[3],
			app: name ? name.innerText.trim() : c[4], appID: id ? id.innerText.trim() : "", address: c[5], detail: c[6]};
	})`)
}

// goBack presses the back button. A page restored from the back/forward
// cache fires no load event to wait for, so the callers poll for what they
// expect instead.
func goBack(t *testing.T, ctx context.Context) {
	t.Helper()
	back, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := chromedp.Run(back, chromedp.NavigateBack()); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("back: %v", err)
	}
}
