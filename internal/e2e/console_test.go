package e2e

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/store"
)

// consoleEnv is a node with a signed-in system administrator.
func consoleEnv(t *testing.T) (*env, *browser) {
	t.Helper()
	e := newEnv(t)
	e.createUser("root", "root-password", store.LevelSystemAdmin)
	b := e.newBrowser()
	if p := b.signIn("root", "root-password"); p.status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", p.status)
	}
	return e, b
}

// submit posts the form found on page (its hidden fields, csrf_token included) with extra fields.
func (b *browser) submit(page page, action string, kv ...string) page {
	b.e.t.Helper()
	f := formFields(page.body)
	for i := 0; i+1 < len(kv); i += 2 {
		f.Add(kv[i], kv[i+1])
	}
	return b.post(action, f)
}

// csrf returns the session's CSRF token from any page.
func (b *browser) csrf() string {
	b.e.t.Helper()
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(b.get("/").body)
	if m == nil {
		b.e.t.Fatal("no CSRF token on the home page")
	}
	return m[1]
}

var secretField = regexp.MustCompile(`id="client_secret" readonly[^>]* value="([^"]+)"`)

func TestConsoleApplicationLifecycle(t *testing.T) {
	e, b := consoleEnv(t)
	ctx := context.Background()

	// Create through the form; the secret is shown once.
	posted := b.post("/admin/apps/new", pageForm("app", url.Values{
		"csrf_token": {b.csrf()}, "name": {"Bamboo"}, "description": {"Builds"}, "redirect_uris": {callback},
		"scope": {"READ", "WRITE"}, "type": {"confidential"}, "grant": {"authorization_code", "refresh_token"}, "enabled": {"on"},
	}))
	// Post/Redirect/Get: the answer to the post is a redirect to a page that
	// shows the secret once; reloading that page creates nothing more and
	// shows the secret no more.
	if posted.status != http.StatusSeeOther || !strings.HasSuffix(posted.header.Get("Location"), "/new-secret") {
		t.Fatalf("create: %d to %q, want 303 to the new-secret page", posted.status, posted.header.Get("Location"))
	}
	created := b.follow(posted)
	m := secretField.FindStringSubmatch(created.body)
	if created.status != http.StatusOK || m == nil {
		t.Fatalf("create: %d %s", created.status, created.body)
	}
	secretValue := m[1]
	if reload := b.follow(b.get(posted.header.Get("Location"))); reload.status != http.StatusOK || secretField.MatchString(reload.body) || !strings.Contains(reload.body, "shown only once") {
		t.Fatalf("reloading the new-secret page: %d, secret shown again: %v", reload.status, secretField.MatchString(reload.body))
	}
	apps, _ := e.node.Apps.List(ctx)
	if len(apps) != 1 || apps[0].Name != "Bamboo" || !apps[0].Enabled {
		t.Fatalf("stored %+v", apps)
	}
	c := apps[0]
	list := b.get("/admin/apps?q=bam")
	if !strings.Contains(list.body, "Bamboo") || strings.Contains(b.get("/admin/apps?q=zzz").body, "Bamboo") {
		t.Fatal("search does not find or filter the application")
	}

	// A user authorizes it; the console shows the grant and its token count.
	e.createUser("alice", "alice-password", store.LevelUser)
	alice := e.newBrowser()
	alice.signIn("alice", "alice-password")
	code := alice.code(authParams(c, "READ"))
	tok := e.token(form("grant_type", "authorization_code", "code", code, "redirect_uri", callback), c.ID, secretValue)
	if tok.status != http.StatusOK {
		t.Fatalf("token with the console's secret: %d %s", tok.status, tok.raw)
	}
	show := b.get("/admin/apps/" + c.ID)
	if !strings.Contains(show.body, "alice") || !strings.Contains(show.body, "Bamboo") {
		t.Fatal("application page lacks the grant")
	}

	// Credentials again: only after re-entering the password.
	p := b.get("/admin/apps/" + c.ID + "/credentials")
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location().Path, "/admin/reauth") {
		t.Fatalf("credentials without re-authentication: %d %s", p.status, p.header.Get("Location"))
	}
	reauth := b.get(p.location().RequestURI())
	if wrong := b.submit(reauth, "/admin/reauth", "password", "not-it"); wrong.status != http.StatusUnauthorized {
		t.Fatalf("re-authentication with a wrong password: %d", wrong.status)
	}
	ok := b.submit(reauth, "/admin/reauth", "password", "root-password")
	if ok.status != http.StatusSeeOther {
		t.Fatalf("re-authentication: %d", ok.status)
	}
	view := b.get(ok.location().RequestURI())
	if m := secretField.FindStringSubmatch(view.body); m == nil || m[1] != secretValue {
		t.Fatalf("credentials page does not show the secret: %d", view.status)
	}
	if events, _ := e.node.Store.ListAudit(ctx, store.AuditFilter{Kind: "client.secret.view"}); len(events) != 1 || events[0].Actor != "root" {
		t.Fatalf("credential view not audited: %+v", events)
	}
	// The window closes.
	e.clock.Advance(6 * time.Minute)
	if p := b.get("/admin/apps/" + c.ID + "/credentials"); p.status != http.StatusSeeOther {
		t.Fatalf("credentials after the secure window: %d", p.status)
	}

	// Regenerate, which needs the password again too: the old secret stops working.
	confirmRotate := b.follow(b.submit(b.follow(b.get("/admin/apps/"+c.ID+"/rotate")), "/admin/reauth", "password", "root-password"))
	rotated := b.follow(b.submit(confirmRotate, "/admin/apps/"+c.ID+"/rotate"))
	m = secretField.FindStringSubmatch(rotated.body)
	if m == nil || m[1] == secretValue {
		t.Fatalf("rotate: %d", rotated.status)
	}
	if r := e.token(form("grant_type", "refresh_token", "refresh_token", tok.str("refresh_token")), c.ID, secretValue); r.status != http.StatusUnauthorized {
		t.Fatalf("old secret after regeneration: %d", r.status)
	}

	// Disable: its tokens stop working; enable again.
	b.post("/admin/apps/"+c.ID+"/enabled", url.Values{"csrf_token": {b.csrf()}, "enabled": {"false"}})
	if me := e.myself(tok.str("access_token")); me.status != http.StatusUnauthorized {
		t.Fatalf("token of a disabled application: %d", me.status)
	}
	b.post("/admin/apps/"+c.ID+"/enabled", url.Values{"csrf_token": {b.csrf()}, "enabled": {"true"}})
	if me := e.myself(tok.str("access_token")); me.status != http.StatusOK {
		t.Fatalf("token after re-enabling: %d", me.status)
	}

	// Edit with a bad redirect URI: refused on the form, nothing saved.
	edit := b.post("/admin/apps/"+c.ID+"/edit", pageForm("app", url.Values{"csrf_token": {b.csrf()}, "name": {"Bamboo 2"}, "redirect_uris": {"javascript:alert(1)"}, "scope": {"READ"}, "type": {"confidential"}, "grant": {"authorization_code"}, "enabled": {"on"}}))
	if edit.status != http.StatusBadRequest || !strings.Contains(edit.body, "role=\"alert\"") {
		t.Fatalf("bad edit: %d", edit.status)
	}
	if got, _ := e.node.Apps.Get(ctx, c.ID); got.Name != "Bamboo" {
		t.Fatal("a refused edit was saved")
	}

	// Delete with confirmation: every token is revoked.
	confirm := b.get("/admin/apps/" + c.ID + "/delete")
	if !strings.Contains(confirm.body, "Bamboo") {
		t.Fatal("no confirmation page")
	}
	b.submit(confirm, "/admin/apps/"+c.ID+"/delete")
	if _, err := e.node.Apps.Get(ctx, c.ID); err == nil {
		t.Fatal("application not deleted")
	}
	if me := e.myself(tok.str("access_token")); me.status != http.StatusUnauthorized {
		t.Fatalf("token of a deleted application: %d", me.status)
	}
}

