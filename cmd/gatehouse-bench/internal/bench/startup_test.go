package bench

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain runs the tests, or, in a child process started by TestStartup
// (BENCH_HELPER_LISTEN set), plays a node that starts slowly and then answers
// the metadata path until it is stopped.
func TestMain(m *testing.M) {
	if addr := os.Getenv("BENCH_HELPER_LISTEN"); addr != "" {
		serveMetadataSlowly(addr)
		return
	}
	os.Exit(m.Run())
}

func serveMetadataSlowly(addr string) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	time.Sleep(20 * time.Millisecond)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+MetadataPath, func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(`{"issuer":"x"}`)) })
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	select {
	case <-ctx.Done():
	case <-time.After(time.Minute):
	}
	srv.Close()
}

func TestStartup(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	command := "env BENCH_HELPER_LISTEN=" + addr + " " + os.Args[0]
	rep, err := Startup(context.Background(), StartupOptions{Command: command, URL: "http://" + addr, Runs: 3, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.RunsMS) != 3 || rep.Median <= 0 || rep.Min > rep.Median || rep.Max < rep.Median {
		t.Fatalf("%+v", rep)
	}
	// Each run's process is stopped: the port is free again.
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("the last started process still listens")
	}

	_, err = Startup(context.Background(), StartupOptions{Command: "exit 3", URL: "http://" + addr, Runs: 1, Timeout: 10 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "exited") {
		t.Fatalf("a command that exits at once: %v", err)
	}
}
