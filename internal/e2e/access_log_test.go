package e2e

import (
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/testnode"
)

// TestAccessLog: one JSON line per request at info, naming the route
// pattern, status, duration, address and request ID — never a query string,
// a token or a form value; the request ID is returned, shown on error pages,
// and taken from X-Request-ID only when a trusted proxy sent it.
func TestAccessLog(t *testing.T) {
	var logs syncBuffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	n := testnode.Start(t, testnode.Options{Log: log, Server: server.Options{}}, func(c *config.Config) { c.TrustedProxies = []string{"127.0.0.2/32"} })
	e := &env{t: t, base: n.BaseURL, node: n.Gatehouse}
	c, secretValue := e.createClient(app.Registration{Grants: []string{app.GrantClientCredentials}, RedirectURIs: []string{}})
	tok := e.token(form("grant_type", "client_credentials", "scope", "READ"), c.ID, secretValue)
	if tok.status != http.StatusOK {
		t.Fatalf("token: %d %s", tok.status, tok.raw)
	}
	req, _ := http.NewRequest("GET", n.BaseURL+"/login?next=/secret-next-value", nil)
	req.Header.Set("X-Request-ID", "spoofed-by-a-client")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if id := resp.Header.Get("X-Request-ID"); id == "" || id == "spoofed-by-a-client" {
		t.Fatalf("X-Request-ID %q: want a generated one (the caller is no trusted proxy)", id)
	}
	// A trusted proxy's ID is kept.
	proxy := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}).DialContext}}
	req, _ = http.NewRequest("GET", n.BaseURL+"/healthz", nil)
	req.Header.Set("X-Request-ID", "proxy-id-123")
	resp, err = proxy.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if id := resp.Header.Get("X-Request-ID"); id != "proxy-id-123" {
		t.Fatalf("X-Request-ID from a trusted proxy came back as %q", id)
	}
	missing := e.newBrowser().get("/no-such-page")
	id := missing.header.Get("X-Request-ID")
	if missing.status != http.StatusNotFound || id == "" || !strings.Contains(missing.body, id) {
		t.Fatalf("the error page does not show its request ID %q: %d", id, missing.status)
	}

	// A method of thousands of characters is answered, and logged by its start only.
	long := strings.Repeat("X", 20_000)
	req, _ = http.NewRequest(long, n.BaseURL+"/healthz", nil)
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("a 20,000-character method: %d, want 405", resp.StatusCode)
	}
	if strings.Contains(logs.String(), long[:100]) || !strings.Contains(logs.String(), `"method":"XXXXXXXXXXXXXXXX…"`) {
		t.Errorf("the access log holds a long method whole, or not its start")
	}

	// A refused cross-origin form names its Origin and Host by their starts
	// only: anyone can send 30 KB of each, as often as they like.
	req, _ = http.NewRequest("POST", n.BaseURL+"/login", strings.NewReader("username=a"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example/"+long)
	req.Host = strings.Repeat("h", 5_000)
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(logs.String(), `"origin":"https://evil.example/XXX`) {
		t.Errorf("a cross-origin form: %d, or its refusal not logged with the origin's start", resp.StatusCode)
	}
	for _, l := range strings.Split(logs.String(), "\n") {
		if len(l) > 2_000 {
			t.Errorf("a log line of %d bytes: %.200s…", len(l), l)
		}
	}

	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" {
			lines = append(lines, m)
		}
	}
	routes := map[string]map[string]any{}
	for _, l := range lines {
		routes[l["route"].(string)] = l
		if ns, ok := l["duration"].(float64); !ok || ns <= 0 || ns != float64(int64(ns)) { // nanoseconds, as docs/operations.md says
			t.Errorf("duration %v: want an integer of nanoseconds", l["duration"])
		}
		if l["request_id"] == "" || l["address"] == "" || l["level"] != "INFO" {
			t.Errorf("incomplete access line: %v", l)
		}
	}
	if l := routes["/rest/oauth2/latest/token"]; l == nil || l["status"] != float64(200) || l["method"] != "POST" {
		t.Errorf("no access line for the token request: %v", lines)
	}
	if l := routes["GET /login"]; l == nil {
		t.Errorf("no access line naming the route GET /login: %v", lines)
	}
	for _, secret := range []string{"secret-next-value", tok.str("access_token"), secretValue, "spoofed-by-a-client"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds %q:\n%s", secret, logs.String())
		}
	}
}
