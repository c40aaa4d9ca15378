package integration

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/gatehouse/gatehouse/internal/store"
)

// TestWriteMetrics: every integration's status (one-hot over the four) and,
// when its token's lifetime is known, seconds until it expires, in a text
// that Prometheus' own parser reads back series by series, names that need
// escaping included.
func TestWriteMetrics(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	e := newEnv(t, func(o *Options) { o.Now = func() time.Time { return now } })

	var empty bytes.Buffer
	if err := e.s.WriteMetrics(t.Context(), &empty); err != nil || empty.Len() != 0 {
		t.Fatalf("no integration: %v, %q; want nothing written", err, empty.String())
	}

	tokens := []byte("sealed")
	for _, in := range []store.Integration{
		{ID: "healthy", Name: "Mail", Vault: store.IntegrationVault{TokensSealed: tokens, ExpiresAt: now.Add(90 * time.Second), NextRefreshAt: now.Add(time.Minute)}},
		{ID: "failing", Name: `Quote " and \ backslash`, Vault: store.IntegrationVault{TokensSealed: tokens, ExpiresAt: now.Add(-2500 * time.Millisecond), NextRefreshAt: now.Add(time.Minute), Failures: 2}},
		{ID: "refused", Name: "Line\nfeed", Vault: store.IntegrationVault{TokensSealed: tokens, NeedsReauth: true}},
		{ID: "expired", Name: "No refresh token", Vault: store.IntegrationVault{TokensSealed: tokens, ExpiresAt: now.Add(-time.Hour)}},
		{ID: "new", Name: "Bad \xff UTF-8"},
	} {
		in.Provider, in.CreatedAt, in.UpdatedAt = Custom, now, now
		if err := e.store.CreateIntegration(t.Context(), in); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if err := e.s.WriteMetrics(t.Context(), &out); err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(out.String()))
	if err != nil {
		t.Fatalf("Prometheus cannot read it: %v\n%s", err, out.String())
	}
	if len(families) != 2 {
		t.Fatalf("%d families, want 2:\n%s", len(families), out.String())
	}
	got := map[string]float64{}
	for name, f := range families {
		if f.GetType() != dto.MetricType_GAUGE || f.GetHelp() == "" {
			t.Errorf("%s: type %v, help %q", name, f.GetType(), f.GetHelp())
		}
		for _, m := range f.GetMetric() {
			key := name
			for _, l := range m.GetLabel() {
				key += fmt.Sprintf(" %s=%q", l.GetName(), l.GetValue())
			}
			got[key] = m.GetGauge().GetValue()
		}
	}
	want := map[string]float64{}
	for id, name := range map[string]string{"healthy": "Mail", "failing": `Quote " and \ backslash`, "refused": "Line\nfeed",
		"expired": "No refresh token", "new": "Bad \uFFFD UTF-8"} {
		current := map[string]Status{"healthy": StatusHealthy, "failing": StatusFailing, "refused": StatusNeedsReauth,
			"expired": StatusNeedsReauth, "new": StatusNotAuthorized}[id]
		for _, st := range Statuses {
			v := 0.0
			if st == current {
				v = 1
			}
			want[fmt.Sprintf("%s integration=%q name=%q status=%q", statusMetric, id, name, st)] = v
		}
	}
	want[fmt.Sprintf("%s integration=%q name=%q", expiryMetric, "healthy", "Mail")] = 90
	want[fmt.Sprintf("%s integration=%q name=%q", expiryMetric, "failing", `Quote " and \ backslash`)] = -2.5
	want[fmt.Sprintf("%s integration=%q name=%q", expiryMetric, "expired", "No refresh token")] = -3600
	if len(got) != len(want) {
		t.Errorf("%d series, want %d", len(got), len(want))
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
}
