package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/integration"
	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/reqlog"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/user"
)

// apiError is a failure with a status, a stable code and a message fit for the caller.
type apiError struct {
	Status    int
	Code      string
	Message   string
	Challenge string // WWW-Authenticate, when set
	// RetryAfter is the Retry-After header of a 429, when set.
	RetryAfter string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// badRequest is a 400 invalid_request with a message for the caller.
func badRequest(format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "invalid_request", Message: fmt.Sprintf(format, args...)}
}

// errorBody is every error answer.
type errorBody struct {
	Error     string `json:"error"`
	Message   string `json:"message"`
	RequestID string `json:"request_id,omitempty"` // names the request in the server's log
}

// writeError is the API's one error writer. Refusals of the admin service
// keep their text (it is written for people); an unreachable database is a
// 503 with Retry-After, a secret key that does not open the data a 503 that
// says so (logged once, where it was found); anything unexpected is logged
// and answered as a bare 500.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := classify(r, err)
	switch {
	case e.Code == codeUnavailable:
		a.log.Warn("admin API request failed: database unavailable", "method", r.Method, "path", r.URL.Path, "error", err)
		w.Header().Set("Retry-After", store.RetryAfterSeconds)
	case e.Code == codeKeyMismatch:
		// Logged once where it was found (app.Service.Reveal), not at every request.
	case e.Status >= 500:
		a.log.Error("admin API request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	if e.RetryAfter != "" {
		w.Header().Set("Retry-After", e.RetryAfter)
	}
	if e.Challenge != "" {
		w.Header().Set("WWW-Authenticate", e.Challenge)
	}
	writeJSON(w, e.Status, errorBody{Error: e.Code, Message: e.Message, RequestID: reqlog.ID(r.Context())})
}

// Codes of the 503 answers.
const (
	codeUnavailable = "temporarily_unavailable"
	codeKeyMismatch = "secret_key_mismatch"
)

func classify(r *http.Request, err error) *apiError {
	var e *apiError
	var tooBig *http.MaxBytesError
	var failure *integration.Failure
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, context.Canceled):
		// The caller hung up while the request read or wrote: nobody reads
		// this answer, and it is no failure of the server.
		return &apiError{Status: oauth.StatusClientClosedRequest, Code: "client_closed_request", Message: "the client closed the request"}
	case errors.As(err, &tooBig):
		return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "request_too_large",
			Message: fmt.Sprintf("the request body must be at most %d bytes", tooBig.Limit)}
	case errors.Is(err, store.ErrNotFound):
		return &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "no such " + resourceOf(r.URL.Path)}
	case errors.Is(err, app.ErrLimit):
		// The request is valid; the server's state (how many exist) refuses it.
		return &apiError{Status: http.StatusConflict, Code: "limit_reached", Message: err.Error()}
	case errors.Is(err, user.ErrThrottled):
		return &apiError{Status: http.StatusTooManyRequests, Code: "throttled", Message: err.Error(), RetryAfter: user.RetryAfter(err)}
	case errors.As(err, &failure):
		return integrationFailure(failure)
	case errors.Is(err, integration.ErrForbidden):
		return &apiError{Status: http.StatusForbidden, Code: "forbidden", Message: err.Error()}
	case errors.Is(err, integration.ErrInvalid):
		return &apiError{Status: http.StatusBadRequest, Code: "invalid_request", Message: err.Error()}
	case errors.Is(err, admin.ErrForbidden), errors.Is(err, mail.ErrForbidden):
		return &apiError{Status: http.StatusForbidden, Code: "forbidden", Message: err.Error()}
	case errors.Is(err, admin.ErrInvalid), errors.Is(err, app.ErrInvalid), errors.Is(err, user.ErrInvalid), errors.Is(err, mail.ErrInvalid):
		return &apiError{Status: http.StatusBadRequest, Code: "invalid_request", Message: err.Error()}
	case store.Unavailable(err):
		return &apiError{Status: http.StatusServiceUnavailable, Code: codeUnavailable,
			Message: "the server cannot reach its database; try again in a few seconds"}
	case errors.Is(err, secret.ErrKeyMismatch):
		return &apiError{Status: http.StatusServiceUnavailable, Code: codeKeyMismatch, Message: secret.ErrKeyMismatch.Error()}
	}
	return &apiError{Status: http.StatusInternalServerError, Code: "internal_error", Message: "the server could not complete the request"}
}

// resourceOf names what a path is about, for a not-found message.
func resourceOf(path string) string {
	switch {
	case strings.HasPrefix(path, PathClients):
		return "application"
	case strings.HasPrefix(path, PathGatehouse+"/users"):
		return "user"
	case strings.HasPrefix(path, PathGatehouse+"/grants"):
		return "grant"
	case strings.HasPrefix(path, PathIntegrations):
		return "integration"
	case strings.HasPrefix(path, PathMailServers):
		return "mail server"
	}
	return "resource"
}

// writeJSON answers v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // never rendered as HTML: nosniff and a deny-all CSP are set
	enc.Encode(v)            //nolint:errcheck // the caller went away; nothing to do
}

// integrationFailure answers a provider's failure to hand out a token. It
// is not the server's fault, so it is no 5xx: 409 when only authorizing
// again helps, 424 (the provider failed) when a later try may pass.
func integrationFailure(f *integration.Failure) *apiError {
	if f.NeedsReauth {
		return &apiError{Status: http.StatusConflict, Code: "needs_reauthorization", Message: f.Error()}
	}
	return &apiError{Status: http.StatusFailedDependency, Code: "provider_failure", Message: f.Error()}
}

// intParam reads the integer query parameter name, from lo to hi; absent or
// empty, it is def.
func intParam(q url.Values, name string, lo, hi, def int) (int, error) {
	s := q.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, badRequest("%s must be an integer from %d to %d", name, lo, hi)
	}
	return n, nil
}

// readQuery reads a list route's query with admin.ReadQuery and refuses a
// parameter the route does not take, as the API refuses an unknown field.
func readQuery(r *http.Request, takes ...string) (url.Values, error) {
	q, err := admin.ReadQuery(r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	for name := range q {
		if !slices.Contains(takes, name) {
			if len(takes) == 0 {
				return nil, badRequest("this route takes no query parameters (it lists everything); %q would be ignored", name)
			}
			return nil, badRequest("this route takes no %q parameter (it takes %s)", name, strings.Join(takes, ", "))
		}
	}
	return q, nil
}
