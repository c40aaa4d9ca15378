package oauth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

func TestServerErrorStatus(t *testing.T) {
	for _, c := range []struct {
		name      string
		cause     error
		status    int
		loggedErr bool
	}{
		{"database failure", errors.New("disk I/O error"), http.StatusInternalServerError, true},
		{"caller went away", fmt.Errorf("sqlstore: issue tokens: %w", context.Canceled), StatusClientClosedRequest, false},
		{"database unreachable", fmt.Errorf("sqlstore: issue tokens: %w", store.ErrUnavailable), http.StatusServiceUnavailable, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var logs bytes.Buffer
			rec := httptest.NewRecorder()
			writeError(rec, slog.New(slog.NewTextHandler(&logs, nil)), serverError(c.cause))
			if rec.Code != c.status {
				t.Errorf("status %d, want %d", rec.Code, c.status)
			}
			if got := strings.Contains(logs.String(), "level=ERROR"); got != c.loggedErr {
				t.Errorf("logged at ERROR = %v, want %v: %s", got, c.loggedErr, logs.String())
			}
		})
	}
}

// TestUnavailable: once the client and redirect URI are verified, an
// unreachable database goes back to the client as temporarily_unavailable
// (RFC 6749 §4.1.2.1), and a JSON answer says when to retry.
func TestUnavailable(t *testing.T) {
	err := serverError(fmt.Errorf("sqlstore: create code: %w", store.ErrUnavailable))
	s := &Server{settings: Settings{Issuer: "https://auth.example.com"}}
	target := s.ErrorRedirect(&AuthorizeRequest{RedirectURI: "https://app.example.com/cb", State: "st"}, err)
	if !strings.Contains(target, "error=temporarily_unavailable") || !strings.Contains(target, "state=st") {
		t.Errorf("redirect = %s; want error=temporarily_unavailable with the state", target)
	}
	rec := httptest.NewRecorder()
	writeError(rec, slog.New(slog.DiscardHandler), err)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != store.RetryAfterSeconds ||
		!strings.Contains(rec.Body.String(), `"error":"temporarily_unavailable"`) {
		t.Errorf("answer %d Retry-After %q %s; want 503 temporarily_unavailable with Retry-After", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
}

func TestWireTextKeepsToErrorDescriptionCharacters(t *testing.T) {
	for in, want := range map[string]string{
		"scope 'READ' is not allowed":     "scope 'READ' is not allowed",
		`grant_type "x" is not supported`: "grant_type 'x' is not supported",
		`a\b`:                             "a?b",
		"caf\u00e9 \u2026":                "caf? ?",
		"tab\there\x7f":                   "tab?here?",
		"":                                "",
	} {
		if got := wireText(in); got != want {
			t.Errorf("wireText(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRedirectKeepsTheRegisteredQuery: RFC 6749 §3.1.2 — the redirect URI's
// query is retained as registered, byte for byte, and the response's
// parameters are added after it.
func TestRedirectKeepsTheRegisteredQuery(t *testing.T) {
	s := &Server{settings: Settings{Issuer: "https://auth.example.com"}}
	const registered = "https://app.example.com/cb?tenant=acme&flag&x=%41"
	target := s.ErrorRedirect(&AuthorizeRequest{RedirectURI: registered, State: "st"}, invalidScope("no"))
	if !strings.HasPrefix(target, registered+"&") {
		t.Fatalf("redirect = %s; want the registered URI, then the response's parameters", target)
	}
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("error") != CodeInvalidScope || q.Get("state") != "st" || q.Get("iss") != "https://auth.example.com" || q.Get("tenant") != "acme" || !q.Has("flag") {
		t.Errorf("query %v", q)
	}
}
