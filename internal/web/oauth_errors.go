package web

import "net/http"

// oauthDetail is how the error page words one authorization error.
type oauthDetail struct {
	key  string // catalogue key
	args []any
}

// oauthDetails maps the descriptions of the authorization errors that the
// error page shows to catalogue keys, so the page shows them in the reader's
// language. These are the errors that cannot go back to the client, because
// there is no client or redirect URI to trust (RFC 6749 §4.1.2.1);
// internal/oauth words them in English for clients and logs.
//
// TestErrorPageDetailsAreLocalised provokes every one of them through the real
// authorization endpoint, so a new or reworded description fails that test
// instead of reaching a Japanese page in English.
var oauthDetails = map[string]oauthDetail{
	"the request has no client_id":                                          {key: "error.detail.no_client_id"},
	"no application has this client_id":                                     {key: "error.detail.unknown_client"},
	"the redirect_uri is not registered for this application":               {key: "error.detail.redirect_uri_unregistered"},
	"the request has no redirect_uri and the application registers several": {key: "error.detail.redirect_uri_ambiguous"},
	"parameter client_id is sent more than once":                            {key: "error.detail.repeated", args: []any{"client_id"}},
	"parameter redirect_uri is sent more than once":                         {key: "error.detail.repeated", args: []any{"redirect_uri"}},
}

// errorDetail words an authorization error for the error page in the
// request's language. A description without a catalogue entry is not shown
// (it is English only); the page names the OAuth error code instead, which
// is the same in every language.
func (p *Pages) errorDetail(r *http.Request, code, description string) string {
	if d, ok := oauthDetails[description]; ok {
		return p.t(r, d.key, d.args...)
	}
	p.log.Warn("authorization error without a translation", "code", code, "description", description)
	return p.t(r, "error.detail.code", code)
}
