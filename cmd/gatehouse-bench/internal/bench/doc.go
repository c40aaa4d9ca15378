// Package bench is Gatehouse's load generator, behind the `gatehouse-bench` command.
//
// It is a closed-loop generator: each of N workers sends one operation, waits
// for the answer, and sends the next, on its own keep-alive connection. The
// first part of every run (the warm-up) is not measured; a run ends at its
// duration, or earlier when a given number of measured operations is reached.
// A run reports operations per second, latency percentiles from a log-linear
// histogram (bounded memory, under 1% relative error) and errors by kind.
//
// Scenarios (see scenarios.go) drive the token, introspection and Bearer
// endpoints, refresh-token rotation chains, the whole authorization code flow
// through the real sign-in and consent pages, password sign-ins, and a bare
// handler served by the tool itself (the "ceiling" of this machine).
//
// The hot loop does not use net/http.Client: with one core for the generator
// and targets above 30,000 requests per second, the Transport's per-request
// goroutine hand-offs, connection-pool locking, header maps and body wrappers
// cost as much as the server under test. Instead each worker owns one
// net.Conn (conn.go), writes requests serialised once into bytes, and reads
// answers with http.ReadResponse over a reused bufio.Reader into a reused body
// buffer; it reconnects after an error or "Connection: close". net/http.Client
// is used only for provisioning through the admin API and for polling at start-up.
//
// Clients and users are provisioned (provision.go) idempotently through the
// node's store (the same configuration as the other management commands) or
// through the admin REST API.
//
// Invariants: every loop is bounded in count and time (a run's connections
// carry a deadline past its end); memory per worker is bounded (the
// histogram is fixed-size, bodies are capped).
package bench
