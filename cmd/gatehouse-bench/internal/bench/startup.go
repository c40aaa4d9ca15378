package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// StartupOptions say what `gatehouse-bench startup` launches.
type StartupOptions struct {
	// Command is run with /bin/sh -c, once per run, so it may use shell
	// syntax, e.g. `--data-dir "$(mktemp -d)"` for a fresh data directory.
	Command string
	// URL is the base URL the command will serve.
	URL  string
	Runs int
	// Timeout bounds one start (default 60s).
	Timeout  time.Duration
	Progress io.Writer
}

// StartupReport is start-to-first-metadata, in milliseconds.
type StartupReport struct {
	Command string    `json:"command"`
	URL     string    `json:"url"`
	RunsMS  []float64 `json:"runs_ms"`
	Median  float64   `json:"median_ms"`
	Min     float64   `json:"min_ms"`
	Max     float64   `json:"max_ms"`
}

// MetadataPath is what a started node must answer.
const MetadataPath = "/.well-known/oauth-authorization-server"

// Startup launches the command Runs times and measures, each time, from just
// before the process starts to the first 200 from GET MetadataPath (polled
// every millisecond); the process is then stopped (SIGTERM, then SIGKILL).
func Startup(ctx context.Context, o StartupOptions) (*StartupReport, error) {
	if strings.TrimSpace(o.Command) == "" {
		return nil, errors.New("nothing to start: give --exec")
	}
	n, err := parseNode(o.URL)
	if err != nil {
		return nil, err
	}
	if o.Runs <= 0 {
		o.Runs = 1
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Minute
	}
	rep := &StartupReport{Command: o.Command, URL: n.base}
	for i := 1; i <= o.Runs; i++ {
		d, err := startOnce(ctx, o, n.base+MetadataPath)
		if err != nil {
			return nil, fmt.Errorf("run %d: %w", i, err)
		}
		v := float64(d.Microseconds()) / 1000
		rep.RunsMS = append(rep.RunsMS, v)
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "startup: run %d/%d: %.1f ms\n", i, o.Runs, v)
		}
	}
	rep.Median = median(rep.RunsMS)
	rep.Min, rep.Max = rep.RunsMS[0], rep.RunsMS[0]
	for _, v := range rep.RunsMS {
		rep.Min, rep.Max = min(rep.Min, v), max(rep.Max, v)
	}
	return rep, nil
}

// lockedBuffer collects a child's output while we read it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 64<<10 {
		return len(p), nil
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startOnce(ctx context.Context, o StartupOptions, metadata string) (time.Duration, error) {
	client := &http.Client{
		Timeout:   time.Second,
		Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
	}
	// Something already answering would make the figure meaningless.
	if resp, err := client.Get(metadata); err == nil {
		resp.Body.Close()
		return 0, fmt.Errorf("%s answers before the command starts: stop what listens there", metadata)
	}
	cmd := exec.Command("/bin/sh", "-c", "exec "+o.Command)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // stop the whole group, however the command forks
	exited := make(chan struct{})
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	go func() { cmd.Wait(); close(exited) }()
	defer stopGroup(cmd, exited)

	deadline := start.Add(o.Timeout)
	for {
		resp, err := client.Get(metadata)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(start), nil
			}
		}
		select {
		case <-exited:
			return 0, fmt.Errorf("the command exited before answering: %s\n%s", cmd.ProcessState, out.String())
		case <-ctx.Done():
			return 0, ctx.Err()
		default:
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("no 200 from %s within %s; output:\n%s", metadata, o.Timeout, out.String())
		}
		time.Sleep(time.Millisecond)
	}
}

// stopGroup ends the started process group: SIGTERM, then SIGKILL after 10s.
func stopGroup(cmd *exec.Cmd, exited <-chan struct{}) {
	pgid := cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-exited
	}
}
