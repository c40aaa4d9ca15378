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
}

func (s sessionStore) key(token string) string {
	return hex.EncodeToString(s.keys.Hash("session:" + token))
}

func (s sessionStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	return s.store.FindSession(ctx, s.key(token), s.now())
}

func (s sessionStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
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
	m.Store = sessionStore{store: s, keys: keys, now: now}
	m.IdleTimeout = o.Idle
	m.Lifetime = o.Absolute
	m.Cookie.Name = SessionCookie
	m.Cookie.HttpOnly = true
	m.Cookie.SameSite = http.SameSiteLaxMode
	m.Cookie.Secure = o.Secure
	m.Cookie.Path = "/"
	return m
}