func pngOf(w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	img.Set(0, 0, color.RGBA{0, 82, 204, 255})
	var buf bytes.Buffer
	png.Encode(&buf, img)
	return buf.Bytes()
}

// uploadLogo posts a multipart logo form.
func (b *browser) uploadLogo(clientID string, data []byte, csrf string) page {
	b.e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if csrf != "" {
		mw.WriteField("csrf_token", csrf)
	}
	fw, _ := mw.CreateFormFile("logo", "logo.png")
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", b.e.base+"/admin/apps/"+clientID+"/logo", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.do(req)
}

func TestConsoleLogo(t *testing.T) {
	e, b := consoleEnv(t)
	c, _ := e.createClient(app.Registration{})
	cases := []struct {
		name   string
		data   []byte
		status int
	}{
		{"html pretending", []byte("<html><script>alert(1)</script></html>"), http.StatusBadRequest},
		{"gif", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), http.StatusBadRequest},
		{"truncated png", pngOf(10, 10)[:30], http.StatusBadRequest},
		{"too many pixels", pngOf(2000, 10), http.StatusBadRequest},
		{"too many bytes", bytes.Repeat([]byte{0}, 600<<10), http.StatusRequestEntityTooLarge},
	}
	for _, tc := range cases {
		if p := b.uploadLogo(c.ID, tc.data, b.csrf()); p.status != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, p.status, tc.status)
		}
	}
	if p := b.get("/logo/" + c.ID); p.status != http.StatusNotFound {
		t.Fatalf("a refused upload left a logo: %d", p.status)
	}
	if p := b.uploadLogo(c.ID, pngOf(64, 64), ""); p.status != http.StatusForbidden {
		t.Fatalf("logo upload without CSRF token: %d", p.status)
	}
	if p := b.uploadLogo(c.ID, pngOf(64, 64), b.csrf()); p.status != http.StatusSeeOther {
		t.Fatalf("valid logo: %d %s", p.status, p.body)
	}
	logo := b.get("/logo/" + c.ID)
	if logo.status != http.StatusOK || logo.header.Get("Content-Type") != "image/png" || logo.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("logo served as %d %q", logo.status, logo.header.Get("Content-Type"))
	}
	if _, _, err := image.Decode(strings.NewReader(logo.body)); err != nil {
		t.Fatal("the served logo is not an image")
	}
	// The consent page shows it.
	e.createUser("alice", "alice-password", store.LevelUser)
	alice := e.newBrowser()
	alice.signIn("alice", "alice-password")
	if consent := alice.authorize(authParams(c, "READ")); !strings.Contains(consent.body, "/logo/"+c.ID) {
		t.Fatal("consent page lacks the logo")
	}
}

