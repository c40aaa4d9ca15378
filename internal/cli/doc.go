// Package cli is what Gatehouse's commands (gatehouse, gatehouse-bench)
// share: the flags that select the configuration and the database, loading
// the configuration from defaults, a YAML file, GATEHOUSE_* variables and
// those flags, the logger, and opening a node for a management command.
//
// Invariants: the configuration is validated before anything uses it; a
// management command opens only an existing database (RequireDatabase), so
// that it never creates an empty one with a key of its own beside the
// running server's.
package cli
