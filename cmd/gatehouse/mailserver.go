package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/store"
)

func newMailServerCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mailserver",
		Short: "Manage incoming mail servers (IMAP, POP3) and test signing in to them",
		Long: `Manage the incoming mail servers Gatehouse signs in to, with a password or
with an integration's OAuth 2.0 access token (SASL XOAUTH2 or OAUTHBEARER).
The command line acts as a system administrator; every change and test is
audited as cli:<OS user>. See docs/integrations.md.`,
	}
	return group(cmd, newMailServerCreate(g), newMailServerList(g), newMailServerShow(g), newMailServerDelete(g), newMailServerTest(g))
}

func (g *globals) printMailServer(m store.MailServer, names map[string]string) error {
	v := mail.NewView(m, names)
	if g.jsonOut {
		return g.printJSON(v)
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "id:\t%s\nname:\t%s\nprotocol:\t%s\nserver:\t%s:%d\nTLS:\t%s\n", v.ID, v.Name, v.Protocol, v.Host, v.Port, v.TLS)
	if v.CACert != "" {
		fmt.Fprintf(tw, "CA certificate:\tits own (PEM, %d bytes)\n", len(v.CACert))
	}
	fmt.Fprintf(tw, "username:\t%s\n", v.Username)
	if v.Auth == "integration" {
		sasl := "what the server offers"
		if v.SASL != "" {
			sasl = strings.ToUpper(v.SASL)
		}
		fmt.Fprintf(tw, "sign-in:\tintegration %s (SASL %s)\n", orGone(v.Integration), sasl)
	} else {
		fmt.Fprintf(tw, "sign-in:\tpassword (stored encrypted)\n")
	}
	return tw.Flush()
}

func orGone(name string) string {
	if name == "" {
		return "(deleted)"
	}
	return name
}

