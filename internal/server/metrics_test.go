package server_test

import (
	"compress/gzip"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/integration"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testnode"
)

// TestMetricsScrape: the registry's families and the integrations' series,
// written after them, make one text that Prometheus' parser reads (each
// family once); gzipped when the scraper asks for it, and only then.
func TestMetricsScrape(t *testing.T) {
	n := testnode.Start(t, testnode.Options{})
	now := time.Now()
	if err := n.Store.CreateIntegration(t.Context(), store.Integration{ID: "i1", Name: "Mail", Provider: integration.Custom,
		CreatedAt: now, UpdatedAt: now, Vault: store.IntegrationVault{TokensSealed: []byte("sealed"), ExpiresAt: now.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	scrape := func(acceptEncoding string) (*http.Response, string) {
		t.Helper()
		r := httptest.NewRequest("GET", "/metrics", nil)
		r.RemoteAddr = "127.0.0.1:40000"
		r.Header.Set("Accept", "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5")
		if acceptEncoding != "" {
			r.Header.Set("Accept-Encoding", acceptEncoding)
		}
		w := httptest.NewRecorder()
		n.Handler().ServeHTTP(w, r)
		resp := w.Result()
		body := io.Reader(resp.Body)
		if resp.Header.Get("Content-Encoding") == "gzip" {
			gz, err := gzip.NewReader(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			body = gz
		}
		text, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(text)
	}
	for _, c := range []struct {
		acceptEncoding string
		gzipped        bool
	}{{"", false}, {"gzip", true}, {"br, GZIP;q=0.5", true}, {"gzip;q=0", false}, {"deflate", false}} {
		resp, text := scrape(c.acceptEncoding)
		if resp.StatusCode != http.StatusOK || (resp.Header.Get("Content-Encoding") == "gzip") != c.gzipped {
			t.Fatalf("Accept-Encoding %q: status %d, Content-Encoding %q", c.acceptEncoding, resp.StatusCode, resp.Header.Get("Content-Encoding"))
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
			t.Fatalf("Content-Type %q", ct)
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		families, err := parser.TextToMetricFamilies(strings.NewReader(text))
		if err != nil {
			t.Fatalf("Accept-Encoding %q: Prometheus cannot read the scrape: %v", c.acceptEncoding, err)
		}
		for _, name := range []string{"gatehouse_sign_ins_total", "go_goroutines", "gatehouse_integration_refreshes_total",
			"gatehouse_integration_status", "gatehouse_integration_token_expiry_seconds"} {
			if families[name] == nil {
				t.Errorf("Accept-Encoding %q: no %s", c.acceptEncoding, name)
			}
		}
		if got := len(families["gatehouse_integration_status"].GetMetric()); got != len(integration.Statuses) {
			t.Errorf("%d status series for one integration", got)
		}
	}
}

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
