package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Regenerating a secret shows a working one, so it needs the same recent
// password re-entry as viewing credentials: a signed-in session alone (a
// session left open, a stolen cookie) must not yield a usable secret.
func TestConsoleRotationNeedsReauthentication(t *testing.T) {
	e, b := consoleEnv(t)
	ctx := context.Background()
	c, secretValue := e.createClient(app.Registration{Name: "Bamboo", Grants: []string{app.GrantClientCredentials}, RedirectURIs: []string{}})
	rotatePath := "/admin/apps/" + c.ID + "/rotate"
	secretWorks := func(s string) bool {
		return e.token(form("grant_type", "client_credentials"), c.ID, s).status == http.StatusOK
	}
	rotations := func() int {
		events, err := e.node.Store.ListAudit(ctx, store.AuditFilter{Kind: "client.secret.rotate"})
		if err != nil {
			t.Fatal(err)
		}
		return len(events)
	}
	wantReauth := func(what string, p page) {
		t.Helper()
		loc := p.location()
		if p.status != http.StatusSeeOther || loc.Path != "/admin/reauth" || loc.Query().Get("next") != rotatePath {
			t.Fatalf("%s: %d to %q, want 303 to the password page coming back to %s", what, p.status, p.header.Get("Location"), rotatePath)
		}
		if secretField.MatchString(p.body) {
			t.Fatalf("%s shows a secret", what)
		}
	}

	// Without a recent re-authentication: neither the confirmation nor the
	// post rotates; the secret in use keeps working.
	wantReauth("the confirmation page", b.get(rotatePath))
	wantReauth("a rotation post", b.post(rotatePath, url.Values{"csrf_token": {b.csrf()}}))
	if !secretWorks(secretValue) || rotations() != 0 {
		t.Fatal("a rotation without re-authentication changed the secret")
	}

	// The password page brings the administrator back to the confirmation.
	reauth := b.follow(b.get(rotatePath))
	if !strings.Contains(reauth.body, `action="/admin/reauth"`) {
		t.Fatalf("not the password page: %d", reauth.status)
	}
	base, _ := url.Parse(e.base)
	sessionBefore := b.http.Jar.Cookies(base)
	back := b.submit(reauth, "/admin/reauth", "password", "root-password")
	if back.status != http.StatusSeeOther || back.location().Path != rotatePath {
		t.Fatalf("after re-authentication: %d to %q", back.status, back.header.Get("Location"))
	}
	// The secure session is a new session (ASVS 3.2.1): a copy of the cookie
	// taken before the password was typed again does not open it.
	stolen := e.newBrowser()
	stolen.http.Jar.SetCookies(base, sessionBefore)
	if p := stolen.get(rotatePath); p.status == http.StatusOK || secretField.MatchString(p.body) {
		t.Fatalf("the session cookie from before the re-authentication reaches the confirmation: %d", p.status)
	}
	confirm := b.get(back.location().RequestURI())
	if confirm.status != http.StatusOK || !strings.Contains(confirm.body, `action="`+rotatePath+`"`) {
		t.Fatalf("confirmation page: %d", confirm.status)
	}
	rotated := b.follow(b.submit(confirm, rotatePath))
	m := secretField.FindStringSubmatch(rotated.body)
	if rotated.status != http.StatusOK || m == nil || m[1] == secretValue {
		t.Fatalf("rotation after re-authentication: %d", rotated.status)
	}
	if secretWorks(secretValue) || !secretWorks(m[1]) {
		t.Fatal("after rotation the old secret must fail and the new one work")
	}
	if n := rotations(); n != 1 {
		t.Fatalf("%d rotations audited, want 1", n)
	}

	// The secure session closes after its window, for rotation as for viewing.
	e.clock.Advance(6 * time.Minute)
	wantReauth("a rotation post after the window", b.post(rotatePath, url.Values{"csrf_token": {b.csrf()}}))
	if !secretWorks(m[1]) || rotations() != 1 {
		t.Fatal("a rotation after the window changed the secret")
	}
}

