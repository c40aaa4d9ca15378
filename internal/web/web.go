package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/integration"
	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/reqlog"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/user"
	"github.com/gatehouse/gatehouse/internal/validation"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Session keys.
const (
	keyCSRF   = "csrf"
	keyReauth = "reauth_at" // unix ms of the last password re-entry (secure administrator session)
	keyFlash  = "flash"
)

// Pages serves the browser pages.
type Pages struct {
	oauth    *oauth.Server
	users    *user.Service
	admin    *admin.Service
	mail     *mail.Service
	audit    *audit.Log
	now      func() time.Time
	store    store.Store
	scopes   *scope.Catalogue
	sessions *session.Manager
	keys     *secret.Keys
	messages Messages
	// templates are each page's, parsed when first shown: start-up (and a
	// node that only serves tokens) skips parsing every page in every
	// language, and the garbage collector walks only the pages in use.
	templates *pageTemplates
	// slotted keeps pages of slottedData rendered.
	slotted slottedPages
	log     *slog.Logger
	hsts    bool

	// integrations serves the console's integration pages and the callback.
	integrations *integration.Service
}

// Options configure Pages.
type Options struct {
	Sessions session.Options
	Now      func() time.Time
	// HSTS adds Strict-Transport-Security (production).
	HSTS bool
	// Mail is the incoming mail servers' service (the console's mail pages).
	Mail *mail.Service
	// Integrations is the outgoing integrations' service.
	Integrations *integration.Service
}

// New builds the pages.
func New(o *oauth.Server, u *user.Service, a *admin.Service, s store.Store, c *scope.Catalogue, keys *secret.Keys, log *slog.Logger, opt Options) (*Pages, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	msgs, err := LoadMessages()
	if err != nil {
		return nil, err
	}
	p := &Pages{
		oauth: o, users: u, admin: a, mail: opt.Mail, audit: audit.New(s, opt.Now, log), now: opt.Now,
		store: s, scopes: c, messages: msgs, log: log, hsts: opt.HSTS, keys: keys,
		sessions: session.New(s, keys, opt.Now, opt.Sessions),
	}
	p.integrations = opt.Integrations
	p.templates = newPageTemplates(msgs)
	return p, nil
}

// pageTemplates parses a page's templates — the layout, the partials and
// the page, their constant translations written in (pretranslate) — the
// first time the page is shown in a language, and keeps them. All 48 held
// at once are ~3 MiB of parse trees, which every garbage collection walks:
// on a node that had shown one page, introspection's collections took ~3 ms
// of CPU instead of ~1 and its p99 rose by a third (docs/performance.md). A
// node that signs users in and asks for consent holds only those pages.
type pageTemplates struct {
	msgs Messages

	mu    sync.RWMutex
	bases map[string]*template.Template // language → layout and partials, never executed (Clone needs that)
	pages map[pageKey]*template.Template
}

type pageKey struct{ lang, name string }

func newPageTemplates(msgs Messages) *pageTemplates {
	return &pageTemplates{msgs: msgs, bases: map[string]*template.Template{}, pages: map[pageKey]*template.Template{}}
}