func TestConsoleUsers(t *testing.T) {
	e, b := consoleEnv(t)
	ctx := context.Background()
	created := b.post("/admin/users/new", pageForm("new user", url.Values{"csrf_token": {b.csrf()}, "username": {"bob"}, "password": {"bob-password"}, "level": {"admin"}, "groups": {"dev, ops"}}))
	if created.status != http.StatusSeeOther {
		t.Fatalf("create user: %d %s", created.status, created.body)
	}
	bob, err := e.node.Users.ByUsername(ctx, "bob")
	if err != nil || bob.Level != store.LevelAdmin || len(bob.Groups) != 2 {
		t.Fatalf("bob = %+v, %v", bob, err)
	}
	if list := b.get("/admin/users"); !strings.Contains(list.body, "bob") || !strings.Contains(list.body, "ops") {
		t.Fatal("user list lacks bob or his groups")
	}
	// The last system administrator cannot demote or disable themselves.
	for _, change := range []url.Values{pageForm("user", url.Values{"level": {"admin"}}), pageForm("user", url.Values{"level": {"system-admin"}, "disabled": {"on"}})} {
		change.Set("csrf_token", b.csrf())
		if p := b.post("/admin/users/root", change); p.status != http.StatusBadRequest || !strings.Contains(p.body, "last system administrator") {
			t.Fatalf("locking out the last system administrator: %d", p.status)
		}
	}
	if root, _ := e.node.Users.ByUsername(ctx, "root"); root.Level != store.LevelSystemAdmin || root.Disabled {
		t.Fatal("the last system administrator was changed")
	}
	// Disabling bob ends his sessions at once.
	bobBrowser := e.newBrowser()
	bobBrowser.signIn("bob", "bob-password")
	b.post("/admin/users/bob", pageForm("user", url.Values{"csrf_token": {b.csrf()}, "level": {"admin"}, "disabled": {"on"}, "groups": {"dev"}}))
	if p := bobBrowser.get("/admin/apps"); p.status != http.StatusSeeOther {
		t.Fatalf("a disabled user's session still works: %d", p.status)
	}
	// A password reset needs a secure administrator session: without one it
	// goes to the password page, which comes back to bob's page, and sets
	// nothing; with one the reset password works and the old one does not.
	b.post("/admin/users/bob", pageForm("user", url.Values{"csrf_token": {b.csrf()}, "level": {"admin"}, "groups": {"dev"}}))
	reset := func() page {
		return b.post("/admin/users/bob/password", url.Values{"csrf_token": {b.csrf()}, "password": {"new-bob-password"}})
	}
	p := reset()
	if loc := p.location(); p.status != http.StatusSeeOther || loc.Path != "/admin/reauth" || loc.Query().Get("next") != "/admin/users/bob" {
		t.Fatalf("a reset outside a secure session: %d to %q", p.status, p.header.Get("Location"))
	}
	if p := e.newBrowser().signIn("bob", "bob-password"); p.status != http.StatusSeeOther {
		t.Fatalf("the password changed without re-authentication: %d", p.status)
	}
	back := b.submit(b.follow(p), "/admin/reauth", "password", "root-password")
	if back.status != http.StatusSeeOther || back.location().Path != "/admin/users/bob" {
		t.Fatalf("after re-authentication: %d to %q", back.status, back.header.Get("Location"))
	}
	if p := reset(); p.status != http.StatusSeeOther || p.location().Path != "/admin/users/bob" {
		t.Fatalf("a reset in a secure session: %d to %q", p.status, p.header.Get("Location"))
	}
	if p := e.newBrowser().signIn("bob", "new-bob-password"); p.status != http.StatusSeeOther {
		t.Fatalf("sign-in with the reset password: %d", p.status)
	}
	// A plain user cannot reach the console.
	e.createUser("carol", "carol-password", store.LevelUser)
	carol := e.newBrowser()
	carol.signIn("carol", "carol-password")
	if p := carol.get("/admin/apps"); p.status != http.StatusForbidden {
		t.Fatalf("a user opened the console: %d", p.status)
	}
	if p := carol.post("/admin/users/carol", url.Values{"csrf_token": {carol.csrf()}, "level": {"system-admin"}}); p.status != http.StatusForbidden {
		t.Fatalf("a user changed their own level: %d", p.status)
	}
}

