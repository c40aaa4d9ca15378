package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore/sqlitevfs"
	"github.com/gatehouse/gatehouse/internal/testnode"
)

func runCommand(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCommand(&out, &errOut)
	root.SetArgs(args)
	err = root.Execute()
	return out.String(), errOut.String(), err
}

// report is the part of the JSON report the tests read.
type report struct {
	Scenario string `json:"scenario"`
	Runs     []struct {
		Operations int64            `json:"operations"`
		Errors     int64            `json:"errors"`
		Kinds      map[string]int64 `json:"errors_by_kind"`
		RPS        float64          `json:"req_per_s"`
		Flushes    float64          `json:"server_flushes_per_op"`
		Latency    struct {
			P50, P90, P99 float64
		} `json:"latency_ms"`
	} `json:"runs"`
	Median struct {
		RPS float64 `json:"req_per_s"`
	} `json:"median"`
}

func TestBenchCeilingJSON(t *testing.T) {
	for _, scenario := range []string{"ceiling", "ceiling-post"} {
		out, errOut, err := runCommand(t, "--scenario", scenario, "--requests", "100", "--warmup", "100ms", "--json")
		if err != nil {
			t.Fatalf("%s: %v\n%s", scenario, err, errOut)
		}
		var rep report
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("%s: not JSON: %v\n%s", scenario, err, out)
		}
		if rep.Scenario != scenario || len(rep.Runs) != 1 || rep.Runs[0].Operations != 100 || rep.Runs[0].Errors != 0 ||
			rep.Runs[0].Kinds == nil || rep.Median.RPS <= 0 || rep.Runs[0].Latency.P50 <= 0 {
			t.Fatalf("%s", out)
		}
	}
}

func TestBenchText(t *testing.T) {
	out, _, err := runCommand(t, "--scenario", "ceiling", "-c", "2", "--requests", "20", "--runs", "2", "--warmup", "0s")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"scenario ceiling, concurrency 2", "req/s", "p99 ms", "median"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
}

func TestBenchFailsOnErrors(t *testing.T) {
	// Nothing listens on port 9 of the loopback: every operation is a transport error.
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	st, err := server.OpenStore(t.Context(), cfg) // a database to provision in, as `gatehouse migrate` makes
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	out, _, err := runCommand(t, "--data-dir", dir, "--url", "http://127.0.0.1:9", "--scenario", "client-credentials",
		"-c", "1", "--requests", "5", "--warmup", "0s", "--duration", "5s")
	if err == nil || !strings.Contains(err.Error(), "failed") || !strings.Contains(out, "transport error") {
		t.Fatalf("err %v\n%s", err, out)
	}
}

func TestBenchUnknownScenario(t *testing.T) {
	if _, _, err := runCommand(t, "--scenario", "nope"); err == nil || !strings.Contains(err.Error(), "unknown scenario") {
		t.Fatalf("%v", err)
	}
}

// TestBenchSmoke is CI's run of the load tool, so that it cannot rot: a real
// node, provisioned through its store as the tool does by default, and one
// second of the client-credentials scenario with two workers, then of
// integration-token (which gives the bench application other scopes, a
// change the node sees only after its application cache's TTL, and
// authorizes the bench integration through the node, among 50 other
// integrations it creates). It checks that operations were made and none
// failed, never how fast.
func TestBenchSmoke(t *testing.T) {
	n := testnode.Start(t, testnode.Options{})
	for _, scenario := range []string{"client-credentials", "integration-token"} {
		// The node runs in this process, whose CPU and flushes the report measures.
		out, errOut, err := runCommand(t, "--dev", "--data-dir", n.Config.DataDir, "--url", n.BaseURL, "--scenario", scenario,
			"-c", "2", "--duration", "1s", "--warmup", "100ms", "--json", "--other-integrations", "50",
			"--server-pid", strconv.Itoa(os.Getpid()), "--flushes")
		if err != nil {
			t.Fatalf("%s: %v\n%s", scenario, err, errOut)
		}
		var rep report
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("%s: not JSON: %v\n%s", scenario, err, out)
		}
		if len(rep.Runs) != 1 || rep.Runs[0].Operations == 0 || rep.Runs[0].Errors != 0 {
			t.Fatalf("%s: want operations and no errors:\n%s\n%s", scenario, out, errOut)
		}
		// Every operation is a durable write: the node's /metrics counted
		// flushes (where the VFS that counts them runs: Linux).
		if f := rep.Runs[0].Flushes; sqlitevfs.VFS() != "" && (f <= 0 || f > 1.5) {
			t.Errorf("%s: %v flushes per operation, want some (at most one each, and the checkpoints')", scenario, f)
		}
	}
	list, err := n.Store.ListIntegrations(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 51 {
		t.Fatalf("the node holds %d integrations, want the bench one and 50 others", len(list))
	}
}

// TestBenchHelp: the subcommands came along, and the tool names itself.
func TestBenchHelp(t *testing.T) {
	out, _, err := runCommand(t, "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"gatehouse-bench [flags]", "startup", "ceiling-server", "--data-dir", "--scenario", "client-credentials"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in --help:\n%s", want, out)
		}
	}
}
