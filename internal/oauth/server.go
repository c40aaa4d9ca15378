package oauth

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/token"
)

// Endpoint paths, those of the Atlassian Data Center provider.
const (
	PathAuthorize  = "/rest/oauth2/latest/authorize"
	PathToken      = "/rest/oauth2/latest/token"
	PathRevoke     = "/rest/oauth2/latest/revoke"
	PathIntrospect = "/rest/oauth2/latest/introspect"
	PathMetadata   = "/.well-known/oauth-authorization-server"
	PathMyself     = "/rest/api/latest/myself"
	PathConsent    = "/plugins/servlet/oauth2/consent"
)

// Settings are the protocol's configurable values.
type Settings struct {
	Issuer          string // the base URL; also the RFC 9207 iss value
	CodeTTL         time.Duration
	AccessTTL       time.Duration
	RefreshIdle     time.Duration // 0: none
	RefreshAbsolute time.Duration // 0: none
	RefreshGrace    store.ReuseGrace
	RefreshCap      int
	CompatQuery     bool
}

// Server holds the authorization server's dependencies.
type Server struct {
	settings Settings
	store    store.Store
	apps     *app.Service
	scopes   *scope.Catalogue
	minter   *token.Minter
	now      func() time.Time
	log      *slog.Logger
	audit    *audit.Log
	metadata []byte
	grants   map[string]grantHandler
	metrics  *metrics
}

// New returns a Server; now defaults to time.Now.
func New(st Settings, s store.Store, apps *app.Service, scopes *scope.Catalogue, m *token.Minter, now func() time.Time, log *slog.Logger) *Server {
	if now == nil {
		now = time.Now
	}
	srv := &Server{settings: st, store: s, apps: apps, scopes: scopes, minter: m, now: now, log: log, audit: audit.New(s, now, log), metrics: newMetrics()}
	srv.grants = map[string]grantHandler{
		app.GrantAuthorizationCode: srv.grantAuthorizationCode,
		app.GrantRefreshToken:      srv.grantRefreshToken,
		app.GrantClientCredentials: srv.grantClientCredentials,
	}
	srv.metadata = srv.buildMetadata()
	return srv
}

// Issuer is the base URL that every endpoint's URL starts with.
func (s *Server) Issuer() string { return s.settings.Issuer }

// Register adds the JSON endpoints to mux. The browser endpoints (authorize,
// consent) are served by the web package, which calls this package's core.
//
// The endpoints a browser application calls itself — the token and
// revocation endpoints, the metadata, the protected API — answer pages of any
// origin (CORS); introspection, which a resource server calls with its own
// credentials, does not.
func (s *Server) Register(mux *http.ServeMux) {
	mux.Handle(PathToken, crossOrigin("POST", http.HandlerFunc(s.handleToken)))
	mux.Handle(PathRevoke, crossOrigin("POST", http.HandlerFunc(s.handleRevoke)))
	mux.HandleFunc(PathIntrospect, s.handleIntrospect)
	mux.Handle("GET "+PathMetadata, crossOrigin("GET, HEAD", http.HandlerFunc(s.handleMetadata)))
	mux.Handle("GET "+PathMyself, crossOrigin("GET, HEAD", http.HandlerFunc(s.handleMyself)))
	mux.Handle(PathMetadata, crossOrigin("GET, HEAD", s.MethodNotAllowed("GET, HEAD")))
	mux.Handle(PathMyself, crossOrigin("GET, HEAD", s.MethodNotAllowed("GET, HEAD")))
}

// crossOrigin lets pages of other origins read h's answers (CORS), for
// endpoints that never read a cookie: a browser application authenticates
// there with its client ID, PKCE verifier or Bearer token, exactly as curl
// would, so "*" gives a page nothing it could not do without a browser, and
// credentials are never allowed (a cookie-bearing request's answer stays
// unreadable). It answers the preflight of such a request itself.
func crossOrigin(methods string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Origin") == "" {
			h.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Access-Control-Allow-Origin", "*")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			w.Header().Set("Access-Control-Allow-Methods", methods)
			w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			w.Header().Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Access-Control-Expose-Headers", "WWW-Authenticate, Retry-After")
		h.ServeHTTP(w, r)
	})
}
