package e2e

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

// eachDatabase runs test against a node on SQLite, then on a fresh
// PostgreSQL database (skipped without GATEHOUSE_TEST_DATABASE_URL, except
// in CI); useDB is the configuration change that selects it.
func eachDatabase(t *testing.T, test func(t *testing.T, useDB func(*config.Config))) {
	t.Run("sqlite", func(t *testing.T) { test(t, func(*config.Config) {}) })
	t.Run("postgres", func(t *testing.T) {
		dbURL, _ := freshDatabase(t)
		test(t, func(c *config.Config) { c.Database.URL = dbURL })
	})
}
