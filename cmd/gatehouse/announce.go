package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"golang.org/x/term"
)

// firstAdminFile holds the first administrator's generated password when no
// terminal is there to show it.
const firstAdminFile = "initial-admin-password"

// announceFirstAdmin tells the operator the first administrator's generated
// password without putting it in the log stream, which is often shipped to
// a log store: on a terminal it is shown; otherwise it is written to a file
// only this user can read, and the log names the file.
func announceFirstAdmin(stderr io.Writer, log *slog.Logger, dataDir, password string) error {
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		_, err := fmt.Fprintf(stderr, "\n  Created the administrator \"admin\". Its password is shown only this once:\n\n      %s\n\n  Change it with: gatehouse user set-password --username admin\n\n", password)
		return err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	path := filepath.Join(dataDir, firstAdminFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write the first administrator's password: %w", err)
	}
	// The file may have existed with a wider mode.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := fmt.Fprintln(f, password); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	abs, _ := filepath.Abs(path)
	log.Warn("created the administrator \"admin\"; its one-time password is in a file only this user can read: sign in, change the password, delete the file", "file", abs)
	return nil
}
