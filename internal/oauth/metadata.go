package oauth

import (
	"encoding/json"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/app"
)

// buildMetadata renders RFC 8414 §2 once; it lists only what is implemented.
func (s *Server) buildMetadata() []byte {
	scopes := []string{}
	for _, sc := range s.scopes.All() {
		scopes = append(scopes, sc.Name)
	}
	base := s.settings.Issuer
	authMethods := []string{AuthBasic, AuthPost, AuthNone}
	md := map[string]any{
		"issuer":                                         base,
		"authorization_endpoint":                         base + PathAuthorize,
		"token_endpoint":                                 base + PathToken,
		"revocation_endpoint":                            base + PathRevoke,
		"introspection_endpoint":                         base + PathIntrospect,
		"scopes_supported":                               scopes,
		"response_types_supported":                       []string{"code"},
		"response_modes_supported":                       []string{"query"},
		"grant_types_supported":                          []string{app.GrantAuthorizationCode, app.GrantRefreshToken, app.GrantClientCredentials},
		"token_endpoint_auth_methods_supported":          authMethods,
		"revocation_endpoint_auth_methods_supported":     authMethods,
		"introspection_endpoint_auth_methods_supported":  []string{AuthBasic, AuthPost},
		"code_challenge_methods_supported":               []string{MethodS256, MethodPlain},
		"authorization_response_iss_parameter_supported": true,
	}
	b, _ := json.MarshalIndent(md, "", "  ")
	return append(b, '\n')
}

func (s *Server) handleMetadata(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	// Shared caches keep one copy for every origin: it must be readable
	// from any, whether the request that filled the cache had an Origin.
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Write(s.metadata)
}
