package e2e

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

// The reproduction of a lost update: node B caches an application (1 s TTL),
// node A regenerates its secret, and within that second an administrator
// saves the application's form on node B. The edit must keep the new secret:
// it is applied to the row as stored, never to node B's cached copy.
func TestClusterEditRightAfterRotationKeepsTheNewSecret(t *testing.T) {
	c := newCluster(t, 2)
	app := c.createClient()
	nodeA, nodeB := c.node(0), c.node(1)
	// Whether a node accepts a secret: introspection authenticates the
	// application (200 for any token) or refuses it (401).
	accepts := func(e *env, secretValue string) bool {
		t.Helper()
		switch r := e.postForm("/rest/oauth2/latest/introspect", form("token", "gat_nothing"), app.ID, secretValue); r.status {
		case http.StatusOK:
			return true
		case http.StatusUnauthorized:
			return false
		default:
			t.Fatalf("introspect: %d %s", r.status, r.raw)
			return false
		}
	}

	// Open the rotation's confirmation on node A, re-authenticated.
	b := c.signedIn(nodeA)
	rotatePath := "/admin/apps/" + app.ID + "/rotate"
	confirm := b.follow(b.submit(b.follow(b.get(rotatePath)), "/admin/reauth", "password", "admin-password-123"))
	if confirm.status != http.StatusOK {
		t.Fatalf("rotation confirmation: %d", confirm.status)
	}
	editForm := pageForm("app", url.Values{
		"name": {"Edited on B"}, "redirect_uris": {callback}, "scope": {"READ", "WRITE"}, "type": {"confidential"},
		"grant": {"authorization_code", "refresh_token"}, "enabled": {"on"},
	})

	// Node B serves a request with the current secret: it caches the application.
	if !accepts(nodeB, app.Secret) {
		t.Fatal("node B refuses the application's secret")
	}
	// Within the second: rotate on node A, then save the form on node B.
	rotated := b.follow(b.submit(confirm, rotatePath))
	m := secretField.FindStringSubmatch(rotated.body)
	if rotated.status != http.StatusOK || m == nil {
		t.Fatalf("rotate on node A: %d", rotated.status)
	}
	newSecret := m[1]
	b.e = nodeB
	editForm.Set("csrf_token", b.csrf())
	if p := b.post("/admin/apps/"+app.ID+"/edit", editForm); p.status != http.StatusSeeOther {
		t.Fatalf("edit on node B: %d %s", p.status, p.body)
	}

	// Once both nodes' caches have expired, each reads the stored row: the
	// new secret must hold there, and the old one stay dead.
	time.Sleep(1100 * time.Millisecond)
	for i, e := range []*env{nodeA, nodeB} {
		if accepts(e, app.Secret) || !accepts(e, newSecret) {
			t.Fatalf("node %d: the old secret works or the new one does not: the edit on node B brought the old secret back", i+1)
		}
	}
	var name string
	if err := c.db.QueryRow(`SELECT name FROM clients WHERE id = $1`, app.ID).Scan(&name); err != nil || name != "Edited on B" {
		t.Fatalf("the edit was lost: name %q, %v", name, err)
	}
}
