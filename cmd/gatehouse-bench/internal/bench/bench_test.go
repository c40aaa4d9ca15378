package bench

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/user"
)

// fastArgon2 keeps sign-ins quick in tests; the code path is the production one.
var fastArgon2 = user.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}

// countingListener counts accepted connections.
type countingListener struct {
	net.Listener
	accepted atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	return c, err
}

// testNode is a real node served on one or more loopback listeners.
type testNode struct {
	node      *server.Gatehouse
	urls      []string
	listeners []*countingListener
}

func startNode(t *testing.T, listeners int) *testNode {
	t.Helper()
	cfg := config.Default()
	cfg.Dev = true
	cfg.DataDir = t.TempDir()
	var lns []*countingListener
	for range listeners {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, &countingListener{Listener: ln})
	}
	cfg.Listen = lns[0].Addr().String()
	if err := cfg.ValidateServe(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n, err := server.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), server.Options{Argon2: &fastArgon2})
	if err != nil {
		t.Fatal(err)
	}
	tn := &testNode{node: n, listeners: lns}
	done := make(chan struct{}, len(lns))
	for _, ln := range lns {
		tn.urls = append(tn.urls, "http://"+ln.Addr().String())
		go func() {
			n.Serve(ctx, ln, nil)
			done <- struct{}{}
		}()
	}
	t.Cleanup(func() {
		cancel()
		for range lns {
			<-done
		}
		n.Close()
	})
	return tn
}

func (tn *testNode) provisioner() StoreProvisioner {
	return StoreProvisioner{Apps: tn.node.Apps, Users: tn.node.Users, Integrations: tn.node.Integrations, Argon2: fastArgon2}
}

// options provisions what the scenario needs and returns a short bounded run.
func (tn *testNode) options(t *testing.T, scenario string, concurrency int) Options {
	t.Helper()
	need, err := Needs(scenario, concurrency)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ProvisionFor(context.Background(), tn.provisioner(), need, DefaultPassword, nil, tn.urls[0])
	if err != nil {
		t.Fatal(err)
	}
	o := Options{
		Scenario: scenario, URLs: tn.urls, Concurrency: concurrency, Client: got.Client, Users: got.Users, Integration: got.Integration,
		Duration: time.Minute, Warmup: 50 * time.Millisecond, Requests: 50, Runs: 2,
	}
	if testing.Verbose() {
		o.Progress = testWriter{t}
	}
	return o
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func wantClean(t *testing.T, rep *Report, ops int64, minExchanges int64) {
	t.Helper()
	for _, r := range rep.Runs {
		if r.Operations != ops || r.Errors != 0 || len(r.ErrorKinds) != 0 {
			t.Errorf("run %d: %d operations, %d errors %v %v; want %d clean", r.Run, r.Operations, r.Errors, r.ErrorKinds, r.ErrorSamples, ops)
		}
		if r.HTTPRequests < minExchanges*ops {
			t.Errorf("run %d: %d HTTP requests for %d operations", r.Run, r.HTTPRequests, r.Operations)
		}
		if r.RPS <= 0 || r.Latency.P50 <= 0 || r.Latency.P99 < r.Latency.P50 || r.Latency.Max < r.Latency.P99 {
			t.Errorf("run %d: %+v", r.Run, r)
		}
	}
	if rep.Failed() || rep.Median.RPS <= 0 || rep.Operations != ops*int64(len(rep.Runs)) {
		t.Errorf("report: %+v", rep)
	}
}

func TestScenarios(t *testing.T) {
	tn := startNode(t, 1)
	for _, tc := range []struct {
		scenario     string
		concurrency  int
		minExchanges int64
	}{
		{"ceiling", 4, 1},
		{"ceiling-flow", 2, 3},
		{"client-credentials", 4, 1},
		{"introspect", 3, 1},
		{"bearer", 3, 1},
		{"refresh", 3, 1},
		{"authcode", 2, 3},
		{"signin", 3, 2},
		{"integration-token", 3, 1},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			o := tn.options(t, tc.scenario, tc.concurrency)
			if tc.scenario == "ceiling" || tc.scenario == "ceiling-flow" {
				o.URLs = nil // served by the tool itself
			}
			rep, err := Run(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			wantClean(t, rep, 50, tc.minExchanges)
			if rep.Scenario != tc.scenario || rep.Concurrency != tc.concurrency || len(rep.Runs) != 2 || len(rep.URLs) != 1 {
				t.Errorf("%+v", rep)
			}
		})
	}
}

