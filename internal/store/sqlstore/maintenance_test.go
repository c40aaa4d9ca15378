package sqlstore

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/internal/store"
)

// A purge batch commits in a transaction of its own, never in one with the
// token requests and sign-ins queued beside it: those would otherwise wait
// for its deletes, and for its share of the commit, on SQLite's one writer.
func TestPurgeCommitsApartFromRequestWrites(t *testing.T) {
	s := openSQLite(t)
	ctx := t.Context()
	reg := prometheus.NewRegistry()
	reg.MustRegister(s.Metrics()...)
	if err := s.CreateClient(ctx, store.Client{ID: "client", CreatedAt: benchNow}, 0); err != nil {
		t.Fatal(err)
	}
	const expired = 50
	expiredAt := benchNow.Add(-48 * time.Hour).UnixMilli()
	if _, err := s.exec(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
		INSERT INTO tokens (hash, kind, grant_id, client_id, scope, granted_at, created_at, expires_at)
		SELECT randomblob(32), 'access', 'old-' || i, 'client', 'READ', $2, $2, $2 FROM n`, expired, expiredAt); err != nil {
		t.Fatal(err)
	}
	batches := func() histogram { return gatherHistograms(t, reg)["gatehouse_store_commit_batch_size"] }

	// Hold the writer, queue request writes and a purge behind it, then let
	// them all go at once: the committer finds them in one queue.
	release, started := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		err := s.commits.do(ctx, func(context.Context, querier) error {
			close(started)
			<-release
			return nil
		})
		if err != nil {
			t.Error(err)
		}
	})
	<-started
	before := batches()
	const requests = 8
	for i := range requests {
		wg.Go(func() {
			issue := benchIssue(uint64(i))
			issue.Refresh = nil
			if err := s.IssueTokens(ctx, issue); err != nil {
				t.Error(err)
			}
		})
	}
	var purged int64
	wg.Go(func() {
		var err error
		if purged, err = s.Purge(ctx, benchNow, store.PurgePolicy{RevokedRetention: 24 * time.Hour, RotatedRetention: 24 * time.Hour}, 1000); err != nil {
			t.Error(err)
		}
	})
	for len(s.commits.queue) < requests+1 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if purged != expired {
		t.Fatalf("purged %d rows; want %d", purged, expired)
	}
	after := batches()
	commits, jobs := after.count-before.count, after.sum-before.sum
	// The writer's holder, then the requests together, then the purge alone.
	if commits != 3 || jobs != requests+2 {
		t.Fatalf("%d commits of %v jobs; want 3 of %d: the purge shared a transaction with request writes", commits, jobs, requests+2)
	}
}
