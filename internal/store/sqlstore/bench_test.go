package sqlstore

import (
	"context"
	"encoding/binary"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/cpubench"
	"github.com/gatehouse/gatehouse/internal/store"
)

var benchNow = time.UnixMilli(1_767_225_600_000).UTC()

// benchHash returns a distinct 32-byte hash for each (kind, i).
func benchHash(kind byte, i uint64) []byte {
	h := make([]byte, 32)
	h[0] = kind
	binary.BigEndian.PutUint64(h[24:], i)
	return h
}

// benchIssue is the pair a refresh-token grant stores, numbered i.
func benchIssue(i uint64) store.Issue {
	access := store.Token{
		Hash: benchHash('a', i), Kind: store.KindAccess, GrantID: "grant", ClientID: "client", UserID: "user",
		Scope: "READ WRITE", GrantedAt: benchNow, CreatedAt: benchNow, ExpiresAt: benchNow.Add(time.Hour),
	}
	refresh := access
	refresh.Hash, refresh.Kind, refresh.AccessHash = benchHash('r', i), store.KindRefresh, access.Hash
	refresh.ExpiresAt = benchNow.Add(30 * 24 * time.Hour)
	return store.Issue{Access: access, Refresh: &refresh, RefreshCap: 100}
}

// The benchmarks run on each backend: open returns an empty store, closed
// at cleanup. BenchmarkX is SQLite; BenchmarkPostgresX (postgres_test.go)
// runs the same code on PostgreSQL.

func benchStore(b *testing.B, open func(testing.TB) *Store) *Store {
	s := open(b)
	if err := s.CreateClient(b.Context(), store.Client{ID: "client", CreatedAt: benchNow}, 0); err != nil {
		b.Fatalf("CreateClient: %v", err)
	}
	return s
}

func BenchmarkIssueTokens(b *testing.B) { benchIssueTokens(b, openSQLite) }

func benchIssueTokens(b *testing.B, open func(testing.TB) *Store) {
	s := benchStore(b, open)
	ctx := b.Context()
	var i uint64
	for b.Loop() {
		i++
		if err := s.IssueTokens(ctx, benchIssue(i)); err != nil {
			b.Fatalf("IssueTokens: %v", err)
		}
	}
}

func BenchmarkTokenByHash(b *testing.B) { benchTokenByHash(b, openSQLite) }

func benchTokenByHash(b *testing.B, open func(testing.TB) *Store) {
	s := benchStore(b, open)
	ctx := b.Context()
	const n = 100
	for i := range uint64(n) {
		if err := s.IssueTokens(ctx, benchIssue(i)); err != nil {
			b.Fatalf("IssueTokens: %v", err)
		}
	}
	var i uint64
	for b.Loop() {
		i++
		if _, err := s.TokenByHash(ctx, benchHash('a', i%n)); err != nil {
			b.Fatalf("TokenByHash: %v", err)
		}
	}
}

func BenchmarkRotateRefreshToken(b *testing.B) { benchRotateRefreshToken(b, openSQLite) }

func benchRotateRefreshToken(b *testing.B, open func(testing.TB) *Store) {
	s := benchStore(b, open)
	ctx := b.Context()
	if err := s.IssueTokens(ctx, benchIssue(0)); err != nil {
		b.Fatalf("IssueTokens: %v", err)
	}
	var i uint64
	for b.Loop() {
		i++
		if err := s.RotateRefreshToken(ctx, benchHash('r', i-1), benchNow, store.ReuseGrace{}, benchIssue(i)); err != nil {
			b.Fatalf("RotateRefreshToken: %v", err)
		}
	}
}

func BenchmarkRedeemCode(b *testing.B) { benchRedeemCode(b, openSQLite) }

