package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/cli"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/integration"
	"github.com/gatehouse/gatehouse/internal/store"
)

// integrationFlags are the flags of the integration commands beyond the global ones.
type integrationFlags struct {
	baseURL string
}

func newIntegrationCommand(g *globals) *cobra.Command {
	f := &integrationFlags{}
	cmd := &cobra.Command{
		Use:   "integration",
		Short: "Manage outgoing OAuth 2.0 integrations (Google, Microsoft, custom providers)",
		Long: `Manage the outgoing OAuth 2.0 integrations: Gatehouse as the client of another
provider, holding its tokens encrypted and refreshing them, for mail-server
sign-in and for other services (the token API).

Redirect URLs are made from the node's base URL, so these commands need it as
serve does: base_url in --config, GATEHOUSE_BASE_URL, or --base-url (in --dev,
http://<listen> by default). The command line acts as a system administrator;
its actions are audited as cli:<OS user>. See docs/integrations.md.`,
	}
	cmd.PersistentFlags().StringVar(&f.baseURL, "base-url", "", "the nodes' public base URL, which redirect URLs start with")
	return group(cmd, newIntegrationCreate(g, f), newIntegrationUpdate(g, f), newIntegrationAuthorizeURL(g, f),
		newIntegrationList(g, f), newIntegrationShow(g, f), newIntegrationTest(g, f), newIntegrationToken(g, f),
		newIntegrationDelete(g, f))
}

// withIntegrations runs fn against a node opened with the base URL checks of serve.
func (g *globals) withIntegrations(cmd *cobra.Command, f *integrationFlags, fn func(context.Context, *integration.Service) error) error {
	cfg, err := g.loadConfig(cmd, true, func(c *config.Config) {
		if cmd.Flags().Changed("base-url") {
			c.BaseURL = f.baseURL
		}
	})
	if err != nil {
		return err
	}
	node, err := cli.Open(cmd.Context(), cfg, g.stderr)
	if err != nil {
		return err
	}
	defer node.Close()
	return fn(cmd.Context(), node.Integrations)
}

// withIntegration runs fn against the integration named (or with the ID) NAME.
func (g *globals) withIntegration(cmd *cobra.Command, f *integrationFlags, name string, fn func(context.Context, *integration.Service, store.Integration) error) error {
	return g.withIntegrations(cmd, f, func(ctx context.Context, s *integration.Service) error {
		in, err := s.Find(ctx, cliActor(), name)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no integration is named %q (or has that ID); see `gatehouse integration list`", name)
		}
		if err != nil {
			return err
		}
		return fn(ctx, s, in)
	})
}

