package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func runCommand(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCommand(&out, &errOut)
	root.SetArgs(args)
	err = root.Execute()
	return out.String(), errOut.String(), err
}

func TestBenchCeilingJSON(t *testing.T) {
	out, errOut, err := runCommand(t, "bench", "--scenario", "ceiling", "--requests", "100", "--warmup", "100ms", "--json")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	var rep struct {
		Scenario string `json:"scenario"`
		Runs     []struct {
			Operations int64            `json:"operations"`
			Errors     int64            `json:"errors"`
			Kinds      map[string]int64 `json:"errors_by_kind"`
			RPS        float64          `json:"req_per_s"`
			Latency    struct {
				P50, P90, P99 float64
			} `json:"latency_ms"`
		} `json:"runs"`
		Median struct {
			RPS float64 `json:"req_per_s"`
		} `json:"median"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if rep.Scenario != "ceiling" || len(rep.Runs) != 1 || rep.Runs[0].Operations != 100 || rep.Runs[0].Errors != 0 ||
		rep.Runs[0].Kinds == nil || rep.Median.RPS <= 0 || rep.Runs[0].Latency.P50 <= 0 {
		t.Fatalf("%s", out)
	}
}

func TestBenchText(t *testing.T) {
	out, _, err := runCommand(t, "bench", "--scenario", "ceiling", "-c", "2", "--requests", "20", "--runs", "2", "--warmup", "0s")
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
	if _, errOut, err := runCommand(t, "migrate", "--data-dir", dir); err != nil {
		t.Fatalf("migrate: %v\n%s", err, errOut)
	}
	out, _, err := runCommand(t, "bench", "--data-dir", dir, "--url", "http://127.0.0.1:9", "--scenario", "client-credentials",
		"-c", "1", "--requests", "5", "--warmup", "0s", "--duration", "5s")
	if err == nil || !strings.Contains(err.Error(), "failed") || !strings.Contains(out, "transport error") {
		t.Fatalf("err %v\n%s", err, out)
	}
}

func TestBenchUnknownScenario(t *testing.T) {
	if _, _, err := runCommand(t, "bench", "--scenario", "nope"); err == nil || !strings.Contains(err.Error(), "unknown scenario") {
		t.Fatalf("%v", err)
	}
}