func benchRedeemCode(b *testing.B, open func(testing.TB) *Store) {
	s := benchStore(b, open)
	ctx := b.Context()
	var i uint64
	for b.Loop() {
		i++
		b.StopTimer()
		code := store.Code{
			Hash: benchHash('c', i), ClientID: "client", UserID: "user", GrantID: "grant",
			CreatedAt: benchNow, ExpiresAt: benchNow.Add(time.Minute),
		}
		if err := s.CreateCode(ctx, code); err != nil {
			b.Fatalf("CreateCode: %v", err)
		}
		b.StartTimer()
		if err := s.RedeemCode(ctx, code.Hash, benchNow, benchIssue(i)); err != nil {
			b.Fatalf("RedeemCode: %v", err)
		}
	}
}

func BenchmarkTokenWithUser(b *testing.B) { benchTokenWithUser(b, openSQLite) }

func benchTokenWithUser(b *testing.B, open func(testing.TB) *Store) {
	s := benchStore(b, open)
	ctx := b.Context()
	if err := s.CreateUser(ctx, store.User{ID: "user", Username: "user", CreatedAt: benchNow}); err != nil {
		b.Fatal(err)
	}
	const n = 100
	for i := range uint64(n) {
		if err := s.IssueTokens(ctx, benchIssue(i)); err != nil {
			b.Fatalf("IssueTokens: %v", err)
		}
	}
	var i uint64
	for b.Loop() {
		i++
		if _, u, err := s.TokenWithUser(ctx, benchHash('a', i%n)); err != nil || u == nil {
			b.Fatalf("TokenWithUser: %v, %v", u, err)
		}
	}
}

// BenchmarkIssueTokensParallel issues client-credentials tokens from 32
// goroutines at once, as a loaded token endpoint does: on SQLite their
// inserts share commits (see groupCommitter).
func BenchmarkIssueTokensParallel(b *testing.B) { benchIssueTokensParallel(b, openSQLite) }

func benchIssueTokensParallel(b *testing.B, open func(testing.TB) *Store) {
	s := benchStore(b, open)
	var next atomic.Uint64
	runWriters(b, 32, func(pb *testing.PB) {
		for pb.Next() {
			issue := benchIssue(next.Add(1))
			issue.Refresh = nil
			if err := s.IssueTokens(b.Context(), issue); err != nil {
				b.Errorf("IssueTokens: %v", err)
				return
			}
		}
	})
}

