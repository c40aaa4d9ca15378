package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/term"

	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/server"
)

// firstAdminFile holds the first administrator's generated password when no
// terminal is there to show it.
const firstAdminFile = "initial-admin-password"

// ensureFirstAdmin creates the administrator "admin" when there is no user
// yet, with the password fromEnv or a generated one, and reports whether it
// did. It tells the operator a generated password without putting it in the
// log stream, which is often shipped to a log store: on a terminal it is
// shown; otherwise it is written to a file only this user can read, and the
// log names the file.
func ensureFirstAdmin(ctx context.Context, stderr io.Writer, node *server.Gatehouse, fromEnv string) (bool, error) {
	if fromEnv != "" {
		password, err := node.Users.EnsureAdmin(ctx, fromEnv)
		if err == nil && password == "" {
			// Not silently: an operator who set it to reset a password
			// would otherwise think it done.
			node.Log.Info("GATEHOUSE_ADMIN_PASSWORD is ignored: the database already has users, and it only sets the password of the administrator a start creates when it finds none; change a password with `gatehouse user set-password`, make a user a system administrator with `gatehouse user set-level`")
		}
		return password != "", err
	}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		password, err := node.Users.EnsureAdmin(ctx, "")
		if err != nil || password == "" {
			return false, err
		}
		_, err = fmt.Fprintf(stderr, "\n  Created the administrator \"admin\". Its password is shown only this once:\n\n      %s\n\n  Change it with: gatehouse user set-password --username admin\n\n", password)
		return true, err
	}
	if n, err := node.Store.CountUsers(ctx); err != nil || n > 0 {
		return false, err
	}
	// The file is written before the administrator is created: written
	// after, a full disk left an administrator whose password was nowhere.
	path, err := filepath.Abs(filepath.Join(node.Config.DataDir, firstAdminFile))
	if err != nil {
		return false, err
	}
	b := make([]byte, 12) // as user.EnsureAdmin generates one
	rand.Read(b)
	password := hex.EncodeToString(b)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return false, err
	}
	if err := secret.WriteFile(path, []byte(password+"\n"), true); err != nil {
		return false, fmt.Errorf("cannot write its password to %s, so none was created: %w", path, err)
	}
	if created, err := node.Users.EnsureAdmin(ctx, password); err != nil || created == "" {
		// None was created, or another node created it: the file holds
		// no one's password.
		os.Remove(path)
		return false, err
	}
	const notice = "created the administrator \"admin\"; its one-time password is in a file only this user can read: sign in, change the password, delete the file"
	if !node.Log.Enabled(ctx, slog.LevelWarn) {
		// A log that keeps errors only would drop the one line saying
		// where the password is.
		_, err = fmt.Fprintf(stderr, "\n  %s:\n\n      %s\n\n", notice, path)
		return true, err
	}
	node.Log.Warn(notice, "file", path)
	return true, nil
}

// forgetChangedFirstAdminPassword removes the first administrator's password
// file once the password in it is no longer theirs: it was changed, and a
// copy of a password nobody uses is only a secret left lying on disk (the
// operator was told to delete the file, and often does not). A password
// still in use keeps its file.
func forgetChangedFirstAdminPassword(ctx context.Context, node *server.Gatehouse) {
	path, err := filepath.Abs(filepath.Join(node.Config.DataDir, firstAdminFile))
	if err != nil {
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return // none, as after the operator deleted it
	}
	current, err := node.Users.PasswordIs(ctx, "admin", strings.TrimSpace(string(data)))
	if err != nil || current {
		return
	}
	if err := os.Remove(path); err != nil {
		node.Log.Warn("the first administrator's password file holds a password no longer in use and could not be removed", "file", path, "error", err)
		return
	}
	node.Log.Info("removed the first administrator's password file: the password it held was changed", "file", path)
}
