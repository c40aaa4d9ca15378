package bench

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore/sqlitevfs"
)

// CeilingServer is the bare HTTP server of the ceiling scenarios: net/http
// with a handler answering a small JSON object, nothing else. A GET is the
// ceiling scenario; a POST (ceiling-post) also reads what an introspection
// request carries — Basic credentials and a form — and answers as many bytes
// with the same headers as Gatehouse's introspection, so the two differ only
// by Gatehouse's own work.
type CeilingServer struct {
	URL string
	srv *http.Server
	ln  net.Listener
	// floor, when set, stores what a flow stores (StartCeilingFloor).
	floor flowStorage
}

var ceilingBody = []byte(`{"ok":true,"server":"gatehouse-bench-ceiling"}` + "\n")

// ceilingPostBody is as long as Gatehouse's answer to an introspection of a
// client-credentials token (206 bytes).
// ceilingTokenHeaders are the headers of Gatehouse's token endpoint answers.
var ceilingTokenHeaders = map[string][]string{
	"Cache-Control": {"no-store"},
	"Content-Type":  {"application/json;charset=UTF-8"},
	"Pragma":        {"no-cache"},
	"X-Request-Id":  {"000000000000000000000000"},
}

var ceilingPostBody = []byte(`{"active":true,"scope":"READ","client_id":"00000000000000000000000000000000","sub":"00000000000000000000000000000000","token_type":"bearer","exp":1796183213,"iat":1796176013,"iss":"http://127.0.0.1:28080"}` + "\n")

func (s *CeilingServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case pathAuthorize:
		ceilingConsentPage(w, r)
		return
	case pathConsent:
		s.decision(w, r)
		return
	case pathToken:
		if err := r.ParseForm(); err != nil {
			http.Error(w, "want a form", http.StatusBadRequest)
			return
		}
		switch r.PostForm.Get("grant_type") {
		case "refresh_token":
			s.pairGrant(w, r, true)
		case "client_credentials":
			s.clientCredentials(w, r)
		default:
			s.pairGrant(w, r, false)
		}
		return
	case floorMetricsPath:
		if s.floor != nil {
			s.floorMetrics(w)
			return
		}
	}
	h := w.Header()
	if r.Method != http.MethodPost {
		h["Content-Type"] = []string{"application/json"}
		w.Write(ceilingBody)
		return
	}
	_, _, basic := r.BasicAuth()
	if err := r.ParseForm(); err != nil || !basic || r.PostForm.Get("token") == "" {
		http.Error(w, "want Basic credentials and a token in a form", http.StatusBadRequest)
		return
	}
	setHeaders(w, ceilingTokenHeaders)
	w.Write(ceilingPostBody)
}

// The ceiling-flow scenario's three exchanges are the authcode scenario's,
// answered by bare handlers that read what Gatehouse's read (the session
// cookie, the query, the form, the Basic credentials) and answer with as many
// bytes and the same headers as Gatehouse does, but check, store and render
// nothing: net/http's own part of a browser flow. The authorization request's
// query travels in the consent form as Gatehouse's signed consent ID carries
// it, so the decision can send the state back.
const (
	pathConsent = "/plugins/servlet/oauth2/consent"
	// ceilingSession and ceilingFormCookie are the cookies a signed-in
	// browser holds: the session and the sign-in form's CSRF cookie, each as
	// long as Gatehouse's (32 random bytes, base64url).
	ceilingSession    = "gatehouse_session=" + "0000000000000000000000000000000000000000000"
	ceilingFormCookie = "gatehouse_form=" + "0000000000000000000000000000000000000000000"
	// ceilingPageBytes is the length of Gatehouse's consent page for the
	// bench application (English, two scopes).
	ceilingPageBytes = 3545
	// ceilingSignature stands for the consent ID's signature.
	ceilingSignature = ".0000000000000000000000000000000000000000000"
)

// ceilingPageHeaders are the consent page's security headers.
var ceilingPageHeaders = map[string][]string{
	"Cache-Control":           {"no-store"},
	"Content-Security-Policy": {"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self' http://127.0.0.1:9; frame-ancestors 'none'; base-uri 'none'"},
	"Content-Type":            {"text/html; charset=utf-8"},
	"Referrer-Policy":         {"no-referrer"},
	"Vary":                    {"Cookie"},
	"X-Content-Type-Options":  {"nosniff"},
	"X-Frame-Options":         {"DENY"},
	"X-Request-Id":            {"000000000000000000000000"},
}

// ceilingRedirectHeaders are those of the consent decision's redirect: the
// page's, without a body type, with the CSP of a page without the form.
var ceilingRedirectHeaders = func() map[string][]string {
	hs := maps.Clone(ceilingPageHeaders)
	delete(hs, "Content-Type")
	hs["Content-Security-Policy"] = []string{"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"}
	return hs
}()

