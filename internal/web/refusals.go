package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/integration"
	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/user"
	"github.com/gatehouse/gatehouse/internal/validation"
)

// refusalPrefix is where a *validation.Error's key lives in the catalogue:
// the key "app.scope_unknown" is worded by "refusal.app.scope_unknown".
const refusalPrefix = "refusal."

// isRefusal reports whether err is a refusal of the admin, application, user
// or mail services, to be shown to the administrator rather than logged as a
// failure.
func isRefusal(err error) bool {
	return errors.Is(err, admin.ErrInvalid) || errors.Is(err, app.ErrInvalid) || errors.Is(err, app.ErrLimit) ||
		errors.Is(err, user.ErrInvalid) || errors.Is(err, mail.ErrInvalid) || errors.Is(err, integration.ErrInvalid)
}

// refusal words a refusal in the request's language, from the catalogue entry
// of its message key. The English text of err is written for logs, the command
// line and the JSON API, so a refusal without a key or without an entry in
// the page's language is shown as a general refusal instead, and logged.
//
// TestConsoleRefusalsAreLocalised provokes the console's refusals through the
// real forms, and TestEveryRefusalKeyIsInTheCatalogue checks every key the
// services use.
func (p *Pages) refusal(r *http.Request, err error) string {
	lang := pickLanguage(r)
	var v *validation.Error
	if errors.As(err, &v) && p.messages.Has(lang, refusalPrefix+v.Key) {
		return p.messages.T(lang, refusalPrefix+v.Key, p.labelled(lang, v)...)
	}
	p.log.Warn("refusal without a translation", "path", r.URL.Path, "lang", lang, "error", err)
	return p.messages.T(lang, "error.refused")
}

// labelled is v's arguments for a page: an integration endpoint's refusal
// names its field as the API spells it (authorization_endpoint), which the
// page names by its label in lang.
func (p *Pages) labelled(lang string, v *validation.Error) []any {
	if !strings.HasPrefix(v.Key, "integration.url_") || len(v.Args) == 0 {
		return v.Args
	}
	field, ok := v.Args[0].(string)
	if !ok || !p.messages.Has(lang, "integration."+field) {
		return v.Args
	}
	return append([]any{p.messages.T(lang, "integration."+field)}, v.Args[1:]...)
}
