// Package pop3 is the small POP3 client the mail connection test needs: the
// greeting, CAPA and STLS (RFC 2449, RFC 2595), AUTH with a SASL initial
// response (RFC 5034), USER/PASS and STAT (RFC 1939), QUIT. It reads no more
// than MaxRead bytes over a connection's life, so a hostile server cannot
// make it buffer without end; deadlines are the caller's, set on the
// connection. No module the proxy serves does SASL over POP3.
package pop3

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/emersion/go-sasl"
)

// MaxRead caps what a Client reads from one connection, TLS records included.
const MaxRead = 64 << 10

// maxCommandLine is RFC 2449 §4's limit on a command line, CRLF included.
const maxCommandLine = 255

// Error is the server's -ERR answer to a command.
type Error struct {
	Command string // the command, without its arguments
	// Code is the response code in brackets (RFC 2449 §8, RFC 3206), such
	// as AUTH, SYS/TEMP or IN-USE; "" when the server sent none.
	Code string
	Text string // the rest of the line, as the server wrote it
}

func (e *Error) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("pop3: %s: -ERR [%s] %s", e.Command, e.Code, e.Text)
	}
	return fmt.Sprintf("pop3: %s: -ERR %s", e.Command, e.Text)
}

// ErrGreeting is returned by NewClient when the server's first line is not
// a POP3 greeting (another protocol listens there).
var ErrGreeting = errors.New("pop3: the server's greeting is not +OK")

// Client is a POP3 session.
type Client struct {
	conn     net.Conn
	text     *textproto.Conn
	Greeting string // the greeting's text, after "+OK "
	readLeft *int64 // what is left of MaxRead, shared across a STLS upgrade
}

// NewClient reads the greeting on conn, which may already be TLS.
func NewClient(conn net.Conn) (*Client, error) {
	left := int64(MaxRead)
	c := &Client{readLeft: &left}
	c.use(conn)
	line, err := c.text.ReadLine()
	if err != nil {
		return nil, err
	}
	text, ok := strings.CutPrefix(line, "+OK")
	if !ok {
		return nil, fmt.Errorf("%w: %.100q", ErrGreeting, line)
	}
	c.Greeting = strings.TrimSpace(text)
	return c, nil
}

// use makes conn the connection the session reads and writes.
func (c *Client) use(conn net.Conn) {
	c.conn = conn
	c.text = textproto.NewConn(capped{conn, c.readLeft})
}

// capped is a connection whose reads stop, with an error, after a budget.
type capped struct {
	net.Conn
	left *int64
}

var errTooMuch = fmt.Errorf("pop3: the server sent more than %d bytes", MaxRead)

func (c capped) Read(p []byte) (int, error) {
	if *c.left <= 0 {
		return 0, errTooMuch
	}
	if int64(len(p)) > *c.left {
		p = p[:*c.left]
	}
	n, err := c.Conn.Read(p)
	*c.left -= int64(n)
	return n, err
}

// Close closes the connection without QUIT.
func (c *Client) Close() error { return c.conn.Close() }

// cmd sends a command and reads a one-line answer, returning its text after
// "+OK" or an *Error for "-ERR".
func (c *Client) cmd(name, line string) (string, error) {
	if err := c.text.PrintfLine("%s", line); err != nil {
		return "", err
	}
	return c.answer(name)
}

func (c *Client) answer(name string) (string, error) {
	line, err := c.text.ReadLine()
	if err != nil {
		return "", err
	}
	return status(name, line)
}

// status reads a status line.
func status(name, line string) (string, error) {
	if text, ok := strings.CutPrefix(line, "+OK"); ok {
		return strings.TrimSpace(text), nil
	}
	text, ok := strings.CutPrefix(line, "-ERR")
	if !ok {
		return "", fmt.Errorf("pop3: %s: unexpected answer %.100q", name, line)
	}
	e := &Error{Command: name, Text: strings.TrimSpace(text)}
	if rest, ok := strings.CutPrefix(e.Text, "["); ok {
		if code, after, ok := strings.Cut(rest, "]"); ok {
			e.Code, e.Text = code, strings.TrimSpace(after)
		}
	}
	return "", e
}