func TestAuthorizedApplicationsPage(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "alice-password", store.LevelUser)
	e.createUser("mallory", "mallory-password", store.LevelUser)
	c, secretValue := e.createClient(app.Registration{Name: "Sourcetree"})
	alice := e.newBrowser()
	alice.signIn("alice", "alice-password")
	tok := e.token(form("grant_type", "authorization_code", "code", alice.code(authParams(c, "READ")), "redirect_uri", callback), c.ID, secretValue)
	// A second consent to the same application, with another scope.
	tok2 := e.token(form("grant_type", "authorization_code", "code", alice.code(authParams(c, "WRITE")), "redirect_uri", callback), c.ID, secretValue)
	page := alice.get("/plugins/servlet/oauth2/authorized-apps")
	for _, want := range []string{"Sourcetree", "READ", "WRITE", "client_id"} {
		if !strings.Contains(page.body, want) {
			t.Fatalf("authorized-apps page lacks %q", want)
		}
	}
	if n := strings.Count(page.body, `<li class="grant">`); n != 1 {
		t.Fatalf("two consents to one application show as %d cards, want 1", n)
	}

	// Someone else cannot revoke it.
	mallory := e.newBrowser()
	mallory.signIn("mallory", "mallory-password")
	mallory.post("/plugins/servlet/oauth2/authorized-apps/revoke", url.Values{"csrf_token": {mallory.csrf()}, "client_id": {c.ID}})
	if !e.active(tok.str("access_token"), c.ID, secretValue) {
		t.Fatal("another user revoked alice's grant")
	}
	// Without the CSRF token nothing happens.
	if p := alice.post("/plugins/servlet/oauth2/authorized-apps/revoke", url.Values{"client_id": {c.ID}}); p.status != http.StatusForbidden {
		t.Fatalf("revoke without CSRF: %d", p.status)
	}
	// Nor without an application, or with two: the form names one (an empty
	// one used to mean every application).
	other, otherSecret := e.createClient(app.Registration{Name: "Other"})
	otherTok := e.token(form("grant_type", "authorization_code", "code", alice.code(authParams(other, "READ")), "redirect_uri", callback), other.ID, otherSecret)
	for name, f := range map[string]url.Values{"no client_id": {}, "an empty client_id": {"client_id": {""}}, "two client_ids": {"client_id": {c.ID, other.ID}}} {
		f.Set("csrf_token", alice.csrf())
		if p := alice.post("/plugins/servlet/oauth2/authorized-apps/revoke", f); p.status != http.StatusBadRequest {
			t.Errorf("revoke with %s: %d, want 400", name, p.status)
		}
	}
	if !e.active(tok.str("access_token"), c.ID, secretValue) || !e.active(otherTok.str("access_token"), other.ID, otherSecret) {
		t.Fatal("a malformed revoke ended tokens")
	}
	// Alice revokes: every token of both grants ends at once.
	alice.submit(page, "/plugins/servlet/oauth2/authorized-apps/revoke")
	for _, tk := range []tokenResult{tok, tok2} {
		if e.active(tk.str("access_token"), c.ID, secretValue) || e.active(tk.str("refresh_token"), c.ID, secretValue) {
			t.Fatal("tokens still active after revoking the application")
		}
	}
	if after := alice.get("/plugins/servlet/oauth2/authorized-apps"); strings.Contains(after.body, "Sourcetree") {
		t.Fatal("the revoked grant is still listed")
	}
	if events, _ := e.node.Store.ListAudit(context.Background(), store.AuditFilter{Kind: "grant.revoke"}); len(events) != 2 || events[0].Actor != "alice" {
		t.Fatalf("revocation not audited: %+v", events)
	}
}

