package web

import (
	"errors"
	"html/template"
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/validation"
)

// formProblem is why a form was refused, as its page shows it: Message sums
// it up at the top of the page (role=alert) and, when the refusal concerns
// one field, is repeated next to that field, which is marked aria-invalid
// and described by the message. Field is the id of the field's control (for
// a group of checkboxes, their name); "" when the refusal concerns the form
// as a whole.
type formProblem struct {
	Message string
	Field   string
}

// problem words a refusal of the services for the form it refused.
func (p *Pages) problem(r *http.Request, err error) formProblem {
	return formProblem{Message: p.refusal(r, err), Field: refusalField(err)}
}

// refusalFields names the form field that each refusal concerns, by message
// key. A key not listed here, nor under refusalFieldPrefixes, concerns the
// whole form (the application limit, a level above one's own, …).
var refusalFields = map[string]string{
	"app.name_length":                  "name",
	"admin.app_name_taken":             "name",
	"app.grant_unknown":                "grant",
	"app.grant_required":               "grant",
	"app.public_client_credentials":    "grant",
	"app.public_introspect":            "introspect_any",
	"app.scope_required":               "scope",
	"app.scope_unknown":                "scope",
	"admin.app_scope_above_own":        "scope",
	"app.cidr_invalid":                 "allowed_ips",
	"admin.subscriber_unknown":         "subscriber_users",
	"admin.group_unknown":              "subscriber_groups",
	"user.username_invalid":            "username",
	"user.username_taken":              "username",
	"user.password_short":              "password",
	"user.password_long":               "password",
	"user.password_control":            "password",
	"user.email_invalid":               "email",
	"user.group_invalid":               "groups",
	"user.level_invalid":               "level",
	"user.level_unknown":               "level",
	"admin.level_above_own":            "level",
	"admin.last_system_admin":          "level",
	"mail.name_length":                 "name",
	"mail.name_taken":                  "name",
	"mail.protocol_unknown":            "protocol",
	"mail.tls_unknown":                 "tls",
	"mail.tls_none_production":         "tls",
	"mail.host_required":               "host",
	"mail.host_invalid":                "host",
	"mail.port_range":                  "port",
	"mail.username_required":           "username",
	"mail.password_too_long":           "password",
	"mail.password_line_break":         "password",
	"mail.credential_required":         "password",
	"mail.password_again":              "password",
	"mail.sasl_unknown":                "sasl",
	"mail.sasl_without_integration":    "sasl",
	"mail.integration_unknown":         "integration",
	"integration.name_required":        "name",
	"integration.name_taken":           "name",
	"integration.secret_again":         "client_secret",
	"integration.scope_invalid":        "scopes",
	"integration.tenant_invalid":       "tenant",
	"integration.tenant_not_microsoft": "tenant",
}

// refusalFieldPrefixes names the field of whole families of keys.
var refusalFieldPrefixes = []struct{ prefix, field string }{
	{"app.redirect_uri_", "redirect_uris"},
	{"admin.logo_", "logo"},
	{"mail.ca_", "ca_cert"},
	{"integration.params_", "authorization_parameters"},
	{"integration.discovery_", "issuer"},
}

// fieldInFirstArg lists the keys (and families of keys) whose first argument
// is the field they concern, as the input rules' keys are.
var fieldInFirstArg = []string{"input.", "integration.url_", "integration.endpoint_required"}

// inputFields renames the fields that the input rules (input.* keys, whose
// first argument is the field) call otherwise than the forms do.
var inputFields = map[string]string{"scopes": "scope", "grants": "grant"}

// refusalKey is a refusal's message key, or "".
func refusalKey(err error) string {
	var v *validation.Error
	if !errors.As(err, &v) {
		return ""
	}
	return v.Key
}

// refusalField is the form field a refusal concerns, or "".
func refusalField(err error) string {
	var v *validation.Error
	if !errors.As(err, &v) {
		return ""
	}
	if slices.ContainsFunc(fieldInFirstArg, func(prefix string) bool { return strings.HasPrefix(v.Key, prefix) }) {
		name, _ := firstArg(v.Args).(string)
		if f, ok := inputFields[name]; ok {
			return f
		}
		return name
	}
	if f, ok := refusalFields[v.Key]; ok {
		return f
	}
	for _, pf := range refusalFieldPrefixes {
		if strings.HasPrefix(v.Key, pf.prefix) {
			return pf.field
		}
	}
	return ""
}

func firstArg(args []any) any {
	if len(args) == 0 {
		return nil
	}
	return args[0]
}

// invalidAttrs is the template function "invalid": the attributes of the
// control of field — aria-invalid, autofocus (where a keyboard or screen
// reader user is taken to) and the error message's id in aria-describedby
// when the form's problem is that field, and the ids of its help texts — as
// in <input id="name"{{invalid .Data.Problem "name"}}>.
func invalidAttrs(pr formProblem, field string, help ...string) template.HTMLAttr {
	return problemAttrs(pr, field, true, help)
}

// invalidInGroupAttrs is the template function "invalidInGroup": invalid
// for the index-th control of a group of checkboxes that share field, of
// which only the first takes the focus (a page has one autofocus).
func invalidInGroupAttrs(pr formProblem, field string, index int) template.HTMLAttr {
	return problemAttrs(pr, field, index == 0, nil)
}

func problemAttrs(pr formProblem, field string, focus bool, help []string) template.HTMLAttr {
	var ids []string
	var b strings.Builder
	if pr.Message != "" && pr.Field == field {
		b.WriteString(` aria-invalid="true"`)
		if focus {
			b.WriteString(` autofocus`)
		}
		ids = append(ids, fieldErrorID(field))
	}
	ids = append(ids, help...)
	if len(ids) > 0 {
		b.WriteString(` aria-describedby="` + template.HTMLEscapeString(strings.Join(ids, " ")) + `"`)
	}
	return template.HTMLAttr(b.String())
}

// fieldError is what the field_error partial shows next to a field: the
// message when the problem is that field, nothing otherwise.
type fieldError struct{ ID, Message string }

func fieldErrorOf(pr formProblem, field string) fieldError {
	if pr.Field != field {
		return fieldError{}
	}
	return fieldError{ID: fieldErrorID(field), Message: pr.Message}
}

func fieldErrorID(field string) string { return field + "-error" }

// The pages that refused forms show again, and where they live (see langSwitch).
func (d appShowData) shownAt() string { return "/admin/apps/" + d.App.ID }
func (d homeData) shownAt() string    { return "/" }
func (d userFormData) shownAt() string {
	if d.New {
		return "/admin/users/new"
	}
	return "/admin/users/" + d.User.Username
}
