package sqlstore

import (
	"strings"
	"testing"
)

// TestDueIntegrationsUseTheIndex: the refresher's two queries read the
// partial index on next_refresh_at, so a tick costs the same among ten
// integrations or ten thousand (BenchmarkRefresherTick in
// internal/integration measures it).
func TestDueIntegrationsUseTheIndex(t *testing.T) {
	s := openSQLite(t)
	for _, q := range []string{
		`SELECT id FROM integrations WHERE next_refresh_at <> 0 AND next_refresh_at <= 1 ORDER BY next_refresh_at LIMIT 16`,
		`SELECT COALESCE(MIN(next_refresh_at), 0) FROM integrations WHERE next_refresh_at <> 0`,
	} {
		rows, err := s.r.QueryContext(t.Context(), `EXPLAIN QUERY PLAN `+q)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		joined := strings.Join(plan, "; ")
		t.Logf("%s: %s", q, joined)
		if !strings.Contains(joined, "SEARCH integrations USING") || !strings.Contains(joined, "INDEX integrations_next_refresh") {
			t.Errorf("%s\nplan: %s; want a search of the index integrations_next_refresh", q, joined)
		}
	}
}
