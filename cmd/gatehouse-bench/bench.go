package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/cmd/gatehouse-bench/internal/bench"
	"github.com/gatehouse/gatehouse/internal/cli"
	"github.com/gatehouse/gatehouse/internal/heapfloor"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/user"
)

// globals are the flags every command takes: the node's configuration, as
// gatehouse's management commands take it, and --json.
type globals struct {
	stdout, stderr io.Writer
	settings       cli.Flags
	jsonOut        bool
}

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr}
	o := bench.Options{}
	var adminUser, adminPassword, password, outFile string
	var scopes []string
	var otherIntegrations int
	cmd := &cobra.Command{
		Use:   "gatehouse-bench",
		Short: "Load a running Gatehouse and report req/s and latency percentiles",
		Long: `Load one or more running Gatehouse nodes with a closed-loop generator: each
worker sends an operation on its own keep-alive connection, waits for the
answer and sends the next. Each run has a warm-up, then lasts --duration or
--requests measured operations, whichever comes first; an operation is
measured when it ends inside that window (one still running at the end is
let finish, up to --timeout, and not counted). It
reports operations per second, p50/p90/p99/max latency and errors by kind;
with --runs N, each run and the median of each figure. It exits with an
error when more than 1% of the operations failed.

Scenarios:
` + bench.ScenarioHelp() + `
Before loading, it provisions what the scenario needs, reusing what is there:
the confidential application "` + bench.ClientName + `" (redirect URI
` + bench.RedirectURI + `, never contacted) and users
` + bench.UserPrefix + `0 … ` + bench.UserPrefix + `<c-1>, one per worker. By default it opens the node's
store like gatehouse's management commands (--data-dir, --database-url,
--config, GATEHOUSE_*; a cluster also needs GATEHOUSE_SECRET_KEY); with
--admin-user and --admin-password it goes through the admin REST API of the
first --url instead.

See docs/benchmarking.md, and scripts/bench.sh for the whole suite.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Example: `  gatehouse-bench --url http://127.0.0.1:8080 --scenario client-credentials -c 32
  gatehouse-bench --scenario ceiling -c 32 --runs 3 --json
  gatehouse-bench --url http://127.0.0.1:8081 --url http://127.0.0.1:8082 --scenario refresh -c 8
  gatehouse-bench --url http://127.0.0.1:8080 --scenario signin -c 50 --admin-user admin --admin-password "$PW"
  gatehouse-bench startup --exec 'gatehouse serve --dev --listen 127.0.0.1:9090 --data-dir "$(mktemp -d)"' --url http://127.0.0.1:9090 --runs 5`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			need, err := bench.Needs(o.Scenario, o.Concurrency)
			if err != nil {
				return err
			}
			if len(o.URLs) == 0 && !need.ServedByTool {
				o.URLs = []string{"http://127.0.0.1:8080"}
			}
			if !cmd.Flags().Changed("scope") {
				scopes = need.Scopes
			}
			if need.Integration {
				need.OtherIntegrations = otherIntegrations
			}
			if need.Client || need.Users > 0 || need.Integration {
				fmt.Fprintf(g.stderr, "provisioning: application %v, %d users, integration %v (among %d others)\n", need.Client, need.Users, need.Integration, need.OtherIntegrations)
				provision := func(ctx context.Context, p bench.Provisioner) error {
					got, err := bench.ProvisionFor(ctx, p, need, password, scopes, o.URLs[0])
					o.Client, o.Users, o.Integration = got.Client, got.Users, got.Integration
					return err
				}
				if adminUser != "" {
					err = provision(ctx, bench.APIProvisioner{BaseURL: o.URLs[0], Username: adminUser, Password: adminPassword})
				} else {
					err = g.withNode(cmd, o.URLs[0], func(n *server.Gatehouse) error {
						return provision(ctx, bench.StoreProvisioner{Apps: n.Apps, Users: n.Users, Integrations: n.Integrations, Argon2: user.DefaultArgon2, ClientTTL: n.Config.Cache.ClientTTL})
					})
				}
				if err != nil {
					return err
				}
			}
			o.Client.Scopes = scopes
			o.Progress = g.stderr
			rep, err := bench.Run(ctx, o)
			if err != nil {
				return err
			}
			if err := writeJSONFile(outFile, rep); err != nil {
				return err
			}
			if g.jsonOut {
				err = g.printJSON(rep)
			} else {
				err = rep.WriteText(g.stdout)
			}
			if err != nil {
				return err
			}
			if rep.Failed() {
				return fmt.Errorf("%.2f%% of %d operations failed (more than %.0f%%)", 100*rep.FailedFraction, rep.Operations, 100*bench.MaxFailed)
			}
			return nil
		},
	}
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	g.settings.Register(cmd)
	cmd.PersistentFlags().BoolVar(&g.jsonOut, "json", false, "print results as JSON")
	f := cmd.Flags()
	f.StringArrayVar(&o.URLs, "url", nil, "base URL of a node (repeatable: workers are spread round-robin; default http://127.0.0.1:8080, none for ceiling)")
	f.StringVar(&o.Scenario, "scenario", "client-credentials", "what to load (see above)")
	f.IntVarP(&o.Concurrency, "concurrency", "c", bench.DefaultConcurrency, "workers, each with its own connection")
	f.DurationVar(&o.Duration, "duration", bench.DefaultDuration, "measured time of a run")
	f.DurationVar(&o.Warmup, "warmup", bench.DefaultWarmup, "unmeasured time at the start of each run")
	f.Int64Var(&o.Requests, "requests", 0, "end a run after this many measured operations (0: only --duration bounds it)")
	f.IntVar(&o.Runs, "runs", 1, "runs; each is reported, with the median of every figure")
	f.DurationVar(&o.Timeout, "timeout", bench.DefaultTimeout, "longest time one operation may take; a slower one fails as a transport error")
	f.IntVar(&otherIntegrations, "other-integrations", bench.OtherIntegrations, "integration-token: integrations the node holds besides the bench one (created when missing)")
	f.StringSliceVar(&scopes, "scope", nil, "scopes the bench application has and asks for (default READ,WRITE; INTEGRATION_TOKEN for integration-token)")
	f.StringVar(&password, "user-password", bench.DefaultPassword, "password of the bench users")
	f.StringVar(&outFile, "out", "", "also write the JSON report to this file")
	f.StringVar(&adminUser, "admin-user", "", "provision through the admin API, signed in as this administrator")
	f.StringVar(&adminPassword, "admin-password", "", "the administrator's password (with --admin-user)")
	f.IntSliceVar(&o.ServerPIDs, "server-pid", nil, "report the CPU time these processes (the nodes; Linux) used in each measured window, and per operation")
	f.BoolVar(&o.Flushes, "flushes", false, "with --server-pid, also report the nodes' SQLite fsyncs per operation, read from their /metrics before and after each window (each read is a scrape: on a node holding thousands of integrations it costs the node tens of MiB)")
	cmd.AddCommand(newBenchStartupCommand(g), newBenchCeilingServerCommand(g))
	return cmd
}

