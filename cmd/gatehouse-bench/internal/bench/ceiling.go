package bench

import (
	"net"
	"net/http"
	"time"
)

// CeilingServer is the bare HTTP server of the ceiling scenario: net/http
// with a handler answering a small JSON object, nothing else.
type CeilingServer struct {
	URL string
	srv *http.Server
	ln  net.Listener
}

var ceilingBody = []byte(`{"ok":true,"server":"gatehouse-bench-ceiling"}` + "\n")

func ceilingHandler(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	w.Write(ceilingBody)
}

// StartCeiling serves the bare handler on addr (e.g. 127.0.0.1:0) until Close.
func StartCeiling(addr string) (*CeilingServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &CeilingServer{
		URL: "http://" + ln.Addr().String(),
		srv: &http.Server{Handler: http.HandlerFunc(ceilingHandler), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second},
		ln:  ln,
	}
	go s.srv.Serve(ln)
	return s, nil
}

// Close stops the server.
func (s *CeilingServer) Close() error { return s.srv.Close() }
