// Package reqlog gives every request an ID and writes one access-log line
// per request: method, route pattern, status, duration, caller address and
// request ID — never a query string, a header value or a form field, which
// may hold codes, tokens or passwords.
package reqlog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/gatehouse/gatehouse/internal/clientip"
)

// Header carries the request ID, in and out (X-Request-ID, in the canonical
// form net/http would otherwise compute for every request).
const Header = "X-Request-Id"

// accessMessage is the message of the access log's records.
const accessMessage = "request"

type ctxKey struct{}

// info is what the middleware learns about a request while it is served.
type info struct {
	id      string
	pattern string // the innermost ServeMux pattern that matched
}

// ID returns the request's ID, or "" outside Middleware.
func ID(ctx context.Context) string {
	if in, ok := ctx.Value(ctxKey{}).(*info); ok {
		return in.id
	}
	return ""
}

// Observer receives every request's route (the pattern, or "unmatched"),
// status and duration, for metrics: the route is the one the log names,
// found once.
type Observer func(route string, status int, d time.Duration)

// Callers tells a request's caller (clientip.Resolver): its address, and
// whether its peer is a proxy trusted to name the request.
type Callers interface {
	Resolve(*http.Request) netip.Addr
	PeerTrusted(*http.Request) bool
}

// Middleware names the request (X-Request-ID from a trusted proxy when it is
// sane, else a fresh ID), returns the ID in the response, stores the
// caller's address for clientip.From, and logs the request at info level —
// server errors at error, a 503 at warn (the node is up and says why it
// cannot serve; the cause is logged where it was found). It hands every
// request to observe.
func Middleware(log *slog.Logger, callers Callers, observe Observer, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorded{statusRecorder: statusRecorder{ResponseWriter: w, status: http.StatusOK}}
		in := &rec.info
		if id := r.Header.Get(Header); id != "" && callers.PeerTrusted(r) && saneID(id) {
			in.id = id
		} else {
			in.id = newID()
		}
		rec.idHeader[0] = in.id
		w.Header()[Header] = rec.idHeader[:]
		rec.addr = callers.Resolve(r)
		ctx := context.WithValue(clientip.NewContext(r.Context(), &rec.addr), ctxKey{}, in)
		next.ServeHTTP(&rec.statusRecorder, r.WithContext(ctx))
		end := time.Now()
		took := end.Sub(start)
		route := in.pattern
		if route == "" {
			route = "unmatched"
		}
		observe(route, rec.status, took)
		level := slog.LevelInfo
		switch {
		case rec.status == http.StatusServiceUnavailable:
			level = slog.LevelWarn
		case rec.status >= 500:
			level = slog.LevelError
		}
		if !log.Enabled(r.Context(), level) {
			return // spare the hot paths building a record nobody reads
		}
		// The record goes to the handler directly: Logger.LogAttrs would
		// also look up the caller's program counter, which no line shows.
		rec2 := slog.NewRecord(end, level, accessMessage, 0)
		rec2.AddAttrs(slog.String("method", loggedMethod(r.Method)), slog.String("route", route),
			slog.Int("status", rec.status), slog.Duration("duration", took),
			slog.String("address", rec.addr.String()), slog.String("request_id", in.id))
		log.Handler().Handle(r.Context(), rec2) //nolint:errcheck // as LogAttrs: a log line that cannot be written is dropped
	})
}

// Route wraps a ServeMux so the access log names the pattern it matched, as
// "POST /rest/oauth2/latest/token" rather than a path that may hold an ID.
// With muxes nested, the innermost match wins: it returns first. A
// catch-all "/" is no route (it answers 404 or 405): such a request stays
// "unmatched".
func Route(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r) // sets r.Pattern on this very request
		if in, ok := r.Context().Value(ctxKey{}).(*info); ok && in.pattern == "" && r.Pattern != "/" {
			in.pattern = r.Pattern
		}
	})
}

// maxLoggedMethod bounds the method an access line shows: net/http takes
// any token as a method, up to the request header's limit (32 KiB), so one
// request could otherwise write a line a hundred times its usual size.
const maxLoggedMethod = 16

// loggedMethod is the method as the access line shows it: whole when it is
// no longer than any method in use (PROPFIND, VERSION-CONTROL), else its
// start and "…".
func loggedMethod(m string) string {
	if len(m) <= maxLoggedMethod {
		return m
	}
	return m[:maxLoggedMethod] + "…"
}

// saneID accepts up to 128 characters of [A-Za-z0-9._:-], so a proxy's ID
// cannot inject anything into a log line or a page.
func saneID(id string) bool {
	if len(id) > 128 {
		return false
	}
	for _, c := range id {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

func newID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// recorded is what Middleware keeps of a request, in one allocation, the
// X-Request-Id header's value included.
type recorded struct {
	statusRecorder
	info
	idHeader [1]string
	addr     netip.Addr // the caller's, for clientip.From
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