// Capabilities sends CAPA and returns each capability's arguments by its
// name in upper case: "SASL" → ["PLAIN", "XOAUTH2"], "STLS" → [].
func (c *Client) Capabilities() (map[string][]string, error) {
	if _, err := c.cmd("CAPA", "CAPA"); err != nil {
		return nil, err
	}
	lines, err := c.text.ReadDotLines()
	if err != nil {
		return nil, err
	}
	caps := map[string][]string{}
	for _, l := range lines {
		fields := strings.Fields(l)
		if len(fields) > 0 {
			caps[strings.ToUpper(fields[0])] = fields[1:]
		}
	}
	return caps, nil
}

// StartTLS sends STLS and continues the session over TLS (RFC 2595 §4).
func (c *Client) StartTLS(config *tls.Config) error {
	if _, err := c.cmd("STLS", "STLS"); err != nil {
		return err
	}
	// Anything the server sent after +OK would be an injection: refuse it.
	if c.text.R.Buffered() > 0 {
		return errors.New("pop3: STLS: the server sent data before the TLS handshake")
	}
	tc := tls.Client(c.conn, config)
	if err := tc.Handshake(); err != nil {
		return err
	}
	c.use(tc)
	return nil
}

// Auth signs in with a SASL mechanism (RFC 5034). The initial response goes
// on the AUTH line when the line stays within 255 octets, else after the
// server's empty challenge. When the mechanism fails on a challenge (an
// XOAUTH2 or OAUTHBEARER refusal), the exchange is cancelled with "*" and
// the mechanism's error is returned.
func (c *Client) Auth(client sasl.Client) error {
	mech, ir, err := client.Start()
	if err != nil {
		return err
	}
	line := "AUTH " + mech
	pending := ir != nil
	if pending {
		arg := "="
		if len(ir) > 0 {
			arg = base64.StdEncoding.EncodeToString(ir)
		}
		if len(line)+1+len(arg)+2 <= maxCommandLine {
			line += " " + arg
			pending = false
		}
	}
	if err := c.text.PrintfLine("%s", line); err != nil {
		return err
	}
	for {
		reply, err := c.text.ReadLine()
		if err != nil {
			return err
		}
		if !strings.HasPrefix(reply, "+ ") && reply != "+" {
			_, err := status("AUTH", reply) // +OK, -ERR or garbage
			return err
		}
		challenge := strings.TrimPrefix(reply, "+")
		var resp []byte
		if pending {
			resp, pending = ir, false
		} else {
			decoded, err := base64.StdEncoding.DecodeString(strings.TrimSpace(challenge))
			if err != nil {
				return fmt.Errorf("pop3: AUTH: the server's challenge is not base64: %w", err)
			}
			if resp, err = client.Next(decoded); err != nil {
				return c.cancel(err)
			}
		}
		if err := c.text.PrintfLine("%s", base64.StdEncoding.EncodeToString(resp)); err != nil {
			return err
		}
	}
}

// cancel ends an exchange the mechanism gave up on and returns why.
func (c *Client) cancel(why error) error {
	if err := c.text.PrintfLine("*"); err != nil {
		return why
	}
	c.answer("AUTH") //nolint:errcheck // the -ERR that follows a cancel says nothing more
	return why
}

// Login signs in with USER and PASS (RFC 1939 §7).
func (c *Client) Login(username, password string) error {
	if strings.ContainsAny(username+password, "\r\n") {
		return errors.New("pop3: a user name or password holds a line break")
	}
	if _, err := c.cmd("USER", "USER "+username); err != nil {
		return err
	}
	_, err := c.cmd("PASS", "PASS "+password)
	return err
}

// Stat returns how many messages the mailbox holds and their size in octets.
func (c *Client) Stat() (count int, size int64, err error) {
	text, err := c.cmd("STAT", "STAT")
	if err != nil {
		return 0, 0, err
	}
	fields := strings.Fields(text)
	if len(fields) < 2 {
		return 0, 0, fmt.Errorf("pop3: STAT: unexpected answer %.100q", text)
	}
	if count, err = strconv.Atoi(fields[0]); err != nil || count < 0 {
		return 0, 0, fmt.Errorf("pop3: STAT: unexpected count %.20q", fields[0])
	}
	if size, err = strconv.ParseInt(fields[1], 10, 64); err != nil || size < 0 {
		return 0, 0, fmt.Errorf("pop3: STAT: unexpected size %.20q", fields[1])
	}
	return count, size, nil
}

// Quit ends the session and closes the connection.
func (c *Client) Quit() error {
	_, err := c.cmd("QUIT", "QUIT")
	if cerr := c.conn.Close(); err == nil {
		err = cerr
	}
	return err
}