func (g *globals) printIntegration(v integration.View, extra ...string) error {
	if g.jsonOut {
		return g.printJSON(v)
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "id:\t%s\nname:\t%s\nprovider:\t%s\nstatus:\t%s\n", v.ID, v.Name, v.Provider, v.Status)
	fmt.Fprintf(tw, "redirect URL:\t%s\t(register it at the provider)\n", v.RedirectURL)
	fmt.Fprintf(tw, "client ID:\t%s\nclient secret:\t%s\n", orNone(v.ClientID), map[bool]string{true: "stored, encrypted", false: "none"}[v.HasClientSecret])
	fmt.Fprintf(tw, "scopes:\t%s\nauthorization endpoint:\t%s\ntoken endpoint:\t%s\n", strings.Join(v.Scopes, " "), v.AuthorizationEndpoint, v.TokenEndpoint)
	if v.UserinfoEndpoint != "" {
		fmt.Fprintf(tw, "user-info endpoint:\t%s\n", v.UserinfoEndpoint)
	}
	if v.Tenant != "" {
		fmt.Fprintf(tw, "tenant:\t%s\n", v.Tenant)
	}
	fmt.Fprintf(tw, "PKCE:\t%v\n", v.PKCE)
	if v.Account != "" {
		fmt.Fprintf(tw, "account:\t%s\n", v.Account)
	}
	if v.ExpiresAt != nil {
		fmt.Fprintf(tw, "access token expires:\t%s\n", v.ExpiresAt.Format(time.RFC3339))
	}
	if v.LastError != "" {
		fmt.Fprintf(tw, "last error:\t%s (%d in a row)\n", v.LastError, v.Failures)
	}
	for _, w := range append(v.Warnings, extra...) {
		fmt.Fprintf(tw, "warning:\t%s\n", w)
	}
	return tw.Flush()
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// clientSecretInputBytes is how much of standard input a client secret is
// read from: past the longest one (2000 characters of up to 4 bytes), so a
// longer one is refused by the length check rather than cut.
const clientSecretInputBytes = 8 << 10

// settingsFlags are the flags that create and update share.
type settingsFlags struct {
	name, description, clientID, tenant, params string
	authURL, tokenURL, userinfoURL, issuer      string
	scopes                                      []string
	secretStdin, noPKCE                         bool
}

func (s *settingsFlags) add(cmd *cobra.Command, creating bool) {
	fl := cmd.Flags()
	if !creating {
		fl.StringVar(&s.name, "name", "", "new name")
	}
	fl.StringVar(&s.description, "description", "", "description")
	fl.StringVar(&s.clientID, "client-id", "", "the client ID the provider gave")
	fl.BoolVar(&s.secretStdin, "client-secret-stdin", false, "read the client secret from the first line of standard input (never an argument, which ps and shell history show)")
	fl.StringArrayVar(&s.scopes, "scope", nil, "scope to ask for (repeatable; default: the provider's preset)")
	fl.StringVar(&s.authURL, "authorization-endpoint", "", "authorization endpoint (custom provider)")
	fl.StringVar(&s.tokenURL, "token-endpoint", "", "token endpoint (custom provider)")
	fl.StringVar(&s.userinfoURL, "userinfo-endpoint", "", "user-info endpoint that test asks (custom provider; optional)")
	fl.StringVar(&s.issuer, "issuer", "", "issuer URL: without endpoints, they are discovered from it (custom provider)")
	fl.StringVar(&s.tenant, "tenant", "", "Microsoft Entra tenant ID or domain (default organizations)")
	fl.StringVar(&s.params, "parameters", "", "extra authorization parameters, name=value&… (default: the provider's preset)")
	fl.BoolVar(&s.noPKCE, "no-pkce", false, "do not send PKCE (custom provider that refuses it)")
}

func newIntegrationCreate(g *globals, f *integrationFlags) *cobra.Command {
	var s settingsFlags
	var provider string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Add an integration; prints its redirect URL to register at the provider",
		Long: `Add an integration. Google and Microsoft come with their endpoints, scopes and
parameters preset; a custom provider needs its endpoints, or its issuer URL to
discover them (RFC 8414, OpenID Connect Discovery). The client ID and secret
may come later (update), once the redirect URL is registered at the provider.`,
		Example: `  gatehouse integration create --provider google --name Gmail --json
  printf '%s\n' "$SECRET" | gatehouse integration create --provider microsoft --name Outlook \
      --tenant contoso.onmicrosoft.com --client-id 11111111-2222-3333-4444-555555555555 --client-secret-stdin
  gatehouse integration create --provider custom --name Corp --issuer https://idp.example.com --client-id gatehouse`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st := integration.Settings{
				Provider: provider, Name: s.name, Description: s.description, ClientID: s.clientID, Scopes: s.scopes,
				AuthURL: s.authURL, TokenURL: s.tokenURL, UserinfoURL: s.userinfoURL, Issuer: s.issuer, Tenant: s.tenant,
				AuthParams: s.params, NoPKCE: s.noPKCE,
			}
			if s.secretStdin {
				var err error
				if st.ClientSecret, err = readStdinSecret(cmd, "--client-secret-stdin", "client secret", clientSecretInputBytes); err != nil {
					return err
				}
			}
			return g.withIntegrations(cmd, f, func(ctx context.Context, svc *integration.Service) error {
				in, err := svc.Create(ctx, cliActor(), st)
				if err != nil {
					return err
				}
				return g.printIntegration(svc.ViewOf(in))
			})
		},
	}
	cmd.Flags().StringVar(&provider, "provider", "", "google, microsoft or custom (required)")
	cmd.Flags().StringVar(&s.name, "name", "", "a unique name (required)")
	s.add(cmd, true)
	cmd.MarkFlagRequired("provider")
	cmd.MarkFlagRequired("name")
	return cmd
}

