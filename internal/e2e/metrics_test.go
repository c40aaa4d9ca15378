package e2e

import (
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
)

// TestMetricsAfterTraffic drives token requests (one of an unsupported
// grant), a code redeemed and then replayed, a refresh token reused, failed
// and throttled sign-ins over HTTP, then scrapes /metrics as Prometheus
// would and checks each count.
func TestMetricsAfterTraffic(t *testing.T) {
	w := newWorld(t, app.Registration{Grants: []string{app.GrantAuthorizationCode, app.GrantRefreshToken, app.GrantClientCredentials}},
		func(c *config.Config) { c.SignIn.MaxFailuresPerAccount = 2 })
	// newWorld signed alice in: one successful sign-in.

	wantOK(t, w.token(form("grant_type", "client_credentials", "scope", "READ"), w.client.ID, w.secret))
	wantError(t, w.token(form("grant_type", "password", "username", "alice"), w.client.ID, w.secret), http.StatusBadRequest, "unsupported_grant_type")
	code, verifier := pkceCode(w.alice, w.client, "READ")
	issued := w.redeem(w.client, w.secret, code, "code_verifier", verifier)
	wantOK(t, issued)
	wantError(t, w.redeem(w.client, w.secret, code, "code_verifier", verifier), http.StatusBadRequest, "invalid_grant")
	second := w.issue(w.alice, w.client, w.secret, "READ")
	wantOK(t, w.refresh(w.client, w.secret, second.str("refresh_token")))
	wantError(t, w.refresh(w.client, w.secret, second.str("refresh_token")), http.StatusBadRequest, "invalid_grant")

	mallory := w.newBrowser()
	for range 2 {
		if p := mallory.signIn("alice", "wrong-password"); p.status != http.StatusUnauthorized {
			t.Fatalf("a wrong password answered %d", p.status)
		}
	}
	if p := mallory.signIn("alice", "wrong-password"); p.status != http.StatusTooManyRequests {
		t.Fatalf("the third wrong password answered %d, want 429", p.status)
	}

	// A path no route serves, and a method a route does not take: both
	// "unmatched" (the pages' catch-all that answers them is no route).
	for _, req := range []struct{ method, path string }{{"GET", "/no/such/path"}, {"DELETE", "/login"}} {
		r := w.request(req.method, req.path, "", nil)
		if r.status != http.StatusNotFound && r.status != http.StatusMethodNotAllowed {
			t.Fatalf("%s %s: %d", req.method, req.path, r.status)
		}
	}

	families := scrape(t, w.base+"/metrics")
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"gatehouse_token_requests_total", map[string]string{"grant_type": "client_credentials", "outcome": "issued"}, 1},
		{"gatehouse_token_requests_total", map[string]string{"grant_type": "authorization_code", "outcome": "issued"}, 2},
		{"gatehouse_token_requests_total", map[string]string{"grant_type": "authorization_code", "outcome": "invalid_grant"}, 1},
		{"gatehouse_token_requests_total", map[string]string{"grant_type": "refresh_token", "outcome": "issued"}, 1},
		{"gatehouse_token_requests_total", map[string]string{"grant_type": "refresh_token", "outcome": "invalid_grant"}, 1},
		{"gatehouse_token_requests_total", map[string]string{"grant_type": "other", "outcome": "unsupported_grant_type"}, 1},
		{"gatehouse_authorization_codes_total", map[string]string{"outcome": "redeemed"}, 2},
		{"gatehouse_authorization_codes_total", map[string]string{"outcome": "replayed"}, 1},
		{"gatehouse_refresh_token_reuse_total", nil, 1},
		{"gatehouse_sign_ins_total", map[string]string{"result": "success"}, 1},
		{"gatehouse_sign_ins_total", map[string]string{"result": "failure"}, 2},
		{"gatehouse_sign_ins_total", map[string]string{"result": "throttled"}, 1},
		{"gatehouse_http_requests_total", map[string]string{"route": "/rest/oauth2/latest/token", "code": "200"}, 4},
		{"gatehouse_http_requests_total", map[string]string{"route": "/rest/oauth2/latest/token", "code": "400"}, 3},
		{"gatehouse_http_requests_total", map[string]string{"route": "POST /login", "code": "429"}, 1},
		{"gatehouse_http_requests_total", map[string]string{"route": "unmatched", "code": "404"}, 1},
		{"gatehouse_http_requests_total", map[string]string{"route": "unmatched", "code": "405"}, 1},
		{"gatehouse_sessions_active", nil, 1}, // alice's; mallory never signed in
		{"gatehouse_integration_refreshes_total", map[string]string{"result": "success"}, 0},
	} {
		m := find(families, c.name, c.labels)
		if m == nil {
			t.Errorf("no %s%v", c.name, c.labels)
			continue
		}
		if got := value(m); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if m := find(families, "gatehouse_http_request_duration_seconds", map[string]string{"route": "/rest/oauth2/latest/token"}); m == nil || m.GetHistogram().GetSampleCount() != 7 {
		t.Errorf("token request durations: %v, want 7 samples", m)
	}
	for _, name := range []string{"gatehouse_store_commit_seconds", "gatehouse_store_commit_batch_size"} {
		if m := find(families, name, nil); m == nil || m.GetHistogram().GetSampleCount() == 0 {
			t.Errorf("%s: %v, want commits observed", name, m)
		}
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
	}{
		{"go_sql_open_connections", map[string]string{"db_name": "sqlite_writer"}},
		{"go_sql_open_connections", map[string]string{"db_name": "sqlite_reader"}},
		{"go_goroutines", nil},
		{"process_resident_memory_bytes", nil},
		{"gatehouse_janitor_purged_rows_total", nil},
	} {
		if find(families, c.name, c.labels) == nil {
			t.Errorf("no %s%v", c.name, c.labels)
		}
	}
	// No label carries a client ID, a username or a credential.
	secrets := []string{w.client.ID, w.rs.ID, "alice", w.secret, code, issued.str("access_token"), second.str("refresh_token")}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				for _, s := range secrets {
					if strings.Contains(l.GetValue(), s) {
						t.Errorf("%s has label %s=%q", f.GetName(), l.GetName(), l.GetValue())
					}
				}
			}
		}
	}
}

// scrape fetches and parses a Prometheus text exposition.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return families
}

// metricValue scrapes url and returns the value of the unlabelled series
// name, failing the test if there is none.
func metricValue(t *testing.T, url, name string) float64 {
	t.Helper()
	m := find(scrape(t, url), name, nil)
	if m == nil {
		t.Fatalf("%s has no %s", url, name)
	}
	return value(m)
}

// find returns the series of family name whose labels include labels.
func find(families map[string]*dto.MetricFamily, name string, labels map[string]string) *dto.Metric {
	f := families[name]
	if f == nil {
		return nil
	}
	for _, m := range f.GetMetric() {
		matched := 0
		for _, l := range m.GetLabel() {
			if v, ok := labels[l.GetName()]; ok && v == l.GetValue() {
				matched++
			}
		}
		if matched == len(labels) {
			return m
		}
	}
	return nil
}

func value(m *dto.Metric) float64 {
	switch {
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	}
	return m.GetUntyped().GetValue()
}
