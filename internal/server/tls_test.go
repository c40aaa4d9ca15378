package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/testnode"
)

// testCA is a throw-away certificate authority for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1000), Subject: pkix.Name{CommonName: "Gatehouse test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// leaf returns the PEM certificate and key of a server certificate for
// 127.0.0.1 with the given serial number.
func (ca *testCA) leaf(t *testing.T, serial int64) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
}

// replace writes data to path the way renewal tools do: a new file renamed
// over the old one.
func replace(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestNativeTLS(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	certPEM, keyPEM := ca.leaf(t, 1)
	replace(t, certFile, certPEM)
	replace(t, keyFile, keyPEM)
	redirectAddr := freeAddr(t)
	clk := &clock{t: time.Now()}
	var opt testnode.Options
	opt.Server.Now = clk.Now
	node := testnode.Start(t, opt, func(c *config.Config) {
		c.TLS = config.TLS{CertFile: certFile, KeyFile: keyFile, RedirectListen: redirectAddr}
	})
	if !strings.HasPrefix(node.BaseURL, "https://") {
		t.Fatalf("base URL %q; want https with TLS on", node.BaseURL)
	}

	// get fetches /healthz on a new connection and returns the answer.
	get := func(t *testing.T) *http.Response {
		t.Helper()
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool}, ForceAttemptHTTP2: true}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(node.BaseURL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /healthz over TLS: %s", resp.Status)
		}
		return resp
	}
	serial := func(t *testing.T) int64 {
		t.Helper()
		return get(t).TLS.PeerCertificates[0].SerialNumber.Int64()
	}

	t.Run("HTTP/2 over TLS", func(t *testing.T) {
		resp := get(t)
		if resp.Proto != "HTTP/2.0" || resp.TLS.NegotiatedProtocol != "h2" {
			t.Errorf("protocol %s (ALPN %q); want HTTP/2.0 (h2)", resp.Proto, resp.TLS.NegotiatedProtocol)
		}
		if resp.TLS.Version < tls.VersionTLS12 {
			t.Errorf("TLS version %x", resp.TLS.Version)
		}
	})

	t.Run("TLS 1.1 is refused", func(t *testing.T) {
		conn, err := tls.Dial("tcp", node.Addr, &tls.Config{RootCAs: ca.pool, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
		if err == nil {
			conn.Close()
			t.Fatal("a TLS 1.1 handshake succeeded")
		}
		// The server's refusal, not a client that would not try.
		if !strings.Contains(err.Error(), "remote error") || !strings.Contains(err.Error(), "protocol version") {
			t.Fatalf("TLS 1.1 handshake: %v; want the server's protocol version alert", err)
		}
		conn, err = tls.Dial("tcp", node.Addr, &tls.Config{RootCAs: ca.pool, MaxVersion: tls.VersionTLS12})
		if err != nil {
			t.Fatalf("TLS 1.2 handshake: %v", err)
		}
		conn.Close()
	})

	t.Run("plain HTTP redirects to https", func(t *testing.T) {
		noFollow := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			req, _ := http.NewRequest(method, "http://"+redirectAddr+"/rest/oauth2/latest/authorize?client_id=a&state=x%20y", nil)
			resp, err := noFollow.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			want := node.BaseURL + "/rest/oauth2/latest/authorize?client_id=a&state=x%20y"
			if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != want {
				t.Errorf("%s over plain http: %s to %q; want 308 to %q", method, resp.Status, resp.Header.Get("Location"), want)
			}
		}
		// A POST has already sent its body in the clear: refused, not redirected.
		resp, err := noFollow.Post("http://"+redirectAddr+"/rest/oauth2/latest/token", "application/x-www-form-urlencoded", strings.NewReader("grant_type=client_credentials"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Errorf("POST over plain http: %s (Location %q); want 400 without a redirect", resp.Status, resp.Header.Get("Location"))
		}
	})

	t.Run("renewed certificate without restart", func(t *testing.T) {
		if got := serial(t); got != 1 {
			t.Fatalf("serving serial %d; want 1", got)
		}
		certPEM, keyPEM := ca.leaf(t, 2)
		replace(t, certFile, certPEM)
		replace(t, keyFile, keyPEM)
		// The files are looked at every few seconds, not at every handshake.
		if got := serial(t); got != 1 {
			t.Fatalf("serving serial %d right after the change; want 1 until the next check", got)
		}
		clk.Advance(10 * time.Second)
		if got := serial(t); got != 2 {
			t.Fatalf("serving serial %d after the check; want the renewed 2", got)
		}

		// A pair that does not load (this key is not the certificate's) keeps the previous one.
		cert3, key3 := ca.leaf(t, 3)
		replace(t, certFile, cert3)
		clk.Advance(10 * time.Second)
		if got := serial(t); got != 2 {
			t.Fatalf("serving serial %d with a mismatched key; want the previous 2", got)
		}
		// Once the key follows, the new certificate is served.
		replace(t, keyFile, key3)
		clk.Advance(10 * time.Second)
		if got := serial(t); got != 3 {
			t.Fatalf("serving serial %d once the key matches; want 3", got)
		}
	})
}
