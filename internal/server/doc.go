// Package server wires Gatehouse together: it opens the store, loads the keys
// and the scope catalogue, builds the services, and serves one http.Handler
// made of the protocol endpoints, the browser pages and the health checks,
// behind middleware for panics, caller addresses and request logging. It also
// runs the janitor that purges expired rows, on one node at a time, in
// bounded batches. With tls.cert_file it serves HTTPS itself, reloading the
// certificate when its files change, and optionally redirects plain HTTP
// (tls.go). A node refuses to start with a secret key that cannot open the database's key
// check (keycheck.go).
//
// Metrics (metrics.go): one private Prometheus registry per node, no global
// one. Each part keeps the counters of its own events (the token endpoint,
// sign-ins, the store's commits, the integrations) and hands its collectors
// to the registry; the server adds requests by route, taken from the access
// log's middleware, the janitor's rows, the active sessions and the Go
// runtime. /metrics answers loopback and metrics.allow (the TCP peer, never
// a proxied request), on the main listener or on metrics.listen alone.
package server