// The application form sets and clears "may introspect every application's
// tokens", and the flag decides what the application learns at the
// introspection endpoint.
func TestConsoleIntrospectAny(t *testing.T) {
	e, b := consoleEnv(t)
	ctx := context.Background()
	owner, ownerSecret := e.createClient(app.Registration{Name: "Owner", Grants: []string{app.GrantClientCredentials}, RedirectURIs: []string{}})
	tok := e.token(form("grant_type", "client_credentials"), owner.ID, ownerSecret).str("access_token")
	fields := func(introspectAny bool) url.Values {
		f := pageForm("app", url.Values{
			"csrf_token": {b.csrf()}, "name": {"Mail server"}, "scope": {"READ"}, "type": {"confidential"},
			"grant": {"client_credentials"}, "enabled": {"on"},
		})
		if introspectAny {
			f.Set("introspect_any", "on")
		}
		return f
	}

	newForm := b.get("/admin/apps/new")
	if !strings.Contains(newForm.body, `name="introspect_any"`) || strings.Contains(newForm.body, `name="introspect_any" aria-describedby="introspect_any_help" checked`) {
		t.Fatal("the new application form lacks the introspection checkbox, or has it ticked")
	}
	created := b.follow(b.post("/admin/apps/new", fields(true)))
	m := secretField.FindStringSubmatch(created.body)
	if created.status != http.StatusOK || m == nil {
		t.Fatalf("create: %d", created.status)
	}
	var rs store.Client
	apps, _ := e.node.Apps.List(ctx)
	for _, a := range apps {
		if a.Name == "Mail server" {
			rs = a
		}
	}
	if !rs.IntrospectAny {
		t.Fatalf("the ticked box was not stored: %+v", rs)
	}
	if !e.active(tok, rs.ID, m[1]) {
		t.Fatal("a resource server allowed to introspect any token sees another application's token as inactive")
	}
	edit := b.get("/admin/apps/" + rs.ID + "/edit")
	if !strings.Contains(edit.body, `name="introspect_any" aria-describedby="introspect_any_help" checked`) {
		t.Fatal("the edit form does not show the flag ticked")
	}

	// Unticking it on the edit form: the application sees only its own tokens.
	if p := b.post("/admin/apps/"+rs.ID+"/edit", fields(false)); p.status != http.StatusSeeOther {
		t.Fatalf("edit: %d %s", p.status, p.body)
	}
	if got, _ := e.node.Apps.Get(ctx, rs.ID); got.IntrospectAny {
		t.Fatal("the unticked box was not stored")
	}
	if e.active(tok, rs.ID, m[1]) {
		t.Fatal("an application without the flag learns about another application's token")
	}
	if !e.active(tok, owner.ID, ownerSecret) {
		t.Fatal("the owner no longer sees its own token")
	}

	// Japanese: the box is labelled in Japanese.
	b.lang = "ja"
	if ja := b.get("/admin/apps/" + rs.ID + "/edit"); !strings.Contains(ja.body, "すべてのアプリケーションのトークンを照会できる") {
		t.Fatal("the Japanese form does not label the introspection checkbox")
	}
}

