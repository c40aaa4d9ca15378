package e2e

import (
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
)

// Through HTTP: a database file deleted under a running node turns writes
// into 503 temporarily_unavailable with Retry-After (a client retries, a
// load balancer stops sending), and /readyz into 503; reads of what the node
// already holds go on.
func TestDatabaseDeletedUnderTheNode(t *testing.T) {
	e := newEnv(t)
	c, secretValue := e.createClient(app.Registration{Grants: []string{app.GrantClientCredentials}})
	before := e.token(form("grant_type", "client_credentials"), c.ID, secretValue)
	wantOK(t, before)
	if r := e.request("GET", "/readyz", "", nil); r.status != http.StatusOK {
		t.Fatalf("/readyz before: %d %s", r.status, r.raw)
	}
	path := e.node.Config.SQLitePath()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(path + suffix)
	}
	r := e.token(form("grant_type", "client_credentials"), c.ID, secretValue)
	wantError(t, r, http.StatusServiceUnavailable, "temporarily_unavailable")
	if r.header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	if r := e.request("GET", "/readyz", "", nil); r.status != http.StatusServiceUnavailable {
		t.Fatalf("/readyz after: %d %s", r.status, r.raw)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the node made a database again: %v", err)
	}
}

// A signed-in administrator's page views go on while the database cannot
// be written: a view writes only the session's "last seen" mark, and losing
// that one mark (the next view tries again) is no reason to refuse the page,
// as 503 did. A change still gets 503.
func TestPageViewsWhileTheDatabaseCannotBeWritten(t *testing.T) {
	e := newEnv(t)
	b := e.signedInRoot()
	if p := b.get("/admin/users"); p.status != http.StatusOK {
		t.Fatalf("/admin/users: %d", p.status)
	}
	// An application created, its secret not yet seen on the page that
	// shows it once.
	posted := b.post("/admin/apps/new", pageForm("app", url.Values{
		"csrf_token": {b.csrf()}, "name": {"Bamboo"}, "redirect_uris": {callback},
		"scope": {"READ"}, "type": {"confidential"}, "grant": {"authorization_code"}, "enabled": {"on"},
	}))
	if posted.status != http.StatusSeeOther {
		t.Fatalf("create: %d", posted.status)
	}
	second := e.newBrowser()
	if p := second.signIn("root", "root-password"); p.status != http.StatusSeeOther {
		t.Fatalf("a second sign-in: %d", p.status)
	}
	second.get("/admin/users") // its form token saved while the database can be written
	path := e.node.Config.SQLitePath()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(path + suffix)
	}
	e.clock.Advance(5 * time.Minute) // past the interval at which a view records activity
	for range 2 {
		if p := b.get("/admin/users"); p.status != http.StatusOK {
			t.Fatalf("/admin/users with the database unwritable: %d %.300s", p.status, p.body)
		}
	}
	// That page shows the secret only once it can record that it did: a
	// view whose record is lost would show it again at every reload.
	for range 2 {
		if p := b.get(posted.header.Get("Location")); p.status == http.StatusOK || secretField.MatchString(p.body) {
			t.Fatalf("the new-secret page with the database unwritable: %d, secret shown: %v", p.status, secretField.MatchString(p.body))
		}
	}
	if r := e.jsonAs(b, "POST", "/rest/gatehouse/latest/users", `{"username":"vic","password":"vic-password-1"}`); r.status != http.StatusServiceUnavailable {
		t.Fatalf("a change with the database unwritable: %d %.300s", r.status, r.raw)
	}
	// Signing out cannot remove the stored session now, but it still ends
	// the session in this browser (a shared computer): the cookie goes.
	// "Sign out everywhere" too, which cannot record its time either.
	for path, browser := range map[string]*browser{"/logout": b, "/logout/everywhere": second} {
		if p := browser.post(path, url.Values{"csrf_token": {browser.csrf()}}); p.status != http.StatusServiceUnavailable {
			t.Fatalf("%s with the database unwritable: %d", path, p.status)
		}
		if p := browser.get("/admin/users"); p.status != http.StatusSeeOther || !strings.Contains(p.header.Get("Location"), "/login") {
			t.Fatalf("/admin/users after %s: %d to %q; want the sign-in page", path, p.status, p.header.Get("Location"))
		}
	}
}