func TestSessionsEndEverywhereAndWhenIdle(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "alice-password", store.LevelUser)
	laptop, phone := e.newBrowser(), e.newBrowser()
	laptop.signIn("alice", "alice-password")
	phone.signIn("alice", "alice-password")
	if p := phone.get("/plugins/servlet/oauth2/authorized-apps"); p.status != http.StatusOK {
		t.Fatalf("phone not signed in: %d", p.status)
	}
	e.clock.Advance(time.Millisecond)
	if p := laptop.post("/logout/everywhere", url.Values{"csrf_token": {laptop.csrf()}}); p.status != http.StatusSeeOther {
		t.Fatalf("sign out everywhere: %d", p.status)
	}
	for name, b := range map[string]*browser{"laptop": laptop, "phone": phone} {
		if p := b.get("/plugins/servlet/oauth2/authorized-apps"); p.status != http.StatusSeeOther {
			t.Fatalf("%s still signed in after signing out everywhere: %d", name, p.status)
		}
	}
	// Idle timeout (30 minutes by default).
	laptop.signIn("alice", "alice-password")
	e.clock.Advance(31 * time.Minute)
	if p := laptop.get("/plugins/servlet/oauth2/authorized-apps"); p.status != http.StatusSeeOther {
		t.Fatalf("session survived the idle timeout: %d", p.status)
	}
}