// get returns page name's template set in lang, parsing it the first time.
func (t *pageTemplates) get(lang, name string) (*template.Template, error) {
	key := pageKey{lang, name}
	t.mu.RLock()
	page := t.pages[key]
	t.mu.RUnlock()
	if page != nil {
		return page, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if page := t.pages[key]; page != nil {
		return page, nil
	}
	if name == "layout" || name == "partials" || !slices.Contains(Languages, lang) {
		return nil, fmt.Errorf("web: no page %q in %q", name, lang)
	}
	base := t.bases[lang]
	if base == nil {
		base = template.New("layout.html").Funcs(templateFuncs(t.msgs, lang))
		for _, file := range []string{"templates/layout.html", "templates/partials.html"} {
			if _, err := t.parse(base, lang, file); err != nil {
				return nil, err
			}
		}
		t.bases[lang] = base
	}
	page, err := base.Clone()
	if err != nil {
		return nil, err
	}
	if _, err := t.parse(page, lang, "templates/"+name+".html"); err != nil {
		return nil, err
	}
	t.pages[key] = page
	return page, nil
}

// parse adds a template file to tmpl, its constant translations written in.
func (t *pageTemplates) parse(tmpl *template.Template, lang, file string) (*template.Template, error) {
	src, err := fs.ReadFile(templateFiles, file)
	if err != nil {
		return nil, err
	}
	if name := path.Base(file); name != tmpl.Name() {
		tmpl = tmpl.New(name) // (New of tmpl's own name would empty tmpl)
	}
	return tmpl.Parse(pretranslate(string(src), t.msgs, lang))
}

// grantTableData feeds the grant_table partial.
type grantTableData struct {
	grantList
	CSRF     string
	Next     string
	ShowUser bool
}

func templateFuncs(msgs Messages, lang string) template.FuncMap {
	return template.FuncMap{
		"t": func(key string, args ...any) string { return msgs.T(lang, key, args...) },
		"datetime": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.UTC().Format("2006-01-02 15:04 UTC")
		},
		"initial": func(s string) string {
			for _, r := range s {
				return strings.ToUpper(string(r))
			}
			return "?"
		},
		"levelName": user.LevelName,
		// auditKind labels an audit event kind; a kind without a label (an
		// event recorded by a newer or older version) shows as itself.
		"auditKind": func(kind string) string {
			if msgs.Has(lang, auditKindPrefix+kind) {
				return msgs.T(lang, auditKindPrefix+kind)
			}
			return kind
		},
		"grantTypes": func() []string {
			return []string{app.GrantAuthorizationCode, app.GrantRefreshToken, app.GrantClientCredentials}
		},
		"has": func(list []string, v string) bool { return slices.Contains(list, v) },
		// A refused form marks its field at fault (form_problems.go).
		"invalid":        invalidAttrs,
		"invalidInGroup": invalidInGroupAttrs,
		"fieldError":     fieldErrorOf,
		"grantTable": func(g grantList, csrf, next string, showUser bool) grantTableData {
			return grantTableData{g, csrf, next, showUser}
		},
	}
}

// Handler returns the browser routes with sessions, CSRF and security headers.
func (p *Pages) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+oauth.PathAuthorize, p.handleConsentPage)
	mux.HandleFunc("GET "+oauth.PathConsent, p.handleConsentPage)
	mux.HandleFunc("POST "+oauth.PathConsent, p.handleConsentDecision)
	mux.HandleFunc("GET /login", p.handleLoginPage)
	mux.HandleFunc("POST /login", p.handleLogin)
	mux.HandleFunc("POST /logout", p.handleLogout)
	mux.HandleFunc("POST /logout/everywhere", p.handleLogoutEverywhere)
	mux.HandleFunc("POST "+PathPasswordChange, p.handlePasswordChange)
	mux.HandleFunc("GET /{$}", p.handleHome)
	mux.HandleFunc("GET "+PathAuthorizedApps, p.handleAuthorizedApps)
	mux.HandleFunc("POST "+PathAuthorizedApps+"/revoke", p.handleAuthorizedAppRevoke)
	mux.HandleFunc("GET /logo/{id}", p.handleLogo)
	p.registerAdmin(mux)
	mux.Handle("GET /static/", staticHandler())
	mux.HandleFunc("GET /favicon.ico", serveFavicon) // for what asks without reading a page's <link rel=icon>
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if allow := allowedMethods(mux, r); allow != "" {
			w.Header().Set("Allow", allow)
			p.render(w, r, http.StatusMethodNotAllowed, "error", p.t(r, "error.title"), errorData{Message: p.t(r, "error.method")})
			return
		}
		p.render(w, r, http.StatusNotFound, "error", p.t(r, "error.title"), errorData{Message: p.t(r, "error.not_found")})
	})
	refuseCrossOrigin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Anyone may send this, with kilobytes in each header: the line
		// names their starts only.
		p.log.Info("a cross-origin form was refused", "origin", validation.Printable(r.Header.Get("Origin"), 200),
			"host", validation.Printable(r.Host, 200), "sec_fetch_site", validation.Printable(r.Header.Get("Sec-Fetch-Site"), 20))
		p.render(w, r, http.StatusForbidden, "error", p.t(r, "error.title"), errorData{Message: p.t(r, "error.csrf")})
	})
	routed := reqlog.Route(mux)
	textPaths := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !validation.Clean(r.URL.Path) {
			// An ID no row can have (PostgreSQL refuses the bytes outright).
			p.render(w, r, http.StatusBadRequest, "error", p.t(r, "error.title"), errorData{Message: p.t(r, "error.bad_path")})
			return
		}
		routed.ServeHTTP(w, r)
	})
	// Sessions wrap the cross-origin check so that its refusal page can render.
	return p.securityHeaders(p.sessions.Wrap(session.CrossOrigin(p.oauth.Issuer(), refuseCrossOrigin, textPaths), p.fail))
}

