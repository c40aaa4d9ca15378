package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// TestPostgresUnavailable checks what counts as store.ErrUnavailable: a
// connection that cannot be opened and one that breaks under a query count;
// a refusal by the database and a cancelled request do not; and the store
// works again as soon as the database does.
func TestPostgresUnavailable(t *testing.T) {
	db := newOutageDatabase(t)
	ctx := t.Context()
	client := store.Client{ID: "c1", Name: "one", Scopes: []string{"READ"}}

	t.Run("connection refused", func(t *testing.T) {
		// No idle connection is kept, so every call opens one.
		s := db.open(t, PoolSettings{MaxOpenConns: 4})
		db.allowConnections(false)
		defer db.allowConnections(true)
		db.terminate()
		if _, err := s.ClientByID(ctx, "c1"); !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("read = %v; want ErrUnavailable", err)
		}
		if err := s.CreateClient(ctx, client, 0); !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("write = %v; want ErrUnavailable", err)
		}
		if _, err := s.UpdateClient(ctx, "c1", func(*store.Client) error { return nil }); !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("transaction = %v; want ErrUnavailable", err)
		}
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.ClientByID(cancelled, "c1"); err == nil || errors.Is(err, store.ErrUnavailable) {
			t.Errorf("read with a cancelled context = %v; want the cancellation, not ErrUnavailable", err)
		}
	})

	t.Run("connection broken", func(t *testing.T) {
		s := db.open(t, testPool)
		if err := s.CreateClient(ctx, client, 0); err != nil {
			t.Fatal(err)
		}
		// The pooled connection was used just now, so it is reused without a
		// ping: the query itself finds the server gone.
		db.terminate()
		if _, err := s.ClientByID(ctx, "c1"); !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("read on a terminated connection = %v; want ErrUnavailable", err)
		}
		if _, err := s.ClientByID(ctx, "c1"); err != nil {
			t.Errorf("read once the database accepts connections = %v", err)
		}
		if err := s.CreateClient(ctx, client, 0); !errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrUnavailable) {
			t.Errorf("duplicate insert = %v; want ErrConflict alone", err)
		}
	})
}

// outageDatabase is a database of its own that a test can cut off.
type outageDatabase struct {
	t     *testing.T
	admin *sql.DB // on the server's main test database
	name  string
	url   string
}

func newOutageDatabase(t *testing.T) *outageDatabase {
	base := testDatabaseURL(t)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	d := &outageDatabase{t: t, admin: admin, name: "outage_" + hex.EncodeToString(b)}
	d.exec("CREATE DATABASE " + d.name)
	t.Cleanup(func() {
		d.exec("DROP DATABASE " + d.name + " WITH (FORCE)")
		admin.Close()
	})
	u, _ := url.Parse(base)
	u.Path = "/" + d.name
	d.url = u.String()
	return d
}

// open opens a store on the database, closed at cleanup.
func (d *outageDatabase) open(t *testing.T, pool PoolSettings) *Store {
	s, err := OpenPostgres(t.Context(), d.url, pool)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// allowConnections lets new connections in or refuses them, even a superuser's.
func (d *outageDatabase) allowConnections(allow bool) {
	d.exec(fmt.Sprintf("ALTER DATABASE %s ALLOW_CONNECTIONS %t", d.name, allow))
}

// terminate ends every session on the database and waits until they are gone.
func (d *outageDatabase) terminate() {
	d.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", d.name)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := d.admin.QueryRow("SELECT count(*) FROM pg_stat_activity WHERE datname = $1", d.name).Scan(&n); err != nil {
			d.t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("%d sessions left on %s 10 s after terminating them", n, d.name)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (d *outageDatabase) exec(query string, args ...any) {
	d.t.Helper()
	if _, err := d.admin.Exec(query, args...); err != nil {
		d.t.Fatalf("%s: %v", query, err)
	}
}
