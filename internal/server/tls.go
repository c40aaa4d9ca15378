package server

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"
)

// certCheckEvery is how often, at most, a handshake looks whether the
// certificate files changed: a stat of two files, not on every handshake.
const certCheckEvery = 5 * time.Second

// tlsConfig is the HTTPS listener's configuration: TLS 1.2 at least, Go's
// default cipher suites and curves, HTTP/2 offered first, and the
// certificate of tls.cert_file and tls.key_file, reloaded when they change.
func (g *Gatehouse) tlsConfig() (*tls.Config, error) {
	certs, err := newCertReloader(g.Config.TLS.CertFile, g.Config.TLS.KeyFile, g.Log, g.Now)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"h2", "http/1.1"},
		GetCertificate: certs.certificate,
	}, nil
}

// certReloader serves a certificate from two PEM files and loads them again
// when either changes (modification time or size), so a renewed certificate
// is served without a restart. A changed pair that does not load (a
// half-written renewal, a key that does not match) is logged, and the
// previous certificate stays in use until the files change again.
type certReloader struct {
	certFile, keyFile string
	log               *slog.Logger
	now               func() time.Time

	mu      sync.Mutex
	cert    *tls.Certificate
	stamps  [2]fileStamp // of the files when last loaded or tried
	checked time.Time
}

// fileStamp tells a changed file; the zero value is a missing one.
type fileStamp struct {
	mod  time.Time
	size int64
}

func newCertReloader(certFile, keyFile string, log *slog.Logger, now func() time.Time) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, log: log, now: now}
	// Stamped before loading: a change while loading is seen at the next check.
	r.stamps = r.stat()
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: load %s and %s: %w", certFile, keyFile, err)
	}
	r.cert, r.checked = &cert, now()
	r.logLoaded("tls: serving the certificate", &cert)
	return r, nil
}

func (r *certReloader) stat() [2]fileStamp {
	var s [2]fileStamp
	for i, name := range []string{r.certFile, r.keyFile} {
		if fi, err := os.Stat(name); err == nil {
			s[i] = fileStamp{fi.ModTime(), fi.Size()}
		}
	}
	return s
}

// certificate is tls.Config.GetCertificate.
func (r *certReloader) certificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if now.Sub(r.checked) < certCheckEvery {
		return r.cert, nil
	}
	r.checked = now
	stamps := r.stat()
	if stamps == r.stamps {
		return r.cert, nil
	}
	r.stamps = stamps
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		r.log.Warn("tls: the certificate files changed but do not load; still serving the previous certificate",
			"cert_file", r.certFile, "key_file", r.keyFile, "error", err)
		return r.cert, nil
	}
	r.cert = &cert
	r.logLoaded("tls: serving a renewed certificate", &cert)
	return r.cert, nil
}

func (r *certReloader) logLoaded(msg string, cert *tls.Certificate) {
	leaf := cert.Leaf // parsed by LoadX509KeyPair, unless GODEBUG=x509keypairleaf=0
	if leaf == nil {
		r.log.Info(msg, "cert_file", r.certFile)
		return
	}
	r.log.Info(msg, "cert_file", r.certFile, "subject", leaf.Subject.String(), "dns_names", leaf.DNSNames,
		"serial", leaf.SerialNumber.String(), "not_after", leaf.NotAfter)
}

// redirectToHTTPS serves tls.redirect_listen: GET and HEAD are sent to the
// same path and query at the https base URL's host (308). Any other method
// is refused (400): its request, which may carry a client secret, a
// password or a token, has already crossed the network in the clear, and a
// redirect would have the client send it again and hide the mistake.
func redirectToHTTPS(baseURL string) (http.Handler, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, err
	}
	origin := "https://" + u.Host
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "plain http is not served here: send this request to "+origin+" over https", http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, origin+r.URL.RequestURI(), http.StatusPermanentRedirect)
	}), nil
}