func newMailServerCreate(g *globals) *cobra.Command {
	var set mail.Settings
	var caFile string
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Add a mail server",
		Long: `Add a mail server. It signs in with a password, read from the first line of
standard input with --password-stdin (never an argument, which ps and shell
history would show), or with an integration's access token (--integration).
The port defaults to 993 (IMAP) or 995 (POP3) with implicit TLS, 143 or 110
otherwise. TLS none is refused outside development mode (--dev).`,
		Example: `  gatehouse mailserver create --name Support --protocol imap --host imap.gmail.com \
      --tls implicit --username support@example.com --integration Gmail
  printf '%s\n' "$PASSWORD" | gatehouse mailserver create --name Archive --protocol pop3 \
      --host mail.example.com --tls starttls --ca-file ca.pem --username archive --password-stdin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case passwordStdin && set.Integration != "":
				return errors.New("give --password-stdin or --integration, not both")
			case passwordStdin:
				var err error
				if set.Password, err = readStdinSecret(cmd, "--password-stdin", "mail server password", mail.MaxPasswordBytes); err != nil {
					return err
				}
			case set.Integration == "":
				return errors.New("give --password-stdin (a password on standard input) or --integration NAME")
			}
			if caFile != "" {
				pem, err := readCAFile(caFile)
				if err != nil {
					return err
				}
				set.CACert = pem
			}
			return g.withNode(cmd, func(ctx context.Context, node *server.Gatehouse) error {
				m, err := node.Mail.Create(ctx, cliActor(), set)
				if err != nil {
					return err
				}
				return g.printMailServerNamed(ctx, node, m)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&set.Name, "name", "", "name of the mail server (required)")
	f.StringVar(&set.Protocol, "protocol", "", "imap or pop3 (required)")
	f.StringVar(&set.Host, "host", "", "host name or IP address (required)")
	f.IntVar(&set.Port, "port", 0, "port (default: 993/143 for IMAP, 995/110 for POP3, by TLS mode)")
	f.StringVar(&set.TLS, "tls", "", "implicit, starttls, or none (development mode only) (required)")
	f.StringVar(&caFile, "ca-file", "", "PEM file of the CA that issued a private server's certificate (then the only CA trusted for it)")
	f.StringVar(&set.Username, "username", "", "the mailbox's user name (required)")
	f.BoolVar(&passwordStdin, "password-stdin", false, "sign in with a password, read from the first line of standard input")
	f.StringVar(&set.Integration, "integration", "", "sign in with this integration's access token (its name or ID)")
	f.StringVar(&set.SASL, "sasl", "", "with --integration: xoauth2 or oauthbearer (default: what the server offers, XOAUTH2 first)")
	for _, name := range []string{"name", "protocol", "host", "tls", "username"} {
		cmd.MarkFlagRequired(name)
	}
	return cmd
}

// readCAFile reads a CA certificate file, refusing one too large to be one.
func readCAFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("--ca-file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, mail.MaxCACertBytes+1))
	if err != nil {
		return "", fmt.Errorf("--ca-file: %w", err)
	}
	return string(b), nil // the service checks size and form
}

func (g *globals) printMailServerNamed(ctx context.Context, node *server.Gatehouse, m store.MailServer) error {
	names, err := node.Mail.IntegrationNames(ctx, cliActor())
	if err != nil {
		return err
	}
	return g.printMailServer(m, names)
}

func newMailServerList(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List mail servers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withNode(cmd, func(ctx context.Context, node *server.Gatehouse) error {
				servers, err := node.Mail.List(ctx, cliActor())
				if err != nil {
					return err
				}
				names, err := node.Mail.IntegrationNames(ctx, cliActor())
				if err != nil {
					return err
				}
				if g.jsonOut {
					out := make([]mail.View, 0, len(servers))
					for _, m := range servers {
						out = append(out, mail.NewView(m, names))
					}
					return g.printJSON(out)
				}
				tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tPROTOCOL\tSERVER\tTLS\tUSERNAME\tSIGN-IN")
				for _, m := range servers {
					how := "password"
					if m.IntegrationID != "" {
						how = "integration " + orGone(names[m.IntegrationID])
					}
					fmt.Fprintf(tw, "%s\t%s\t%s:%d\t%s\t%s\t%s\n", m.Name, m.Protocol, m.Host, m.Port, m.TLS, m.Username, how)
				}
				return tw.Flush()
			})
		},
	}
}

// withMailServer runs fn against the mail server named (or with the ID) by
// the command's one argument.
func (g *globals) withMailServer(cmd *cobra.Command, name string, fn func(context.Context, *server.Gatehouse, store.MailServer) error) error {
	return g.withNode(cmd, func(ctx context.Context, node *server.Gatehouse) error {
		m, err := node.Mail.Find(ctx, cliActor(), name)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no mail server is named %q", name)
		}
		if err != nil {
			return err
		}
		return fn(ctx, node, m)
	})
}

func newMailServerShow(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Show a mail server (never its password)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withMailServer(cmd, args[0], func(ctx context.Context, node *server.Gatehouse, m store.MailServer) error {
				return g.printMailServerNamed(ctx, node, m)
			})
		},
	}
}

func newMailServerDelete(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a mail server (nothing changes on the server itself)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withMailServer(cmd, args[0], func(ctx context.Context, node *server.Gatehouse, m store.MailServer) error {
				if err := node.Mail.Delete(ctx, cliActor(), m.ID); err != nil {
					return err
				}
				if g.jsonOut {
					return g.printJSON(map[string]any{"id": m.ID, "name": m.Name, "deleted": true})
				}
				_, err := fmt.Fprintf(g.stdout, "deleted mail server %s\n", m.Name)
				return err
			})
		},
	}
}

func newMailServerTest(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "test NAME",
		Short: "Sign in to a mail server and count the messages in INBOX",
		Long: `Connect to the mail server, negotiate TLS, sign in and open INBOX, and print
{"ok": true|false, "messages": N, "message": "…"} (with "step" naming where a
failure happened, "mechanism" how it signed in, and "refreshed" when the
server refused the first access token and a refreshed one was tried). The
output is this JSON object with or without --json. Exits 1 when the test
fails.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withMailServer(cmd, args[0], func(ctx context.Context, node *server.Gatehouse, m store.MailServer) error {
				res, err := node.Mail.Test(ctx, cliActor(), m.ID)
				if err != nil {
					return err
				}
				if err := g.printJSON(res.View()); err != nil {
					return err
				}
				if !res.OK {
					return fmt.Errorf("mail server %s: the test failed (%s)", m.Name, res.Step)
				}
				return nil
			})
		},
	}
}