// The page that shows a new secret once shows that secret, to an
// administrator still allowed to see it, soon after it was made: left
// unopened, it showed whatever secret the application had later (one a
// system administrator rotated, after giving the application the
// INTEGRATION_TOKEN scope an administrator may not manage), without
// re-authentication or audit, for the session's whole life.
func TestNewSecretPageShowsOnlyThatSecret(t *testing.T) {
	e, root := consoleEnv(t)
	e.createUser("carol", "carol-password", store.LevelAdmin)
	carol := e.newBrowser()
	if p := carol.signIn("carol", "carol-password"); p.status != http.StatusSeeOther {
		t.Fatalf("carol's sign-in: %d", p.status)
	}
	create := func(b *browser, name string) (newSecretPage string) {
		t.Helper()
		posted := b.post("/admin/apps/new", pageForm("app", url.Values{
			"csrf_token": {b.csrf()}, "name": {name}, "redirect_uris": {callback},
			"scope": {"READ"}, "type": {"confidential"}, "grant": {"authorization_code", "client_credentials"}, "enabled": {"on"},
		}))
		if posted.status != http.StatusSeeOther || !strings.HasSuffix(posted.header.Get("Location"), "/new-secret") {
			t.Fatalf("create %s: %d", name, posted.status)
		}
		return posted.header.Get("Location")
	}
	appOf := func(page string) store.Client {
		t.Helper()
		c, err := e.node.Apps.Get(t.Context(), strings.Split(page, "/")[3])
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	shown := func(b *browser, page string) bool {
		t.Helper()
		p := b.follow(b.get(page))
		return secretField.MatchString(p.body)
	}

	// Rotated by someone else before the page was opened: not shown.
	page := create(root, "Rotated")
	if _, err := e.node.Apps.RotateSecret(t.Context(), appOf(page).ID, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // past the one-second application cache
	if shown(root, page) {
		t.Fatal("the page showed a secret rotated since by someone else")
	}

	// Opened too late: not shown.
	page = create(root, "Late")
	e.clock.Advance(6 * time.Minute)
	if shown(root, page) {
		t.Fatal("the page showed the secret six minutes after it was made")
	}

	// Given INTEGRATION_TOKEN meanwhile by a system administrator: an
	// administrator may no longer see its secret.
	page = create(carol, "Carol's")
	e.updateClient(appOf(page), func(r *app.Registration) { r.Scopes = append(r.Scopes, "INTEGRATION_TOKEN") })
	time.Sleep(1100 * time.Millisecond)
	if shown(carol, page) {
		t.Fatal("an administrator saw the secret of an application holding INTEGRATION_TOKEN")
	}

	// The ordinary case still shows it, once.
	page = create(root, "Plain")
	if !shown(root, page) || shown(root, page) {
		t.Fatal("the page did not show its new secret exactly once")
	}
}

// Signing in as someone else in the same browser, without signing out
// first, starts from an empty session: the previous administrator's secure
// session and the mark of the secret they just made stay theirs.
func TestSignInAsAnotherUserKeepsNothingOfThePrevious(t *testing.T) {
	e, b := consoleEnv(t)
	e.createUser("bob", "bob-password", store.LevelSystemAdmin)
	c, _ := e.createClient(app.Registration{Name: "Bamboo", Grants: []string{app.GrantClientCredentials}, RedirectURIs: []string{}})
	rotatePath := "/admin/apps/" + c.ID + "/rotate"
	newSecretPath := "/admin/apps/" + c.ID + "/new-secret"

	// root re-authenticates and rotates, but leaves the once-only page unopened.
	reauth := b.follow(b.get(rotatePath))
	back := b.submit(reauth, "/admin/reauth", "password", "root-password")
	confirm := b.get(back.location().RequestURI())
	if rotated := b.submit(confirm, rotatePath); rotated.status != http.StatusSeeOther || rotated.location().Path != newSecretPath {
		t.Fatalf("rotation: %d to %q", rotated.status, rotated.header.Get("Location"))
	}

	if p := b.signIn("bob", "bob-password"); p.status != http.StatusSeeOther {
		t.Fatalf("bob's sign-in: %d", p.status)
	}
	if p := b.get(rotatePath); p.status != http.StatusSeeOther || p.location().Path != "/admin/reauth" {
		t.Errorf("bob reached the rotation without re-entering his password: %d to %q", p.status, p.header.Get("Location"))
	}
	if p := b.follow(b.get(newSecretPath)); secretField.MatchString(p.body) {
		t.Error("bob was shown the secret root made")
	}
}

// A public application made confidential in the console gets a secret,
// shown once on the same page as a created application's, and working.
func TestConsoleMadeConfidentialShowsItsSecret(t *testing.T) {
	e, b := consoleEnv(t)
	c, _ := e.createClient(app.Registration{Name: "Was public", Public: true, Scopes: []string{"READ"}})
	f := pageForm("app", url.Values{
		"csrf_token": {b.csrf()}, "name": {"Was public"}, "scope": {"READ"}, "type": {"confidential"},
		"grant": {"client_credentials"}, "enabled": {"on"},
	})
	shown := b.follow(b.post("/admin/apps/"+c.ID+"/edit", f))
	m := secretField.FindStringSubmatch(shown.body)
	if shown.status != http.StatusOK || m == nil {
		t.Fatalf("edit to confidential: %d, no secret shown", shown.status)
	}
	if r := e.token(form("grant_type", "client_credentials", "scope", "READ"), c.ID, m[1]); r.status != http.StatusOK {
		t.Fatalf("the secret shown does not work: %d %s", r.status, r.raw)
	}
	if again := b.get("/admin/apps/" + c.ID + "/new-secret"); strings.Contains(again.body, m[1]) {
		t.Fatal("the secret is shown a second time")
	}
}
