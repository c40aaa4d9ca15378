package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/proccpu"
)

// Options say what to load and for how long.
type Options struct {
	Scenario string
	// URLs are the nodes' base URLs; workers are spread over them round-robin.
	// Empty for the ceiling scenario: the tool serves the bare handler itself.
	URLs        []string
	Concurrency int
	// Each run is Warmup (not measured) then Duration.
	Duration, Warmup time.Duration
	// Requests, when > 0, ends a run after that many measured operations
	// (the duration still bounds it).
	Requests int64
	Runs     int
	// Timeout bounds one operation (default 10s), so a run ends at most
	// Timeout after Warmup+Duration; an operation still running at the end
	// is let finish and not counted. Setup gets 2 minutes.
	Timeout time.Duration
	Client  Client
	Users   []Credentials
	// Integration is the ID of the authorized bench integration
	// (integration-token scenario).
	Integration string
	// ServerPIDs, when set (Linux), are the server processes whose CPU time
	// during each measured window is reported (RunResult.ServerCPU): on a
	// shared machine, CPU per operation moves far less than req/s.
	ServerPIDs []int
	// Flushes, with ServerPIDs, also reads the nodes' SQLite fsync count
	// from their /metrics when each measured window opens and closes
	// (RunResult.ServerFlushesPerOp). A scrape is work for the node, and
	// much work for one holding thousands of integrations.
	Flushes bool
	// Progress receives a line per phase; nil for none.
	Progress io.Writer
}

// Defaults of the command line.
const (
	DefaultDuration    = 8 * time.Second
	DefaultWarmup      = time.Second
	DefaultConcurrency = 8
	DefaultTimeout     = 10 * time.Second
	setupTimeout       = 2 * time.Minute
)

func (o *Options) check() error {
	if _, ok := scenarios[o.Scenario]; !ok {
		_, err := Needs(o.Scenario, 0)
		return err
	}
	if o.Concurrency < 1 || o.Concurrency > 10000 {
		return errors.New("concurrency must be 1-10000")
	}
	if o.Duration <= 0 {
		return errors.New("duration must be positive")
	}
	if o.Warmup < 0 || o.Requests < 0 || o.Runs < 0 {
		return errors.New("warm-up, requests and runs must not be negative")
	}
	if o.Runs == 0 {
		o.Runs = 1
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	sc := scenarios[o.Scenario]
	if sc.client && (o.Client.ID == "" || o.Client.Secret == "") {
		return fmt.Errorf("scenario %s needs a client ID and secret", o.Scenario)
	}
	if sc.users && len(o.Users) == 0 {
		return fmt.Errorf("scenario %s needs users", o.Scenario)
	}
	if len(o.URLs) == 0 && !sc.servedByTool {
		return errors.New("no URL to load")
	}
	return nil
}

func (o *Options) progress(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, format+"\n", args...)
	}
}

// Run sets the scenario up, runs it o.Runs times and reports.
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	urls := o.URLs
	if len(urls) == 0 {
		srv, err := StartCeiling("127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer srv.Close()
		urls = []string{srv.URL}
		o.progress("ceiling: serving the bare handler in this process at %s", srv.URL)
	}
	t := &target{client: o.Client, users: o.Users, integration: o.Integration, setupDeadline: time.Now().Add(setupTimeout)}
	for _, u := range urls {
		n, err := parseNode(u)
		if err != nil {
			return nil, err
		}
		t.nodes = append(t.nodes, n)
	}
	scopes := o.Client.Scopes
	if len(scopes) == 0 {
		scopes = DefaultScopes
	}
	t.scope = joinScopes(scopes)
	if t.client.RedirectURI == "" {
		t.client.RedirectURI = RedirectURI
	}
	t.basic = basicAuth(o.Client.ID, o.Client.Secret)

	o.progress("%s: setting up %d workers on %d node(s)", o.Scenario, o.Concurrency, len(t.nodes))
	workers, err := makeWorkers(t, scenarios[o.Scenario], o.Concurrency)
	defer func() {
		for _, w := range workers {
			if w != nil {
				w.conn.close()
			}
		}
	}()
	if err != nil {
		return nil, err
	}

	rep := &Report{
		Scenario: o.Scenario, URLs: urls, Concurrency: o.Concurrency,
		Duration: o.Duration.String(), Warmup: o.Warmup.String(), RequestsLimit: o.Requests,
		GOMAXPROCS: runtime.GOMAXPROCS(0), NumCPU: runtime.NumCPU(), GoVersion: runtime.Version(),
	}
	for i := 1; i <= o.Runs; i++ {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		r := runOnce(ctx, workers, o)
		r.Run = i
		rep.Runs = append(rep.Runs, r)
		o.progress("%s: run %d/%d: %d operations, %.0f/s, p50 %.3f ms, p99 %.3f ms, %d errors",
			o.Scenario, i, o.Runs, r.Operations, r.RPS, r.Latency.P50, r.Latency.P99, r.Errors)
	}
	rep.summarise()
	return rep, nil
}

func joinScopes(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

// makeWorkers makes every worker, in parallel (a worker's setup may sign in
// and run whole flows).
func makeWorkers(t *target, sc scenario, n int) ([]*worker, error) {
	newWorker, err := sc.build(t)
	if err != nil {
		return nil, err
	}
	workers := make([]*worker, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c := t.setupConn(t.nodeFor(i))
			w, err := newWorker(i, c)
			if err != nil {
				c.close()
				errs[i] = err
				return
			}
			workers[i] = w
		}()
	}
	wg.Wait()
	return workers, errors.Join(errs...)
}

