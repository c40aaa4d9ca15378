package oauth

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/user"
)

// myself is who the token acts for, in the shape of Atlassian's
// /rest/api/latest/myself (name, key, displayName, emailAddress).
type myself struct {
	Name         string `json:"name"`
	Key          string `json:"key"`
	DisplayName  string `json:"displayName"`
	EmailAddress string `json:"emailAddress,omitempty"`
	Active       bool   `json:"active"`
	Level        string `json:"permissionLevel,omitempty"`
	Service      bool   `json:"service,omitempty"` // a client-credentials token: the application itself
	ClientID     string `json:"clientId"`
	Scope        string `json:"scope"`
}

// handleMyself serves the protected resource: the user (or application) behind a Bearer token.
func (s *Server) handleMyself(w http.ResponseWriter, r *http.Request) {
	p, err := s.Authenticate(r)
	if err != nil {
		s.WriteBearerError(w, err)
		return
	}
	out := myself{Active: true, ClientID: p.Client.ID, Scope: scope.Format(p.Scopes)}
	if p.User == nil {
		out.Name, out.Key, out.DisplayName, out.Service = p.Client.ID, p.Client.ID, p.Client.Name, true
	} else {
		out.Name, out.Key, out.DisplayName, out.EmailAddress = p.User.Username, p.User.ID, p.User.DisplayName, p.User.Email
		out.Level = user.LevelName(p.User.Level)
	}
	writeJSON(w, http.StatusOK, out)
}
