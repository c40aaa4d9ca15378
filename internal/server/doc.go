// Package server wires Gatehouse together: it opens the store, loads the keys
// and the scope catalogue, builds the services, and serves one http.Handler
// made of the protocol endpoints, the browser pages and the health checks,
// behind middleware for panics, caller addresses and request logging. It also
// runs the janitor that purges expired rows, on one node at a time. A node
// refuses to start with a secret key that cannot open the database's key
// check (keycheck.go).
package server
