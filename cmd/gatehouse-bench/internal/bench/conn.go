package bench

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"syscall"
	"time"
)

// maxBody bounds what one answer may hold in memory.
const maxBody = 4 << 20

// errBodyTooLarge is a transport-level failure: the answer is not read to its end.
var errBodyTooLarge = errors.New("response body over 4 MiB")

// node is one server under test, parsed once.
type node struct {
	base string // scheme://host[:port], no trailing slash
	addr string // host:port to dial
	host string // the Host header
	tls  *tls.Config
}

func parseNode(raw string) (node, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return node{}, err
	}
	if u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return node{}, fmt.Errorf("%q is not an http:// or https:// URL", raw)
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		return node{}, fmt.Errorf("%q: give the base URL only, without a path", raw)
	}
	n := node{base: u.Scheme + "://" + u.Host, host: u.Host, addr: u.Host}
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		n.addr = net.JoinHostPort(u.Hostname(), port)
	}
	if u.Scheme == "https" {
		n.tls = &tls.Config{ServerName: u.Hostname(), NextProtos: []string{"http/1.1"}}
	}
	return n, nil
}

// conn is one worker's keep-alive HTTP/1.1 connection. Requests are given as
// complete serialised bytes; answers are read with http.ReadResponse over a
// reused bufio.Reader, their body into a reused buffer (valid until the next
// exchange). It reconnects on the next exchange after an error or an answer
// with "Connection: close". Not safe for concurrent use.
type conn struct {
	node     node
	c        net.Conn
	br       *bufio.Reader
	reused   bool      // the current connection has carried an answer
	deadline time.Time // applies to every connection; zero: none
	body     []byte
	// exchanges counts HTTP request/answer pairs completed; dials counts connections made.
	exchanges, dials int64
}

func newConn(n node) *conn {
	return &conn{node: n, body: make([]byte, 0, 4096)}
}

// setDeadline bounds every read and write from now on, on this and later connections.
func (c *conn) setDeadline(t time.Time) {
	c.deadline = t
	if c.c != nil {
		c.c.SetDeadline(t)
	}
}

func (c *conn) dial() error {
	d := net.Dialer{Timeout: 5 * time.Second, Deadline: c.deadline}
	nc, err := d.Dial("tcp", c.node.addr)
	if err != nil {
		return err
	}
	if c.node.tls != nil {
		tc := tls.Client(nc, c.node.tls)
		tc.SetDeadline(c.deadline)
		if err := tc.Handshake(); err != nil {
			nc.Close()
			return err
		}
		nc = tc
	}
	nc.SetDeadline(c.deadline)
	c.c = nc
	c.reused = false
	c.dials++
	if c.br == nil {
		c.br = bufio.NewReaderSize(nc, 16<<10)
	} else {
		c.br.Reset(nc)
	}
	return nil
}

// close drops the connection; the next exchange dials again.
func (c *conn) close() {
	if c.c != nil {
		c.c.Close()
		c.c = nil
	}
}

// do sends req and reads the answer. The returned body aliases the
// connection's buffer. A request that fails on a kept-alive connection before
// any answer arrives (the server closed it while idle) is sent once more on a
// new connection, as net/http does.
func (c *conn) do(req []byte) (*http.Response, []byte, error) {
	for attempt := 0; ; attempt++ {
		if c.c == nil {
			if err := c.dial(); err != nil {
				return nil, nil, err
			}
		}
		resp, err := c.exchange(req)
		if err == nil {
			c.reused = true
			c.exchanges++
			if resp.Close {
				c.close()
			}
			return resp, c.body, nil
		}
		retry := c.reused && attempt == 0 && idleClosed(err)
		c.close()
		if !retry {
			return nil, nil, err
		}
	}
}

func (c *conn) exchange(req []byte) (*http.Response, error) {
	if _, err := c.c.Write(req); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return nil, err
	}
	c.body, err = readBody(c.body[:0], resp)
	return resp, err
}

// idleClosed reports whether err is what a server's close of an idle
// keep-alive connection looks like to the next request.
func idleClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// readBody appends the whole body to buf: by Content-Length, chunked, or up
// to the end of the connection, as http.ReadResponse framed it. The body is
// not closed: its Close would drain what is left, and after an error the
// connection is dropped anyway.
func readBody(buf []byte, resp *http.Response) ([]byte, error) {
	if resp.ContentLength > maxBody {
		return buf, errBodyTooLarge
	}
	if n := int(resp.ContentLength); n > 0 && cap(buf) < n {
		buf = make([]byte, 0, n)
	}
	for {
		if len(buf) == cap(buf) {
			if len(buf) >= maxBody {
				return buf, errBodyTooLarge
			}
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := resp.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// request builds serialised HTTP/1.1 requests.
type request struct {
	b []byte
}

// start begins a request line and the Host header, reusing the buffer.
func (r *request) start(method, target, host string) *request {
	r.b = append(r.b[:0], method...)
	r.b = append(r.b, ' ')
	r.b = append(r.b, target...)
	r.b = append(r.b, " HTTP/1.1\r\nHost: "...)
	r.b = append(r.b, host...)
	r.b = append(r.b, "\r\nUser-Agent: gatehouse-bench\r\n"...)
	return r
}

// header adds one header line.
func (r *request) header(name, value string) *request {
	r.b = append(r.b, name...)
	r.b = append(r.b, ": "...)
	r.b = append(r.b, value...)
	r.b = append(r.b, "\r\n"...)
	return r
}

// end finishes the header block with a body (which may be empty) and returns the bytes.
func (r *request) end(body []byte) []byte {
	if len(body) > 0 {
		r.b = append(r.b, "Content-Length: "...)
		r.b = strconv.AppendInt(r.b, int64(len(body)), 10)
		r.b = append(r.b, "\r\n"...)
	}
	r.b = append(r.b, "\r\n"...)
	r.b = append(r.b, body...)
	return r.b
}

// form ends a POST with an application/x-www-form-urlencoded body.
func (r *request) form(body []byte) []byte {
	r.header("Content-Type", "application/x-www-form-urlencoded")
	if len(body) == 0 {
		r.b = append(r.b, "Content-Length: 0\r\n"...)
	}
	return r.end(body)
}