// Sessions is the browser session manager the pages use, which a JSON API
// may share to accept an administrator's session as well as a Bearer token.
func (p *Pages) Sessions() *session.Manager { return p.sessions }

// securityHeaders makes every page unframeable and confined by a strict CSP,
// and finds the page's language once (withLanguage).
// The consent page widens form-action to the client's redirect origin, because
// browsers apply form-action to the redirect that follows the form post.
func (p *Pages) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for _, s := range pageHeaders {
			h[s.name] = s.value
		}
		if p.hsts {
			h["Strict-Transport-Security"] = hstsValue
		}
		next.ServeHTTP(w, withLanguage(r))
	})
}

// The headers of every page, shared rather than allocated per request (two
// requests of an authorization come through here): net/http copies a
// handler's headers before it changes any, a page that needs another value
// (the consent page's CSP) sets a new slice, and nothing writes into a
// header's values in place.
var (
	pageHeaders = []struct {
		name  string
		value []string
	}{
		{"Content-Security-Policy", []string{csp("")}},
		{"X-Frame-Options", []string{"DENY"}},
		{"X-Content-Type-Options", []string{"nosniff"}},
		{"Referrer-Policy", []string{"no-referrer"}},
		{"Cache-Control", []string{"no-store"}},
	}
	hstsValue = []string{"max-age=63072000; includeSubDomains"}
)

func csp(formTarget string) string {
	return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'" + formTarget +
		"; frame-ancestors 'none'; base-uri 'none'"
}

// page is what every template receives.
type page struct {
	Lang    string
	Title   string
	User    *store.User
	IsAdmin bool
	Section string // the admin console's current section, for its navigation
	CSRF    string
	Flash   string
	Data    any
	// RequestID names the request in the server's log, for error pages.
	RequestID string
	// LangSwitch is this page in the other language, its request kept.
	LangSwitch string

	// IsSystemAdmin shows what only system administrators manage.
	IsSystemAdmin bool
}

func (p *Pages) t(r *http.Request, key string, args ...any) string {
	return p.messages.T(pickLanguage(r), key, args...)
}

func (p *Pages) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	u, _ := p.currentUser(r)
	p.renderFor(w, r, u, status, name, title, data)
}

