package web

import (
	"net/http"
	"net/url"
	"sort"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/clientip"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/store"
)

// handleAuthorize validates the authorization request and sends the browser
// on to the consent page, by way of sign-in when needed. Errors about the
// client or redirect URI are shown here and never redirected (RFC 6749 §4.1.2.1).
func (p *Pages) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q, ok := p.strictQuery(w, r)
	if !ok {
		return
	}
	req, ok := p.authorizeRequest(w, r, q)
	if !ok {
		return
	}
	consent := oauth.PathConsent + "?" + req.Query.Encode()
	http.Redirect(w, r, consent, http.StatusFound)
}

// strictQuery parses the query string, refusing (rather than silently
// dropping) a badly encoded pair such as redirect_uri=%zz.
func (p *Pages) strictQuery(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		p.render(w, r, http.StatusBadRequest, "error", p.t(r, "error.title"),
			errorData{Message: p.t(r, "error.request"), Detail: p.t(r, "error.detail.bad_encoding")})
		return nil, false
	}
	return q, true
}

// authorizeRequest parses and validates; on failure it has answered already.
func (p *Pages) authorizeRequest(w http.ResponseWriter, r *http.Request, q url.Values) (*oauth.AuthorizeRequest, bool) {
	req, err := p.oauth.ParseAuthorize(r.Context(), q)
	if err == nil {
		return req, true
	}
	code, description := oauth.Describe(err)
	if code == oauth.CodeServerError {
		p.fail(w, r, err)
		return nil, false
	}
	if req == nil {
		p.render(w, r, http.StatusBadRequest, "error", p.t(r, "error.title"),
			errorData{Message: p.t(r, "error.request"), Detail: p.errorDetail(r, code, description)})
		return nil, false
	}
	http.Redirect(w, r, p.oauth.ErrorRedirect(req, err), http.StatusFound)
	return nil, false
}

type scopeLine struct{ Name, Text string }

type param struct{ Name, Value string }

type consentData struct {
	Client struct {
		ID, Name, Description string
		HasLogo               bool
	}
	Kept, Dropped []scopeLine
	RedirectHost  string
	Action        string
	Params        []param
}

// handleConsentPage shows what the application asks for, in plain words.
func (p *Pages) handleConsentPage(w http.ResponseWriter, r *http.Request) {
	q, ok := p.strictQuery(w, r)
	if !ok {
		return
	}
	req, ok := p.authorizeRequest(w, r, q)
	if !ok {
		return
	}
	u, err := p.currentUser(r)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if u == nil {
		http.Redirect(w, r, "/login?"+url.Values{"next": {r.URL.RequestURI()}}.Encode(), http.StatusFound)
		return
	}
	if err := p.oauth.CheckUser(req, *u); err != nil {
		http.Redirect(w, r, p.oauth.ErrorRedirect(req, err), http.StatusFound)
		return
	}
	lang := pickLanguage(r)
	kept, dropped := p.oauth.ConsentScopes(req, *u)
	data := consentData{Action: oauth.PathConsent}
	data.Client.ID, data.Client.Name, data.Client.Description, data.Client.HasLogo = req.Client.ID, req.Client.Name, req.Client.Description, req.Client.HasLogo
	for _, n := range kept {
		data.Kept = append(data.Kept, scopeLine{n, p.scopes.Describe(n, lang)})
	}
	for _, n := range dropped {
		data.Dropped = append(data.Dropped, scopeLine{n, p.scopes.Describe(n, lang)})
	}
	target, _ := url.Parse(req.RedirectURI)
	data.RedirectHost = target.Host
	if data.RedirectHost == "" {
		data.RedirectHost = target.Scheme + ":"
	}
	for k, vs := range req.Query {
		data.Params = append(data.Params, param{k, vs[0]})
	}
	sort.Slice(data.Params, func(i, j int) bool { return data.Params[i].Name < data.Params[j].Name })
	w.Header().Set("Content-Security-Policy", csp(" "+formTarget(target)))
	p.render(w, r, http.StatusOK, "consent", p.t(r, "consent.title"), data)
}

// formTarget is the CSP source for where the consent form's redirect lands.
func formTarget(u *url.URL) string {
	if u.Host == "" {
		return u.Scheme + ":"
	}
	return u.Scheme + "://" + u.Host
}

// handleConsentDecision records Allow or Deny. The request is validated again
// from the posted parameters, so nothing about it is trusted from the page.
func (p *Pages) handleConsentDecision(w http.ResponseWriter, r *http.Request) {
	if !p.acceptForm(w, r) {
		return
	}
	q := url.Values{}
	for k, vs := range r.PostForm {
		if k != "csrf_token" && k != "decision" {
			q[k] = vs
		}
	}
	req, ok := p.authorizeRequest(w, r, q)
	if !ok {
		return
	}
	u, err := p.currentUser(r)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if u == nil {
		http.Redirect(w, r, "/login?"+url.Values{"next": {oauth.PathConsent + "?" + q.Encode()}}.Encode(), http.StatusSeeOther)
		return
	}
	ctx := r.Context()
	if r.PostFormValue("decision") != "allow" {
		p.audit.Record(ctx, store.AuditEvent{Kind: audit.ConsentDeny, Actor: u.Username, Username: u.Username, Address: clientip.From(ctx).String(), ClientID: req.Client.ID})
		http.Redirect(w, r, p.oauth.ErrorRedirect(req, oauth.AccessDenied("the user denied the request")), http.StatusSeeOther)
		return
	}
	// The decision is audited while the code is stored: both writes usually
	// share one commit, so the user waits for the disk once, not twice.
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		p.audit.Record(ctx, store.AuditEvent{Kind: audit.ConsentAllow, Actor: u.Username, Username: u.Username, Address: clientip.From(ctx).String(), ClientID: req.Client.ID, Detail: req.Query.Get("scope")})
	}()
	target, err := p.oauth.Approve(ctx, req, *u)
	<-recorded
	if err != nil {
		if code, _ := oauth.Describe(err); code == oauth.CodeServerError {
			p.fail(w, r, err)
			return
		}
		target = p.oauth.ErrorRedirect(req, err)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}
