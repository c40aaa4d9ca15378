package resource

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/go-json-experiment/json"
	"golang.org/x/sync/singleflight"
)

const (
	introspectionPath = "/rest/oauth2/latest/introspect"
	defaultCacheTTL   = 10 * time.Second
	defaultMaxEntries = 10_000
	defaultRealm      = "api"
	defaultTimeout    = 10 * time.Second
	// maxAnswer bounds the introspection answer read into memory; Gatehouse's
	// are a few hundred bytes.
	maxAnswer = 64 << 10
)

// Options configure a Middleware. ClientID, ClientSecret and one of
// IntrospectionURL or Issuer are required; the rest have defaults.
type Options struct {
	// IntrospectionURL is the authorization server's RFC 7662 endpoint, such
	// as https://gatehouse.example.com/rest/oauth2/latest/introspect.
	IntrospectionURL string
	// Issuer is Gatehouse's base URL (its --base-url), such as
	// https://gatehouse.example.com; the endpoint is then Issuer +
	// "/rest/oauth2/latest/introspect". Set Issuer or IntrospectionURL, not both.
	Issuer string

	// ClientID and ClientSecret are the resource server's own application,
	// sent with HTTP Basic. It must be marked introspect_any: without it every
	// other application's token introspects as inactive and is refused.
	ClientID     string
	ClientSecret string

	// HTTPClient sends the introspection requests; it should have a timeout.
	// Nil: a client with a 10-second timeout that follows no redirect (so
	// the token is never sent anywhere but IntrospectionURL).
	HTTPClient *http.Client

	// CacheTTL is the longest a positive answer is reused, so the longest a
	// revoked token keeps working here; the token's expiry bounds it too.
	// Zero: 10 seconds. Negative: no cache, every request introspects.
	CacheTTL time.Duration
	// MaxEntries bounds the cache; when it is full, expired and then the
	// oldest answers make room. Zero: 10,000.
	MaxEntries int

	// Realm names the protection space in WWW-Authenticate challenges
	// (RFC 6750 §3). Empty: "api".
	Realm string
	// Logger receives why an introspection failed (never a token).
	// Nil: slog.Default().
	Logger *slog.Logger
	// Now is the clock, for tests. Nil: time.Now.
	Now func() time.Time
}

// Middleware checks the Bearer tokens of requests by introspection. It is
// safe for concurrent use; make one per authorization server and share it,
// so that its cache is shared.
type Middleware struct {
	url          string
	clientID     string
	clientSecret string
	client       *http.Client
	ttl          time.Duration
	realm        string
	log          *slog.Logger
	now          func() time.Time
	cache        *cache
	flights      singleflight.Group
}

