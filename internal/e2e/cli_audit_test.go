package e2e

import (
	"encoding/json"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// TestCLIChangesAreAudited: management commands go through the same
// service as the console and the API, so each change is in the audit log
// with the actor cli:<OS user>, and their JSON is the API's.
func TestCLIChangesAreAudited(t *testing.T) {
	bin := buildBinary(t)
	dir := migratedDir(t, bin)
	created := parseCreatedClient(t, cli(t, bin, dir, "client", "create", "--name", "Audited", "--redirect-uri", callback, "--scope", "READ", "--json"))
	cli(t, bin, dir, "client", "show", created.ID, "--show-secret")
	cli(t, bin, dir, "client", "rotate-secret", created.ID)
	cli(t, bin, dir, "client", "disable", created.ID)
	cli(t, bin, dir, "client", "enable", created.ID)
	if _, _, err := runCLIStdin(bin, dir, "carol-password\n", "user", "create", "--username", "carol", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	cli(t, bin, dir, "user", "set-level", "--username", "carol", "--level", "admin")
	cli(t, bin, dir, "user", "disable", "--username", "carol")
	if _, _, err := runCLIStdin(bin, dir, "carol-password-2\n", "user", "set-password", "--username", "carol", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	// The same JSON as the admin API: usage fields included.
	var shown map[string]any
	if err := json.Unmarshal([]byte(cli(t, bin, dir, "client", "show", created.ID, "--json")), &shown); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"active_tokens", "last_used", "has_logo", "updated_at"} {
		if _, ok := shown[k]; !ok {
			t.Errorf("client show --json lacks %q, which the admin API has", k)
		}
	}
	cli(t, bin, dir, "client", "delete", created.ID)

	st, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(dir, "gatehouse-data", "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	events, err := st.ListAudit(t.Context(), store.AuditFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	me, _ := user.Current()
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, e.Kind)
		if e.Actor != "cli:"+me.Username {
			t.Errorf("event %s by %q, want cli:%s", e.Kind, e.Actor, me.Username)
		}
	}
	slices.Reverse(kinds)
	want := []string{"client.create", "client.secret.view", "client.secret.rotate", "client.disable", "client.enable", "user.create", "user.update", "user.update", "user.password", "client.delete"}
	if !slices.Equal(kinds, want) {
		t.Fatalf("audit kinds %s, want %s", strings.Join(kinds, " "), strings.Join(want, " "))
	}
}