// renderFor is render for a handler that has read the signed-in user u
// already: the user is read once per request, which on PostgreSQL is a
// round trip to the database (the consent page's, on every authorization).
func (p *Pages) renderFor(w http.ResponseWriter, r *http.Request, u *store.User, status int, name, title string, data any) {
	found := requestLanguage(r)
	lang := found.lang
	if found.fromQuery {
		http.SetCookie(w, &http.Cookie{Name: "gatehouse_lang", Value: lang, Path: "/", MaxAge: 365 * 24 * 3600, HttpOnly: true, Secure: p.sessions.Cookie.Secure, SameSite: http.SameSiteLaxMode})
	}
	// The session (and its cookie) must be settled before the header is written.
	csrf := p.formToken(w, r)
	flash := p.sessions.PopString(r.Context(), keyFlash)
	tmpl, err := p.templates.get(lang, name)
	if err != nil { // the templates are embedded, so tests catch this before a release
		p.log.Error("parse page templates", "page", name, "error", err)
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	if status >= 400 && !errorPages[name] {
		// A page that came back refusing its form says so first in its
		// title, the first thing a screen reader reads of it (WCAG
		// technique G88; the "Error: " of GOV.UK's forms).
		title = p.messages.T(lang, "page.refused_title", title)
	}
	pg := page{Lang: lang, Title: title, User: u, CSRF: csrf, Flash: flash, Data: data, Section: sectionOf(r.URL.Path), RequestID: reqlog.ID(r.Context()),
		LangSwitch: langSwitch(r, lang, data)}
	pg.IsAdmin = u != nil && u.Level >= store.LevelAdmin
	pg.IsSystemAdmin = u != nil && u.Level >= store.LevelSystemAdmin
	// The page is rendered whole before anything is sent: one write instead
	// of one per template action through every response-writer wrapper, and
	// a template error still gets an honest 500 instead of half a page.
	buf := pageBuffers.Get().(*bytes.Buffer)
	defer putPageBuffer(buf)
	buf.Reset()
	if d, ok := data.(slottedData); ok {
		err = p.slotted.execute(buf, name, tmpl, pg, d)
	} else {
		err = tmpl.ExecuteTemplate(buf, "layout", pg)
	}
	if err != nil {
		p.log.Error("render page", "page", name, "error", err)
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes()) //nolint:errcheck // the browser went away; nothing to do
}

// errorPages are the pages that are an error as a whole: their titles say so
// already.
var errorPages = map[string]bool{"error": true, "integration_done": true}

var pageBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putPageBuffer keeps a buffer for the next page unless a long page (a big
// audit log, say) grew it: the pool should not pin that much memory.
func putPageBuffer(b *bytes.Buffer) {
	if b.Cap() <= 64<<10 {
		pageBuffers.Put(b)
	}
}

type errorData struct{ Message, Detail string }

// langSwitch links to the page being shown in the other language, keeping
// the request: the query of a page that was fetched, or — for a sign-in form
// shown again after a post — where the sign-in goes next, so that switching
// never loses an authorization in progress.
func langSwitch(r *http.Request, lang string, data any) string {
	other := "ja"
	if lang == "ja" {
		other = "en"
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return withQueryValue(pagePath(r), r.URL.RawQuery, "lang", other)
	}
	q, where := url.Values{}, pagePath(r)
	if d, ok := data.(loginData); ok && d.Next != "/" {
		q.Set("next", d.Next)
	} else if d, ok := data.(shownAt); ok {
		where = d.shownAt() // a refused form's page, which a GET of the post's path may not show
	}
	q.Set("lang", other)
	return where + "?" + q.Encode()
}

// pagePath is the request's path fit for a link to this site: escaped as it
// came, so that "/%2F%2Fhost" stays one path, and never starting with "//",
// which a browser reads as another host (a 404 page's language link was one).
func pagePath(r *http.Request) string {
	p := r.URL.EscapedPath()
	if strings.HasPrefix(p, "//") {
		p = "/" + strings.TrimLeft(p, "/")
	}
	return p
}

// withQueryValue is path with the query raw, its key parameters replaced by
// key=value (which needs no escaping), the other pairs kept as they came
// rather than parsed and encoded again.
func withQueryValue(path, raw, key, value string) string {
	var b strings.Builder
	b.Grow(len(path) + len(raw) + len(key) + len(value) + 3)
	b.WriteString(path)
	b.WriteByte('?')
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		k, _, _ := strings.Cut(pair, "=")
		if pair == "" || isKey(k, key) {
			continue
		}
		b.WriteString(pair)
		b.WriteByte('&')
	}
	b.WriteString(key)
	b.WriteByte('=')
	b.WriteString(value)
	return b.String()
}

// shownAt is the data of a page that a refused form shows again, and that is
// shown at that path otherwise (form_problems.go).
type shownAt interface{ shownAt() string }

// sectionOf names the admin console section a path belongs to.
func sectionOf(path string) string {
	for _, s := range []string{"apps", "users", "audit", "mail", "integrations"} {
		if strings.HasPrefix(path, "/admin/"+s) {
			return s
		}
	}
	return ""
}

// flash shows a one-line confirmation on the next page.
func (p *Pages) flash(r *http.Request, key string, args ...any) {
	p.sessions.Put(r.Context(), keyFlash, p.t(r, key, args...))
}

// fail shows an error the reader can do nothing about, without its details:
// an unreachable database is a 503 with Retry-After (reload in a few
// seconds), a secret key that does not open the data a 503 for the operator
// (logged once, where it was found), anything else a logged 500.
func (p *Pages) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case store.Unavailable(err):
		p.log.Warn("page failed: database unavailable", "path", r.URL.Path, "error", err)
		w.Header().Set("Retry-After", store.RetryAfterSeconds)
		p.render(w, r, http.StatusServiceUnavailable, "error", p.t(r, "error.title"), errorData{Message: p.t(r, "error.unavailable")})
	case errors.Is(err, secret.ErrKeyMismatch):
		p.render(w, r, http.StatusServiceUnavailable, "error", p.t(r, "error.title"), errorData{Message: p.t(r, "error.key_mismatch")})
	case errors.Is(err, context.Canceled):
		// The browser gave up while the page was being made: not a server
		// failure, and nobody reads the answer.
		p.log.Debug("page abandoned by the client", "path", r.URL.Path)
		w.WriteHeader(oauth.StatusClientClosedRequest)
	default:
		p.log.Error("page failed", "path", r.URL.Path, "error", err)
		p.render(w, r, http.StatusInternalServerError, "error", p.t(r, "error.title"), errorData{Message: p.t(r, "error.title")})
	}
}

