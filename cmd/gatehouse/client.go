package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/store"
)

func newClientCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "client", Short: "Manage applications (OAuth 2.0 clients, \"incoming links\")"}
	return group(cmd, newClientCreate(g), newClientList(g), newClientShow(g), newClientRotate(g),
		newClientSetEnabled(g, false), newClientSetEnabled(g, true), newClientDelete(g))
}

// cliActor is who the audit log names for a management command.
func cliActor() audit.Actor { return audit.CommandLine() }

// printClient shows an application, in the admin API's JSON with --json.
func (g *globals) printClient(ctx context.Context, node *server.Gatehouse, c store.Client, secretValue string) error {
	summary, err := node.Admin.Summary(ctx, c)
	if err != nil {
		return err
	}
	j := admin.NewClientView(summary, secretValue)
	if g.jsonOut {
		return g.printJSON(j)
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "client_id:\t%s\n", j.ClientID)
	if secretValue != "" {
		fmt.Fprintf(tw, "client_secret:\t%s\n", secretValue)
	}
	fmt.Fprintf(tw, "name:\t%s\ntype:\t%s\nredirect URIs:\t%s\nscopes:\t%s\ngrants:\t%s\nPKCE required:\t%v\nenabled:\t%v\nactive tokens:\t%d\n",
		j.Name, j.Type, strings.Join(j.RedirectURIs, " "), strings.Join(j.Scopes, " "), strings.Join(j.Grants, " "), j.RequirePKCE, j.Enabled, j.ActiveTokens)
	subscribers := "all users"
	if len(j.SubscriberUsers)+len(j.SubscriberGroups) > 0 {
		subscribers = strings.Join(append(append([]string{}, j.SubscriberUsers...), prefixed("group:", j.SubscriberGroups)...), " ")
	}
	fmt.Fprintf(tw, "subscribers:\t%s\n", subscribers)
	if len(j.AllowedIPs) > 0 {
		fmt.Fprintf(tw, "allowed IPs:\t%s\n", strings.Join(j.AllowedIPs, " "))
	}
	if j.IntrospectAny {
		fmt.Fprintf(tw, "introspection:\tevery application's tokens\n")
	}
	return tw.Flush()
}

func prefixed(p string, in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = p + s
	}
	return out
}

func newClientCreate(g *globals) *cobra.Command {
	var r app.Registration
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Register an application; prints its client ID and secret",
		Example: `  gatehouse client create --name "CI bot" --redirect-uri https://ci.example.com/oauth/callback --scope READ --json
  gatehouse client create --name "CLI" --public --redirect-uri http://127.0.0.1/callback --scope WRITE`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withNode(cmd, func(ctx context.Context, node *server.Gatehouse) error {
				c, secretValue, err := node.Admin.CreateApp(ctx, cliActor(), r)
				if err != nil {
					return err
				}
				return g.printClient(ctx, node, c, secretValue)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&r.Name, "name", "", "application name shown on the consent page (required)")
	f.StringVar(&r.Description, "description", "", "description shown on the consent page")
	f.StringArrayVar(&r.RedirectURIs, "redirect-uri", nil, "redirect URI (repeatable)")
	f.StringArrayVar(&r.Scopes, "scope", nil, "scope the application may ask for (repeatable)")
	f.BoolVar(&r.Public, "public", false, "public client (no secret; PKCE required)")
	f.BoolVar(&r.RequirePKCE, "require-pkce", false, "require PKCE from this confidential client")
	f.StringArrayVar(&r.SubscriberUsers, "subscriber", nil, "username allowed to use it (repeatable; default: all users)")
	f.StringArrayVar(&r.SubscriberGroups, "subscriber-group", nil, "group allowed to use it (repeatable)")
	f.StringArrayVar(&r.AllowedIPs, "allowed-ip", nil, "CIDR allowed at the token endpoint and on token use (repeatable)")
	f.StringArrayVar(&r.Grants, "grant", nil, "authorization_code, refresh_token or client_credentials (repeatable; default: the first two)")
	f.BoolVar(&r.IntrospectAny, "introspect-any", false, "let it introspect every application's tokens, not only its own (a resource server such as a mail server)")
	f.BoolVar(&r.Disabled, "disabled", false, "create it disabled")
	cmd.MarkFlagRequired("name")
	return cmd
}

func newClientList(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List applications",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withNode(cmd, func(ctx context.Context, node *server.Gatehouse) error {
				apps, err := node.Admin.ListApps(ctx, "")
				if err != nil {
					return err
				}
				views := make([]admin.ClientView, 0, len(apps))
				for _, a := range apps {
					views = append(views, admin.NewClientView(a, ""))
				}
				if g.jsonOut {
					return g.printJSON(views)
				}
				tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "CLIENT ID\tNAME\tTYPE\tSCOPES\tENABLED")
				for _, j := range views {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\n", j.ClientID, j.Name, j.Type, strings.Join(j.Scopes, " "), j.Enabled)
				}
				return tw.Flush()
			})
		},
	}
}

