package session

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// countingStore counts session writes on a real store.
type countingStore struct {
	store.Store
	commits atomic.Int64
}

func (c *countingStore) CommitSession(ctx context.Context, token string, data []byte, expiry time.Time) error {
	c.commits.Add(1)
	return c.Store.CommitSession(ctx, token, data, expiry)
}

func (c *countingStore) UpdateSession(ctx context.Context, token string, data []byte, expiry time.Time) (bool, error) {
	c.commits.Add(1)
	return c.Store.UpdateSession(ctx, token, data, expiry)
}

// visit GETs path from h with cookie (if any), returning the session cookie
// the answer set (nil if none) and its body.
func visit(h http.Handler, path string, cookie *http.Cookie) (*http.Cookie, string) {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if cookie != nil {
		req.AddCookie(cookie)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.Name == Cookie {
			return c, rec.Body.String()
		}
	}
	return nil, rec.Body.String()
}

// newManager is a Manager on a fresh SQLite store, with the store itself.
func newManager(t *testing.T) (*sqlstore.Store, *Manager) {
	t.Helper()
	raw, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	keys, _ := secret.New([]byte(strings.Repeat("k", secret.KeySize)))
	return raw, New(raw, keys, nil, Options{Idle: 30 * time.Minute, Absolute: 12 * time.Hour})
}

func TestIdleSessionsWriteRarelyAndExpire(t *testing.T) {
	raw, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	st := &countingStore{Store: raw}
	keys, _ := secret.New([]byte(strings.Repeat("k", secret.KeySize)))
	now := time.UnixMilli(1_767_225_600_000)
	clock := func() time.Time { return now }
	const idle = 30 * time.Minute
	m := New(st, keys, clock, Options{Idle: idle, Absolute: 12 * time.Hour})
	mux := http.NewServeMux()
	mux.HandleFunc("/put", func(w http.ResponseWriter, r *http.Request) { m.Put(r.Context(), "v", "hello") })
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, m.GetString(r.Context(), "v"))
	})
	h := m.Wrap(mux, func(w http.ResponseWriter, _ *http.Request, err error) { t.Errorf("session error: %v", err) })

	var cookie *http.Cookie
	get := func(path string) string {
		set, body := visit(h, path, cookie)
		if set != nil {
			cookie = set
		}
		return body
	}

	get("/put")
	get("/get") // the first visit with data records the activity time
	base := st.commits.Load()
	for range 10 {
		now = now.Add(5 * time.Second)
		if got := get("/get"); got != "hello" {
			t.Fatalf("session lost: %q", got)
		}
	}
	if n := st.commits.Load() - base; n != 0 {
		t.Fatalf("10 page views within a minute wrote the session %d times, want 0", n)
	}
	now = now.Add(2 * time.Minute)
	get("/get")
	if n := st.commits.Load() - base; n != 1 {
		t.Fatalf("a view after the refresh interval wrote %d times, want 1", n)
	}
	now = now.Add(idle)
	if got := get("/get"); got != "" {
		t.Fatalf("session survived the idle timeout: %q", got)
	}
}

func TestCachingCodecDecodesLikeGob(t *testing.T) {
	c := newCachingCodec()
	deadline := time.UnixMilli(1_767_225_600_000).UTC()
	b, err := c.Encode(deadline, map[string]any{"user_id": "u1", "auth_at": int64(42)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 { // a miss, then hits
		d, v, err := c.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		if !d.Equal(deadline) || v["user_id"] != "u1" || v["auth_at"] != int64(42) || len(v) != 2 {
			t.Fatalf("decode %d: %v %v", i, d, v)
		}
		v["user_id"] = "changed" // scs changes the map in place: the cache must not see it
		v["extra"] = true
	}
	if _, _, err := c.Decode([]byte("not gob")); err == nil {
		t.Fatal("garbage decoded")
	}
}

// TestSignOutIsNotUndoneByARequestInFlight: a request that loaded the
// session before a sign-out deleted it, and saves it afterwards (a form
// token made, activity recorded), does not bring the session back: the
// signed-out cookie opens nothing.
func TestSignOutIsNotUndoneByARequestInFlight(t *testing.T) {
	_, m := newManager(t)
	loaded, resume := make(chan struct{}), make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/put", func(w http.ResponseWriter, r *http.Request) { m.Put(r.Context(), "v", "hello") })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		close(loaded)
		<-resume
		m.Put(r.Context(), "form", "token") // saved after the sign-out
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		if err := m.SignOut(r.Context(), w); err != nil {
			t.Errorf("sign-out: %v", err)
		}
	})
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, m.GetString(r.Context(), "v")) })
	h := m.Wrap(mux, func(w http.ResponseWriter, _ *http.Request, err error) { t.Errorf("session error: %v", err) })
	serve := func(path string, cookie *http.Cookie) *http.Cookie {
		set, _ := visit(h, path, cookie)
		return set
	}
	cookie := serve("/put", nil)
	if cookie == nil {
		t.Fatal("no session cookie")
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		serve("/slow", cookie)
	}()
	<-loaded
	serve("/logout", cookie)
	close(resume)
	<-done
	if _, got := visit(h, "/get", cookie); got != "" {
		t.Fatalf("the signed-out session came back: %q", got)
	}
}

// TestSignInCheckedBeforeACutOffDoesNotOutliveIt: a sign-in reads the user,
// then spends a hash's time before its session is stored; a cut-off that
// commits meanwhile — a disabling (and an enabling after it), a "sign out
// everywhere", an administrator's sign-out: each sets SessionsAfter — must
// end that session too, though the session is stamped after it. The session
// keeps the cut-off its check read.
func TestSignInCheckedBeforeACutOffDoesNotOutliveIt(t *testing.T) {
	raw, m := newManager(t)
	now := time.Now()
	if err := raw.CreateUser(t.Context(), store.User{ID: "u1", Username: "alice", PasswordHash: "hash", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	checked, err := raw.UserByID(t.Context(), "u1") // what the password check read
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond) // the cut-off falls after the check, in another millisecond
	if _, err := raw.UpdateUser(t.Context(), "u1", func(u *store.User) error { u.SessionsAfter = time.Now(); return nil }); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/signin", func(w http.ResponseWriter, r *http.Request) {
		if err := m.SignIn(r.Context(), checked); err != nil {
			t.Error(err)
		}
	})
	mux.HandleFunc("/me", func(w http.ResponseWriter, r *http.Request) {
		if u, _ := m.User(r); u != nil {
			io.WriteString(w, u.Username)
		}
	})
	h := m.Wrap(mux, func(w http.ResponseWriter, _ *http.Request, err error) { t.Errorf("session error: %v", err) })
	cookie, _ := visit(h, "/signin", nil)
	if cookie == nil {
		t.Fatal("no session cookie")
	}
	if _, got := visit(h, "/me", cookie); got != "" {
		t.Fatalf("a session whose check read the user before the cut-off is signed in as %q", got)
	}
	// A sign-in that read the user after the cut-off is signed in.
	if checked, err = raw.UserByID(t.Context(), "u1"); err != nil {
		t.Fatal(err)
	}
	cookie, _ = visit(h, "/signin", nil)
	if _, got := visit(h, "/me", cookie); got != "alice" {
		t.Fatalf("a sign-in after the cut-off is signed in as %q, want alice", got)
	}
}