func newIntegrationUpdate(g *globals, f *integrationFlags) *cobra.Command {
	var s settingsFlags
	var pkce bool
	cmd := &cobra.Command{
		Use:   "update NAME",
		Short: "Change an integration's settings (only the flags given)",
		Long: `Change the settings given as flags; the others stay. A new token endpoint or
client ID drops the stored tokens (they belong to the old ones): authorize
again. A new endpoint also changes the redirect URL: register it at the provider.`,
		Example: `  printf '%s\n' "$SECRET" | gatehouse integration update Gmail --client-id 123.apps.googleusercontent.com --client-secret-stdin`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fl := cmd.Flags()
			str := func(flag string, v *string) *string {
				if fl.Changed(flag) {
					return v
				}
				return nil
			}
			ch := integration.Change{
				Name: str("name", &s.name), Description: str("description", &s.description), ClientID: str("client-id", &s.clientID),
				AuthURL: str("authorization-endpoint", &s.authURL), TokenURL: str("token-endpoint", &s.tokenURL),
				UserinfoURL: str("userinfo-endpoint", &s.userinfoURL), Issuer: str("issuer", &s.issuer),
				Tenant: str("tenant", &s.tenant), AuthParams: str("parameters", &s.params),
			}
			if fl.Changed("scope") {
				ch.Scopes = &s.scopes
			}
			if fl.Changed("no-pkce") && fl.Changed("pkce") {
				return errors.New("give --pkce or --no-pkce, not both")
			}
			if fl.Changed("no-pkce") {
				ch.NoPKCE = &s.noPKCE
			}
			if fl.Changed("pkce") {
				off := !pkce
				ch.NoPKCE = &off
			}
			if s.secretStdin {
				secretValue, err := readStdinSecret(cmd, "--client-secret-stdin", "client secret", clientSecretInputBytes)
				if err != nil {
					return err
				}
				ch.ClientSecret = &secretValue
			}
			return g.withIntegration(cmd, f, args[0], func(ctx context.Context, svc *integration.Service, in store.Integration) error {
				up, err := svc.Update(ctx, cliActor(), in.ID, ch)
				if err != nil {
					return err
				}
				if g.jsonOut {
					return g.printJSON(struct {
						integration.View
						RedirectURLChanged bool `json:"redirect_url_changed"`
						TokensDropped      bool `json:"tokens_dropped"`
					}{svc.ViewOf(up.Integration), up.RedirectChanged, up.Forgotten})
				}
				var notes []string
				if up.RedirectChanged {
					notes = append(notes, "THE REDIRECT URL CHANGED: register the new one at the provider")
				}
				if up.Forgotten {
					notes = append(notes, "the stored tokens were dropped (new endpoint or client ID): authorize again")
				}
				return g.printIntegration(svc.ViewOf(up.Integration), notes...)
			})
		},
	}
	s.add(cmd, false)
	cmd.Flags().BoolVar(&pkce, "pkce", true, "send PKCE again (custom provider)")
	return cmd
}

