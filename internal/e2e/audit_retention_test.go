package e2e

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// TestBinaryPurgesAuditEventsPastTheirRetention: a node started with
// janitor.audit_retention deletes the audit events older than it and keeps
// the others.
func TestBinaryPurgesAuditEventsPastTheirRetention(t *testing.T) {
	bin := buildBinary(t)
	dir := migratedDir(t, bin)
	file := filepath.Join(dir, "gatehouse-data", "gatehouse.db")
	st, err := sqlstore.OpenSQLite(t.Context(), file)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	for actor, at := range map[string]time.Time{"old": now.Add(-100 * 24 * time.Hour), "recent": now.Add(-80 * 24 * time.Hour)} {
		if err := st.RecordAudit(t.Context(), store.AuditEvent{At: at, Kind: "client.update", Actor: actor}); err != nil {
			t.Fatal(err)
		}
	}
	actors := func() []string {
		events, err := st.ListAudit(t.Context(), store.AuditFilter{Kind: "client.update"})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range events {
			got = append(got, e.Actor)
		}
		return got
	}

	startServe(t, bin, dir, freeAddr(t), "GATEHOUSE_JANITOR_AUDIT_RETENTION=2160h", "GATEHOUSE_JANITOR_INTERVAL=1s")
	for deadline := time.Now().Add(20 * time.Second); slices.Contains(actors(), "old"); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the event 100 days old is still there 20 s after the node started with a 90-day retention: %v", actors())
		}
	}
	if got := actors(); !slices.Equal(got, []string{"recent"}) {
		t.Fatalf("events left: %v, want the one 80 days old", got)
	}
}