// currentUser returns the signed-in, enabled user, or nil.
func (p *Pages) currentUser(r *http.Request) (*store.User, error) { return p.sessions.User(r) }

// csrfToken returns the session's form token, creating it on first use.
func (p *Pages) csrfToken(r *http.Request) string {
	ctx := r.Context()
	if t := p.sessions.GetString(ctx, keyCSRF); t != "" {
		return t
	}
	b := make([]byte, 32)
	rand.Read(b)
	t := base64.RawURLEncoding.EncodeToString(b)
	p.sessions.Put(ctx, keyCSRF, t)
	return t
}

// preSessionCookie carries the form token of a visitor who has no session
// yet (the sign-in form), so that a page view writes no session row.
const preSessionCookie = "gatehouse_form"

// formToken is the form token a page carries: the session's, when there is a
// session; otherwise a pre-session token kept only in a cookie (compared with
// the form's copy, as a double-submit check, behind the cross-origin check).
// Anonymous traffic — the sign-in page, error pages, unknown paths — thus
// writes nothing to the database.
func (p *Pages) formToken(w http.ResponseWriter, r *http.Request) string {
	if len(p.sessions.Keys(r.Context())) > 0 {
		return p.csrfToken(r)
	}
	if c, err := r.Cookie(preSessionCookie); err == nil && len(c.Value) == 43 {
		return c.Value
	}
	b := make([]byte, 32)
	rand.Read(b)
	t := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: preSessionCookie, Value: t, Path: "/", HttpOnly: true,
		Secure: p.sessions.Cookie.Secure, SameSite: http.SameSiteLaxMode})
	return t
}

