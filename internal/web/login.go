package web

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/clientip"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/user"
	"github.com/gatehouse/gatehouse/internal/validation"
)

type loginData struct {
	Next, Username, ClientName string
	Problem                    formProblem // why the sign-in failed
}

func (p *Pages) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	p.render(w, r, http.StatusOK, "login", p.t(r, "login.title"), loginData{Next: next, ClientName: p.clientNameOf(r, next)})
}

// clientNameOf names the application a sign-in is for, when next (already
// made safe by safeNext) continues an authorization request of this site: the
// authorize or consent path with a client_id and redirect_uri that the
// application really registered. Anything else names nothing, so a crafted
// link cannot make the sign-in page claim to be for an application it is not.
func (p *Pages) clientNameOf(r *http.Request, next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || (u.Path != oauth.PathConsent && u.Path != oauth.PathAuthorize) {
		return ""
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return ""
	}
	// ParseAuthorize returns a request only when the client exists and the
	// redirect URI is one it registered, even if something else is wrong.
	req, _ := p.oauth.ParseAuthorize(r.Context(), q)
	if req == nil || !req.Client.Enabled {
		return ""
	}
	return req.Client.Name
}

// handleLogin checks the credentials; on success it renews the session token
// (so a planted session cookie is worthless) and goes on to next.
func (p *Pages) handleLogin(w http.ResponseWriter, r *http.Request) {
	if !p.acceptForm(w, r) {
		return
	}
	ctx := r.Context()
	data := loginData{Next: safeNext(r.PostFormValue("next")), Username: r.PostFormValue("username")}
	if !signInFormOK(r.PostForm) {
		data.Username = ""
		data.Problem = formProblem{Message: p.t(r, "login.bad_form")}
		p.render(w, r, http.StatusBadRequest, "login", p.t(r, "login.title"), data)
		return
	}
	device := p.knownDevice(r, data.Username)
	u, err := p.users.AuthenticateOnKnownDevice(ctx, data.Username, r.PostFormValue("password"), clientip.From(ctx), device)
	// The attempted name is recorded as typed, made fit to store and read.
	name := validation.Printable(user.NormalizeUsername(data.Username), 64)
	event := store.AuditEvent{Username: name, Address: clientip.From(ctx).String()}
	switch {
	case errors.Is(err, user.ErrInvalidCredentials):
		event.Kind = audit.SignInFailure
		p.audit.Record(ctx, event)
		// Which of the two was wrong is not said; the password is the field to retype.
		data.Problem, data.ClientName = formProblem{Message: p.t(r, "login.failed"), Field: "password"}, p.clientNameOf(r, data.Next)
		p.render(w, r, http.StatusUnauthorized, "login", p.t(r, "login.title"), data)
		return
	case errors.Is(err, user.ErrThrottled):
		if user.FirstThrottled(err) {
			event.Kind = audit.SignInThrottled
			p.audit.Record(ctx, event)
		}
		data.Problem, data.ClientName = p.throttled(w, r, err, ""), p.clientNameOf(r, data.Next)
		p.render(w, r, http.StatusTooManyRequests, "login", p.t(r, "login.title"), data)
		return
	case err != nil:
		p.fail(w, r, err)
		return
	}
	if err := p.sessions.SignIn(ctx, u); err != nil {
		p.fail(w, r, err)
		return
	}
	p.rememberDevice(w, u.Username, device)
	// The form token is made now, in the sign-in's own save: made at the
	// first page that needs it, tabs opened at once would each make one and
	// all but the last saved would find their forms expired.
	p.csrfToken(r)
	event.Kind, event.Actor = audit.SignInSuccess, u.Username
	p.audit.Record(ctx, event)
	http.Redirect(w, r, data.Next, http.StatusSeeOther)
}

// signInFormOK reports whether a sign-in form's username is one the page
// could send: without control characters (acceptForm has refused repeated
// fields and invalid UTF-8). Any other is refused before a password is
// checked, so it neither signs in as "name\n" nor costs a throttled attempt.
func signInFormOK(form url.Values) bool {
	return !hasControl(form.Get("username"))
}

func (p *Pages) handleLogout(w http.ResponseWriter, r *http.Request) {
	if !p.acceptForm(w, r) {
		return
	}
	if err := p.sessions.SignOut(r.Context(), w); err != nil {
		p.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// handleLogoutEverywhere ends every session of the signed-in user, on every node.
func (p *Pages) handleLogoutEverywhere(w http.ResponseWriter, r *http.Request) {
	if !p.acceptForm(w, r) {
		return
	}
	u, err := p.currentUser(r)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if u != nil {
		if err := p.admin.SignOutEverywhere(r.Context(), p.actor(r, *u), u.Username); err != nil {
			p.sessions.SignOut(r.Context(), w) // this browser, at least, is signed out
			p.fail(w, r, err)
			return
		}
	}
	if err := p.sessions.SignOut(r.Context(), w); err != nil {
		p.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// actor describes the signed-in user for the audit log.
func (p *Pages) actor(r *http.Request, u store.User) admin.Actor {
	return audit.UserActor(u, clientip.From(r.Context()).String())
}

type homeData struct {
	Level    string
	Password formProblem // why the password form was refused
}

func (p *Pages) handleHome(w http.ResponseWriter, r *http.Request) {
	u, err := p.currentUser(r)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	data := homeData{}
	if u != nil {
		data.Level = user.LevelName(u.Level)
	}
	p.renderFor(w, r, u, http.StatusOK, "home", p.t(r, "home.title"), data)
}

// throttled answers a password check the sign-in throttle refused: its
// Retry-After, and the problem saying how long to wait, on field.
func (p *Pages) throttled(w http.ResponseWriter, r *http.Request, err error, field string) formProblem {
	w.Header().Set("Retry-After", user.RetryAfter(err))
	minutes := 1
	if t := (*user.Throttled)(nil); errors.As(err, &t) {
		minutes = max(1, int((t.RetryAfter+time.Minute-1)/time.Minute))
	}
	return formProblem{Message: p.t(r, "login.throttled", minutes), Field: field}
}
