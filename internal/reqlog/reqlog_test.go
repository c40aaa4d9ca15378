package reqlog

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/clientip"
)

// fixedCallers names every caller addr; trusted says whether its peer is a trusted proxy.
type fixedCallers struct {
	addr    netip.Addr
	trusted bool
}

func (f fixedCallers) Resolve(*http.Request) netip.Addr { return f.addr }
func (f fixedCallers) PeerTrusted(*http.Request) bool   { return f.trusted }
func ignoreObservation(string, int, time.Duration)      {}

// The handler sees the caller's address and the request ID through its
// context; the response and the access line carry the same ID and address.
func TestMiddlewareStoresAddressAndID(t *testing.T) {
	addr := netip.MustParseAddr("192.0.2.7")
	for _, trusted := range []bool{false, true} {
		var logs bytes.Buffer
		log := slog.New(slog.NewTextHandler(&logs, nil))
		var seenAddr netip.Addr
		var seenID string
		mux := http.NewServeMux()
		mux.HandleFunc("GET /thing/{id}", func(w http.ResponseWriter, r *http.Request) {
			seenAddr, seenID = clientip.From(r.Context()), ID(r.Context())
			w.WriteHeader(http.StatusTeapot)
		})
		h := Middleware(log, fixedCallers{addr, trusted}, ignoreObservation, Route(mux))
		req := httptest.NewRequest("GET", "/thing/secret-looking-42", nil)
		req.Header.Set("X-Request-ID", "from-the-proxy")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)

		wantID := "from-the-proxy"
		if !trusted {
			wantID = seenID
			if seenID == "from-the-proxy" || len(seenID) != 24 {
				t.Fatalf("an untrusted caller's X-Request-ID was kept or no ID made: %q", seenID)
			}
		}
		if seenAddr != addr || seenID != wantID || rec.Header().Get("X-Request-ID") != wantID {
			t.Fatalf("trusted=%v: handler saw %v %q, response ID %q; want %v %q", trusted, seenAddr, seenID, rec.Header().Get("X-Request-ID"), addr, wantID)
		}
		line := logs.String()
		for _, want := range []string{"status=418", "address=192.0.2.7", "request_id=" + wantID, `route="GET /thing/{id}"`} {
			if !strings.Contains(line, want) {
				t.Errorf("access line %q lacks %s", line, want)
			}
		}
		if strings.Contains(line, "secret-looking-42") {
			t.Errorf("access line %q names the path, not the route", line)
		}
	}
}

// A method of thousands of characters (net/http takes any token up to the
// header limit) shows only its start in the access line, and is answered as
// usual.
func TestAccessLineBoundsTheMethod(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	h := Middleware(log, fixedCallers{netip.MustParseAddr("192.0.2.7"), false}, ignoreObservation, http.NotFoundHandler())
	for _, method := range []string{"GET", "VERSION-CONTROL", strings.Repeat("X", 20_000)} {
		logs.Reset()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, "/", nil))
		want := "method=" + method + " "
		if len(method) > maxLoggedMethod {
			want = "method=" + strings.Repeat("X", maxLoggedMethod) + "… "
		}
		if line := logs.String(); !strings.Contains(line, want) || len(line) > 300 {
			t.Errorf("access line for a %d-character method (%d bytes): %.200q, want %q", len(method), len(line), line, want)
		}
		if rec.Code != http.StatusNotFound {
			t.Errorf("%d-character method answered %d", len(method), rec.Code)
		}
	}
}
