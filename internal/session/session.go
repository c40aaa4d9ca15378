// Package session owns browser sessions: server-side rows in the shared
// store (keyed by a hash of the cookie value), the idle timeout, the signed-in
// user, and one answer per request when the session cannot be loaded or
// saved. The pages and the admin API both use it; neither owns it.
package session

import (
	"context"
	"encoding/hex"
	"errors"
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Cookie is the name of the session cookie.
const Cookie = "gatehouse_session"

// Session keys this package owns.
const (
	keyUserID = "user_id"
	keyAuthAt = "auth_at" // unix ms of the sign-in, compared with User.SessionsAfter
	// keyPassword tags the password hash the session was signed in with: a
	// new password ends the session whatever the clock says (a sign-in that
	// read the old hash just before a reset stamps its auth_at after it).
	keyPassword = "password_tag"
	// keyCutOff is the user's SessionsAfter (unix ms) as the sign-in's check
	// read it: a cut-off committed while the password was being hashed (a
	// disabling, a sign-out everywhere) changes it and so ends the session,
	// though the session's auth_at is stamped after it.
	keyCutOff = "sessions_after"
	keySeenAt = "seen_at" // unix ms of the last recorded activity
)

// Options configure browser sessions.
type Options struct {
	Idle     time.Duration
	Absolute time.Duration
	Secure   bool // Secure cookies, in production
}

// Manager is the session manager: scs with our store, plus who is signed in.
type Manager struct {
	*scs.SessionManager
	users store.Users
	keys  *secret.Keys
	idle  time.Duration
	now   func() time.Time
}

// Store is what sessions need from the store.
type Store interface {
	store.Sessions
	store.Users
}

// New returns a Manager; now defaults to time.Now.
func New(s Store, keys *secret.Keys, now func() time.Time, o Options) *Manager {
	if now == nil {
		now = time.Now
	}
	sm := scs.New()
	sm.Store = sessionStore{store: s, keys: keys, now: now, idle: o.Idle}
	sm.Codec = newCachingCodec()
	// No scs IdleTimeout: it rewrites the session at every request to move
	// its expiry. idleSessions enforces the idle timeout with far fewer
	// writes, and sessionStore moves the stored expiry at each of them.
	sm.Lifetime = o.Absolute
	sm.Cookie.Name = Cookie
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = o.Secure
	sm.Cookie.Path = "/"
	m := &Manager{SessionManager: sm, users: s, keys: keys, idle: o.Idle, now: now}
	sm.ErrorFunc = m.sessionError
	return m
}

// Wrap loads and saves the session around next and enforces the idle
// timeout. A request whose session cannot be loaded or saved gets exactly
// one answer, written by fail: scs calls its ErrorFunc and stops when loading
// fails, but saving happens inside the handler's first write (the cookie must
// go out before the header), and after the ErrorFunc has answered, the
// handler goes on writing; the sessionWriter drops that.
//
// A session the request loaded is saved only while its row is still there
// (loadedSession): a sign-out that deleted it meanwhile stays done.
func (m *Manager) Wrap(next http.Handler, fail func(http.ResponseWriter, *http.Request, error)) http.Handler {
	h := m.LoadAndSave(m.idleSessions(next, fail))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(context.WithValue(r.Context(), loadedKey{}, new(loadedSession)))
		h.ServeHTTP(&sessionWriter{ResponseWriter: w, fail: fail}, r)
	})
}

type loadedKey struct{}

// loadedSession is the token of the session a request loaded from the store,
// if it found one. Saving that token updates its row and never inserts it
// again: a request that read the session before a sign-out (or a sign-in
// elsewhere that renewed it) deleted its row would otherwise put it back when
// it saves — its new form token, its recorded activity — and the signed-out
// cookie would work again. Any other token scs saves is one it has just made
// (a new session, a renewed one), stored as new.
type loadedSession struct{ token string }

