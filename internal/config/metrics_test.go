package config

import (
	"slices"
	"strings"
	"testing"
)

func TestMetricsSettings(t *testing.T) {
	c := Default()
	if err := c.LoadEnv([]string{"GATEHOUSE_METRICS_ALLOW=10.1.2.0/24, 192.0.2.7", "GATEHOUSE_METRICS_LISTEN=127.0.0.1:9100"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Metrics.Allow, []string{"10.1.2.0/24", "192.0.2.7"}) || c.Metrics.Listen != "127.0.0.1:9100" {
		t.Fatalf("metrics %+v", c.Metrics)
	}
}

func TestMetricsSettingsRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		metric Metrics
		want   string
	}{
		{"allow", Metrics{Allow: []string{"10.0.0.0/8", "prometheus.internal"}}, `metrics.allow: "prometheus.internal"`},
		{"listen", Metrics{Listen: "9100"}, `metrics.listen "9100" must be host:port`},
		{"same as listen", Metrics{Listen: "127.0.0.1:8080"}, "must differ from listen"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			c.Metrics = tc.metric
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}
