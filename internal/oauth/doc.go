// Package oauth is the authorization server: the authorization request
// (RFC 6749 §4.1.1, PKCE RFC 7636, iss RFC 9207), the token endpoint with one
// file per grant (§4.1.3, §6, §4.4), revocation (RFC 7009), introspection
// (RFC 7662), metadata (RFC 8414) and Bearer token checks (RFC 6750).
//
// Each endpoint is parse → core → write. Vendor quirks live visibly in the
// parse and write steps: the "sha256" PKCE alias, the created_at response
// field, and query-string parameters on token POSTs (compat.query_parameters).
// Every failure is an *Error with an RFC 6749 code; internal causes are
// logged, never sent.
package oauth
