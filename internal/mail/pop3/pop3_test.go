package pop3

import (
	"bufio"
	"encoding/base64"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"

	"github.com/gatehouse/gatehouse/internal/mail/xoauth2"
)

// script plays a POP3 server on one end of a pipe: for each line the client
// sends it checks the line and writes the answer. Dovecot is the real
// server in internal/e2e; this covers what Dovecot does not do.
type step struct{ want, reply string }

func serve(t *testing.T, greeting string, steps []step) *Client {
	t.Helper()
	client, server := net.Pipe()
	deadline := time.Now().Add(5 * time.Second)
	client.SetDeadline(deadline)
	server.SetDeadline(deadline)
	t.Cleanup(func() { client.Close(); server.Close() })
	done := make(chan struct{})
	t.Cleanup(func() { <-done })
	go func() {
		defer close(done)
		defer server.Close()
		r := bufio.NewReader(server)
		server.Write([]byte(greeting + "\r\n"))
		for _, s := range steps {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Errorf("server: reading %q: %v", s.want, err)
				return
			}
			if got := strings.TrimRight(line, "\r\n"); got != s.want {
				t.Errorf("client sent %q, want %q", got, s.want)
				return
			}
			server.Write([]byte(s.reply))
		}
	}()
	c, err := NewClient(client)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

func TestCapabilitiesAndStat(t *testing.T) {
	c := serve(t, "+OK ready", []step{
		{"CAPA", "+OK list\r\nUSER\r\nSASL PLAIN XOAUTH2\r\nSTLS\r\n..odd\r\n.\r\n"},
		{"STAT", "+OK 7 12345\r\n"},
		{"QUIT", "+OK bye\r\n"},
	})
	if c.Greeting != "ready" {
		t.Errorf("Greeting = %q", c.Greeting)
	}
	caps, err := c.Capabilities()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(caps["SASL"], " "); got != "PLAIN XOAUTH2" {
		t.Errorf("SASL = %q", got)
	}
	if _, ok := caps["STLS"]; !ok {
		t.Error("STLS missing")
	}
	if _, ok := caps[".ODD"]; !ok {
		t.Errorf("a dot-stuffed line was not unstuffed: %v", caps)
	}
	n, size, err := c.Stat()
	if err != nil || n != 7 || size != 12345 {
		t.Fatalf("Stat = %d, %d, %v", n, size, err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
}

func TestErrorCodes(t *testing.T) {
	c := serve(t, "+OK", []step{
		{"USER alice", "+OK\r\n"},
		{"PASS secret", "-ERR [AUTH] Authentication failed.\r\n"},
		{"STAT", "-ERR Unknown command.\r\n"},
	})
	var e *Error
	if err := c.Login("alice", "secret"); !errors.As(err, &e) || e.Code != "AUTH" || e.Text != "Authentication failed." || e.Command != "PASS" {
		t.Fatalf("Login = %v, want -ERR [AUTH]", err)
	}
	if _, _, err := c.Stat(); !errors.As(err, &e) || e.Code != "" || e.Text != "Unknown command." {
		t.Fatalf("Stat = %v", err)
	}
	if err := c.Login("a\r\nQUIT", "x"); err == nil {
		t.Fatal("a line break in a user name was sent")
	}
}

// A short initial response goes on the AUTH line; a long one (an Entra ID
// token is over a kilobyte) after the server's empty challenge, since a
// command line may have at most 255 octets (RFC 2449 §4, RFC 5034 §4).
func TestAuthInitialResponse(t *testing.T) {
	short := xoauth2.NewClient("a", "t")
	_, ir, _ := short.Start()
	c := serve(t, "+OK", []step{{"AUTH XOAUTH2 " + b64(ir), "+OK signed in\r\n"}})
	if err := c.Auth(short); err != nil {
		t.Fatalf("short: %v", err)
	}

	long := xoauth2.NewClient("alice@example.com", strings.Repeat("x", 1500))
	_, ir, _ = long.Start()
	c = serve(t, "+OK", []step{{"AUTH XOAUTH2", "+ \r\n"}, {b64(ir), "+OK signed in\r\n"}})
	if err := c.Auth(long); err != nil {
		t.Fatalf("long: %v", err)
	}
}

// A refusal comes as a challenge; the client cancels with "*" and returns
// the mechanism's error.
func TestAuthRefusal(t *testing.T) {
	bearer := sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: "alice", Token: "t", Host: "h", Port: 110})
	_, ir, _ := bearer.Start()
	c := serve(t, "+OK", []step{
		{"AUTH OAUTHBEARER " + b64(ir), "+ " + b64([]byte(`{"status":"invalid_token","schemes":"bearer"}`)) + "\r\n"},
		{"*", "-ERR [AUTH] Authentication failed.\r\n"},
	})
	var refusal *sasl.OAuthBearerError
	if err := c.Auth(bearer); !errors.As(err, &refusal) || refusal.Status != "invalid_token" {
		t.Fatalf("Auth = %v, want the OAUTHBEARER refusal", err)
	}

	// No challenge, a plain -ERR: the server's words.
	c = serve(t, "+OK", []step{{"AUTH XOAUTH2 " + b64(mustIR(t, xoauth2.NewClient("a", "t"))), "-ERR [SYS/TEMP] try later\r\n"}})
	var e *Error
	if err := c.Auth(xoauth2.NewClient("a", "t")); !errors.As(err, &e) || e.Code != "SYS/TEMP" {
		t.Fatalf("Auth = %v, want -ERR [SYS/TEMP]", err)
	}
}

func TestNotPOP3(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	go func() {
		server.Write([]byte("* OK IMAP4rev1 ready\r\n"))
		server.Close()
	}()
	client.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := NewClient(client); !errors.Is(err, ErrGreeting) {
		t.Fatalf("NewClient on an IMAP greeting = %v", err)
	}
}

// A server that never ends its lines stops being read at MaxRead.
func TestBoundedRead(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	go func() {
		chunk := []byte(strings.Repeat("x", 4096))
		for {
			if _, err := server.Write(chunk); err != nil {
				return
			}
		}
	}()
	defer server.Close()
	client.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := NewClient(client); !errors.Is(err, errTooMuch) {
		t.Fatalf("NewClient on an endless line = %v, want the read cap", err)
	}
}

func mustIR(t *testing.T, c sasl.Client) []byte {
	t.Helper()
	_, ir, err := c.Start()
	if err != nil {
		t.Fatal(err)
	}
	return ir
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
