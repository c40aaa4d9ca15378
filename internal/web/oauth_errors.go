package web

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/oauth"
)

// errorDetail words an authorization error for the error page in the
// request's language, from the message key the error carries. These are the
// errors that cannot go back to the client, because there is no client or
// redirect URI to trust (RFC 6749 §4.1.2.1); internal/oauth words them in
// English for clients and logs. An error without a key (or whose key the
// catalogue lacks) is not shown in English on a page: the page names the
// OAuth error code instead, which is the same in every language.
//
// TestErrorPageDetailsAreLocalised provokes every one of them through the real
// authorization endpoint.
func (p *Pages) errorDetail(r *http.Request, err error) string {
	key, args := oauth.Wording(err)
	if key != "" && p.messages.Has(pickLanguage(r), key) {
		return p.t(r, key, args...)
	}
	code, description := oauth.Describe(err)
	p.log.Warn("authorization error without a translation", "code", code, "description", description)
	return p.t(r, "error.detail.code", code)
}