// TestSeveralNodes spreads workers over two URLs (one node listening twice:
// what matters here is the spreading, not the cluster).
func TestSeveralNodes(t *testing.T) {
	tn := startNode(t, 2)
	for _, scenario := range []string{"refresh", "authcode"} {
		t.Run(scenario, func(t *testing.T) {
			before := []int64{tn.listeners[0].accepted.Load(), tn.listeners[1].accepted.Load()}
			o := tn.options(t, scenario, 4)
			o.Runs = 1
			rep, err := Run(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			wantClean(t, rep, 50, 1)
			for i, ln := range tn.listeners {
				if ln.accepted.Load() == before[i] {
					t.Errorf("no worker connected to %s", tn.urls[i])
				}
			}
		})
	}
}

func TestErrorsAreCountedByKind(t *testing.T) {
	tn := startNode(t, 1)
	t.Run("wrong secret", func(t *testing.T) {
		o := tn.options(t, "client-credentials", 2)
		o.Client.Secret = "gcs_not_the_secret"
		o.Requests, o.Runs = 30, 1
		rep, err := Run(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		r := rep.Runs[0]
		if r.Operations != 30 || r.Errors != 30 || r.ErrorKinds["status 401"] != 30 || len(r.ErrorKinds) != 1 {
			t.Fatalf("%+v", r)
		}
		if !strings.Contains(r.ErrorSamples["status 401"], "invalid_client") {
			t.Errorf("sample: %q", r.ErrorSamples["status 401"])
		}
		if !rep.Failed() || rep.FailedFraction != 1 {
			t.Errorf("a report with every operation failed is not failed: %+v", rep)
		}
	})
	t.Run("nothing listens", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		ln.Close()
		o := tn.options(t, "client-credentials", 2)
		o.URLs = []string{"http://" + addr}
		o.Requests, o.Runs, o.Duration = 20, 1, 10*time.Second
		rep, err := Run(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		if r := rep.Runs[0]; r.ErrorKinds[kindTransport] != r.Operations || r.Operations == 0 {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("setup fails", func(t *testing.T) {
		o := tn.options(t, "introspect", 2)
		o.Client.Secret = "gcs_not_the_secret"
		if _, err := Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), "401") {
			t.Fatalf("minting the pool with a wrong secret: %v", err)
		}
	})
	t.Run("unknown scenario", func(t *testing.T) {
		if _, err := Run(context.Background(), Options{Scenario: "nope", Concurrency: 1, Duration: time.Second}); err == nil {
			t.Fatal("no error")
		}
	})
}

// TestDurationBounds runs without a count: the duration ends the run.
func TestDurationBounds(t *testing.T) {
	o := Options{Scenario: "ceiling", Concurrency: 2, Duration: 200 * time.Millisecond, Warmup: 50 * time.Millisecond}
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Runs[0]; r.Operations == 0 || r.Errors != 0 || r.Seconds <= 0 {
		t.Fatalf("%+v", r)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, o); !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled run: %v", err)
	}
}

func TestProvisionIsIdempotent(t *testing.T) {
	tn := startNode(t, 1)
	ctx := context.Background()
	p := tn.provisioner()
	c1, u1, err := p.Provision(ctx, true, 3, DefaultPassword, DefaultScopes)
	if err != nil {
		t.Fatal(err)
	}
	// Someone changes a password and disables a user; the next provisioning repairs both.
	if err := tn.node.Users.SetPassword(ctx, "bench-1", "another password", nil); err != nil {
		t.Fatal(err)
	}
	if err := tn.node.Users.SetDisabled(ctx, "bench-2", true); err != nil {
		t.Fatal(err)
	}
	c2, u2, err := p.Provision(ctx, true, 3, DefaultPassword, DefaultScopes)
	if err != nil {
		t.Fatal(err)
	}
	if c1.ID != c2.ID || c1.Secret != c2.Secret || c1.Secret == "" {
		t.Fatalf("the application was not reused: %+v %+v", c1, c2)
	}
	if len(u1) != 3 || len(u2) != 3 || u2[2].Username != "bench-2" {
		t.Fatalf("%v %v", u1, u2)
	}
	for _, u := range u2 {
		if _, err := tn.node.Users.Authenticate(ctx, u.Username, u.Password, netip.MustParseAddr("127.0.0.1")); err != nil {
			t.Errorf("%s: %v", u.Username, err)
		}
	}
	apps, _ := tn.node.Apps.List(ctx)
	if len(apps) != 1 {
		t.Fatalf("%d applications", len(apps))
	}
	users, _ := tn.node.Users.ByUsername(ctx, "bench-0")
	if users.Level != store.LevelUser {
		t.Fatalf("%+v", users)
	}
	// The integration twice through the node's services as well: made, then
	// found and pointed at a new provider stand-in.
	need, _ := Needs("integration-token", 2)
	for range 2 {
		if _, err := ProvisionFor(ctx, p, need, DefaultPassword, nil, tn.urls[0]); err != nil {
			t.Fatal(err)
		}
	}
}

func TestProvisionThroughAdminAPI(t *testing.T) {
	tn := startNode(t, 1)
	ctx := context.Background()
	if _, err := tn.node.Users.Create(ctx, user.NewUser{Username: "root", Password: "root-password-123", Level: store.LevelSystemAdmin}); err != nil {
		t.Fatal(err)
	}
	p := APIProvisioner{BaseURL: tn.urls[0], Username: "root", Password: "root-password-123"}
	if _, _, err := (APIProvisioner{BaseURL: tn.urls[0], Username: "root", Password: "wrong-password"}).Provision(ctx, true, 1, DefaultPassword, DefaultScopes); err == nil {
		t.Fatal("provisioned with a wrong admin password")
	}
	c1, _, err := p.Provision(ctx, true, 2, DefaultPassword, DefaultScopes)
	if err != nil {
		t.Fatal(err)
	}
	c2, creds, err := p.Provision(ctx, true, 2, DefaultPassword, DefaultScopes)
	if err != nil {
		t.Fatal(err)
	}
	if c1.ID != c2.ID || c1.Secret != c2.Secret || c1.Secret == "" {
		t.Fatalf("the application was not reused: %+v %+v", c1, c2)
	}
	for _, scenario := range []string{"client-credentials", "authcode"} {
		rep, err := Run(ctx, Options{Scenario: scenario, URLs: tn.urls, Concurrency: 2, Client: c2, Users: creds, Duration: time.Minute, Requests: 20})
		if err != nil {
			t.Fatal(err)
		}
		wantClean(t, rep, 20, 1)
	}
	// The integration twice: made, then found and pointed at a new provider;
	// the other integrations made once.
	need, _ := Needs("integration-token", 2)
	need.OtherIntegrations = 5
	for range 2 {
		got, err := ProvisionFor(ctx, p, need, DefaultPassword, nil, tn.urls[0])
		if err != nil {
			t.Fatal(err)
		}
		rep, err := Run(ctx, Options{Scenario: "integration-token", URLs: tn.urls, Concurrency: 2, Client: got.Client,
			Integration: got.Integration, Duration: time.Minute, Requests: 20})
		if err != nil {
			t.Fatal(err)
		}
		wantClean(t, rep, 20, 1)
	}
	if all, _ := tn.node.Store.ListIntegrations(ctx); len(all) != 6 {
		t.Fatalf("%d integrations after provisioning twice, want the bench one and 5 others", len(all))
	}
}

func TestServersCPUReadsProc(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("no /proc/self/stat; with CI=true this test fails rather than skips")
		}
		t.Skip("no /proc here")
	}
	before := serversCPU([]int{os.Getpid()})
	for deadline := time.Now().Add(50 * time.Millisecond); time.Now().Before(deadline); {
	}
	after := serversCPU([]int{os.Getpid()})
	if after <= before {
		t.Fatalf("CPU time did not grow: %v then %v", before, after)
	}
	if got := serversCPU([]int{-1}); got != 0 {
		t.Fatalf("a missing process counts %v", got)
	}
}

func TestMetricValue(t *testing.T) {
	answer := func(code int, body string) *http.Response {
		return &http.Response{StatusCode: code, Body: io.NopCloser(strings.NewReader(body))}
	}
	page := "# HELP gatehouse_store_fsyncs_total fsyncs.\n# TYPE gatehouse_store_fsyncs_total counter\n" +
		"gatehouse_store_fsyncs_total_other 9\ngatehouse_store_fsyncs_total{x=\"y\"} 8\ngatehouse_store_fsyncs_total 1234\n"
	if n, ok := metricValue(answer(200, page), flushesMetric); !ok || n != 1234 {
		t.Errorf("metricValue = %v, %v; want 1234", n, ok)
	}
	for name, resp := range map[string]*http.Response{
		"absent":    answer(200, "go_goroutines 7\n"),
		"forbidden": answer(403, "gatehouse_store_fsyncs_total 5\n"),
		"garbled":   answer(200, "gatehouse_store_fsyncs_total many\n"),
	} {
		if n, ok := metricValue(resp, flushesMetric); ok {
			t.Errorf("%s: metricValue = %v, true; want not found", name, n)
		}
	}
}
