package e2e

import (
	"database/sql"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/web"
)

// An administrative change and its audit event commit together or not at
// all: recorded after the change, in a transaction of its own, the event
// was lost whenever its write failed (a full disk, a crash in between) and
// the change stood unaudited. Here a trigger makes every audit insert fail:
// no change may then be made, through the admin API or the console.
func TestAdminChangeCommitsWithItsEvent(t *testing.T) {
	e := newEnv(t)
	b := e.signedInRoot()
	e.createUser("uma", "uma-password", store.LevelUser)
	shown, secretValue := e.createClient(app.Registration{Name: "shown", Grants: []string{app.GrantClientCredentials}, RedirectURIs: []string{}})
	outside, err := sql.Open("sqlite", e.node.Config.SQLitePath()+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer outside.Close()
	refuse := func(on bool) {
		t.Helper()
		q := `DROP TRIGGER refuse_audit`
		if on {
			q = `CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'the audit log cannot be written'); END`
		}
		if _, err := outside.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	events := func() int {
		t.Helper()
		list, err := e.node.Store.ListAudit(t.Context(), store.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}
	umaBrowser := e.newBrowser()
	if p := umaBrowser.signIn("uma", "uma-password"); p.status != http.StatusSeeOther {
		t.Fatalf("uma's sign-in: %d", p.status)
	}
	before := events()

	refuse(true)
	changes := []struct{ method, path, body string }{
		{"PATCH", "/rest/gatehouse/latest/users/uma", `{"level":"admin","groups":["ops"]}`},
		{"POST", "/rest/gatehouse/latest/users", `{"username":"vic","password":"vic-password-1"}`},
		{"POST", "/rest/oauth2/latest/client", `{"name":"unaudited","redirect_uris":["http://127.0.0.1:1/cb"],"scopes":["READ"]}`},
	}
	for _, c := range changes {
		if r := e.jsonAs(b, c.method, c.path, c.body); r.status < 500 {
			t.Fatalf("%s %s with the audit log unwritable: %d %.300s", c.method, c.path, r.status, r.raw)
		}
	}
	// A user's own password change commits with its event too.
	changeOwn := func() page {
		return umaBrowser.post(web.PathPasswordChange, url.Values{"csrf_token": {umaBrowser.csrf()},
			"current_password": {"uma-password"}, "new_password": {"uma-password-2"}, "new_password_repeat": {"uma-password-2"}})
	}
	if p := changeOwn(); p.status < 500 {
		t.Fatalf("a password change with the audit log unwritable: %d", p.status)
	}
	if _, err := e.node.Users.Authenticate(t.Context(), "uma", "uma-password", netip.MustParseAddr("127.0.0.1")); err != nil {
		t.Fatalf("uma's password changed without an audit event: %v", err)
	}
	// A secret is shown only once its view is on record.
	view := e.jsonAs(b, "POST", "/rest/oauth2/latest/client/"+shown.ID+"/credentials", `{"password":"root-password"}`)
	if view.status < 500 || strings.Contains(view.raw, secretValue) {
		t.Fatalf("a secret view with the audit log unwritable: %d %.300s", view.status, view.raw)
	}
	if u, err := e.node.Users.ByUsername(t.Context(), "uma"); err != nil || u.Level != store.LevelUser || len(u.Groups) != 0 {
		t.Fatalf("uma changed without an audit event: %+v, %v", u, err)
	}
	if _, err := e.node.Users.ByUsername(t.Context(), "vic"); err == nil {
		t.Fatal("vic was created without an audit event")
	}
	clients, err := e.node.Store.ListClients(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range clients {
		if c.Name == "unaudited" {
			t.Fatal("an application was created without an audit event")
		}
	}

	refuse(false)
	for _, c := range changes {
		if r := e.jsonAs(b, c.method, c.path, c.body); r.status >= 300 {
			t.Fatalf("%s %s: %d %.300s", c.method, c.path, r.status, r.raw)
		}
	}
	if p := changeOwn(); p.status != http.StatusSeeOther {
		t.Fatalf("uma's password change: %d", p.status)
	}
	if got := events() - before; got != len(changes)+1 {
		t.Fatalf("%d changes left %d audit events", len(changes)+1, got)
	}
	if view := e.jsonAs(b, "POST", "/rest/oauth2/latest/client/"+shown.ID+"/credentials", `{"password":"root-password"}`); view.status != http.StatusOK || !strings.Contains(view.raw, secretValue) {
		t.Fatalf("the secret view: %d %.300s", view.status, view.raw)
	}
	list, _ := e.node.Store.ListAudit(t.Context(), store.AuditFilter{Kind: "client.create"})
	if len(list) != 1 || list[0].Detail != "unaudited" || list[0].ClientID == "" || list[0].Actor != "root" {
		t.Fatalf("the creation's event = %+v; want the application named, by root", list)
	}
	list, _ = e.node.Store.ListAudit(t.Context(), store.AuditFilter{Kind: "user.update"})
	if len(list) != 1 || list[0].Username != "uma" || !strings.Contains(list[0].Detail, "level user → admin") {
		t.Fatalf("the update's event = %+v", list)
	}
	// An edit that changes nothing says so rather than leave a blank detail.
	if r := e.jsonAs(b, "PATCH", "/rest/gatehouse/latest/users/uma", `{}`); r.status != http.StatusOK {
		t.Fatalf("an empty PATCH: %d %.300s", r.status, r.raw)
	}
	list, _ = e.node.Store.ListAudit(t.Context(), store.AuditFilter{Kind: "user.update"})
	if len(list) != 2 || list[0].Detail != "nothing changed" {
		t.Fatalf("the empty edit's event = %+v", list)
	}
}
