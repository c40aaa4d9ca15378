package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/user"
)

func newUserCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage users of the built-in directory"}
	return group(cmd, newUserCreate(g), newUserList(g), newUserSetPassword(g), newUserSetLevel(g), newUserDisable(g))
}

func newUserCreate(g *globals) *cobra.Command {
	var n user.NewUser
	var level string
	var password passwordInput
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a user",
		Long: `Create a user. The password (at least 8 characters) is asked for twice on the
terminal, or read from the first line of standard input with --password-stdin.`,
		Example: `  gatehouse user create --username alice --level admin
  gatehouse user create --username bob --password-stdin < bob-password.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lv, err := user.ParseLevel(level)
			if err != nil {
				return err
			}
			n.Level = lv
			if _, err := user.CleanProfile(n.DisplayName, n.Email, n.Groups); err != nil {
				return err
			}
			return g.withNode(cmd, func(ctx context.Context, node *server.Gatehouse) error {
				// Asked for only once the rest is known to be right: a
				// password typed twice for a name that is taken is wasted.
				if err := node.Users.Available(ctx, n.Username); err != nil {
					return err
				}
				var err error
				if n.Password, err = password.read(cmd); err != nil {
					return err
				}
				u, err := node.Admin.CreateUser(ctx, cliActor(), n)
				if err != nil {
					return err
				}
				if g.jsonOut {
					return g.printJSON(admin.NewUserView(u))
				}
				_, err = fmt.Fprintf(g.stdout, "created user %s (%s)\n", u.Username, user.LevelName(u.Level))
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&n.Username, "username", "", "username (required)")
	password.addFlags(cmd)
	f.StringVar(&level, "level", "user", "permission level: user, admin or system-admin")
	f.StringVar(&n.DisplayName, "display-name", "", "display name (default: the username)")
	f.StringVar(&n.Email, "email", "", "email address")
	f.StringSliceVar(&n.Groups, "group", nil, "group membership (repeatable)")
	cmd.MarkFlagRequired("username")
	return cmd
}

// userListPage is how many users `user list` reads at a time: a large
// directory is listed page by page, never held whole.
var userListPage = 500

func newUserList(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List users",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withNode(cmd, func(ctx context.Context, node *server.Gatehouse) error {
				next := node.Admin.UserPages(ctx, userListPage)
				if g.jsonOut {
					return printJSONPages(g, next, admin.NewUserView)
				}
				tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "USERNAME\tLEVEL\tDISPLAY NAME\tSTATUS")
				for {
					users, err := next()
					if err != nil || len(users) == 0 {
						return errors.Join(err, tw.Flush())
					}
					for _, u := range users {
						status := "active"
						if u.Disabled {
							status = "disabled"
						}
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Username, user.LevelName(u.Level), u.DisplayName, status)
					}
				}
			})
		},
	}
}

// userChange builds a command that changes one user and reports it.
func userChange(g *globals, use, short string, extra func(*cobra.Command), change func(context.Context, *server.Gatehouse, string) error) *cobra.Command {
	var username string
	cmd := &cobra.Command{
		Use:   use + " USERNAME",
		Short: short,
		// The username comes as an argument, as client, integration and
		// mailserver commands take their name or ID, or with --username.
		// Resolved here, before a PreRunE asks for a password.
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) > 1:
				return fmt.Errorf("%s takes one USERNAME, got %d arguments", cmd.CommandPath(), len(args))
			case len(args) == 1 && username != "" && username != args[0]:
				return fmt.Errorf("give the username once: as USERNAME or with --username")
			case len(args) == 1:
				username = args[0]
			case username == "":
				return fmt.Errorf("give the user: %s USERNAME (or --username)", cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withNode(cmd, func(ctx context.Context, node *server.Gatehouse) error {
				if err := change(ctx, node, username); err != nil {
					return err
				}
				if g.jsonOut {
					u, err := node.Users.ByUsername(ctx, username)
					if err != nil {
						return err
					}
					return g.printJSON(admin.NewUserView(u))
				}
				_, err := fmt.Fprintf(g.stdout, "%s: done\n", user.NormalizeUsername(username))
				return err
			})
		},
	}
	cmd.Flags().StringVar(&username, "username", "", "the user, when not given as USERNAME")
	if extra != nil {
		extra(cmd)
	}
	return cmd
}

func newUserSetPassword(g *globals) *cobra.Command {
	var input passwordInput
	var password string
	return userChange(g, "set-password", "Set a user's password (ends the user's sessions)",
		func(cmd *cobra.Command) {
			cmd.Long = `Set a user's password (at least 8 characters) and end every session signed in
with the old one. The password is asked for twice on the terminal, or read
from the first line of standard input with --password-stdin.`
			cmd.Example = `  gatehouse user set-password alice
  printf '%s\n' "$NEW_PASSWORD" | gatehouse user set-password alice --password-stdin`
			input.addFlags(cmd)
			// Asked before the database is opened.
			cmd.PreRunE = func(cmd *cobra.Command, _ []string) (err error) {
				password, err = input.read(cmd)
				return err
			}
		},
		func(ctx context.Context, n *server.Gatehouse, username string) error {
			return n.Admin.ResetPassword(ctx, cliActor(), username, password)
		})
}

func newUserSetLevel(g *globals) *cobra.Command {
	var level string
	return userChange(g, "set-level", "Set a user's permission level (takes effect on every token at once)",
		func(cmd *cobra.Command) {
			cmd.Flags().StringVar(&level, "level", "", "user, admin or system-admin (required)")
			cmd.MarkFlagRequired("level")
		},
		func(ctx context.Context, n *server.Gatehouse, username string) error {
			lv, err := user.ParseLevel(level)
			if err != nil {
				return err
			}
			_, err = n.Admin.UpdateUser(ctx, cliActor(), username, admin.UserChange{Level: &lv})
			return err
		})
}

func newUserDisable(g *globals) *cobra.Command {
	var enable bool
	return userChange(g, "disable", "Disable a user (their tokens stop working at once); --enable undoes it",
		func(cmd *cobra.Command) {
			cmd.Flags().BoolVar(&enable, "enable", false, "re-enable the user instead")
		},
		func(ctx context.Context, n *server.Gatehouse, username string) error {
			disabled := !enable
			_, err := n.Admin.UpdateUser(ctx, cliActor(), username, admin.UserChange{Disabled: &disabled})
			return err
		})
}
