package adminapi_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testdovecot"
	"github.com/gatehouse/gatehouse/internal/testnode"
)

const (
	pathMail     = "/rest/gatehouse/latest/mailservers"
	mailPassword = "mail-password-\u00e9-1234"
)

// lockedBuffer collects a node's log lines from its goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// closedPort is a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestMailServersAPI: system administrators manage and test mail servers
// through the API; an administrator below them is refused; bad input is a
// 400 that says why; a failed test is a 200 with ok false; the password is
// never in an answer, the audit log or a log line.
func TestMailServersAPI(t *testing.T) {
	var logs lockedBuffer
	n := testnode.Start(t, testnode.Options{Log: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	e := &env{t: t, node: n.Gatehouse, base: n.BaseURL}
	e.createUser("root", rootPassword, store.LevelSystemAdmin)
	e.createUser("ada", adaPassword, store.LevelAdmin)
	root := e.withToken(e.accessToken("root", rootPassword, "SYSTEM_ADMIN"))
	ada := e.withToken(e.accessToken("ada", adaPassword, "ADMIN"))
	rootSession := e.withSession("root", rootPassword)

	host, port, _ := net.SplitHostPort(closedPort(t))
	body := map[string]any{"name": "Support inbox", "protocol": "imap", "host": host, "port": atoi(port), "tls": "implicit",
		"username": "support@example.com", "password": mailPassword}
	r := root.do("POST", pathMail, body)
	want(t, r, http.StatusCreated, "")
	id := r.str("id")
	if id == "" || r.str("auth") != "password" || r.body["port"] != float64(atoi(port)) || r.header.Get("Location") != pathMail+"/"+id {
		t.Fatalf("create: %s %v", r.raw, r.header)
	}

	t.Run("only system administrators", func(t *testing.T) {
		for _, c := range []struct{ method, path string }{
			{"GET", pathMail}, {"POST", pathMail}, {"GET", pathMail + "/" + id}, {"PUT", pathMail + "/" + id},
			{"DELETE", pathMail + "/" + id}, {"POST", pathMail + "/" + id + "/test"},
		} {
			var b any
			if c.method == "POST" || c.method == "PUT" {
				b = body
			}
			want(t, ada.do(c.method, c.path, b), http.StatusForbidden, "forbidden")
			// Refused before the body is read: a bad one, one of the wrong
			// type, or one where none is taken does not make it a 400 or 415.
			for _, bad := range []raw{{"application/json", []byte("{")}, {"text/plain", []byte("x")}, {"application/json", []byte(`{"a":1}`)}} {
				want(t, ada.do(c.method, c.path, bad), http.StatusForbidden, "forbidden")
			}
		}
		want(t, e.anonymous().do("GET", pathMail, nil), http.StatusUnauthorized, "unauthorized")
		// A browser session of a system administrator works too.
		want(t, rootSession.do("GET", pathMail, nil), http.StatusOK, "")
	})

	t.Run("bad input", func(t *testing.T) {
		bad := []struct {
			edit map[string]any
			says string
		}{
			{map[string]any{"protocol": "smtp"}, "imap or pop3"},
			{map[string]any{"port": 70000}, "1-65535"},
			{map[string]any{"port": "993"}, `"port" has the wrong type`},
			{map[string]any{"tls": "ssl"}, "implicit, starttls or none"},
			{map[string]any{"host": "imaps://mail.example.com/"}, "not a host name"},
			{map[string]any{"host": ""}, "host is required"},
			{map[string]any{"username": ""}, "username is required"},
			{map[string]any{"integration": "Gmail"}, "not both"},
			{map[string]any{"password": "", "integration": "Gmail"}, `no integration "Gmail"`},
			{map[string]any{"password": ""}, "give a password or an integration"},
			{map[string]any{"sasl": "xoauth2"}, "only to sign-in with an integration"},
			{map[string]any{"ca_cert": "not a certificate"}, "must be PEM"},
			{map[string]any{"ca_cert": "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"}, "never a private key"},
			{map[string]any{"name": "SUPPORT INBOX"}, "exists already"},
			{map[string]any{"passwd": "x"}, `unknown field "passwd"`},
			{map[string]any{"password": "a\nb"}, "line break"},
		}
		for _, c := range bad {
			b := map[string]any{}
			for k, v := range body {
				b[k] = v
			}
			for k, v := range c.edit {
				b[k] = v
			}
			r := root.do("POST", pathMail, b)
			want(t, r, http.StatusBadRequest, "invalid_request")
			if !strings.Contains(r.str("message"), c.says) {
				t.Errorf("%v: message %q lacks %q", c.edit, r.str("message"), c.says)
			}
		}
		want(t, root.do("POST", pathMail, raw{"application/json", []byte(`{"name":`)}), http.StatusBadRequest, "invalid_request")
		want(t, root.do("GET", pathMail+"/nope", nil), http.StatusNotFound, "not_found")
		want(t, root.do("POST", pathMail+"/nope/test", nil), http.StatusNotFound, "not_found")
	})

	t.Run("failed tests are answers", func(t *testing.T) {
		r := root.do("POST", pathMail+"/"+id+"/test", nil)
		want(t, r, http.StatusOK, "")
		if r.body["ok"] != false || r.str("step") != "connect" || !strings.Contains(r.str("message"), "connection refused") || r.body["messages"] != float64(0) {
			t.Fatalf("closed port: %s", r.raw)
		}
		unknown := map[string]any{"name": "Nowhere", "protocol": "pop3", "host": "mail.gatehouse-test.invalid", "tls": "starttls",
			"username": "u", "password": mailPassword}
		r = root.do("POST", pathMail, unknown)
		want(t, r, http.StatusCreated, "")
		if r.body["port"] != float64(110) {
			t.Errorf("POP3 with STARTTLS got port %v, want 110", r.body["port"])
		}
		// By name, in any case.
		r = root.do("POST", pathMail+"/nowhere/test", nil)
		want(t, r, http.StatusOK, "")
		if r.body["ok"] != false || r.str("step") != "connect" || !strings.Contains(r.str("message"), "mail.gatehouse-test.invalid") {
			t.Fatalf("unknown host: %s", r.raw)
		}
	})

	t.Run("replace keeps the password unless given", func(t *testing.T) {
		stored, err := e.node.Store.MailServerByID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		b := map[string]any{"name": "Support", "protocol": "imap", "host": host, "port": atoi(port), "tls": "implicit", "username": "support"}
		r := root.do("PUT", pathMail+"/Support%20inbox", b)
		want(t, r, http.StatusOK, "")
		if r.str("name") != "Support" || r.str("username") != "support" || r.str("auth") != "password" {
			t.Fatalf("replace: %s", r.raw)
		}
		after, _ := e.node.Store.MailServerByID(context.Background(), id)
		if !bytes.Equal(after.PasswordSealed, stored.PasswordSealed) {
			t.Fatal("a replace without a password changed the stored one")
		}
		// The stored password goes only where it was given for: a new host,
		// port, TLS mode or CA certificate (which a token or session without
		// the administrator's password could point at a server of its own)
		// needs it typed again.
		pem := testdovecot.UnrelatedCA(t)
		for _, moved := range []map[string]any{{"host": "pop.example.com"}, {"port": 1993}, {"tls": "starttls"}, {"ca_cert": pem},
			{"protocol": "pop3", "host": "pop.example.com", "tls": "starttls", "port": nil}} {
			c := map[string]any{}
			for k, v := range b {
				c[k] = v
			}
			for k, v := range moved {
				if v == nil {
					delete(c, k)
				} else {
					c[k] = v
				}
			}
			r := root.do("PUT", pathMail+"/"+id, c)
			want(t, r, http.StatusBadRequest, "invalid_request")
			if !strings.Contains(r.str("message"), "password again") {
				t.Errorf("%v without a password: %q", moved, r.str("message"))
			}
		}
		if after, _ := e.node.Store.MailServerByID(context.Background(), id); after.Host != host || !bytes.Equal(after.PasswordSealed, stored.PasswordSealed) {
			t.Fatalf("a refused replace changed the server: %+v", after)
		}
		b = map[string]any{"name": "Support", "protocol": "pop3", "host": "pop.example.com", "tls": "starttls", "username": "support"}
		b["password"] = "a-new-password"
		want(t, root.do("PUT", pathMail+"/"+id, b), http.StatusOK, "")
		if after, _ = e.node.Store.MailServerByID(context.Background(), id); bytes.Equal(after.PasswordSealed, stored.PasswordSealed) {
			t.Fatal("a new password was not stored")
		}
		r = root.do("GET", pathMail+"/support", nil)
		want(t, r, http.StatusOK, "")
		if r.str("id") != id || r.str("host") != "pop.example.com" {
			t.Fatalf("get by name: %s", r.raw)
		}
	})

	t.Run("delete", func(t *testing.T) {
		want(t, root.do("DELETE", pathMail+"/"+id, nil), http.StatusNoContent, "")
		r := root.do("GET", pathMail+"/"+id, nil)
		want(t, r, http.StatusNotFound, "not_found")
		if r.str("message") != "no such mail server" {
			t.Errorf("message %q", r.str("message"))
		}
		r = root.do("GET", pathMail, nil)
		want(t, r, http.StatusOK, "")
		if len(r.list("mail_servers")) != 1 {
			t.Fatalf("list after delete: %s", r.raw)
		}
	})

	t.Run("every change and test is audited, without the password", func(t *testing.T) {
		r := root.do("GET", "/rest/gatehouse/latest/audit?kind=mailserver.&limit=1000", nil)
		want(t, r, http.StatusOK, "")
		kinds := map[string]int{}
		for _, ev := range r.list("events") {
			kinds[ev.(map[string]any)["kind"].(string)]++
		}
		if kinds["mailserver.create"] != 2 || kinds["mailserver.update"] != 2 || kinds["mailserver.test"] != 2 || kinds["mailserver.delete"] != 1 {
			t.Fatalf("audit kinds %v", kinds)
		}
		for _, secret := range []string{mailPassword, "a-new-password"} {
			if strings.Contains(r.raw, secret) {
				t.Fatalf("the audit log holds a password: %s", r.raw)
			}
			if strings.Contains(logs.String(), secret) {
				t.Fatalf("a log line holds a password:\n%s", logs.String())
			}
		}
	})
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}
