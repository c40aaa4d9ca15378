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
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc(PathToken, s.handleToken)
	mux.HandleFunc(PathRevoke, s.handleRevoke)
	mux.HandleFunc(PathIntrospect, s.handleIntrospect)
	mux.HandleFunc("GET "+PathMetadata, s.handleMetadata)
	mux.HandleFunc("GET "+PathMyself, s.handleMyself)
	mux.Handle(PathMetadata, s.MethodNotAllowed("GET, HEAD"))
	mux.Handle(PathMyself, s.MethodNotAllowed("GET, HEAD"))
}
