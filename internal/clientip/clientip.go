// Package clientip decides the caller's address once per request: the TCP
// peer, or — only when that peer is a configured trusted proxy — the
// right-most untrusted address of X-Forwarded-For. Spoofed headers from
// anyone else are ignored.
package clientip

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
)

type ctxKey struct{}

// Resolver finds the caller's address behind a set of trusted proxies.
type Resolver struct {
	trusted []netip.Prefix
}

// NewResolver parses CIDRs or bare addresses of trusted proxies.
func NewResolver(proxies []string) *Resolver {
	r := &Resolver{}
	for _, p := range proxies {
		if pfx, err := netip.ParsePrefix(p); err == nil {
			r.trusted = append(r.trusted, pfx.Masked())
		} else if a, err := netip.ParseAddr(p); err == nil {
			r.trusted = append(r.trusted, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
		}
	}
	return r
}

func (r *Resolver) isTrusted(a netip.Addr) bool {
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// PeerTrusted reports whether req comes straight from a trusted proxy, whose
// headers (X-Forwarded-For, X-Request-ID) may then be believed.
func (r *Resolver) PeerTrusted(req *http.Request) bool {
	peer, err := netip.ParseAddrPort(req.RemoteAddr)
	return err == nil && r.isTrusted(peer.Addr().Unmap())
}

// Resolve returns the caller's address for req.
func (r *Resolver) Resolve(req *http.Request) netip.Addr {
	peer, err := netip.ParseAddrPort(req.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	addr := peer.Addr().Unmap()
	if !r.isTrusted(addr) {
		return addr
	}
	hops := strings.Split(strings.Join(req.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		text := strings.TrimSpace(hops[i])
		if text == "" {
			continue // an empty list element is no hop (RFC 9110 §5.6.1)
		}
		hop, ok := parseHop(text)
		if !ok {
			// An unreadable hop ("unknown", a name): its caller's address is
			// unknown, and trusting nothing beyond it must not make the
			// proxy itself the caller, whom an allow-list may admit.
			return netip.Addr{}
		}
		addr = hop
		if !r.isTrusted(addr) {
			return addr
		}
	}
	return addr
}

// parseHop reads one X-Forwarded-For entry: an address, or an address with
// the port some proxies add (203.0.113.9:1234, [2001:db8::1]:443).
func parseHop(text string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(text); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(text); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

// NewContext returns ctx carrying *addr as the caller's address, for From;
// *addr must not change afterwards. reqlog's middleware stores it with the
// request's other values, so that a request is copied once for all of them,
// and passes a pointer into what it has allocated already: an Addr stored
// by value would be boxed, one more allocation per request.
func NewContext(ctx context.Context, addr *netip.Addr) context.Context {
	return context.WithValue(ctx, ctxKey{}, addr)
}

// From returns the address NewContext stored, or the zero Addr.
func From(ctx context.Context) netip.Addr {
	if a, ok := ctx.Value(ctxKey{}).(*netip.Addr); ok {
		return *a
	}
	return netip.Addr{}
}
