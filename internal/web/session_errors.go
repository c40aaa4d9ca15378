package web

import "net/http"

// withSessions loads and saves the browser session around next, and makes
// sure that a request whose session cannot be loaded or saved gets exactly
// one answer, written by fail. scs calls its ErrorFunc and stops when loading
// fails, but saving happens inside the handler's first write (the cookie must
// go out before the header), and after the ErrorFunc has answered, the
// handler goes on writing: its page would follow the error page in the same
// body. The sessionWriter drops what the handler writes after that.
func (p *Pages) withSessions(next http.Handler, fail func(http.ResponseWriter, *http.Request, error)) http.Handler {
	h := p.sessions.LoadAndSave(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&sessionWriter{ResponseWriter: w, fail: fail}, r)
	})
}

// sessionWriter is the writer scs is given, and so the one its ErrorFunc gets.
type sessionWriter struct {
	http.ResponseWriter
	fail     func(http.ResponseWriter, *http.Request, error)
	answered bool // the session error is answered; the handler's answer is dropped
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
func (p *Pages) sessionError(w http.ResponseWriter, r *http.Request, err error) {
	sw, ok := w.(*sessionWriter)
	if !ok { // not reached: every LoadAndSave goes through withSessions
		p.fail(w, r, err)
		return
	}
	// A session that failed to load is not in r; the error page gets an
	// empty one, never saved. (Loading no token reads nothing and cannot fail.)
	ctx, _ := p.sessions.Load(r.Context(), "")
	// A handler that was redirecting when the save failed has set Location.
	sw.Header().Del("Location")
	sw.fail(sw, r.WithContext(ctx), err)
	sw.answered = true
}