func newIntegrationAuthorizeURL(g *globals, f *integrationFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "authorize-url NAME",
		Short: "Print a single-use authorization URL (valid 10 minutes) for headless set-ups",
		Long: `Print an authorization URL that any browser may complete within 10 minutes,
once: open it, sign in at the provider and allow access; Gatehouse stores the
tokens and shows a page saying the integration is authorized. (The console's
Authorize button makes a URL bound to the administrator's browser instead.)
Treat the URL as a secret until it is used.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withIntegration(cmd, f, args[0], func(ctx context.Context, svc *integration.Service, in store.Integration) error {
				u, expires, err := svc.StartAuthorization(ctx, cliActor(), in.ID, nil)
				if err != nil {
					return err
				}
				if g.jsonOut {
					return g.printJSON(map[string]any{"url": u, "expires_at": expires.UTC()})
				}
				_, err = fmt.Fprintf(g.stdout, "%s\n(works once, until %s)\n", u, expires.UTC().Format(time.RFC3339))
				return err
			})
		},
	}
}

func newIntegrationList(g *globals, f *integrationFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List integrations with their status",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withIntegrations(cmd, f, func(ctx context.Context, svc *integration.Service) error {
				list, err := svc.List(ctx, cliActor())
				if err != nil {
					return err
				}
				views := make([]integration.View, 0, len(list))
				for _, in := range list {
					views = append(views, svc.ViewOf(in))
				}
				if g.jsonOut {
					return g.printJSON(map[string]any{"integrations": views})
				}
				tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tPROVIDER\tSTATUS\tACCOUNT\tID")
				for _, v := range views {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", v.Name, v.Provider, v.Status, orNone(v.Account), v.ID)
				}
				return tw.Flush()
			})
		},
	}
}

func newIntegrationShow(g *globals, f *integrationFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Show an integration: settings, redirect URL and status (never a token or the secret)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withIntegration(cmd, f, args[0], func(_ context.Context, svc *integration.Service, in store.Integration) error {
				return g.printIntegration(svc.ViewOf(in))
			})
		},
	}
}

// errTestFailed makes `integration test` exit non-zero after printing its answer.
var errTestFailed = errors.New("the connection test failed")

func newIntegrationTest(g *globals, f *integrationFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "test NAME",
		Short: "Obtain a current access token and ask the provider who it acts for; exits non-zero when that fails",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withIntegration(cmd, f, args[0], func(ctx context.Context, svc *integration.Service, in store.Integration) error {
				res, err := svc.Test(ctx, cliActor(), in.ID)
				if err != nil {
					return err
				}
				if g.jsonOut {
					err = g.printJSON(map[string]any{"ok": res.OK, "message": res.Message()})
				} else {
					_, err = fmt.Fprintln(g.stdout, res.Message())
				}
				if err == nil && !res.OK {
					err = errTestFailed
				}
				return err
			})
		},
	}
}

func newIntegrationToken(g *globals, f *integrationFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "token NAME",
		Short: "Print a current access token (refreshed first when about to expire); audited",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withIntegrations(cmd, f, func(ctx context.Context, svc *integration.Service) error {
				tok, err := svc.HandOut(ctx, cliActor(), args[0])
				if errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("no integration is named %q (or has that ID); see `gatehouse integration list`", args[0])
				}
				if err != nil {
					return err
				}
				var expires any
				if !tok.ExpiresAt.IsZero() {
					expires = tok.ExpiresAt.UTC()
				}
				if g.jsonOut {
					return g.printJSON(map[string]any{"access_token": tok.AccessToken, "token_type": tok.TokenType, "expires_at": expires, "scope": tok.Scope})
				}
				_, err = fmt.Fprintln(g.stdout, tok.AccessToken)
				return err
			})
		},
	}
}

func newIntegrationDelete(g *globals, f *integrationFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete an integration and its stored tokens (revoke the grant at the provider too)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withIntegration(cmd, f, args[0], func(ctx context.Context, svc *integration.Service, in store.Integration) error {
				if err := svc.Delete(ctx, cliActor(), in.ID); err != nil {
					return err
				}
				if g.jsonOut {
					return g.printJSON(map[string]any{"id": in.ID, "name": in.Name, "deleted": true})
				}
				_, err := fmt.Fprintf(g.stdout, "deleted the integration %s and its tokens; revoke the grant at the provider too\n", in.Name)
				return err
			})
		},
	}
}