func newBenchStartupCommand(g *globals) *cobra.Command {
	o := bench.StartupOptions{}
	var outFile string
	cmd := &cobra.Command{
		Use:   "startup",
		Short: "Measure the time from launching a server to its first metadata answer",
		Long: `Launch --exec (through /bin/sh -c) --runs times; each time, poll
GET <url>` + bench.MetadataPath + ` every millisecond until it answers 200,
report the time since launch, and stop the process (SIGTERM, then SIGKILL).
A fresh data directory per run is the command's business, e.g.
--data-dir "$(mktemp -d)".`,
		Example: `  gatehouse-bench startup --exec 'gatehouse serve --dev --listen 127.0.0.1:9090 --data-dir "$(mktemp -d)"' --url http://127.0.0.1:9090 --runs 5`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			o.Progress = g.stderr
			rep, err := bench.Startup(ctx, o)
			if err != nil {
				return err
			}
			if err := writeJSONFile(outFile, rep); err != nil {
				return err
			}
			if g.jsonOut {
				return g.printJSON(rep)
			}
			_, err = fmt.Fprintf(g.stdout, "start to first metadata: median %.1f ms (min %.1f, max %.1f) over %d runs\n", rep.Median, rep.Min, rep.Max, len(rep.RunsMS))
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Command, "exec", "", "the command that starts a node (required)")
	f.StringVar(&o.URL, "url", "http://127.0.0.1:8080", "the base URL it serves")
	f.IntVar(&o.Runs, "runs", 3, "launches")
	f.DurationVar(&o.Timeout, "timeout", time.Minute, "longest wait for one start")
	f.StringVar(&outFile, "out", "", "also write the JSON report to this file")
	cmd.MarkFlagRequired("exec")
	return cmd
}