// stats are one worker's measurements in one run.
type stats struct {
	hist      Histogram
	ops       int64
	failed    int64
	kinds     map[string]int64
	samples   map[string]string
	last      time.Time // when the last measured operation ended
	exchanges int64     // HTTP exchanges during measured operations
}

func (s *stats) fail(f *failure) {
	s.failed++
	if s.kinds == nil {
		s.kinds, s.samples = map[string]int64{}, map[string]string{}
	}
	s.kinds[f.kind]++
	if _, ok := s.samples[f.kind]; !ok {
		s.samples[f.kind] = f.detail
	}
}

// loop runs operations until the run ends, the measured count is reached or
// stop is set. An operation counts when it ends inside the measured window
// (after the warm-up, before the end), whenever it started. One still
// running at the end is let finish (cutting it off would make the server
// see a cancelled request and the worker lose its session or refresh
// chain) and is not counted. Every operation may take at most timeout.
func (w *worker) loop(warmEnd, end time.Time, timeout time.Duration, limit int64, counted *atomic.Int64, stop *atomic.Bool) {
	w.stats = stats{}
	// count claims a place for an operation that ended at done.
	count := func(done time.Time) bool {
		if done.Before(warmEnd) || !done.Before(end) {
			return false
		}
		return limit <= 0 || counted.Add(1) <= limit
	}
	full := func() bool { return limit > 0 && counted.Load() >= limit }
	for !stop.Load() && !full() {
		start := time.Now()
		if !start.Before(end) {
			return
		}
		w.conn.setDeadline(start.Add(timeout))
		if w.prepare != nil {
			if f := w.prepare(); f != nil {
				now := time.Now()
				if count(now) {
					w.stats.ops++
					w.stats.fail(f)
					w.stats.last = now
				}
				// Do not spin on a server that refuses.
				time.Sleep(min(50*time.Millisecond, end.Sub(now)))
				continue
			}
			start = time.Now()
		}
		before := w.conn.exchanges
		f := w.op()
		done := time.Now()
		if !count(done) {
			continue
		}
		w.stats.ops++
		w.stats.exchanges += w.conn.exchanges - before
		w.stats.hist.Record(done.Sub(start))
		w.stats.last = done
		if f != nil {
			w.stats.fail(f)
		}
	}
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	t, _ := proccpu.Time()
	return t
}

func runOnce(ctx context.Context, workers []*worker, o Options) RunResult {
	start := time.Now()
	warmEnd := start.Add(o.Warmup)
	end := warmEnd.Add(o.Duration)
	cpu0 := cpuTime()
	// The servers' CPU time is read when the measured window opens and
	// when it closes.
	var server0, server1 time.Duration
	// So are the nodes' flush counts, when their /metrics give them.
	var flushes0, flushes1 float64
	var flushesOK bool
	serverDone := make(chan struct{})
	go func() {
		defer close(serverDone)
		if len(o.ServerPIDs) == 0 {
			return
		}
		time.Sleep(time.Until(warmEnd))
		server0 = serversCPU(o.ServerPIDs)
		if o.Flushes {
			flushes0, flushesOK = serversFlushes(ctx, o.URLs)
		}
		time.Sleep(time.Until(end))
		server1 = serversCPU(o.ServerPIDs)
		if flushesOK {
			flushes1, flushesOK = serversFlushes(ctx, o.URLs)
		}
	}()
	var counted atomic.Int64
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			stop.Store(true)
		case <-done:
		}
	}()
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.loop(warmEnd, end, o.Timeout, o.Requests, &counted, &stop)
		}()
	}
	wg.Wait()
	close(done)
	// The tool's own CPU use over the run (warm-up included).
	cpu, wall := cpuTime()-cpu0, time.Since(start)
	<-serverDone

	var all stats
	var last time.Time
	for _, w := range workers {
		s := &w.stats
		all.hist.Merge(&s.hist)
		all.ops += s.ops
		all.failed += s.failed
		all.exchanges += s.exchanges
		for k, n := range s.kinds {
			if all.kinds == nil {
				all.kinds, all.samples = map[string]int64{}, map[string]string{}
			}
			all.kinds[k] += n
			if _, ok := all.samples[k]; !ok {
				all.samples[k] = s.samples[k]
			}
		}
		if s.last.After(last) {
			last = s.last
		}
	}
	// The measured window: the whole duration, or up to the operation that
	// reached the count.
	elapsed := o.Duration
	if o.Requests > 0 && counted.Load() >= o.Requests {
		elapsed = last.Sub(warmEnd)
	}
	r := RunResult{
		Operations: all.ops, Errors: all.failed, ErrorKinds: all.kinds, ErrorSamples: all.samples,
		HTTPRequests: all.exchanges, Seconds: elapsed.Seconds(),
		Latency: latencyOf(&all.hist),
	}
	if wall > 0 {
		r.ToolCPU = float64(cpu) / float64(wall)
	}
	if r.ErrorKinds == nil {
		r.ErrorKinds = map[string]int64{}
	}
	if len(o.ServerPIDs) > 0 && server1 > server0 {
		// Over the whole window, whether or not --requests ended it early.
		r.ServerCPU = (server1 - server0).Seconds() / o.Duration.Seconds()
		if all.ops > 0 && elapsed == o.Duration {
			r.ServerCPUPerOp = float64((server1 - server0).Microseconds()) / float64(all.ops)
		}
	}
	if flushesOK && all.ops > 0 && elapsed == o.Duration {
		r.ServerFlushesPerOp = (flushes1 - flushes0) / float64(all.ops)
	}
	if elapsed > 0 {
		r.RPS = float64(all.ops) / elapsed.Seconds()
	}
	return r
}
