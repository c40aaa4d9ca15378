// Package web serves the browser pages: sign-in, sign-out, the authorization
// request and the consent page, and error pages. Templates, CSS and message
// catalogues (English, Japanese) are embedded; pages work without JavaScript.
//
// Invariants: sessions are server-side in the shared store (keyed by a hash of
// the cookie value) so any node serves them; every state-changing form carries
// a per-session CSRF token and passes net/http's cross-origin check; sign-in
// renews the session token (no fixation); pages cannot be framed and answer
// with a strict Content-Security-Policy; a post-sign-in redirect only goes to
// a local path; a refusal of the services is worded in the page's language
// from its message key (internal/validation), never shown in its English
// text; a request gets one answer, also when its session cannot be loaded or
// saved (session_errors.go); a page kept rendered (pagecache.go) is byte for
// byte the page its templates render.
package web
