package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/store"
)

// RFC 6749 §4.1.2.1 and §5.2 error codes, and RFC 6750 §3.1 for Bearer use.
// temporarily_unavailable is defined only for the authorization endpoint's
// redirect (§4.1.2.1); the token, revocation, introspection and Bearer
// endpoints answer it too, with 503 and Retry-After, when the database is
// unreachable: §5.2 has no code for an outage, and clients and load balancers
// retry a 503 where they would give up on a 500 server_error.
const (
	CodeInvalidRequest          = "invalid_request"
	CodeInvalidClient           = "invalid_client"
	CodeInvalidGrant            = "invalid_grant"
	CodeUnauthorizedClient      = "unauthorized_client"
	CodeUnsupportedGrantType    = "unsupported_grant_type"
	CodeUnsupportedResponseType = "unsupported_response_type"
	CodeInvalidScope            = "invalid_scope"
	CodeAccessDenied            = "access_denied"
	CodeServerError             = "server_error"
	CodeTemporarilyUnavailable  = "temporarily_unavailable"
	CodeInvalidToken            = "invalid_token"
	CodeInsufficientScope       = "insufficient_scope"
)

// Error is the one OAuth error type: an RFC code, a description fit for the
// client, an HTTP status, and a hidden cause that only reaches the log.
type Error struct {
	Code        string
	Description string
	Status      int
	Cause       error
	// Key and Args word the error for people, in the pages' message
	// catalogue, when a page shows it (an error that cannot go back to the
	// client); Description stays the English text for clients and logs.
	Key  string
	Args []any
	// challenge, when set, is sent as WWW-Authenticate: Basic for a client
	// that tried HTTP Basic (RFC 6749 §5.2), Bearer for a refused Bearer
	// caller of the introspection endpoint (RFC 7662 §2.3).
	challenge string
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return e.Code + ": " + e.Description + ": " + e.Cause.Error()
	}
	return e.Code + ": " + e.Description
}

func (e *Error) Unwrap() error { return e.Cause }

// Is matches another *Error by code, so errors.Is(err, &Error{Code: CodeInvalidGrant}) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

func newError(code string, status int, description string) *Error {
	return &Error{Code: code, Description: description, Status: status}
}

func invalidRequest(d string) *Error { return newError(CodeInvalidRequest, http.StatusBadRequest, d) }

// worded gives e a message key for the pages.
func (e *Error) worded(key string, args ...any) *Error {
	e.Key, e.Args = key, args
	return e
}

// Wording returns the message key and arguments of an error a page shows,
// or "" when it has none.
func Wording(err error) (key string, args []any) {
	e := asError(err)
	return e.Key, e.Args
}
func invalidGrant(d string) *Error { return newError(CodeInvalidGrant, http.StatusBadRequest, d) }
func invalidScope(d string) *Error { return newError(CodeInvalidScope, http.StatusBadRequest, d) }

// invalidClient is 401 with the Basic challenge however the client tried to
// authenticate: every 401 names a scheme (RFC 9110 §15.5.2), and RFC 6749
// §5.2 requires it when Basic was tried.
func invalidClient(d string) *Error {
	e := newError(CodeInvalidClient, http.StatusUnauthorized, d)
	e.challenge = `Basic realm="gatehouse", charset="UTF-8"`
	return e
}
func unauthorizedClient(d string) *Error {
	return newError(CodeUnauthorizedClient, http.StatusBadRequest, d)
}

// serverError hides cause from the client.
func serverError(cause error) *Error {
	switch {
	case errors.Is(cause, context.Canceled):
		// The caller hung up while we worked: not a server failure, and nobody reads the answer.
		return &Error{Code: CodeServerError, Status: StatusClientClosedRequest,
			Description: "the client closed the request", Cause: cause}
	case store.Unavailable(cause):
		return &Error{Code: CodeTemporarilyUnavailable, Status: http.StatusServiceUnavailable,
			Description: "the server cannot reach its database; try again in a few seconds", Cause: cause}
	}
	return &Error{Code: CodeServerError, Status: http.StatusInternalServerError,
		Description: "the server could not complete the request", Cause: cause}
}

// StatusClientClosedRequest is logged for a request whose caller went away
// before the answer (the status nginx uses for the same case).
const StatusClientClosedRequest = 499

// asError turns any error into an *Error, hiding unknown causes.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return serverError(err)
}

type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// writeError answers err as RFC 6749 §5.2 JSON.
func writeError(w http.ResponseWriter, log *slog.Logger, err error) {
	e := asError(err)
	switch {
	case e.Status == http.StatusServiceUnavailable:
		log.Warn("oauth request failed: database unavailable", "error", e.Cause)
		w.Header().Set("Retry-After", store.RetryAfterSeconds)
	case e.Status >= 500:
		log.Error("oauth request failed", "error", e.Cause)
	default:
		log.Debug("oauth request refused", "code", e.Code, "description", e.Description)
	}
	if e.challenge != "" {
		w.Header().Set("WWW-Authenticate", e.challenge)
	}
	writeJSON(w, e.Status, errorBody{Error: e.Code, Description: wireText(e.Description)})
}

// wireText fits a description to RFC 6749's error_description (§4.1.2.1,
// §5.2: only %x20-21 / %x23-5B / %x5D-7E), which also keeps it a valid
// quoted-string in a WWW-Authenticate challenge: a double quote becomes a
// single one, any other character outside the set a question mark. Strict
// clients refuse an answer that breaks the rule, and a description may echo
// what the client sent.
func wireText(d string) string {
	clean := true
	for i := 0; i < len(d) && clean; i++ {
		clean = descriptionChar(d[i])
	}
	if clean {
		return d
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '"':
			return '\''
		case r < utf8.RuneSelf && descriptionChar(byte(r)):
			return r
		}
		return '?'
	}, d)
}

func descriptionChar(c byte) bool { return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\' }

// The headers of every JSON answer, shared rather than allocated per answer:
// net/http copies a handler's headers before it changes any, and nothing
// here writes into a header's values in place.
var (
	jsonType = []string{"application/json;charset=UTF-8"}
	noStore  = []string{"no-store"}
	noCache  = []string{"no-cache"}
	noSniff  = []string{"nosniff"}
)

// writeJSON writes v with the headers RFC 6749 §5.1 asks of every token-endpoint
// answer, and nosniff: an answer that echoes a caller's value is never read
// as anything but JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h["Content-Type"], h["Cache-Control"], h["Pragma"], h["X-Content-Type-Options"] = jsonType, noStore, noCache, noSniff
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client went away; nothing to do
}