// acceptForm reads a bounded form body, checks its CSRF token against the
// session's (or, without a session, the pre-session cookie's) in constant
// time, and refuses a form no page makes (formShapeOK); on failure it has
// answered already.
func (p *Pages) acceptForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			p.render(w, r, http.StatusRequestEntityTooLarge, "error", p.t(r, "error.title"), errorData{Message: p.t(r, "error.form_too_large")})
			return false
		}
		p.badForm(w, r)
		return false
	}
	// Only a visitor without a session uses the pre-session cookie's token
	// (formToken): after sign-in the sign-in form's token opens nothing.
	want := p.sessions.GetString(r.Context(), keyCSRF)
	if c, err := r.Cookie(preSessionCookie); want == "" && err == nil && len(p.sessions.Keys(r.Context())) == 0 {
		want = c.Value
	}
	got := r.PostFormValue("csrf_token")
	if want == "" || subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
		message := "error.csrf"
		if _, err := r.Cookie(session.Cookie); len(p.sessions.Keys(r.Context())) == 0 && (err == nil || r.URL.Path != "/login") {
			// A signed-in page's form, and the browser has no session now:
			// it ended before this post (the idle timeout, which leaves the
			// cookie, or a sign-out in another tab, which takes it away).
			// Say so, rather than suggest a forgery; a cross-site post
			// never gets this far (session.CrossOrigin).
			message = "error.session_ended"
		}
		p.render(w, r, http.StatusForbidden, "error", p.t(r, "error.title"), errorData{Message: p.t(r, message)})
		return false
	}
	if !formShapeOK(r) {
		p.badForm(w, r)
		return false
	}
	return true
}

// errBadForm is a form the page could not have sent: a field the page
// always sends, even empty, left out, or a value none of its controls has.
// Taking a default in its place would change what the post did not mean to.
var errBadForm = errors.New("web: the form was not sent as the page makes it")

// badForm answers a form the page could not have sent.
func (p *Pages) badForm(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, http.StatusBadRequest, "error", p.t(r, "error.title"), errorData{Message: p.t(r, "error.bad_form")})
}

// multiValued names the only fields a page sends more than once: one per
// ticked box of the application form.
var multiValued = map[string]bool{"scope": true, "grant": true}

// formShapeOK reports whether a posted form is one a page could send: each
// field once (but multiValued ones), names and values valid UTF-8 without a
// NUL, and at
// most one file per file field. Reading the first of two values let a
// post say two things at once.
func formShapeOK(r *http.Request) bool {
	for name, values := range r.PostForm {
		if !utf8.ValidString(name) || len(values) > 1 && !multiValued[name] {
			return false
		}
		for _, v := range values {
			// No control sends a NUL, and PostgreSQL refuses the byte.
			if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
				return false
			}
		}
	}
	if r.MultipartForm != nil {
		for _, files := range r.MultipartForm.File {
			if len(files) > 1 {
				return false
			}
		}
	}
	return true
}

// formHas reports whether form holds every one of names: the text fields a
// page always sends, even when empty. A post without one would clear what
// the field stands for (an edit without the level demoted the user).
func formHas(form url.Values, names ...string) bool {
	for _, name := range names {
		if _, ok := form[name]; !ok {
			return false
		}
	}
	return true
}

// safeNext keeps a post-sign-in redirect on this site. It returns the exact
// value to send, already in the form http.Redirect sends it (the path cleaned,
// a trailing slash kept), and checks that value: checking the raw string and
// then letting the cleaning turn "/./\evil.com" into "/\evil.com" was an open
// redirect. Anything but a local path — a scheme, a host, "//", a backslash
// (browsers read it as a slash), encoded or not, a control character or a
// fragment — gives "/".
func safeNext(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\#") || hasControl(next) {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		strings.Contains(u.Path, "\\") || hasControl(u.Path) {
		return "/"
	}
	p, query, _ := strings.Cut(next, "?")
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && !strings.HasSuffix(clean, "/") {
		clean += "/"
	}
	if strings.HasPrefix(clean, "//") {
		return "/"
	}
	if query != "" {
		clean += "?" + query
	}
	return clean
}

// hasControl reports a C0 or C1 control character or DEL.
func hasControl(s string) bool {
	return strings.ContainsFunc(s, unicode.IsControl)
}

func escapeQuery(s string) string { return url.QueryEscape(s) }
