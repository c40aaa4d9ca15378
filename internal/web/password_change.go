package web

import (
	"errors"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/user"
)

// PathPasswordChange is where the account page's password form posts.
const PathPasswordChange = "/account/password"

// handlePasswordChange replaces the signed-in user's password after checking
// the current one (throttled like a sign-in). Every other session of the user
// ends; this one goes on under a new session token.
func (p *Pages) handlePasswordChange(w http.ResponseWriter, r *http.Request) {
	if !p.acceptForm(w, r) {
		return
	}
	u, ok := p.signedIn(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	refuse := func(status int, problem formProblem) {
		p.render(w, r, status, "home", p.t(r, "home.title"), homeData{Level: user.LevelName(u.Level), Password: problem})
	}
	next := r.PostFormValue("new_password")
	if next != r.PostFormValue("new_password_repeat") {
		refuse(http.StatusBadRequest, formProblem{Message: p.t(r, "password.mismatch"), Field: "new_password_repeat"})
		return
	}
	// Two fields of the same form compared: nothing is learnt of the stored
	// password, and a "change" that keeps it would end the other sessions
	// and say it was changed.
	if next == r.PostFormValue("current_password") {
		refuse(http.StatusBadRequest, formProblem{Message: p.t(r, "password.same"), Field: "new_password"})
		return
	}
	event := store.AuditEvent{Actor: u.Username, Username: u.Username, Address: clientAddr(r).String()}
	changeCtx, changed := p.audit.Pending(ctx, store.AuditEvent{Kind: audit.UserPasswordOwn, Actor: event.Actor, Username: event.Username, Address: event.Address})
	after, err := p.users.ChangePassword(changeCtx, u.Username, r.PostFormValue("current_password"), next, clientAddr(r))
	switch {
	case errors.Is(err, user.ErrInvalidCredentials):
		event.Kind, event.Detail = audit.SignInFailure, "password change"
		p.audit.Record(ctx, event)
		refuse(http.StatusUnauthorized, formProblem{Message: p.t(r, "password.wrong"), Field: "current_password"})
		return
	case errors.Is(err, user.ErrThrottled):
		if user.FirstThrottled(err) {
			event.Kind, event.Detail = audit.SignInThrottled, "password change"
			p.audit.Record(ctx, event)
		}
		refuse(http.StatusTooManyRequests, p.throttled(w, r, err, ""))
		return
	case isRefusal(err):
		problem := p.problem(r, err)
		if problem.Field == "password" { // too short or too long: the new one
			problem.Field = "new_password"
		}
		refuse(http.StatusBadRequest, problem)
		return
	case err != nil:
		p.fail(w, r, err)
		return
	}
	// The change set SessionsAfter, which ends every session; this one is
	// renewed and counts as signed in from then on.
	if err := p.sessions.RenewToken(ctx); err != nil {
		p.fail(w, r, err)
		return
	}
	p.sessions.KeepAfter(ctx, after)
	p.audit.Settle(ctx, changed)
	p.flash(r, "password.changed")
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