// withClient runs fn against the application named by the command's one argument.
func (g *globals) withClient(cmd *cobra.Command, id string, fn func(context.Context, *server.Gatehouse, store.Client) error) error {
	return g.withNode(cmd, func(ctx context.Context, node *server.Gatehouse) error {
		c, err := node.Apps.Get(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no application has client ID %q", id)
		}
		if err != nil {
			return err
		}
		return fn(ctx, node, c)
	})
}

func newClientShow(g *globals) *cobra.Command {
	var showSecret bool
	cmd := &cobra.Command{
		Use:   "show CLIENT_ID",
		Short: "Show an application (--show-secret prints its current secret)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withClient(cmd, args[0], func(ctx context.Context, node *server.Gatehouse, c store.Client) error {
				var secretValue string
				var err error
				if showSecret {
					if secretValue, err = node.Admin.ViewSecret(ctx, cliActor(), c.ID); err != nil {
						return err
					}
				}
				return g.printClient(ctx, node, c, secretValue)
			})
		},
	}
	cmd.Flags().BoolVar(&showSecret, "show-secret", false, "also print the client secret")
	return cmd
}

func newClientRotate(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "rotate-secret CLIENT_ID",
		Short: "Give an application a new secret; the old one stops working within cache.client_ttl (1 s)",
		Long: `Give an application a new secret. The old secret stops working at once in
this command and, on running nodes, within cache.client_ttl (1 s by default, at
most 1 minute), for which they keep applications in memory (docs/operations.md);
the new one works at once.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withClient(cmd, args[0], func(ctx context.Context, node *server.Gatehouse, c store.Client) error {
				secretValue, err := node.Admin.RotateSecret(ctx, cliActor(), c.ID)
				if err != nil {
					return err
				}
				if c, err = node.Apps.Get(ctx, c.ID); err != nil {
					return err
				}
				return g.printClient(ctx, node, c, secretValue)
			})
		},
	}
}

// newClientSetEnabled is `client disable` (enabled false) or `client enable`.
func newClientSetEnabled(g *globals, enabled bool) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "disable CLIENT_ID",
		Short: "Disable an application: its tokens stop working and it gets no new ones",
		Long: `Disable an application: its tokens stop working and it gets no new ones, at
once in this command and, on running nodes, within cache.client_ttl (1 s by
default; docs/operations.md).
Enabling it again brings its tokens back, unless they expired meanwhile.`,
		Args: cobra.ExactArgs(1),
	}
	if enabled {
		cmd.Use, cmd.Short, cmd.Long = "enable CLIENT_ID", "Enable a disabled application again", ""
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return g.withClient(cmd, args[0], func(ctx context.Context, node *server.Gatehouse, c store.Client) error {
			c, err := node.Admin.SetAppEnabled(ctx, cliActor(), c.ID, enabled)
			if err != nil {
				return err
			}
			return g.printClient(ctx, node, c, "")
		})
	}
	return cmd
}

func newClientDelete(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "delete CLIENT_ID",
		Short: "Delete an application and revoke every token it holds",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withClient(cmd, args[0], func(ctx context.Context, node *server.Gatehouse, c store.Client) error {
				if err := node.Admin.DeleteApp(ctx, cliActor(), c.ID); err != nil {
					return err
				}
				if g.jsonOut {
					return g.printJSON(map[string]any{"client_id": c.ID, "deleted": true})
				}
				_, err := fmt.Fprintf(g.stdout, "deleted %s (%s) and revoked its tokens\n", c.ID, c.Name)
				return err
			})
		},
	}
}
