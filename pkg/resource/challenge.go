package resource

import (
	"encoding/json"
	"net/http"
	"strings"
)

// maxTokenLen refuses absurd tokens before they are sent anywhere: a Gatehouse
// access token has some 60 characters, and the introspection endpoint would
// refuse a huge form (as a failure, not as an inactive token).
const maxTokenLen = 4096

// failure is an RFC 6750 §3 answer.
type failure struct {
	status int
	code   string // §3.1 error code; "" when the request carried no token
	desc   string
}

var (
	missingToken      = &failure{http.StatusUnauthorized, "", "a Bearer token is required"}
	malformedHeader   = &failure{http.StatusBadRequest, "invalid_request", "the Authorization header must be one: Bearer <access token>"}
	invalidToken      = &failure{http.StatusUnauthorized, "invalid_token", "the access token is invalid, expired or revoked"}
	insufficientScope = &failure{http.StatusForbidden, "insufficient_scope", "the access token lists none of the scopes this request accepts"}
)

// bearerToken returns the request's access token from its Authorization
// header (RFC 6750 §2.1: "Bearer" 1*SP b64token), the only place it is read.
func bearerToken(h http.Header) (string, *failure) {
	values := h.Values("Authorization")
	if len(values) == 0 {
		return "", missingToken
	}
	if len(values) > 1 {
		return "", malformedHeader
	}
	scheme, value, _ := strings.Cut(values[0], " ")
	// Another scheme (Basic, say) carries no Bearer token: §3.1 asks for a
	// challenge without an error code, as for no header at all.
	if !strings.EqualFold(scheme, "Bearer") {
		return "", missingToken
	}
	value = strings.TrimLeft(value, " ")
	if !isB64Token(value) {
		return "", malformedHeader
	}
	if len(value) > maxTokenLen {
		return "", invalidToken
	}
	return value, nil
}

// isB64Token reports whether s is 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" /
// "+" / "/" ) *"=" (RFC 6750 §2.1).
func isB64Token(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for _, c := range []byte(body) {
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+/", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}

// write answers the failure with its WWW-Authenticate challenge (§3) and a
// JSON body; scopes, when set, are the ones that would do (§3, "scope").
func (f *failure) write(w http.ResponseWriter, realm string, scopes []string) {
	challenge := "Bearer realm=" + quote(realm)
	if f.code != "" {
		challenge += ", error=" + quote(f.code) + ", error_description=" + quote(f.desc)
	}
	if len(scopes) > 0 {
		challenge += ", scope=" + quote(strings.Join(scopes, " "))
	}
	w.Header().Set("WWW-Authenticate", challenge)
	writeJSON(w, f.status, f.code, f.desc)
}

// writeUnavailable answers a request whose token could not be checked: 503,
// which clients retry, never 401, which would make them drop a good token.
func writeUnavailable(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "5")
	writeJSON(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the access token could not be checked; try again in a few seconds")
}

func writeJSON(w http.ResponseWriter, status int, code, desc string) {
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	body := struct {
		Error       string `json:"error,omitempty"`
		Description string `json:"error_description"`
	}{code, desc}
	json.NewEncoder(w).Encode(body) //nolint:errcheck // the client went away; nothing to do
}

var quoteEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// quote makes s an HTTP quoted-string (RFC 9110 §5.6.4).
func quote(s string) string {
	return `"` + quoteEscaper.Replace(s) + `"`
}
