package e2e

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/store"
)

// TestAnonymousTrafficWritesNothing: page views by visitors without a
// session — unknown paths, the sign-in page, refused authorization requests,
// integration callbacks —
// create no session row; signing in still works (its form token lives in a
// cookie until then), and the sign-in creates exactly one session.
func TestAnonymousTrafficWritesNothing(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", alicePassword, store.LevelUser)
	c, _ := e.createClient(app.Registration{})
	db := openSQLiteFile(t, e.node.Config.SQLitePath())
	sessions := func() int {
		t.Helper()
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM sessions`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for i := range 50 {
		b := e.newBrowser() // a new visitor each time, as a crawler would be
		for _, path := range []string{
			"/no-such-page-" + string(rune('a'+i%26)),
			"/login",
			"/login?next=/admin",
			"/rest/oauth2/latest/authorize?client_id=nope",
			"/rest/oauth2/latest/authorize?" + url.Values{"client_id": {c.ID}, "redirect_uri": {"https://evil.example/cb"}}.Encode(),
			"/admin/apps",
			// The provider's return to an integration: unknown, or with a state.
			"/plugins/servlet/oauth2/integrations/callback/unknown-key",
			"/plugins/servlet/oauth2/integrations/callback/unknown-key?state=x&code=y",
		} {
			b.follow(b.get(path))
		}
	}
	if n := sessions(); n != 0 {
		t.Fatalf("anonymous traffic wrote %d session rows, want 0", n)
	}
	b := e.newBrowser()
	if p := b.signIn("alice", alicePassword); p.status != http.StatusSeeOther {
		t.Fatalf("sign-in with the pre-session form token: %d", p.status)
	}
	if n := sessions(); n != 1 {
		t.Fatalf("%d session rows after one sign-in, want 1", n)
	}
	// A sign-in post without the form token's cookie is refused.
	other := e.newBrowser()
	f := formFields(e.newBrowser().get("/login").body)
	f.Set("username", "alice")
	f.Set("password", alicePassword)
	if p := other.post("/login", f); p.status != http.StatusForbidden {
		t.Fatalf("a sign-in form posted from another browser: %d, want 403", p.status)
	}
}
