package server_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/testnode"
)

// TestMetricsAllowList sends requests with crafted peers through the node's
// real handler: loopback is always served, another address only when
// metrics.allow holds it, and nobody through a proxy.
func TestMetricsAllowList(t *testing.T) {
	n := testnode.Start(t, testnode.Options{}, func(c *config.Config) { c.Metrics.Allow = []string{"192.0.2.0/28", "2001:db8::7"} })
	h := n.Handler()
	for _, c := range []struct {
		peer      string
		forwarded string
		want      int
	}{
		{"127.0.0.1:40000", "", http.StatusOK},
		{"127.0.0.2:40000", "", http.StatusOK},
		{"[::1]:40000", "", http.StatusOK},
		{"[::ffff:127.0.0.1]:40000", "", http.StatusOK},
		{"192.0.2.9:40000", "", http.StatusOK},
		{"[2001:db8::7]:40000", "", http.StatusOK},
		{"192.0.2.99:40000", "", http.StatusNotFound},
		{"[2001:db8::8]:40000", "", http.StatusNotFound},
		{"198.51.100.1:40000", "", http.StatusNotFound},
		{"127.0.0.1:40000", "X-Forwarded-For", http.StatusNotFound},
		{"192.0.2.9:40000", "Forwarded", http.StatusNotFound},
		{"127.0.0.1:40000", "X-Real-Ip", http.StatusNotFound},
	} {
		t.Run(c.peer+" "+c.forwarded, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/metrics", nil)
			r.RemoteAddr = c.peer
			if c.forwarded != "" {
				r.Header.Set(c.forwarded, "203.0.113.5")
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != c.want {
				t.Fatalf("status %d, want %d", w.Code, c.want)
			}
			if c.want == http.StatusOK && !strings.Contains(w.Body.String(), "gatehouse_sign_ins_total") {
				t.Fatalf("not the metrics:\n%.300s", w.Body.String())
			}
		})
	}
}

// TestMetricsListen: with metrics.listen the metrics move to that address,
// and the main listener no longer serves them.
func TestMetricsListen(t *testing.T) {
	addr := freeAddr(t)
	n := testnode.Start(t, testnode.Options{}, func(c *config.Config) { c.Metrics.Listen = addr })
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	// Serve opens the metrics listener after Start returns: wait for it.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on metrics.listen: %v", err)
		}
	}
	if status, body := get("http://" + addr + "/metrics"); status != http.StatusOK || !strings.Contains(body, "gatehouse_sign_ins_total") {
		t.Fatalf("metrics listener: %d\n%.300s", status, body)
	}
	if status, _ := get("http://" + addr + "/healthz"); status != http.StatusNotFound {
		t.Fatalf("metrics listener served /healthz: %d", status)
	}
	if status, _ := get(n.BaseURL + "/metrics"); status != http.StatusNotFound {
		t.Fatalf("main listener served /metrics: %d", status)
	}
	if status, _ := get(n.BaseURL + "/healthz"); status != http.StatusOK {
		t.Fatalf("main listener /healthz: %d", status)
	}
}