// BenchmarkCommitFloor stores token rows in a table with only its primary
// key — the tokens table's columns, the same group commit and fsync, none of
// its secondary indexes, no read cache — as the least any design storing
// a durable row per token pays through this driver (docs/performance.md):
//
//   - client-credentials: one row per write from 32 goroutines, against
//     BenchmarkIssueTokensParallel;
//   - rotation: a refresh rotation's four row changes (the old refresh
//     token marked rotated and the access token issued with it revoked, as
//     SPEC.md's rotation requires, a new access and refresh token) in one
//     transaction from 8 goroutines, against
//     BenchmarkRotateRefreshTokenParallel.
//
// Run with -cpu 1 and read cpu-µs/op.
func BenchmarkCommitFloor(b *testing.B) {
	insert := func(ctx context.Context, q querier, t store.Token) error {
		_, err := q.ExecContext(ctx, `INSERT INTO floor_tokens VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			t.Hash, string(t.Kind), t.GrantID, t.ClientID, t.UserID, t.Scope, ms(t.GrantedAt), ms(t.CreatedAt),
			ms(t.ExpiresAt), ms(t.RevokedAt), ms(t.RotatedAt), blob(t.AccessHash))
		return err
	}
	floorStore := func(b *testing.B) *Store {
		s := benchStore(b, openSQLite)
		if err := s.commits.do(b.Context(), func(ctx context.Context, q querier) error {
			_, err := q.ExecContext(ctx, `CREATE TABLE floor_tokens (
				hash BLOB PRIMARY KEY, kind TEXT, grant_id TEXT, client_id TEXT, user_id TEXT, scope TEXT,
				granted_at BIGINT, created_at BIGINT, expires_at BIGINT, revoked_at BIGINT, rotated_at BIGINT, access_hash BLOB)`)
			return err
		}); err != nil {
			b.Fatal(err)
		}
		return s
	}
	b.Run("client-credentials", func(b *testing.B) {
		s := floorStore(b)
		var next atomic.Uint64
		runWriters(b, 32, func(pb *testing.PB) {
			for pb.Next() {
				t := benchIssue(next.Add(1)).Access
				if err := s.writeStatementEffects(b.Context(), neutral(), func(ctx context.Context, q querier) error {
					return insert(ctx, q, t)
				}); err != nil {
					b.Errorf("insert: %v", err)
					return
				}
			}
		})
	})
	b.Run("rotation", func(b *testing.B) {
		s := floorStore(b)
		var chains atomic.Uint64
		runWriters(b, 8, func(pb *testing.PB) {
			i := chains.Add(1) << 32 // this goroutine's own chain of numbers
			for pb.Next() {
				i++
				issue := benchIssue(i)
				if err := s.inTxEffects(b.Context(), neutral(), func(ctx context.Context, q querier) error {
					if _, err := q.ExecContext(ctx, `UPDATE floor_tokens SET rotated_at = $2 WHERE hash = $1`, benchHash('r', i-1), ms(benchNow)); err != nil {
						return err
					}
					if _, err := q.ExecContext(ctx, `UPDATE floor_tokens SET revoked_at = $2 WHERE hash = $1`, benchHash('a', i-1), ms(benchNow)); err != nil {
						return err
					}
					if err := insert(ctx, q, issue.Access); err != nil {
						return err
					}
					return insert(ctx, q, *issue.Refresh)
				}); err != nil {
					b.Errorf("rotate: %v", err)
					return
				}
			}
		})
	})
}

// BenchmarkRotateRefreshTokenParallel rotates 8 refresh-token chains at
// once, as the refresh scenario of gatehouse-bench does at c=8.
func BenchmarkRotateRefreshTokenParallel(b *testing.B) {
	s := benchStore(b, openSQLite)
	var chains atomic.Uint64
	runWriters(b, 8, func(pb *testing.PB) {
		i := chains.Add(1) << 32
		if err := s.IssueTokens(b.Context(), benchIssue(i)); err != nil {
			b.Errorf("IssueTokens: %v", err)
			return
		}
		for pb.Next() {
			i++
			if err := s.RotateRefreshToken(b.Context(), benchHash('r', i-1), benchNow, store.ReuseGrace{}, benchIssue(i)); err != nil {
				b.Errorf("RotateRefreshToken: %v", err)
				return
			}
		}
	})
}

// runWriters runs body from n goroutines in all (as many callers as the
// scenario it stands for) and reports cpu-µs/op.
func runWriters(b *testing.B, n int, body func(pb *testing.PB)) {
	b.SetParallelism(max(n/runtime.GOMAXPROCS(0), 1))
	defer cpubench.Report(b)()
	b.RunParallel(body)
}

// BenchmarkIssueTokensAtRefreshCap issues refresh-token pairs to one user
// and client held at a cap of 10, from 8 writers (the browser flow's
// scenario at c=8): once the first ten are in, every issue revokes the
// oldest pair, as in every flow of gatehouse-bench's authcode scenario.
func BenchmarkIssueTokensAtRefreshCap(b *testing.B) {
	s := benchStore(b, openSQLite)
	var writers atomic.Uint64
	runWriters(b, 8, func(pb *testing.PB) {
		i := writers.Add(1) << 32
		for pb.Next() {
			i++
			issue := benchIssue(i)
			issue.RefreshCap = 10
			if err := s.IssueTokens(b.Context(), issue); err != nil {
				b.Errorf("IssueTokens: %v", err)
				return
			}
		}
	})
}
