package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// testPurgeAuditRetention: with an audit retention, Purge deletes the
// audit events older than it, in its batches, and keeps the rest; without
// one (0) every event stays, however old.
func testPurgeAuditRetention(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := at(400 * 24 * time.Hour)
	record := func(kind string, when time.Time) {
		if err := s.RecordAudit(ctx, store.AuditEvent{At: when, Kind: kind, Actor: "admin"}); err != nil {
			t.Fatalf("RecordAudit: %v", err)
		}
	}
	for i := range 5 {
		record(fmt.Sprint("old.", i), now.Add(-91*24*time.Hour-time.Duration(i)*time.Hour))
	}
	record("edge.kept", now.Add(-90*24*time.Hour)) // exactly the retention old: kept
	record("recent", now.Add(-time.Hour))
	kinds := func() map[string]bool {
		events, err := s.ListAudit(ctx, store.AuditFilter{Limit: 1000})
		if err != nil {
			t.Fatalf("ListAudit: %v", err)
		}
		got := map[string]bool{}
		for _, e := range events {
			got[e.Kind] = true
		}
		return got
	}

	forever := store.PurgePolicy{RevokedRetention: time.Hour, RotatedRetention: time.Hour}
	if n, err := s.Purge(ctx, now, forever, 1000); err != nil || n != 0 {
		t.Fatalf("Purge without an audit retention = %d, %v; want 0, nil", n, err)
	}
	if got := kinds(); len(got) != 7 {
		t.Fatalf("events after a purge without an audit retention: %v, want all 7", got)
	}

	policy := forever
	policy.AuditRetention = 90 * 24 * time.Hour
	var total int64
	for range 10 {
		n, err := s.Purge(ctx, now, policy, 2)
		if err != nil {
			t.Fatalf("Purge: %v", err)
		}
		if n > 2 {
			t.Fatalf("Purge with limit 2 removed %d rows", n)
		}
		total += n
		if n < 2 {
			break
		}
	}
	if total != 5 {
		t.Errorf("Purge removed %d audit events, want the 5 older than the retention", total)
	}
	got := kinds()
	for i := range 5 {
		if got[fmt.Sprint("old.", i)] {
			t.Errorf("event old.%d is still listed past the retention", i)
		}
	}
	if !got["edge.kept"] || !got["recent"] || len(got) != 2 {
		t.Errorf("events kept: %v, want edge.kept and recent", got)
	}
}
