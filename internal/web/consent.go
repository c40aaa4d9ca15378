package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/clientip"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/validation"
)

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
	code, _ := oauth.Describe(err)
	if code == oauth.CodeServerError || code == oauth.CodeTemporarilyUnavailable {
		p.fail(w, r, err)
		return nil, false
	}
	if req == nil {
		p.render(w, r, http.StatusBadRequest, "error", p.t(r, "error.title"),
			errorData{Message: p.t(r, "error.request"), Detail: p.errorDetail(r, err)})
		return nil, false
	}
	http.Redirect(w, r, p.oauth.ErrorRedirect(req, err), http.StatusFound)
	return nil, false
}

// scopeLine is a scope as a page shows it: its name, and its description in
// words; Lang is the description's language when it is not the page's (the
// catalogue's English, on a Japanese page), for the page to mark.
type scopeLine struct{ Name, Text, Lang string }

// scopeLine describes the scope name for a page in lang.
func (p *Pages) scopeLine(name, lang string) scopeLine {
	text, in := p.scopes.DescribeIn(name, lang)
	line := scopeLine{Name: name, Text: text}
	if in != "" && in != lang {
		line.Lang = in
	}
	return line
}

// A consent page's decision is accepted this long after the page was shown.
const consentTTL = 15 * time.Minute

// consentPage is what a consent page's form carries as its consent_id,
// signed with the secret key (consentID): the validated request and whom it
// was shown to. Showing the page writes nothing; the decision makes the ID
// single-use (store.DecideConsent). The request is no secret from the user,
// whose browser has it in the page's URL; what matters is that nothing in
// it can be changed and that it is decided once. (The JSON names are those
// of earlier releases' IDs, which parseConsentPage still reads.)
type consentPage struct {
	Nonce   []byte `json:"n"` // makes every page's ID unique
	UserID  string `json:"u"`
	Binding []byte `json:"b"` // consentBinding: worthless in another browser session
	Request string `json:"r"` // the request's essential parameters (oauth.AuthorizeRequest.Essential)
	Expires int64  `json:"e"` // unix milliseconds
}

type consentData struct {
	Client struct {
		ID, Name, Description string
		HasLogo               bool
	}
	Kept, Dropped []scopeLine
	RedirectHost  string
	ConsentID     string // the form posts to oauth.PathConsent, written in the template
}

// The consent page is kept rendered (slottedPages): its consent ID is the
// one part that differs every time.
func (d consentData) formID() string { return d.ConsentID }

func (d consentData) withFormID(id string) any {
	d.ConsentID = id
	return d
}

func (d consentData) appendShape(s shape) shape {
	s = s.str(d.Client.ID).str(d.Client.Name).str(d.Client.Description).flag(d.Client.HasLogo)
	for _, lines := range [][]scopeLine{d.Kept, d.Dropped} {
		s = s.num(int64(len(lines)))
		for _, l := range lines {
			s = s.str(l.Name).str(l.Text).str(l.Lang)
		}
	}
	return s.str(d.RedirectHost)
}

// handleConsentPage answers an authorization request, at the authorize
// endpoint and at the consent page's own path (where sign-in returns to): it
// validates the request and shows a signed-in user what the application asks
// for, in plain words, without a redirect between the two — one round trip
// fewer per authorization. A signed-out browser goes to sign-in first. Errors
// about the client or redirect URI are shown here and never redirected
// (RFC 6749 §4.1.2.1).
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
		// Only what the request is judged by: parameters nobody reads could
		// make the sign-in URL too large to send (431).
		next := oauth.PathConsent + "?" + req.Essential().Encode()
		http.Redirect(w, r, "/login?"+url.Values{"next": {next}}.Encode(), http.StatusFound)
		return
	}
	if err := p.oauth.CheckUser(req, *u); err != nil {
		http.Redirect(w, r, p.oauth.ErrorRedirect(req, err), http.StatusFound)
		return
	}
	lang := pickLanguage(r)
	kept, dropped := p.oauth.ConsentScopes(req, *u)
	var data consentData
	data.Client.ID, data.Client.Name, data.Client.Description, data.Client.HasLogo = req.Client.ID, req.Client.Name, req.Client.Description, req.Client.HasLogo
	for _, n := range kept {
		data.Kept = append(data.Kept, p.scopeLine(n, lang))
	}
	for _, n := range dropped {
		data.Dropped = append(data.Dropped, p.scopeLine(n, lang))
	}
	target, _ := url.Parse(req.RedirectURI)
	data.RedirectHost = target.Host
	if data.RedirectHost == "" {
		data.RedirectHost = target.Scheme + ":"
	}
	nonce := make([]byte, 16)
	rand.Read(nonce)
	data.ConsentID = p.consentID(consentPage{Nonce: nonce, UserID: u.ID, Binding: p.consentBinding(r),
		Request: req.Essential().Encode(), Expires: p.now().Add(consentTTL).UnixMilli()})
	w.Header().Set("Content-Security-Policy", csp(" "+formSource(target)))
	p.renderFor(w, r, u, http.StatusOK, "consent", p.t(r, "consent.title"), data)
}