// TestEveryStateChangingFormNeedsItsCSRFToken posts each form without its
// token, as an attacker's page would, and checks it is refused with nothing changed.
func TestEveryStateChangingFormNeedsItsCSRFToken(t *testing.T) {
	e, b := consoleEnv(t)
	ctx := context.Background()
	e.createUser("alice", "alice-password", store.LevelUser)
	c, secretValue := e.createClient(app.Registration{})
	alice := e.newBrowser()
	alice.signIn("alice", "alice-password")
	alice.code(authParams(c, "READ"))
	grants, _ := e.node.Admin.Grants(ctx, store.TokenFilter{})
	grantID := "none"
	if len(grants) > 0 {
		grantID = grants[0].ID
	}
	before, _ := e.node.Apps.Get(ctx, c.ID)
	forms := map[string]url.Values{
		"/logout":            {},
		"/logout/everywhere": {},
		"/account/password":  {"current_password": {"root-password"}, "new_password": {"evil-password"}, "new_password_repeat": {"evil-password"}},
		"/plugins/servlet/oauth2/authorized-apps/revoke": {"client_id": {c.ID}},
		"/admin/apps/new":                      {"name": {"evil"}, "redirect_uris": {callback}, "scope": {"READ"}},
		"/admin/apps/" + c.ID + "/edit":        {"name": {"evil"}, "redirect_uris": {callback}, "scope": {"READ"}},
		"/admin/apps/" + c.ID + "/enabled":     {"enabled": {"false"}},
		"/admin/apps/" + c.ID + "/rotate":      {},
		"/admin/apps/" + c.ID + "/delete":      {},
		"/admin/grants/" + grantID + "/revoke": {},
		"/admin/reauth":                        {"password": {"root-password"}},
		"/admin/users/new":                     {"username": {"evil"}, "password": {"evil-password"}, "level": {"system-admin"}},
		"/admin/users/alice":                   {"level": {"system-admin"}},
		"/admin/users/alice/password":          {"password": {"evil-password"}},
		"/admin/users/alice/signout":           {},
		"/plugins/servlet/oauth2/consent":      authParams(c, "READ"),
	}
	for path, f := range forms {
		f.Set("decision", "allow")
		if p := b.post(path, f); p.status != http.StatusForbidden {
			t.Errorf("POST %s without CSRF token: %d, want 403", path, p.status)
		}
		// A wrong token is no better than none.
		f.Set("csrf_token", "forged")
		if p := b.post(path, f); p.status != http.StatusForbidden {
			t.Errorf("POST %s with a forged CSRF token: %d, want 403", path, p.status)
		}
	}
	if p := e.newBrowser().post("/login", url.Values{"username": {"alice"}, "password": {"alice-password"}}); p.status != http.StatusForbidden {
		t.Errorf("sign-in without CSRF token: %d", p.status)
	}
	after, err := e.node.Apps.Get(ctx, c.ID)
	if err != nil || after.Name != before.Name || !after.Enabled || !e.node.Apps.CheckSecret(after, secretValue) {
		t.Fatalf("the application changed: %+v %v", after, err)
	}
	if u, _ := e.node.Users.ByUsername(ctx, "alice"); u.Level != store.LevelUser {
		t.Fatal("alice's level changed")
	}
	if _, err := e.node.Users.ByUsername(ctx, "evil"); err == nil {
		t.Fatal("a user was created")
	}
	if p := b.get("/admin/apps"); p.status != http.StatusOK {
		t.Fatal("the administrator was signed out by a forged request")
	}
	if n, _ := e.node.Store.ListAudit(ctx, store.AuditFilter{Kind: "client."}); len(n) != 0 {
		t.Fatalf("refused requests left audit events: %+v", n)
	}
}
