package mail

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// These cover what the Dovecot tests (internal/e2e) cannot make a real
// server do: certificates for another name or out of date, a server that
// never greets or never stops talking, and mechanisms nobody offers. The
// servers here are scripted stand-ins for someone else's mail server.

// testCA returns a CA certificate in PEM.
func testCA(t *testing.T) string {
	t.Helper()
	ca, _, _ := newCA(t)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw}))
}

func newCA(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Probe Test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return ca, key, pool
}

// tlsListener serves TLS on loopback with a certificate for names, valid
// from notBefore to notAfter, and greets with greeting.
func tlsListener(t *testing.T, names []string, notBefore, notAfter time.Time, greeting string) (addr string, roots *x509.CertPool) {
	t.Helper()
	ca, caKey, pool := newCA(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "mail.test"}, DNSNames: names,
		NotBefore: notBefore, NotAfter: notAfter, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go acceptAll(ln, func(c net.Conn) { c.Write([]byte(greeting)) })
	return ln.Addr().String(), pool
}

func acceptAll(ln net.Listener, serve func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			serve(c)
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			bufio.NewReader(c).ReadString('\n') //nolint:errcheck // wait for the client to go
		}()
	}
}

func targetAt(t *testing.T, protocol, tlsMode, addr string, roots *x509.CertPool) target {
	host, p, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(p)
	return target{protocol: protocol, host: host, port: port, tls: tlsMode, roots: roots}
}

func wantFail(t *testing.T, p probed, step, key string, words ...string) {
	t.Helper()
	if p.fail == nil || p.fail.why == nil {
		t.Fatalf("probe = %+v, want a failure at %s", p, step)
	}
	if p.fail.step != step || p.fail.why.Key != key {
		t.Fatalf("failed at %s with %s (%v), want %s with %s", p.fail.step, p.fail.why.Key, p.fail.why, step, key)
	}
	for _, w := range words {
		if !strings.Contains(p.fail.why.Error(), w) {
			t.Errorf("%q lacks %q", p.fail.why.Error(), w)
		}
	}
}

var password = credential{username: "u", password: "p"}

func TestCertificateProblems(t *testing.T) {
	now := time.Now()
	// A certificate for another name: the server is reached as 127.0.0.1.
	addr, roots := tlsListener(t, []string{"mail.example.com"}, now.Add(-time.Hour), now.Add(time.Hour), "* OK ready\r\n")
	p := probe(t.Context(), targetAt(t, IMAP, TLSImplicit, addr, roots), password, now.Add(5*time.Second))
	wantFail(t, p, StepTLS, "mail.tls_hostname", `"CN=mail.test"`, `"CN=Probe Test CA"`, "127.0.0.1", "mail.example.com")

	// Expired.
	addr, roots = tlsListener(t, []string{"localhost"}, now.Add(-48*time.Hour), now.Add(-24*time.Hour), "+OK ready\r\n")
	host := strings.Replace(addr, "127.0.0.1", "localhost", 1)
	p = probe(t.Context(), targetAt(t, POP3, TLSImplicit, host, roots), password, now.Add(5*time.Second))
	wantFail(t, p, StepTLS, "mail.tls_expired", `"CN=mail.test"`, now.Add(-24*time.Hour).UTC().Format(time.DateOnly))
}

// A server that accepts and says nothing: the deadline ends the wait, and
// the words point at the TLS mode.
func TestSilentServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go acceptAll(ln, func(net.Conn) {})
	for _, protocol := range []string{IMAP, POP3} {
		start := time.Now()
		p := probe(t.Context(), targetAt(t, protocol, TLSNone, ln.Addr().String(), nil), password, time.Now().Add(time.Second))
		wantFail(t, p, StepGreeting, "mail.greeting_timeout", "implicit TLS")
		if d := time.Since(start); d > 4*time.Second {
			t.Errorf("%s: the deadline of 1s ended the test after %v", protocol, d)
		}
	}
	// Cancelling the caller's context ends the test too.
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	p := probe(ctx, targetAt(t, IMAP, TLSNone, ln.Addr().String(), nil), password, time.Now().Add(time.Minute))
	if p.fail == nil || time.Since(start) > 10*time.Second {
		t.Fatalf("a cancelled test: %+v after %v", p, time.Since(start))
	}
}

// A server that never stops sending is cut off at the read budget.
func TestFloodingServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go acceptAll(ln, func(c net.Conn) {
		c.Write([]byte("* OK ready\r\n* "))
		chunk := []byte(strings.Repeat("x", 64<<10))
		for {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	})
	p := probe(t.Context(), targetAt(t, IMAP, TLSNone, ln.Addr().String(), nil), password, time.Now().Add(10*time.Second))
	if p.fail == nil || p.fail.why.Key != "mail.too_much" {
		t.Fatalf("a flood: %+v", p.fail)
	}
}

func TestChooseMechanism(t *testing.T) {
	s := session{cred: credential{token: "t"}}
	if m, f := s.chooseMechanism([]string{"PLAIN", "OAUTHBEARER", "XOAUTH2"}); f != nil || m != XOAUTH2 {
		t.Errorf("both offered: %s, %v", m, f)
	}
	if m, f := s.chooseMechanism([]string{"oauthbearer"}); f != nil || m != OAuthBearer {
		t.Errorf("OAUTHBEARER offered: %s, %v", m, f)
	}
	_, f := s.chooseMechanism([]string{"PLAIN", "LOGIN"})
	wantFail(t, probed{fail: f}, StepAuthenticate, "mail.no_oauth_mechanism", "PLAIN LOGIN")
	_, f = s.chooseMechanism(nil)
	wantFail(t, probed{fail: f}, StepAuthenticate, "mail.no_oauth_mechanism", "offers: none")
	s.cred.sasl = OAuthBearer
	_, f = s.chooseMechanism([]string{"XOAUTH2"})
	wantFail(t, probed{fail: f}, StepAuthenticate, "mail.mechanism_missing", "does not offer OAUTHBEARER", "XOAUTH2")
}

func TestServerText(t *testing.T) {
	if got := serverText("  a\x1b[31mb\r\nc  "); got != "a [31mb  c" {
		t.Errorf("serverText = %q", got)
	}
	if got := serverText(strings.Repeat("é", 400)); len([]rune(got)) != 301 {
		t.Errorf("serverText kept %d characters", len([]rune(got)))
	}
	if got := serverText(""); got != "(no text)" {
		t.Errorf("serverText(\"\") = %q", got)
	}
}