func setHeaders(w http.ResponseWriter, hs map[string][]string) {
	h := w.Header()
	for k, v := range hs {
		h[k] = v
	}
}

// ceilingConsentPage answers an authorization request with a page of the
// consent page's length holding its form.
func ceilingConsentPage(w http.ResponseWriter, r *http.Request) {
	if _, err := r.Cookie("gatehouse_session"); err != nil || r.URL.Query().Get("redirect_uri") == "" {
		http.Error(w, "want a session and an authorization request", http.StatusBadRequest)
		return
	}
	var b strings.Builder
	b.Grow(ceilingPageBytes)
	b.WriteString(`<!doctype html><html lang="en"><title>Allow access?</title><form method="post" action="` + pathConsent + `">` +
		`<input type="hidden" name="csrf_token" value="0000000000000000000000000000000000000000000">` +
		`<input type="hidden" name="consent_id" value="`)
	b.WriteString(base64.RawURLEncoding.EncodeToString([]byte(r.URL.RawQuery)) + ceilingSignature)
	b.WriteString(`"><button type="submit" name="decision" value="allow">Allow</button>` +
		`<button type="submit" name="decision" value="deny">Deny</button></form>`)
	if pad := ceilingPageBytes - b.Len() - len("<!---->"); pad > 0 {
		b.WriteString("<!--" + strings.Repeat(" ", pad) + "-->")
	}
	setHeaders(w, ceilingPageHeaders)
	io.WriteString(w, b.String())
}

// decision answers Allow with the redirect to the client that Gatehouse
// sends, a code of a code's length in it; with a floor, a fresh code, stored.
func (s *CeilingServer) decision(w http.ResponseWriter, r *http.Request) {
	_, errCookie := r.Cookie("gatehouse_session")
	errForm := r.ParseForm()
	id, _, _ := strings.Cut(r.PostForm.Get("consent_id"), ".")
	raw, errID := base64.RawURLEncoding.DecodeString(id)
	q, errQuery := url.ParseQuery(string(raw))
	if errCookie != nil || errForm != nil || errID != nil || errQuery != nil || r.PostForm.Get("csrf_token") == "" || q.Get("redirect_uri") == "" {
		http.Error(w, "want a session and the consent form", http.StatusBadRequest)
		return
	}
	code := "gac_" + strings.Repeat("0", 51)
	if s.floor != nil {
		code = "gac_" + floorSecret()
		err := s.floor.Decide(r.Context(), floorHash(id), sqlstore.FloorCode{Hash: floorHash(code), ClientID: q.Get("client_id"), UserID: floorUserID,
			RedirectURI: q.Get("redirect_uri"), Challenge: q.Get("code_challenge"), Scope: q.Get("scope"), ExpiresAt: time.Now().Add(floorCodeLife)})
		switch {
		case errors.Is(err, store.ErrNotFound): // the page was decided already
			http.Error(w, "this consent was decided already", http.StatusBadRequest)
			return
		case err != nil:
			http.Error(w, "storing the code: "+err.Error(), http.StatusInternalServerError)
			return
		}
	}
	setHeaders(w, ceilingRedirectHeaders)
	w.Header()["Location"] = []string{q.Get("redirect_uri") + "?code=" + code +
		"&iss=http%3A%2F%2F127.0.0.1%3A28080&state=" + url.QueryEscape(q.Get("state"))}
	w.WriteHeader(http.StatusSeeOther)
}

// ceilingTokenPair is as long as Gatehouse's answer to a code exchange
// (an access and a refresh token).
var ceilingTokenPair = []byte(`{"access_token":"gat_` + strings.Repeat("0", 51) + `","token_type":"bearer","expires_in":7200,"refresh_token":"grt_` +
	strings.Repeat("0", 51) + `","scope":"READ WRITE","created_at":1796176013}` + "\n")

