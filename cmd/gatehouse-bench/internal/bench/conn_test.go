package bench

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// rawServer answers each request with the next canned answer, byte for byte.
// An answer starting with "!" is written without the "!" and the connection
// is then closed, as a server closing an idle keep-alive connection does.
type rawServer struct {
	t       *testing.T
	ln      net.Listener
	mu      sync.Mutex
	answers []string
	seen    []*http.Request
}

func newRawServer(t *testing.T, answers ...string) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{t: t, ln: ln, answers: answers}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *rawServer) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		s.mu.Lock()
		s.seen = append(s.seen, req)
		if len(s.answers) == 0 {
			s.mu.Unlock()
			return
		}
		ans := s.answers[0]
		s.answers = s.answers[1:]
		s.mu.Unlock()
		closeAfter := strings.HasPrefix(ans, "!")
		c.Write([]byte(strings.TrimPrefix(ans, "!")))
		if closeAfter || strings.Contains(ans, "Connection: close") {
			return
		}
	}
}

func (s *rawServer) conn(t *testing.T) *conn {
	n, err := parseNode("http://" + s.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := newConn(n)
	c.setDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(c.close)
	return c
}

func get(c *conn) []byte {
	var r request
	return r.start("GET", "/x", c.node.host).end(nil)
}

func TestConnReadsBodies(t *testing.T) {
	s := newRawServer(t,
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbye",
		"HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\nuntil the end",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
	)
	c := s.conn(t)
	want := []struct {
		status int
		body   string
		dials  int64
	}{
		{200, "hello", 1},
		{201, "hello world", 1}, // chunked, on the same connection
		{204, "", 1},
		{200, "bye", 1}, // Connection: close: read, then dropped
		{401, "until the end", 2},
		{200, "ok", 3}, // a new connection after the close
	}
	for i, w := range want {
		resp, body, err := c.do(get(c))
		if err != nil {
			t.Fatalf("exchange %d: %v", i, err)
		}
		if resp.StatusCode != w.status || string(body) != w.body || c.dials != w.dials {
			t.Fatalf("exchange %d: %d %q after %d dials, want %d %q after %d", i, resp.StatusCode, body, c.dials, w.status, w.body, w.dials)
		}
	}
	if c.exchanges != int64(len(want)) {
		t.Fatalf("%d exchanges counted", c.exchanges)
	}
}

func TestConnRetriesAfterIdleClose(t *testing.T) {
	s := newRawServer(t,
		"!HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na", // then closed without a word
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb",
	)
	c := s.conn(t)
	for _, want := range []string{"a", "b"} {
		time.Sleep(20 * time.Millisecond) // let the close arrive
		_, body, err := c.do(get(c))
		if err != nil || string(body) != want {
			t.Fatalf("got %q, %v; want %q", body, err, want)
		}
	}
	if c.dials != 2 {
		t.Fatalf("%d dials", c.dials)
	}
}

func TestConnErrors(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		ln.Close()
		n, _ := parseNode("http://" + addr)
		c := newConn(n)
		if _, _, err := c.do(get(c)); err == nil {
			t.Fatal("no error from a closed port")
		}
	})
	t.Run("garbage", func(t *testing.T) {
		s := newRawServer(t, "SMTP ready\r\n\r\n")
		c := s.conn(t)
		if _, _, err := c.do(get(c)); err == nil || c.c != nil {
			t.Fatalf("err %v; connection kept: %v", err, c.c != nil)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		s := newRawServer(t, "!HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort")
		c := s.conn(t)
		if _, _, err := c.do(get(c)); err == nil {
			t.Fatal("no error for a body shorter than its length")
		}
	})
	t.Run("too large", func(t *testing.T) {
		s := newRawServer(t, "HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n")
		c := s.conn(t)
		if _, _, err := c.do(get(c)); err != errBodyTooLarge {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		defer ln.Close()
		go func() { // accept and never answer
			c, err := ln.Accept()
			if err == nil {
				defer c.Close()
				time.Sleep(2 * time.Second)
			}
		}()
		n, _ := parseNode("http://" + ln.Addr().String())
		c := newConn(n)
		c.setDeadline(time.Now().Add(100 * time.Millisecond))
		if _, _, err := c.do(get(c)); err == nil {
			t.Fatal("no error past the deadline")
		}
	})
}

func TestRequestBuilder(t *testing.T) {
	var r request
	raw := r.start("POST", "/rest/oauth2/latest/token", "127.0.0.1:8080").header("Authorization", "Basic eDp5").form([]byte("grant_type=client_credentials"))
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(req.Body)
	if req.Method != "POST" || req.URL.Path != "/rest/oauth2/latest/token" || req.Host != "127.0.0.1:8080" ||
		req.Header.Get("Authorization") != "Basic eDp5" || req.Header.Get("Content-Type") != "application/x-www-form-urlencoded" ||
		string(body) != "grant_type=client_credentials" || req.ContentLength != int64(len(body)) {
		t.Fatalf("%+v %q", req, body)
	}
	raw = r.start("GET", "/x?y=1", "h").end(nil)
	if req, err = http.ReadRequest(bufio.NewReader(bytes.NewReader(raw))); err != nil || req.URL.RawQuery != "y=1" || req.ContentLength != 0 {
		t.Fatalf("%v %+v", err, req)
	}
}

func TestParseNode(t *testing.T) {
	for _, tc := range []struct{ in, addr, base string }{
		{"http://127.0.0.1:8080", "127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"http://localhost/", "localhost:80", "http://localhost"},
		{"https://[::1]", "[::1]:443", "https://[::1]"},
	} {
		n, err := parseNode(tc.in)
		if err != nil || n.addr != tc.addr || n.base != tc.base {
			t.Errorf("%s: %+v %v", tc.in, n, err)
		}
	}
	for _, bad := range []string{"127.0.0.1:8080", "ftp://x", "http://x/path", "http://x/?q=1"} {
		if _, err := parseNode(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