// User returns the signed-in, enabled user of a request that went through
// Wrap, or nil. "Sign out everywhere", a password reset or disabling ends
// sessions signed in before the user's SessionsAfter.
func (m *Manager) User(r *http.Request) (*store.User, error) {
	ctx := r.Context()
	id := m.GetString(ctx, keyUserID)
	if id == "" {
		return nil, nil
	}
	u, err := m.users.UserByID(ctx, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	if u.Disabled || m.GetInt64(ctx, keyAuthAt) < u.SessionsAfter.UnixMilli() {
		return nil, nil
	}
	// Sessions of earlier releases have no cut-off: auth_at alone ends them.
	if m.Exists(ctx, keyCutOff) && m.GetInt64(ctx, keyCutOff) != u.SessionsAfter.UnixMilli() {
		return nil, nil
	}
	// Sessions from before the tag have none: SessionsAfter alone ends them.
	if tag := m.GetString(ctx, keyPassword); tag != "" && tag != m.passwordTag(u) {
		return nil, nil
	}
	return &u, nil
}

// SignIn renews the session token (so a planted cookie is worthless),
// empties the session and records who signed in, when, and with which password (u as the password
// check read it).
func (m *Manager) SignIn(ctx context.Context, u store.User) error {
	if err := m.RenewToken(ctx); err != nil {
		return err
	}
	// Nothing of what came before carries over — a previous user's secure
	// administrator session, the mark of a secret they just made, a form
	// token — however the browser got here without signing out.
	if err := m.Clear(ctx); err != nil {
		return err
	}
	m.Put(ctx, keyUserID, u.ID)
	m.Put(ctx, keyAuthAt, m.now().UnixMilli())
	m.Put(ctx, keyPassword, m.passwordTag(u))
	m.Put(ctx, keyCutOff, u.SessionsAfter.UnixMilli())
	return nil
}

// passwordTag identifies u's password hash in the session without keeping it.
func (m *Manager) passwordTag(u store.User) string {
	return hex.EncodeToString(m.keys.Hash("session-password:" + u.PasswordHash)[:12])
}

// PopOnce removes key from the session and returns its value only once
// that removal is saved: a value to be used once (a secret shown once) is
// not used again because the database could not record its use, as a page
// view's own save may fail and be forgiven (see sessionError).
func (m *Manager) PopOnce(ctx context.Context, key string) (string, error) {
	v := m.PopString(ctx, key)
	if v == "" {
		return "", nil
	}
	if _, _, err := m.Commit(ctx); err != nil {
		return "", err
	}
	return v, nil
}

// SignOut ends the session. When the database cannot record that, it
// still makes the browser drop its cookie, so that the session ends on
// this browser (a shared computer) while the stored one expires by itself;
// the error is returned all the same.
func (m *Manager) SignOut(ctx context.Context, w http.ResponseWriter) error {
	err := m.Destroy(ctx)
	if err != nil {
		m.WriteSessionCookie(ctx, w, "", time.Time{})
	}
	return err
}

// KeepAfter keeps this session signed in through a change of u that ends
// the others (a user's own password change): its sign-in time moves to no
// earlier than u.SessionsAfter, and it takes u's new password.
func (m *Manager) KeepAfter(ctx context.Context, u store.User) {
	m.Put(ctx, keyAuthAt, max(m.now().UnixMilli(), u.SessionsAfter.UnixMilli()))
	m.Put(ctx, keyPassword, m.passwordTag(u))
	m.Put(ctx, keyCutOff, u.SessionsAfter.UnixMilli())
}

// idleSessions ends a session unused for longer than the idle timeout. It
// records activity at most every idle/30 (a minute by default), so a signed-in
// user's page views do not each write the session to the database; the price
// is that a session may end up to that much before the full idle time.
func (m *Manager) idleSessions(next http.Handler, fail func(http.ResponseWriter, *http.Request, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if sw := sessionWriterOf(w); sw != nil {
			sw.loaded = true
		}
		if m.idle > 0 && len(m.Keys(ctx)) > 0 {
			now := m.now()
			seen := time.UnixMilli(m.GetInt64(ctx, keySeenAt))
			switch idle := now.Sub(seen); {
			case m.Exists(ctx, keySeenAt) && idle >= m.idle:
				if err := m.Destroy(ctx); err != nil {
					fail(w, r, err)
					return
				}
			case idle >= m.idle/30 || idle < 0:
				m.Put(ctx, keySeenAt, now.UnixMilli())
			}
		}
		next.ServeHTTP(w, r)
	})
}

