package sqlstore

import (
	"encoding/binary"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

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
	b.SetParallelism(32 / runtime.GOMAXPROCS(0))
	b.RunParallel(func(pb *testing.PB) {
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
