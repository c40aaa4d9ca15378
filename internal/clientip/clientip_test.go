package clientip

import (
	"net/http/httptest"
	"testing"
)

func TestResolve(t *testing.T) {
	r := NewResolver([]string{"10.0.0.0/8", "127.0.0.1"})
	cases := []struct {
		name, remote, xff, want string
	}{
		{"direct, header ignored", "203.0.113.9:5555", "198.51.100.1", "203.0.113.9"},
		{"trusted proxy", "10.1.2.3:80", "198.51.100.7", "198.51.100.7"},
		{"proxy chain", "127.0.0.1:80", "198.51.100.7, 10.9.9.9", "198.51.100.7"},
		{"spoofed left-most ignored", "10.1.2.3:80", "1.1.1.1, 198.51.100.7", "198.51.100.7"},
		{"no header", "10.1.2.3:80", "", "10.1.2.3"},
		// A hop the proxy wrote with its port (Azure Application Gateway
		// writes ip:port) is that address.
		{"hop with a port", "10.1.2.3:80", "203.0.113.9:1234", "203.0.113.9"},
		{"ipv6 hop with a port", "10.1.2.3:80", "[2001:db8::1]:443", "2001:db8::1"},
		{"hop with a port behind a chain", "10.1.2.3:80", "198.51.100.7:9, 10.9.9.9:80", "198.51.100.7"},
		// Empty list elements are no hops (RFC 9110 §5.6.1).
		{"trailing comma", "10.1.2.3:80", "198.51.100.7,", "198.51.100.7"},
		{"empty elements", "10.1.2.3:80", " , 198.51.100.7 , ,", "198.51.100.7"},
		// An unreadable hop is a caller whose address is unknown: never the
		// proxy's own, which an allow-list or a throttle may treat as trusted.
		{"garbage header", "10.1.2.3:80", "not-an-ip", "invalid IP"},
		{"unknown", "10.1.2.3:80", "unknown", "invalid IP"},
		{"garbage right-most", "10.1.2.3:80", "6.6.6.6, garbage", "invalid IP"},
		{"garbage behind a trusted hop", "10.1.2.3:80", "garbage, 10.9.9.9", "invalid IP"},
		{"only commas", "10.1.2.3:80", ",", "10.1.2.3"},
		{"ipv6 peer", "[2001:db8::1]:443", "", "2001:db8::1"},
		{"mapped v4", "[::ffff:203.0.113.9]:1", "", "203.0.113.9"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = c.remote
			if c.xff != "" {
				req.Header.Set("X-Forwarded-For", c.xff)
			}
			if got := r.Resolve(req).String(); got != c.want {
				t.Fatalf("Resolve = %s, want %s", got, c.want)
			}
		})
	}
}
