package e2e

import (
	"net/http"
	"os"
	"testing"

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