// New checks opt and returns a Middleware.
func New(opt Options) (*Middleware, error) {
	endpoint := opt.IntrospectionURL
	switch {
	case endpoint != "" && opt.Issuer != "":
		return nil, errors.New("resource: set IntrospectionURL or Issuer, not both")
	case opt.Issuer != "":
		endpoint = strings.TrimSuffix(opt.Issuer, "/") + introspectionPath
	case endpoint == "":
		return nil, errors.New("resource: IntrospectionURL or Issuer is required")
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		// The URL is not quoted: it might hold a secret.
		return nil, errors.New("resource: the introspection URL must be an absolute http(s) URL without credentials")
	}
	if opt.ClientID == "" || opt.ClientSecret == "" {
		return nil, errors.New("resource: ClientID and ClientSecret are required")
	}
	if opt.MaxEntries < 0 {
		return nil, errors.New("resource: MaxEntries must not be negative")
	}
	if strings.ContainsFunc(opt.Realm, unicode.IsControl) {
		return nil, errors.New("resource: Realm must not contain control characters")
	}
	m := &Middleware{
		url: endpoint, clientID: opt.ClientID, clientSecret: opt.ClientSecret,
		client: opt.HTTPClient, ttl: opt.CacheTTL, realm: opt.Realm, log: opt.Logger, now: opt.Now,
	}
	if m.client == nil {
		m.client = &http.Client{
			Timeout:       defaultTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if m.ttl == 0 {
		m.ttl = defaultCacheTTL
	}
	if m.realm == "" {
		m.realm = defaultRealm
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	if m.now == nil {
		m.now = time.Now
	}
	maxEntries := opt.MaxEntries
	if maxEntries == 0 {
		maxEntries = defaultMaxEntries
	}
	m.cache = newCache(maxEntries)
	return m, nil
}

// Handler returns next guarded by a token check: next runs only for a request
// with an active access token, which FromContext then returns. Every other
// request is answered here (see the package documentation).
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		value, f := bearerToken(r.Header)
		if f != nil {
			f.write(w, m.realm, nil)
			return
		}
		tok, err := m.check(r.Context(), value)
		if errors.Is(err, errInactive) {
			invalidToken.write(w, m.realm, nil)
			return
		}
		if err != nil {
			if r.Context().Err() == nil {
				m.log.Warn("resource: token introspection failed", "url", m.url, "err", err)
			}
			writeUnavailable(w)
			return
		}
		// Each request gets its own copy: the cached answer is shared.
		tok.Scopes = slices.Clone(tok.Scopes)
		ctx := context.WithValue(r.Context(), contextKey{}, &principal{tok: tok, realm: m.realm})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// errInactive is Gatehouse's answer that the token may not be used.
var errInactive = errors.New("token is not active")

// check returns what introspection says about the token value, from the
// cache if it may. Concurrent checks of one token share one introspection.
func (m *Middleware) check(ctx context.Context, value string) (Token, error) {
	key := sha256.Sum256([]byte(value))
	if tok, ok := m.cache.get(key, m.now()); ok {
		return tok, nil
	}
	ch := m.flights.DoChan(string(key[:]), func() (any, error) {
		now := m.now()
		// A flight that ended since the look-up above may have filled the cache.
		if tok, ok := m.cache.get(key, now); ok {
			return tok, nil
		}
		// The flight serves every waiting request: one caller going away
		// must not cancel it for the others.
		tok, err := m.introspect(context.WithoutCancel(ctx), value, now)
		if err != nil {
			return Token{}, err
		}
		until := now.Add(m.ttl)
		if !tok.Expiry.IsZero() && tok.Expiry.Before(until) {
			until = tok.Expiry
		}
		m.cache.put(key, tok, until, now)
		return tok, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return Token{}, res.Err
		}
		return res.Val.(Token), nil
	case <-ctx.Done():
		return Token{}, ctx.Err()
	}
}

// introspection is the part of an RFC 7662 §2.2 answer that is used.
type introspection struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope"`
	ClientID  string `json:"client_id"`
	Username  string `json:"username"`
	Sub       string `json:"sub"`
	TokenType string `json:"token_type"`
	Exp       int64  `json:"exp"`
	Nbf       int64  `json:"nbf"`
}

// introspect asks the authorization server about the token value (RFC 7662
// §2.1). It returns errInactive for a token that may not be used, and any
// other error when there was no usable answer.
func (m *Middleware) introspect(ctx context.Context, value string, now time.Time) (Token, error) {
	form := url.Values{"token": {value}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.url, strings.NewReader(form.Encode()))
	if err != nil {
		return Token{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// RFC 6749 §2.3.1: both are form-encoded before going into Basic.
	req.SetBasicAuth(url.QueryEscape(m.clientID), url.QueryEscape(m.clientSecret))
	resp, err := m.client.Do(req)
	if err != nil {
		return Token{}, err
	}
	// Reading to the end lets the connection be reused.
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	resp.Body.Close()
	if err != nil {
		return Token{}, fmt.Errorf("reading the introspection answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return Token{}, fmt.Errorf("introspection answered %s", resp.Status)
	}
	// Read strictly (names as spelled, none twice), so that only the member
	// "active" says a token is active, not "Active", nor the second of two.
	var in introspection
	if err := json.Unmarshal(body, &in); err != nil {
		return Token{}, fmt.Errorf("decoding the introspection answer: %w", err)
	}
	if in.Nbf != 0 && now.Before(time.Unix(in.Nbf, 0)) {
		return Token{}, errInactive // not yet valid
	}
	if !in.Active {
		return Token{}, errInactive
	}
	// Gatehouse introspects refresh tokens too; they are no Bearer tokens.
	if in.TokenType != "" && !strings.EqualFold(in.TokenType, "bearer") {
		return Token{}, errInactive
	}
	tok := Token{Username: in.Username, Subject: in.Sub, ClientID: in.ClientID, Scopes: strings.Fields(in.Scope)}
	if in.Exp != 0 {
		tok.Expiry = time.Unix(in.Exp, 0)
		if !now.Before(tok.Expiry) {
			return Token{}, errInactive
		}
	}
	return tok, nil
}