// sessionWriter is the writer scs is given, and so the one its ErrorFunc gets.
type sessionWriter struct {
	http.ResponseWriter
	fail     func(http.ResponseWriter, *http.Request, error)
	answered bool // the session error is answered; the handler's answer is dropped
	loaded   bool // the session was loaded: an error now is the save's
}

// sessionWriterOf finds Wrap's sessionWriter beneath the writers scs
// wraps it in.
func sessionWriterOf(w http.ResponseWriter) *sessionWriter {
	for {
		switch t := w.(type) {
		case *sessionWriter:
			return t
		case interface{ Unwrap() http.ResponseWriter }:
			w = t.Unwrap()
		default:
			return nil
		}
	}
}

func (s *sessionWriter) WriteHeader(code int) {
	if !s.answered {
		s.ResponseWriter.WriteHeader(code)
	}
}

func (s *sessionWriter) Write(b []byte) (int, error) {
	if s.answered {
		return len(b), nil
	}
	return s.ResponseWriter.Write(b)
}

func (s *sessionWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// sessionError is the session manager's ErrorFunc.
func (m *Manager) sessionError(w http.ResponseWriter, r *http.Request, err error) {
	sw, ok := w.(*sessionWriter)
	if !ok { // not reached: every LoadAndSave goes through Wrap
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	// A page view whose session could not be saved while the database
	// cannot be written is answered all the same: what a view changes is
	// at most the activity mark (the next view tries again) or a form
	// token (the form's post fails as every write does now). The cookie
	// it has stays valid.
	if sw.loaded && (r.Method == http.MethodGet || r.Method == http.MethodHead) && errors.Is(err, store.ErrUnavailable) {
		return
	}
	// A session that failed to load is not in r; the error page gets an
	// empty one, never saved. (Loading no token reads nothing and cannot fail.)
	ctx, _ := m.Load(r.Context(), "")
	// A handler that was redirecting when the save failed has set Location.
	sw.Header().Del("Location")
	sw.fail(sw, r.WithContext(ctx), err)
	sw.answered = true
}

// sessionStore keeps scs sessions in the shared store under a keyed hash of
// the cookie value, so a database copy yields no usable session.
type sessionStore struct {
	store store.Sessions
	keys  *secret.Keys
	now   func() time.Time
	idle  time.Duration // 0: sessions expire only at their absolute deadline
}

func (s sessionStore) key(token string) string {
	return hex.EncodeToString(s.keys.Hash("session:" + token))
}

func (s sessionStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	data, found, err := s.store.FindSession(ctx, s.key(token), s.now())
	if loaded, ok := ctx.Value(loadedKey{}).(*loadedSession); ok && found {
		loaded.token = token
	}
	return data, found, err
}

// CommitCtx stores the session to expire at its absolute deadline or idle
// after now, whichever comes first. Every commit is activity, and
// idleSessions commits the session again once its recorded activity is
// idle/30 old, so a session in use keeps moving its row's expiry while an
// unused one's row expires with its idle timeout: FindSession refuses it and
// the janitor purges it. Page views in between still write nothing.
func (s sessionStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	if s.idle > 0 {
		if idleEnd := s.now().Add(s.idle); idleEnd.Before(expiry) {
			expiry = idleEnd
		}
	}
	if loaded, ok := ctx.Value(loadedKey{}).(*loadedSession); ok && loaded.token == token {
		// Not there any more: it ended while this request ran, and stays ended.
		_, err := s.store.UpdateSession(ctx, s.key(token), b, expiry)
		return err
	}
	return s.store.CommitSession(ctx, s.key(token), b, expiry)
}

func (s sessionStore) DeleteCtx(ctx context.Context, token string) error {
	return s.store.DeleteSession(ctx, s.key(token))
}

func (s sessionStore) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

func (s sessionStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

func (s sessionStore) Delete(token string) error { return s.DeleteCtx(context.Background(), token) }
