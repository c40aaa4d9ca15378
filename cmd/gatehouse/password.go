package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/gatehouse/gatehouse/internal/user"
)

// passwordInput is where a command takes a new password from: a prompt,
// standard input, or (visible in ps and shell history) an argument.
type passwordInput struct {
	arg   string
	stdin bool
}

// addFlags declares --password and --password-stdin on cmd.
func (p *passwordInput) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&p.arg, "password", "", "the password as an argument: visible to other users in ps and in shell history; prefer --password-stdin")
	f.BoolVar(&p.stdin, "password-stdin", false, "read the password from the first line of standard input")
}

// read returns the password: the argument, or the first line piped in with
// --password-stdin; on a terminal it asks twice without echo; without
// either it refuses rather than wait.
func (p *passwordInput) read(cmd *cobra.Command) (string, error) {
	given := cmd.Flags().Changed("password")
	switch {
	case given && p.stdin:
		return "", errors.New("give --password or --password-stdin, not both")
	case given:
		return p.arg, nil
	}
	fd, onTerminal := terminal(cmd)
	switch {
	case p.stdin && !onTerminal:
		return readStdinSecret(cmd, "--password-stdin", "password", user.MaxPasswordBytes)
	case !onTerminal:
		return "", errors.New("no password: pipe it in with --password-stdin, or run the command in a terminal to be asked for it")
	}
	// On a terminal, with --password-stdin too (typed rather than piped):
	// asked twice without echo, since a typo nobody saw would be stored.
	return prompt(cmd.Context(), cmd.ErrOrStderr(), fd)
}

// terminal is the command's standard input as a terminal's descriptor, if
// it is one.
func terminal(cmd *cobra.Command) (int, bool) {
	in, ok := cmd.InOrStdin().(*os.File)
	if !ok || !term.IsTerminal(int(in.Fd())) {
		return 0, false
	}
	return int(in.Fd()), true
}

// readStdinSecret reads the secret (what names it) that flag asks for from
// standard input. Typed on a terminal, it is read without echo after a
// prompt naming it, so it stays off the screen. Piped, it is the first line, without its line ending only
// (spaces are part of it), read no further than limit allows, so a longer
// line is refused by the caller's length check rather than cut.
func readStdinSecret(cmd *cobra.Command, flag, what string, limit int) (string, error) {
	var line string
	if fd, ok := terminal(cmd); ok {
		var err error
		if line, err = ask(cmd.Context(), cmd.ErrOrStderr(), fd, strings.ToUpper(what[:1])+what[1:]+": "); err != nil {
			return "", err
		}
	} else {
		var err error
		line, err = bufio.NewReader(io.LimitReader(cmd.InOrStdin(), int64(limit)+2)).ReadString('\n')
		if err != nil && err != io.EOF {
			return "", fmt.Errorf("%s: read standard input: %w", flag, err)
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	}
	if line == "" {
		return "", fmt.Errorf("%s: standard input has no %s", flag, what)
	}
	return line, nil
}

// prompt asks for the password twice on the terminal fd, without echo.
func prompt(ctx context.Context, w io.Writer, fd int) (string, error) {
	first, err := ask(ctx, w, fd, "New password: ")
	if err != nil {
		return "", err
	}
	second, err := ask(ctx, w, fd, "Repeat the password: ")
	if err != nil {
		return "", err
	}
	if first != second {
		return "", errors.New("the two passwords differ")
	}
	return first, nil
}

// ask shows label and reads one line from the terminal fd without echo. An
// interrupt (ctx) gives the terminal its echo back and returns at once,
// where term.ReadPassword alone would go on waiting for a line, and a
// process ended meanwhile would leave the terminal without echo.
//
// The label shows only once term.ReadPassword has turned the echo off:
// before, an interrupt at the prompt could give the echo back first and
// the reading goroutine, scheduled late, take it away again for good.
func ask(ctx context.Context, w io.Writer, fd int, label string) (string, error) {
	state, err := term.GetState(fd)
	if err != nil {
		return "", fmt.Errorf("read the password: %w", err)
	}
	type line struct {
		text []byte
		err  error
	}
	read := make(chan line, 1)
	go func() {
		b, err := term.ReadPassword(fd)
		read <- line{b, err}
	}()
	for deadline := time.Now().Add(echoOffWait); len(read) == 0 && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if now, err := term.GetState(fd); err != nil || *now != *state {
			break
		}
	}
	fmt.Fprint(w, label)
	select {
	case l := <-read:
		fmt.Fprintln(w)
		if l.err != nil {
			return "", fmt.Errorf("read the password: %w", l.err)
		}
		return string(l.text), nil
	case <-ctx.Done():
		term.Restore(fd, state)
		fmt.Fprintln(w)
		return "", ctx.Err()
	}
}

// echoOffWait bounds ask's wait for term.ReadPassword to turn the echo
// off: a terminal already without echo never changes.
const echoOffWait = time.Second
