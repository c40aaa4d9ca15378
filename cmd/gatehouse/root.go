package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/cli"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server"
)

// globals are the flags every command takes.
type globals struct {
	stdout, stderr io.Writer
	settings       cli.Flags // shared with gatehouse-bench
	jsonOut        bool
}

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "gatehouse",
		Short: "Gatehouse, a self-hosted OAuth 2.0 authorization server",
		Long: `Gatehouse is a self-hosted OAuth 2.0 authorization server with its own sign-in,
consent and administration pages.

Start it for development with the embedded SQLite store:

  gatehouse serve --dev

Settings come from a YAML file (--config), then GATEHOUSE_* environment
variables, then flags, each overriding the one before.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       buildVersion(),
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	g.settings.Register(root)
	root.PersistentFlags().BoolVar(&g.jsonOut, "json", false, "print results as JSON")
	root.AddCommand(newServeCommand(g), newMigrateCommand(g), newUserCommand(g), newClientCommand(g), newKeygenCommand(g), newBackupCommand(g))
	root.AddCommand(newMailServerCommand(g))
	root.AddCommand(newIntegrationCommand(g))
	root.AddCommand(newHashWorkerCommand())
	group(root)
	markUsageErrors(root)
	return root
}

// usageError is a command called wrongly: an argument missing or extra, an
// unknown flag or subcommand. main exits with status 2 for it, as shells'
// tools do, where 1 is a failure of the work itself.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// markUsageErrors makes the argument and flag errors of cmd and every
// command below it usage errors that name the command's usage line and its
// --help (cobra's own say only "accepts 1 arg(s), received 0").
func markUsageErrors(cmd *cobra.Command) {
	wrap := func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w\nusage: %s (see `%s --help`)", err, c.UseLine(), c.CommandPath())}
	}
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return wrap(c, err) })
	if check := cmd.Args; check != nil {
		cmd.Args = func(c *cobra.Command, args []string) error {
			if err := check(c, args); err != nil {
				return wrap(c, err)
			}
			return nil
		}
	}
	for _, sub := range cmd.Commands() {
		markUsageErrors(sub)
	}
}

// loadConfig merges file, environment and flags; serving adds the base URL checks.
func (g *globals) loadConfig(cmd *cobra.Command, serving bool, apply func(*config.Config)) (config.Config, error) {
	return g.settings.Load(cmd, serving, apply)
}

// newLogger is cli's, by the name the commands here use.
func newLogger(cfg config.Config, w io.Writer) *slog.Logger { return cli.NewLogger(cfg, w) }

// open builds a node for a management command; logs go to stderr.
func (g *globals) open(cmd *cobra.Command) (*server.Gatehouse, error) {
	cfg, err := g.loadConfig(cmd, false, nil)
	if err != nil {
		return nil, err
	}
	return cli.Open(cmd.Context(), cfg, g.stderr)
}

// withNode runs fn against an opened node and closes it.
func (g *globals) withNode(cmd *cobra.Command, fn func(ctx context.Context, n *server.Gatehouse) error) error {
	n, err := g.open(cmd)
	if err != nil {
		return err
	}
	defer n.Close()
	return fn(cmd.Context(), n)
}

func (g *globals) printJSON(v any) error {
	enc := json.NewEncoder(g.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // URLs as they are, for sed and grep: not "&" as "\u0026"
	return enc.Encode(v)
}

// printJSONPages prints, as printJSON prints a list, the views of the items
// of every page next reads (an empty page: no more), each page as it comes,
// so that a long list is never in memory whole. A failure after the first
// page leaves the printed list unclosed, so that no JSON reader takes it for
// a whole one.
func printJSONPages[T, V any](g *globals, next func() ([]T, error), view func(T) V) error {
	page, err := next()
	if err != nil {
		return err
	}
	if len(page) == 0 {
		return g.printJSON([]V{})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("  ", "  ") // an item's lines inside the list's brackets
	enc.SetEscapeHTML(false)
	buf.WriteString("[\n  ")
	for first := true; len(page) > 0; page, err = next() {
		for _, item := range page {
			if !first {
				buf.WriteString(",\n  ")
			}
			first = false
			if err := enc.Encode(view(item)); err != nil {
				return err
			}
			buf.Truncate(buf.Len() - 1) // Encode's newline
		}
		if _, err := g.stdout.Write(buf.Bytes()); err != nil {
			return err
		}
		buf.Reset()
	}
	if err != nil {
		return err
	}
	_, err = io.WriteString(g.stdout, "\n]\n")
	return err
}

func newKeygenCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "keygen",
		Short: "Print a new random secret key for GATEHOUSE_SECRET_KEY",
		Long: `Print a new random 32-byte secret key in base64. Every node of a cluster must
use the same key (GATEHOUSE_SECRET_KEY or secret_key in the configuration);
without one, the first start writes secret.key into the data directory.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if g.jsonOut {
				return g.printJSON(struct {
					SecretKey string `json:"secret_key"`
				}{secretKey()})
			}
			_, err := fmt.Fprintln(g.stdout, secretKey())
			return err
		},
	}
}

// group makes cmd a command of subcommands only: alone it shows its help,
// and an argument that names none of them is an error, as at the root
// ("gatehouse integration bogus" printed the help and succeeded).
func group(cmd *cobra.Command, subcommands ...*cobra.Command) *cobra.Command {
	cmd.Args = cobra.NoArgs
	cmd.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	cmd.AddCommand(subcommands...)
	return cmd
}
