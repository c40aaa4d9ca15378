package bench

import (
	"net"
	"net/http"
	"time"
)

// CeilingServer is the bare HTTP server of the ceiling scenarios: net/http
// with a handler answering a small JSON object, nothing else. A GET is the
// ceiling scenario; a POST (ceiling-post) also reads what an introspection
// request carries — Basic credentials and a form — and answers as many bytes
// with the same headers as Gatehouse's introspection, so the two differ only
// by Gatehouse's own work.
type CeilingServer struct {
	URL string
	srv *http.Server
	ln  net.Listener
}

var ceilingBody = []byte(`{"ok":true,"server":"gatehouse-bench-ceiling"}` + "\n")

// ceilingPostBody is as long as Gatehouse's answer to an introspection of a
// client-credentials token (206 bytes).
var ceilingPostBody = []byte(`{"active":true,"scope":"READ","client_id":"00000000000000000000000000000000","sub":"00000000000000000000000000000000","token_type":"bearer","exp":1796183213,"iat":1796176013,"iss":"http://127.0.0.1:28080"}` + "\n")

func ceilingHandler(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	if r.Method != http.MethodPost {
		h["Content-Type"] = []string{"application/json"}
		w.Write(ceilingBody)
		return
	}
	_, _, basic := r.BasicAuth()
	if err := r.ParseForm(); err != nil || !basic || r.PostForm.Get("token") == "" {
		http.Error(w, "want Basic credentials and a token in a form", http.StatusBadRequest)
		return
	}
	h["Cache-Control"] = []string{"no-store"}
	h["Content-Type"] = []string{"application/json;charset=UTF-8"}
	h["Pragma"] = []string{"no-cache"}
	h["X-Request-Id"] = []string{"000000000000000000000000"}
	w.Write(ceilingPostBody)
}

// StartCeiling serves the bare handler on addr (e.g. 127.0.0.1:0) until Close,
// with the limits of Gatehouse's own server (server.Serve): a server that
// faces callers it does not know bounds how long a request's headers, its
// body and its answer may take, and each bound is a deadline set per
// request — part of the floor, not of Gatehouse's work.
func StartCeiling(addr string) (*CeilingServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &CeilingServer{
		URL: "http://" + ln.Addr().String(),
		srv: &http.Server{Handler: http.HandlerFunc(ceilingHandler), ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 32 << 10},
		ln: ln,
	}
	go s.srv.Serve(ln)
	return s, nil
}

// Close stops the server.
func (s *CeilingServer) Close() error { return s.srv.Close() }