// formSource is the CSP source for where a form's answer redirects to: u's
// origin, or only its scheme when a CSP cannot name its host (an IPv6
// literal; a host of a row stored before hosts had to be names).
func formSource(u *url.URL) string {
	if u.Host == "" || strings.HasPrefix(u.Host, "[") || !validation.HostIsName(u) {
		return u.Scheme + ":"
	}
	return u.Scheme + "://" + u.Host
}

// consentID signs c: its binary form (consentPage.append), then a MAC of it
// under the secret key, both base64url, joined by a dot.
func (p *Pages) consentID(c consentPage) string {
	payload := base64.RawURLEncoding.EncodeToString(c.append(nil))
	return payload + "." + base64.RawURLEncoding.EncodeToString(p.keys.Tag("consent page:"+payload))
}

// openConsentID returns what id carries; ok is false when id was not made
// by consentID with this node's secret key, or was changed since.
func (p *Pages) openConsentID(id string) (c consentPage, ok bool) {
	payload, mac, found := strings.Cut(id, ".")
	got, err := base64.RawURLEncoding.DecodeString(mac)
	if !found || err != nil || subtle.ConstantTimeCompare(got, p.keys.Tag("consent page:"+payload)) != 1 {
		return c, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return c, false
	}
	return parseConsentPage(raw)
}

// consentPageV1 starts a consent page's binary form: the expiry (8 bytes,
// big-endian), the nonce, the user ID and the binding (each after its
// length as a uvarint), then the request to the end. (Decoding JSON cost
// ~10 µs of a browser flow.)
const consentPageV1 = 1

func (c consentPage) append(b []byte) []byte {
	b = append(b, consentPageV1)
	b = binary.BigEndian.AppendUint64(b, uint64(c.Expires))
	for _, field := range [][]byte{c.Nonce, []byte(c.UserID), c.Binding} {
		b = binary.AppendUvarint(b, uint64(len(field)))
		b = append(b, field...)
	}
	return append(b, c.Request...)
}

// parseConsentPage reads what consentPage.append wrote, or the JSON that
// nodes of earlier releases signed (a consent page shown by one of them
// during a rolling upgrade is posted to an upgraded node).
func parseConsentPage(b []byte) (c consentPage, ok bool) {
	if len(b) > 0 && b[0] == '{' {
		return c, json.Unmarshal(b, &c) == nil
	}
	if len(b) < 9 || b[0] != consentPageV1 {
		return c, false
	}
	c.Expires, b = int64(binary.BigEndian.Uint64(b[1:9])), b[9:]
	var fields [3][]byte
	for i := range fields {
		n, size := binary.Uvarint(b)
		if size <= 0 || n > uint64(len(b)-size) {
			return consentPage{}, false
		}
		fields[i], b = b[size:size+int(n)], b[size+int(n):]
	}
	c.Nonce, c.UserID, c.Binding, c.Request = fields[0], string(fields[1]), fields[2], string(b)
	return c, true
}

// consentBinding ties a consent page to the browser session that saw it,
// through the session's secret form token.
func (p *Pages) consentBinding(r *http.Request) []byte {
	return p.keys.Hash("consent-binding:" + p.csrfToken(r))
}

