package bench

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Latency is a run's latency distribution, in milliseconds.
type Latency struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func latencyOf(h *Histogram) Latency {
	return Latency{
		Mean: ms(h.Mean()), P50: ms(h.Percentile(0.50)), P90: ms(h.Percentile(0.90)),
		P99: ms(h.Percentile(0.99)), Max: ms(h.Max()),
	}
}

// RunResult is one run's measurements.
type RunResult struct {
	Run        int   `json:"run"`
	Operations int64 `json:"operations"`
	Errors     int64 `json:"errors"`
	// ErrorKinds counts failed operations by kind: "transport error",
	// "status NNN", "bad body", "signed out".
	ErrorKinds   map[string]int64  `json:"errors_by_kind"`
	ErrorSamples map[string]string `json:"error_samples,omitempty"`
	// HTTPRequests counts exchanges (an authcode operation makes four or more).
	HTTPRequests int64 `json:"http_requests"`
	// Seconds is the measured window: from the end of the warm-up to the
	// end of the run, or to the operation that reached --requests.
	Seconds float64 `json:"seconds"`
	// RPS is operations (successful or not) per second.
	RPS     float64 `json:"req_per_s"`
	Latency Latency `json:"latency_ms"`
	// ToolCPU is the CPU time this process used during the run divided by
	// the run's wall time: near GOMAXPROCS, the generator itself (or, for
	// the in-process ceiling, generator and server) limits the figures.
	ToolCPU float64 `json:"tool_cpu"`
	// ServerCPU is the CPU time the --server-pid processes used during the
	// measured window divided by its length (1.0: one core, busy all the
	// time); ServerCPUPerOp is that time per operation, in microseconds.
	// Both are 0 without --server-pid.
	ServerCPU      float64 `json:"server_cpu,omitempty"`
	ServerCPUPerOp float64 `json:"server_cpu_us_per_op,omitempty"`
	// ServerFlushesPerOp is the nodes' SQLite fsyncs in the measured window
	// per operation (gatehouse_store_fsyncs_total from their /metrics, read
	// with --server-pid and --flushes); 0 when they do not give it or made
	// none.
	ServerFlushesPerOp float64 `json:"server_flushes_per_op,omitempty"`
}

// Summary is the median of the runs, each figure on its own.
type Summary struct {
	RPS     float64 `json:"req_per_s"`
	Latency Latency `json:"latency_ms"`
	// ServerCPUPerOp is the median of the runs' (0 without --server-pid);
	// so is ServerFlushesPerOp.
	ServerCPUPerOp     float64 `json:"server_cpu_us_per_op,omitempty"`
	ServerFlushesPerOp float64 `json:"server_flushes_per_op,omitempty"`
}

// Report is what `gatehouse-bench --json` prints.
type Report struct {
	Scenario      string      `json:"scenario"`
	URLs          []string    `json:"urls"`
	Concurrency   int         `json:"concurrency"`
	Duration      string      `json:"duration"`
	Warmup        string      `json:"warmup"`
	RequestsLimit int64       `json:"requests_limit"`
	GOMAXPROCS    int         `json:"gomaxprocs"`
	NumCPU        int         `json:"num_cpu"`
	GoVersion     string      `json:"go_version"`
	Runs          []RunResult `json:"runs"`
	Median        Summary     `json:"median"`
	Operations    int64       `json:"operations"`
	Errors        int64       `json:"errors"`
	// FailedFraction is Errors/Operations over every run; above MaxFailed
	// the command exits with an error.
	FailedFraction float64 `json:"failed_fraction"`
}

// MaxFailed is the share of failed operations above which a report fails.
const MaxFailed = 0.01

