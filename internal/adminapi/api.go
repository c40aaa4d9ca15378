package adminapi

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/integration"
	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/reqlog"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/user"
	"github.com/gatehouse/gatehouse/internal/validation"
)

// Route prefixes.
const (
	PathClients   = "/rest/oauth2/latest/client"
	PathGatehouse = "/rest/gatehouse/latest"
)

// API serves the admin REST API.
type API struct {
	admin    *admin.Service
	mail     *mail.Service // set by AddMail
	users    *user.Service
	oauth    *oauth.Server
	sessions *session.Manager
	log      *slog.Logger
	mux      *routeMux
	// integrations and scopes serve the integrations (AddIntegrations).
	integrations *integration.Service
	scopes       *scope.Catalogue
}

// New builds the API over the admin service. users checks the password that
// unlocks a secret; o checks Bearer tokens; sessions are the browser sessions.
func New(a *admin.Service, users *user.Service, o *oauth.Server, sessions *session.Manager, log *slog.Logger) *API {
	api := &API{admin: a, users: users, oauth: o, sessions: sessions, log: log, mux: &routeMux{ServeMux: http.NewServeMux()}}
	api.routes()
	return api
}

// routeMux is the API's ServeMux, remembering its patterns so that the
// tests can hold them against the OpenAPI description (openapi.yaml).
type routeMux struct {
	*http.ServeMux
	patterns []string
}

func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}

func (m *routeMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(h))
}

func (a *API) routes() {
	m := a.mux
	m.Handle("GET "+PathClients, a.route(noBody, a.listClients))
	m.Handle("POST "+PathClients, a.route(jsonBody, a.createClient))
	m.Handle("GET "+PathClients+"/{id}", a.route(noBody, a.getClient))
	m.Handle("PUT "+PathClients+"/{id}", a.route(jsonBody, a.replaceClient))
	m.Handle("DELETE "+PathClients+"/{id}", a.route(noBody, a.deleteClient))
	m.Handle("POST "+PathClients+"/{id}/enable", a.route(noBody, a.enableClient))
	m.Handle("POST "+PathClients+"/{id}/disable", a.route(noBody, a.disableClient))
	m.Handle("POST "+PathClients+"/{id}/secret", a.route(jsonBody, a.rotateSecret))
	m.Handle("POST "+PathClients+"/{id}/credentials", a.route(jsonBody, a.viewCredentials))
	m.Handle("PUT "+PathClients+"/{id}/logo", a.route(imageBody, a.setLogo))
	m.Handle("DELETE "+PathClients+"/{id}/logo", a.route(noBody, a.removeLogo))

	m.Handle("GET "+PathGatehouse+"/users", a.route(noBody, a.listUsers))
	m.Handle("POST "+PathGatehouse+"/users", a.route(jsonBody, a.createUser))
	m.Handle("GET "+PathGatehouse+"/users/{username}", a.route(noBody, a.getUser))
	m.Handle("PATCH "+PathGatehouse+"/users/{username}", a.route(jsonBody, a.updateUser))
	m.Handle("POST "+PathGatehouse+"/users/{username}/password", a.route(jsonBody, a.resetPassword))
	m.Handle("POST "+PathGatehouse+"/users/{username}/signout", a.route(noBody, a.signOutUser))
	m.Handle("GET "+PathGatehouse+"/groups", a.route(noBody, a.listGroups))
	m.Handle("GET "+PathGatehouse+"/grants", a.route(noBody, a.listGrants))
	m.Handle("DELETE "+PathGatehouse+"/grants/{id}", a.route(noBody, a.revokeGrant))
	m.Handle("GET "+PathGatehouse+"/audit", a.route(noBody, a.listAudit))
	m.HandleFunc("GET "+PathOpenAPI, serveOpenAPI) // no credentials needed
}

// Register mounts the API on mux, behind the browser session and the
// cross-origin check.
func (a *API) Register(mux *http.ServeMux) {
	h := a.Handler()
	mux.Handle(PathClients, h)
	mux.Handle(PathClients+"/", h)
	mux.Handle(PathGatehouse, h) // a JSON 404, not ServeMux's HTML redirect to the subtree
	mux.Handle(PathGatehouse+"/", h)
}

// Handler is the API with its security headers, the cross-origin check
// (refusing in JSON) and the browser session. A request with an
// Authorization header is authenticated by its token alone, never by the
// session (authenticate), so it neither loads nor saves one: its cookie,
// if it has one, is left as it was.
func (a *API) Handler() http.Handler {
	refuse := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.writeError(w, r, errCrossOrigin)
	})
	withSession := a.sessions.Wrap(http.HandlerFunc(a.serve), a.writeError)
	return securityHeaders(session.CrossOrigin(a.oauth.Issuer(), refuse, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if oauth.CarriesAuthorization(r) {
			a.serve(w, r)
			return
		}
		withSession.ServeHTTP(w, r)
	})))
}

// serve routes a request, answering an unknown route or method in JSON.
func (a *API) serve(w http.ResponseWriter, r *http.Request) {
	if !validation.Clean(r.URL.Path) {
		// An ID no row can have (PostgreSQL refuses the bytes outright).
		a.writeError(w, r, badRequest("the path is not text: it holds bytes that are not UTF-8, or a control character"))
		return
	}
	h, pattern := a.mux.Handler(r)
	if pattern != "" {
		reqlog.Route(a.mux.ServeMux).ServeHTTP(w, r)
		return
	}
	// Ask the mux what it would answer (404, or 405 with Allow), then say it in JSON.
	probe := &statusProbe{header: http.Header{}}
	h.ServeHTTP(probe, r)
	if probe.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", probe.header.Get("Allow"))
		a.writeError(w, r, &apiError{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
			Message: "this route does not answer " + r.Method + "; allowed: " + probe.header.Get("Allow")})
		return
	}
	a.writeError(w, r, &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "there is no such API route; see docs/api.md"})
}

// statusProbe records what a handler would answer and discards the body.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header { return p.header }
func (p *statusProbe) WriteHeader(code int) {
	if p.status == 0 {
		p.status = code
	}
}

func (p *statusProbe) Write(b []byte) (int, error) {
	p.WriteHeader(http.StatusOK)
	return len(b), nil
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// handler is one endpoint, called for an authenticated administrator.
type handler func(w http.ResponseWriter, r *http.Request, actor admin.Actor) error

// route adapts an endpoint: it authenticates the caller, checks the body's
// type and size, and writes any error the endpoint returns.
func (a *API) route(kind bodyKind, h handler) http.Handler { return a.routeFor(nil, kind, h) }

// systemRoute is route for a system administrator's endpoint: any other
// caller is refused with refusal before anything of the request is read (a
// body checked first would answer 400 or 415 to a call they may not make).
func (a *API) systemRoute(refusal error, kind bodyKind, h handler) http.Handler {
	return a.routeFor(func(actor admin.Actor) error {
		if actor.Level < store.LevelSystemAdmin {
			return refusal
		}
		return nil
	}, kind, h)
}

// routeFor is route, with admit (when set) vetting the caller first.
func (a *API) routeFor(admit func(admin.Actor) error, kind bodyKind, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, capped, err := a.authenticate(r)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		if admit != nil {
			err = admit(actor)
		}
		if err == nil {
			err = admitBody(w, r, kind)
		}
		if err == nil {
			err = h(w, r, actor)
		}
		if capped && err != nil && (errors.Is(err, admin.ErrAboveLevel) || classify(r, err).Code == "forbidden") {
			err = errScopeBelowAction
		}
		if err != nil {
			a.writeError(w, r, err)
		}
	})
}
