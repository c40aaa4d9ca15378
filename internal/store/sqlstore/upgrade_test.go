package sqlstore

import (
	"context"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

// testPreviousRelease runs, on a migrated store, the statements a node of the
// release before 00002_console would: during a rolling upgrade they must keep
// working against the new schema.
func testPreviousRelease(t *testing.T, s *Store) {
	ctx := t.Context()
	old := func(query string, args ...any) error {
		return onWriter(ctx, s, func(ctx context.Context, q querier) error {
			_, err := q.ExecContext(ctx, query, args...)
			return err
		})
	}
	// CreateUser without sessions_after.
	if err := old(`INSERT INTO users (id, username, display_name, email, password_hash, level,
		group_names, disabled, created_at, updated_at) VALUES ('u1', 'alice', '', '', '', 0, '[]', FALSE, 1, 1)`); err != nil {
		t.Fatalf("old CreateUser: %v", err)
	}
	u, err := s.UserByID(ctx, "u1")
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	if !u.SessionsAfter.IsZero() {
		t.Errorf("SessionsAfter of an old node's user = %v, want zero", u.SessionsAfter)
	}

	// DeleteClient, which knows nothing of logos, on a client with one.
	if err := s.CreateClient(ctx, store.Client{ID: "c1"}, 0); err != nil {
		t.Fatalf("CreateClient: %v", err)
	}
	if err := s.SetClientLogo(ctx, "c1", []byte("png"), "image/png"); err != nil {
		t.Fatalf("SetClientLogo: %v", err)
	}
	for _, q := range []string{`DELETE FROM tokens WHERE client_id = $1`, `DELETE FROM codes WHERE client_id = $1`, `DELETE FROM clients WHERE id = $1`} {
		if err := old(q, "c1"); err != nil {
			t.Fatalf("old DeleteClient: %s: %v", q, err)
		}
	}
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM client_logos`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d logos left after an old node deleted their client, want 0", n)
	}
}

func TestSQLitePreviousRelease(t *testing.T) { testPreviousRelease(t, openSQLite(t)) }

func TestPostgresPreviousRelease(t *testing.T) { testPreviousRelease(t, openPostgres(t)) }