// Failed reports whether more than MaxFailed of the operations failed, or
// none was made.
func (r *Report) Failed() bool { return r.Operations == 0 || r.FailedFraction > MaxFailed }

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func (r *Report) summarise() {
	pick := func(f func(RunResult) float64) float64 {
		xs := make([]float64, len(r.Runs))
		for i, run := range r.Runs {
			xs[i] = f(run)
		}
		return median(xs)
	}
	r.Median = Summary{
		RPS: pick(func(x RunResult) float64 { return x.RPS }),
		Latency: Latency{
			Mean: pick(func(x RunResult) float64 { return x.Latency.Mean }),
			P50:  pick(func(x RunResult) float64 { return x.Latency.P50 }),
			P90:  pick(func(x RunResult) float64 { return x.Latency.P90 }),
			P99:  pick(func(x RunResult) float64 { return x.Latency.P99 }),
			Max:  pick(func(x RunResult) float64 { return x.Latency.Max }),
		},
		ServerCPUPerOp:     pick(func(x RunResult) float64 { return x.ServerCPUPerOp }),
		ServerFlushesPerOp: pick(func(x RunResult) float64 { return x.ServerFlushesPerOp }),
	}
	r.Operations, r.Errors = 0, 0
	for _, run := range r.Runs {
		r.Operations += run.Operations
		r.Errors += run.Errors
	}
	if r.Operations > 0 {
		r.FailedFraction = float64(r.Errors) / float64(r.Operations)
	}
}

// WriteText prints the report as a table.
func (r *Report) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "scenario %s, concurrency %d, %s per run after a %s warm-up", r.Scenario, r.Concurrency, r.Duration, r.Warmup)
	if r.RequestsLimit > 0 {
		fmt.Fprintf(w, " (at most %d operations)", r.RequestsLimit)
	}
	fmt.Fprintf(w, "\nnodes %s; GOMAXPROCS %d of %d CPUs\n\n", strings.Join(r.URLs, ", "), r.GOMAXPROCS, r.NumCPU)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	server := r.Median.ServerCPUPerOp > 0
	flushes := r.Median.ServerFlushesPerOp > 0
	head := "run\toperations\treq/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\terrors\ttool CPU\t"
	if server {
		head += "server CPU\tµs CPU/op\t"
	}
	if flushes {
		head += "flushes/op\t"
	}
	fmt.Fprintln(tw, head)
	for _, run := range r.Runs {
		l := run.Latency
		fmt.Fprintf(tw, "%d\t%d\t%.1f\t%.3f\t%.3f\t%.3f\t%.3f\t%d\t%.0f%%\t", run.Run, run.Operations, run.RPS, l.P50, l.P90, l.P99, l.Max, run.Errors, 100*run.ToolCPU)
		if server {
			fmt.Fprintf(tw, "%.0f%%\t%.1f\t", 100*run.ServerCPU, run.ServerCPUPerOp)
		}
		if flushes {
			fmt.Fprintf(tw, "%.3f\t", run.ServerFlushesPerOp)
		}
		fmt.Fprintln(tw)
	}
	l := r.Median.Latency
	fmt.Fprintf(tw, "median\t\t%.1f\t%.3f\t%.3f\t%.3f\t%.3f\t\t\t", r.Median.RPS, l.P50, l.P90, l.P99, l.Max)
	if server {
		fmt.Fprintf(tw, "\t%.1f\t", r.Median.ServerCPUPerOp)
	}
	if flushes {
		fmt.Fprintf(tw, "%.3f\t", r.Median.ServerFlushesPerOp)
	}
	fmt.Fprintln(tw)
	if err := tw.Flush(); err != nil {
		return err
	}
	kinds := map[string]int64{}
	samples := map[string]string{}
	for _, run := range r.Runs {
		for k, n := range run.ErrorKinds {
			kinds[k] += n
			if _, ok := samples[k]; !ok {
				samples[k] = run.ErrorSamples[k]
			}
		}
	}
	if len(kinds) > 0 {
		fmt.Fprintf(w, "\nerrors (%.2f%% of %d operations):\n", 100*r.FailedFraction, r.Operations)
		names := make([]string, 0, len(kinds))
		for k := range kinds {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			fmt.Fprintf(w, "  %-16s %8d  e.g. %s\n", k, kinds[k], samples[k])
		}
	}
	return nil
}