// pairGrant answers a code exchange (or, refresh, a rotation) with a token
// pair; with a floor, a fresh pair stored as the code is redeemed (or the
// refresh token rotated), and 400 for a grant the floor refuses.
func (s *CeilingServer) pairGrant(w http.ResponseWriter, r *http.Request, refresh bool) {
	field, want, refusal := "code", "want Basic credentials, a code and its verifier", "unknown, used or expired code"
	if refresh {
		field, want, refusal = "refresh_token", "want Basic credentials and a refresh token", "unknown, rotated or revoked refresh token"
	}
	_, _, basic := r.BasicAuth()
	if !basic || r.PostForm.Get(field) == "" || !refresh && r.PostForm.Get("code_verifier") == "" {
		http.Error(w, want, http.StatusBadRequest)
		return
	}
	if s.floor == nil {
		setHeaders(w, ceilingTokenHeaders)
		w.Write(ceilingTokenPair)
		return
	}
	keep := s.floor.Exchange
	if refresh {
		keep = s.floor.Rotate
	}
	access, refreshToken := "gat_"+floorSecret(), "grt_"+floorSecret()
	switch err := keep(r.Context(), floorHash(r.PostForm.Get(field)), floorHash(access), floorHash(refreshToken), time.Now()); {
	case errors.Is(err, store.ErrNotFound):
		http.Error(w, refusal, http.StatusBadRequest)
		return
	case err != nil:
		http.Error(w, "storing the tokens: "+err.Error(), http.StatusInternalServerError)
		return
	}
	setHeaders(w, ceilingTokenHeaders)
	pair := make([]byte, 0, len(ceilingTokenPair))
	pair = append(pair, `{"access_token":"`+access+`","token_type":"bearer","expires_in":7200,"refresh_token":"`+refreshToken+
		`","scope":"READ WRITE","created_at":1796176013}`+"\n"...)
	w.Write(pair)
}

// ceilingAccessToken is as long as Gatehouse's answer to a client_credentials
// request for the bench application's scopes.
var ceilingAccessToken = []byte(`{"access_token":"gat_` + strings.Repeat("0", 51) +
	`","token_type":"bearer","expires_in":7200,"scope":"READ WRITE","created_at":1796176013}` + "\n")

// clientCredentials answers a client_credentials request with an access
// token; with a floor, a fresh one, stored.
func (s *CeilingServer) clientCredentials(w http.ResponseWriter, r *http.Request) {
	id, _, basic := r.BasicAuth()
	if !basic {
		http.Error(w, "want Basic credentials", http.StatusBadRequest)
		return
	}
	if s.floor == nil {
		setHeaders(w, ceilingTokenHeaders)
		w.Write(ceilingAccessToken)
		return
	}
	access, scope := "gat_"+floorSecret(), r.PostForm.Get("scope")
	if err := s.floor.Issue(r.Context(), id, scope, floorHash(access), time.Now()); err != nil {
		http.Error(w, "storing the token: "+err.Error(), http.StatusInternalServerError)
		return
	}
	setHeaders(w, ceilingTokenHeaders)
	answer := make([]byte, 0, len(ceilingAccessToken))
	answer = append(answer, `{"access_token":"`+access+`","token_type":"bearer","expires_in":7200,"scope":"`+scope+`","created_at":1796176013}`+"\n"...)
	w.Write(answer)
}

// The floor's codes and tokens are as long as Gatehouse's (a prefix and 51
// characters: 38 random bytes) and stored by their SHA-256.
const floorCodeLife = time.Minute

func floorSecret() string {
	var b [38]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func floorHash(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// floorMetricsPath answers the one series gatehouse-bench --flushes reads,
// as a node names it.
const floorMetricsPath = "/metrics"

func (s *CeilingServer) floorMetrics(w http.ResponseWriter) {
	async, blocking := sqlitevfs.Stats()
	w.Header()["Content-Type"] = []string{"text/plain; version=0.0.4"}
	fmt.Fprintf(w, "gatehouse_store_fsyncs_total %d\n", async+blocking)
}

// StartCeiling serves the bare handler on addr (e.g. 127.0.0.1:0) until Close,
// with the limits of Gatehouse's own server (server.Serve): a server that
// faces callers it does not know bounds how long a request's headers, its
// body and its answer may take, and each bound is a deadline set per
// request — part of the floor, not of Gatehouse's work.
func StartCeiling(addr string) (*CeilingServer, error) { return start(addr, nil) }

// StartCeilingFloor is StartCeiling whose Allow and code exchange also store
// a flow in a SQLite database in dir through a node's own write path: with
// storage FloorMinimal what an authorization code flow must keep and nothing
// else (sqlstore.FlowFloor), so that the ceiling-flow scenario against it
// measures the flow's floor with its durable writes and their flushes; with
// FloorRequired also what the spec requires of every flow; with
// FloorGatehouse what a node stores, through its own store.
func StartCeilingFloor(ctx context.Context, addr, dir, storage string) (*CeilingServer, error) {
	floor, err := openFlowStorage(ctx, dir, storage)
	if err != nil {
		return nil, err
	}
	s, err := start(addr, floor)
	if err != nil {
		floor.Close()
	}
	return s, err
}

func start(addr string, floor flowStorage) (*CeilingServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &CeilingServer{URL: "http://" + ln.Addr().String(), ln: ln, floor: floor}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 32 << 10}
	go s.srv.Serve(ln)
	return s, nil
}

// Close stops the server (and closes its floor's database).
func (s *CeilingServer) Close() error {
	err := s.srv.Close()
	if s.floor != nil {
		err = errors.Join(err, s.floor.Close())
	}
	return err
}
