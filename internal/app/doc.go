// Package app owns applications ("incoming links"): registration and its
// validation, client secrets (a keyed hash to check, a sealed copy to show the
// administrator again), redirect-URI matching (RFC 6749 §3.1.2, RFC 8252 §7.3),
// who may use an application (subscribers) and from where (IP allow-list).
//
// Invariants: a public client has no secret and always requires PKCE; a secret
// is compared only through its keyed hash in constant time; a redirect URI is
// absolute, has no fragment, and is https unless it is a loopback address or
// the server runs in development mode.
package app