func newBenchCeilingServerCommand(g *globals) *cobra.Command {
	var listen, floorDir, floorStorage string
	cmd := &cobra.Command{
		Use:   "ceiling-server",
		Short: "Serve the ceiling scenarios' bare handlers (to run them in their own process)",
		Long: `Serve bare net/http handlers until interrupted: a small JSON object on every
path, and on the authorization, consent and token paths answers shaped like
Gatehouse's. "gatehouse-bench --scenario ceiling --url <its URL>" (or
ceiling-post, ceiling-flow, ceiling-refresh) then measures the HTTP ceiling with the server in
a process of its own (pinned like a Gatehouse node would be), rather than
inside the load generator.

With --floor-dir, Allow and the code exchange also store what an
authorization code flow must keep, and nothing else, in a SQLite database in
that directory, through a Gatehouse node's own write path (the decision
answered before its flush, the exchange after one, synchronous=FULL), and
/metrics reports its fsyncs: ceiling-flow against it (with --flushes) is the
browser flow's floor with its durable writes. With --floor-storage required
they also store what the spec requires of every flow, in tables with their
primary keys and the refresh cap's one index (the page decided once, the
consent's audit row, tokens bound to user, client and scope, the cap). With
--floor-storage gatehouse they store instead what a Gatehouse node stores,
through its own store (the decided consent, the code and the consent's audit
row; the code redeemed with a token pair under the refresh cap), so that the
flow's cost splits into the floor, what the spec requires above it,
Gatehouse's storage above that, and Gatehouse's pages and handlers.

A refresh (grant_type=refresh_token) against a floor rotates the refresh
token in the same storage, answered once flushed: the old token marked
rotated, the access token issued with it revoked and a new pair inserted
(SPEC.md's four row changes; with --floor-storage gatehouse, the node's own
rotation), so that ceiling-refresh against it is the rotation's floor.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			// A node's collector pacing: the floors' allocations (SQLite's
			// above all) would otherwise collect far more often than a node's.
			heapfloor.Keep(heapfloor.ServingNode)
			start := bench.StartCeiling
			if floorDir != "" {
				start = func(addr string) (*bench.CeilingServer, error) {
					return bench.StartCeilingFloor(ctx, addr, floorDir, floorStorage)
				}
			}
			s, err := start(listen)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stderr, "ceiling server on %s\n", s.URL)
			<-ctx.Done()
			return s.Close()
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8090", "address to listen on")
	cmd.Flags().StringVar(&floorDir, "floor-dir", "", "store the flow's codes and tokens in a SQLite database in this directory (the flow's floor)")
	cmd.Flags().StringVar(&floorStorage, "floor-storage", bench.FloorMinimal, "with --floor-dir, what is stored: "+bench.FloorMinimal+" (the floor), "+bench.FloorRequired+" (what the spec requires of every flow) or "+bench.FloorGatehouse+" (what a node stores, through its store)")
	return cmd
}

// withNode runs fn against the node's store opened like gatehouse's
// management commands, as the node at url (its base URL, unless the
// configuration names one: authorizations started here end there).
func (g *globals) withNode(cmd *cobra.Command, url string, fn func(n *server.Gatehouse) error) error {
	cfg, err := g.settings.Load(cmd, false, nil)
	if err != nil {
		return err
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = strings.TrimSuffix(url, "/")
	}
	n, err := cli.Open(cmd.Context(), cfg, g.stderr)
	if err != nil {
		return err
	}
	defer n.Close()
	return fn(n)
}

func (g *globals) printJSON(v any) error {
	enc := json.NewEncoder(g.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeJSONFile writes v as indented JSON to path; nothing when path is empty.
func writeJSONFile(path string, v any) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
