package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

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

// read returns the password. Without a flag it asks twice on the terminal,
// without echo; when standard input is not a terminal it refuses rather than wait.
func (p *passwordInput) read(cmd *cobra.Command) (string, error) {
	given := cmd.Flags().Changed("password")
	switch {
	case given && p.stdin:
		return "", errors.New("give --password or --password-stdin, not both")
	case given:
		return p.arg, nil
	case p.stdin:
		return readLine(cmd.InOrStdin())
	}
	in, ok := cmd.InOrStdin().(*os.File)
	if !ok || !term.IsTerminal(int(in.Fd())) {
		return "", errors.New("no password: pipe it in with --password-stdin, or run the command in a terminal to be asked for it")
	}
	return prompt(cmd.ErrOrStderr(), int(in.Fd()))
}

// readLine reads one line, dropping only its line ending: spaces are part of
// the password. It reads no more than the longest password allows, so a
// longer line is refused by the length check rather than cut.
func readLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, user.MaxPasswordBytes+2)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("read the password from standard input: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", errors.New("--password-stdin: standard input has no password")
	}
	return line, nil
}

// prompt asks for the password twice on the terminal fd, without echo.
func prompt(w io.Writer, fd int) (string, error) {
	ask := func(label string) (string, error) {
		fmt.Fprint(w, label)
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(w)
		return string(b), err
	}
	first, err := ask("New password: ")
	if err != nil {
		return "", fmt.Errorf("read the password: %w", err)
	}
	second, err := ask("Repeat the password: ")
	if err != nil {
		return "", fmt.Errorf("read the password: %w", err)
	}
	if first != second {
		return "", errors.New("the two passwords differ")
	}
	return first, nil
}