// consentFields are the only fields the consent form posts.
var consentFields = map[string]bool{"csrf_token": true, "consent_id": true, "decision": true}

// handleConsentDecision records Allow or Deny for a consent page. The
// request its signed ID carries is validated again (the application may
// have changed meanwhile); then one transaction marks the ID decided, stores
// the code and records the decision (store.DecideConsent): a form posted
// twice, or twice at once, gets one decision, and the user waits for the
// disk once.
func (p *Pages) handleConsentDecision(w http.ResponseWriter, r *http.Request) {
	if !p.acceptForm(w, r) {
		return
	}
	decision, id, ok := consentForm(r)
	if !ok || r.URL.RawQuery != "" {
		p.render(w, r, http.StatusBadRequest, "error", p.t(r, "error.title"),
			errorData{Message: p.t(r, "error.request"), Detail: p.t(r, "consent.bad_form")})
		return
	}
	u, err := p.currentUser(r)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if u == nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	ctx := r.Context()
	now := p.now()
	gone := func() {
		p.render(w, r, http.StatusBadRequest, "error", p.t(r, "error.title"),
			errorData{Message: p.t(r, "consent.gone"), Detail: p.t(r, "consent.gone_detail")})
	}
	page, ok := p.openConsentID(id)
	if !ok || page.UserID != u.ID || now.UnixMilli() >= page.Expires || subtle.ConstantTimeCompare(page.Binding, p.consentBinding(r)) != 1 {
		gone()
		return
	}
	idHash, expires := p.keys.Hash("consent:"+id), time.UnixMilli(page.Expires)
	// decide records the decision with what it stores; false when it has
	// answered (the page was decided already, or the store failed).
	decide := func(code *store.Code, event *store.AuditEvent) bool {
		if event != nil {
			event.At = now
		}
		err := p.store.DecideConsent(ctx, idHash, expires, code, event)
		switch {
		case errors.Is(err, store.ErrNotFound):
			// The store refuses a code for a user disabled since the check
			// above: answered as that check answers them.
			if u, err := p.currentUser(r); err == nil && u == nil {
				http.Redirect(w, r, "/login", http.StatusSeeOther)
				return false
			}
			gone()
			return false
		case err != nil:
			p.fail(w, r, err)
			return false
		}
		return true
	}
	q, err := url.ParseQuery(page.Request)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	req, ok := p.authorizeRequest(w, r, q)
	if !ok {
		// Answered already; the request is no longer valid, so neither is
		// its consent.
		p.store.DecideConsent(ctx, idHash, expires, nil, nil)
		return
	}
	event := store.AuditEvent{Kind: audit.ConsentAllow, Actor: u.Username, Username: u.Username, Address: clientip.From(ctx).String(), ClientID: req.Client.ID, Detail: req.Query.Get("scope")}
	if decision != "allow" {
		event.Kind, event.Detail = audit.ConsentDeny, ""
		if decide(nil, &event) {
			http.Redirect(w, r, p.oauth.ErrorRedirect(req, oauth.AccessDenied("the user denied the request")), http.StatusSeeOther)
		}
		return
	}
	code, target, err := p.oauth.PrepareApproval(req, *u)
	if err != nil {
		if c, _ := oauth.Describe(err); c == oauth.CodeServerError {
			p.fail(w, r, err)
			return
		}
		// Allowed, but nothing can be granted (no scope left for this user):
		// the decision is recorded, and the client told why.
		if decide(nil, &event) {
			http.Redirect(w, r, p.oauth.ErrorRedirect(req, err), http.StatusSeeOther)
		}
		return
	}
	event.Detail = code.Scope // what was granted: the level may have dropped some of what was asked
	if decide(&code, &event) {
		http.Redirect(w, r, target, http.StatusSeeOther)
	}
}

// consentForm reads the decision form strictly: exactly one consent_id and
// one decision, allow or deny, and no other field.
func consentForm(r *http.Request) (decision, id string, ok bool) {
	for k, vs := range r.PostForm {
		if !consentFields[k] || len(vs) != 1 {
			return "", "", false
		}
	}
	decision, id = r.PostForm.Get("decision"), r.PostForm.Get("consent_id")
	return decision, id, id != "" && (decision == "allow" || decision == "deny")
}
