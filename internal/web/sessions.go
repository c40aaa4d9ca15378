package web

import (
	"context"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// SessionCookie is the name of the session cookie.
const SessionCookie = "gatehouse_session"

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
	return s.store.FindSession(ctx, s.key(token), s.now())
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

// SessionOptions configure browser sessions.
type SessionOptions struct {
	Idle     time.Duration
	Absolute time.Duration
	Secure   bool // Secure cookies, in production
}

func newSessionManager(s store.Sessions, keys *secret.Keys, now func() time.Time, o SessionOptions) *scs.SessionManager {
	m := scs.New()
	m.Store = sessionStore{store: s, keys: keys, now: now, idle: o.Idle}
	// No scs IdleTimeout: it rewrites the session at every request to move
	// its expiry. idleSessions enforces the idle timeout with far fewer
	// writes, and sessionStore moves the stored expiry at each of them.
	m.Lifetime = o.Absolute
	m.Cookie.Name = SessionCookie
	m.Cookie.HttpOnly = true
	m.Cookie.SameSite = http.SameSiteLaxMode
	m.Cookie.Secure = o.Secure
	m.Cookie.Path = "/"
	return m
}

// keySeenAt holds the unix ms of the session's last recorded activity.
const keySeenAt = "seen_at"

// idleSessions ends a session unused for longer than the idle timeout. It
// records activity at most every idle/30 (a minute by default), so a signed-in
// user's page views do not each write the session to the database; the price
// is that a session may end up to that much before the full idle time.
func (p *Pages) idleSessions(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if p.idle > 0 && len(p.sessions.Keys(ctx)) > 0 {
			now := p.now()
			seen := time.UnixMilli(p.sessions.GetInt64(ctx, keySeenAt))
			switch idle := now.Sub(seen); {
			case p.sessions.Exists(ctx, keySeenAt) && idle >= p.idle:
				if err := p.sessions.Destroy(ctx); err != nil {
					p.fail(w, r, err)
					return
				}
			case idle >= p.idle/30 || idle < 0:
				p.sessions.Put(ctx, keySeenAt, now.UnixMilli())
			}
		}
		next.ServeHTTP(w, r)
	})
}
