package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
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

// Twenty administrators' creations of one application name, spread over two
// nodes and sent at once, and then as many renames of other applications to
// one name: exactly one of each is kept, the rest refused with the form's
// "name taken" error. Users tell applications apart on the consent page by
// name; the check used to run before the transaction, so all twenty passed.
func TestClusterApplicationNamesStayUnique(t *testing.T) {
	c := newCluster(t, 2)
	browsers := []*browser{c.signedIn(c.node(0)), c.signedIn(c.node(1))}
	const n = 20
	var others []string
	for range n {
		others = append(others, c.createClient().ID)
	}
	body := func(name string) string {
		return fmt.Sprintf(`{"name":%q,"redirect_uris":[%q],"scopes":["READ"]}`, name, callback)
	}
	statuses := func(send func(i int, b *browser) tokenResult) (created int) {
		results := make([]tokenResult, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { results[i] = send(i, browsers[i%2]) })
		}
		wg.Wait()
		for i, r := range results {
			switch {
			case r.status == http.StatusOK || r.status == http.StatusCreated:
				created++
			case r.status != http.StatusBadRequest || !strings.Contains(r.raw, "another application is named"):
				t.Errorf("request %d: %d %s", i, r.status, r.raw)
			}
		}
		return created
	}
	created := statuses(func(i int, b *browser) tokenResult {
		return b.e.jsonAs(b, "POST", "/rest/oauth2/latest/client", body([]string{"Payroll", "PAYROLL"}[i%2]))
	})
	if created != 1 {
		t.Errorf("%d of %d concurrent creations of one name succeeded, want 1", created, n)
	}
	renamed := statuses(func(i int, b *browser) tokenResult {
		return b.e.jsonAs(b, "PUT", "/rest/oauth2/latest/client/"+others[i], body("Billing"))
	})
	if renamed != 1 {
		t.Errorf("%d of %d concurrent renames to one name succeeded, want 1", renamed, n)
	}
	if got := c.count(`SELECT COUNT(*) FROM clients WHERE lower(name) IN ('payroll', 'billing')`); got != 2 {
		t.Errorf("%d applications are named Payroll or Billing, want 2", got)
	}
}
