// Package resource protects an HTTP API with access tokens issued by a
// Gatehouse authorization server. It is net/http middleware for resource
// servers: it reads the Bearer token of each request (RFC 6750 §2.1), asks
// Gatehouse about it by introspection (RFC 7662), and hands the token's user,
// application and scopes to the handler.
//
// The resource server is itself a Gatehouse application, confidential and
// marked introspect_any, so that it may introspect the tokens that users'
// applications got:
//
//	gatehouse client create --name "My API" --grant client_credentials --scope READ --introspect-any --json
//
// Then, with that application's credentials:
//
//	mw, err := resource.New(resource.Options{
//		Issuer:       "https://gatehouse.example.com",
//		ClientID:     clientID,
//		ClientSecret: clientSecret,
//	})
//	if err != nil {
//		return err
//	}
//	readers := resource.RequireScope("READ", "WRITE", "ADMIN", "SYSTEM_ADMIN")
//	writers := resource.RequireScope("WRITE", "ADMIN", "SYSTEM_ADMIN")
//	mux := http.NewServeMux()
//	mux.Handle("GET /notes", mw.Handler(readers(listNotes)))
//	mux.Handle("POST /notes", mw.Handler(writers(addNote)))
//
// and in a handler:
//
//	tok, _ := resource.FromContext(r.Context())
//	fmt.Fprintf(w, "hello, %s\n", tok.Username)
//
// # Answers
//
// A request without a token gets 401 and a challenge without an error code;
// a malformed Authorization header 400 invalid_request; an inactive, expired
// or revoked token 401 invalid_token; a token without a scope that
// RequireScope asks for 403 insufficient_scope with the scopes it accepts.
// Each comes with WWW-Authenticate (RFC 6750 §3) and a JSON body with "error"
// and "error_description". When Gatehouse cannot be reached or does not
// answer properly (including when it refuses the resource server's own
// credentials), the request gets 503 with Retry-After, never 401: the token
// may well be good, and a client must not throw it away.
//
// # Caching
//
// A positive answer is reused for at most Options.CacheTTL (10 seconds by
// default) and never past the token's expiry, so a revoked token, or one
// whose user lost the permission level for it, stops working here within
// CacheTTL. Negative answers and failures are not cached. Concurrent requests
// with the same token share one introspection. The cache is bounded
// (Options.MaxEntries) and keyed by the SHA-256 of each token: it holds no
// token, and no token appears in a log line or an error text.
//
// # Scopes
//
// RequireScope matches the scope names the token lists, exactly as
// introspection answers them. Gatehouse lists the scopes a token was granted,
// not what they imply: in the atlassian catalogue WRITE includes READ, yet a
// token granted WRITE lists only WRITE. So name every scope you accept:
// RequireScope("READ", "WRITE", "ADMIN", "SYSTEM_ADMIN") for an endpoint
// that reads, as above.
package resource
