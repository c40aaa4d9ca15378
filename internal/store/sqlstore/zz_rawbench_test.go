package sqlstore

import (
	"context"
	"database/sql/driver"
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkInsertPaths compares one INSERT through database/sql (prepared,
// in a transaction) with the same prepared statement driven through the
// driver directly.
func BenchmarkInsertPaths(b *testing.B) {
	s, err := OpenSQLite(context.Background(), filepath.Join(b.TempDir(), "x.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	s.w.Exec(`CREATE TABLE bench (k BLOB PRIMARY KEY, a TEXT, b TEXT, c INTEGER, d INTEGER)`)
	q := `INSERT INTO bench (k, a, b, c, d) VALUES ($1, $2, $3, $4, $5)`
	b.Run("database/sql", func(b *testing.B) {
		tx, _ := s.w.BeginTx(ctx, nil)
		st, _ := tx.PrepareContext(ctx, q)
		for i := 0; i < b.N; i++ {
			if _, err := st.ExecContext(ctx, []byte(fmt.Sprint("a", i)), "x", "y", i, i); err != nil {
				b.Fatal(err)
			}
		}
		tx.Commit()
	})
	b.Run("driver", func(b *testing.B) {
		conn, _ := s.w.Conn(ctx)
		defer conn.Close()
		conn.ExecContext(ctx, "BEGIN")
		conn.Raw(func(dc any) error {
			st, err := dc.(driver.ConnPrepareContext).PrepareContext(ctx, q)
			if err != nil {
				b.Fatal(err)
			}
			ex := st.(driver.StmtExecContext)
			args := make([]driver.NamedValue, 5)
			for i := 0; i < b.N; i++ {
				args[0] = driver.NamedValue{Ordinal: 1, Value: []byte(fmt.Sprint("b", i))}
				args[1] = driver.NamedValue{Ordinal: 2, Value: "x"}
				args[2] = driver.NamedValue{Ordinal: 3, Value: "y"}
				args[3] = driver.NamedValue{Ordinal: 4, Value: int64(i)}
				args[4] = driver.NamedValue{Ordinal: 5, Value: int64(i)}
				if _, err := ex.ExecContext(ctx, args); err != nil {
					b.Fatal(err)
				}
			}
			return st.Close()
		})
		conn.ExecContext(ctx, "COMMIT")
	})
}
