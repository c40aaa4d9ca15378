package app

import (
	"net/netip"
	"slices"

	"github.com/gatehouse/gatehouse/internal/store"
)

// MayUse reports whether u is a subscriber of c: every user when c lists no
// subscribers, else a listed username or a member of a listed group.
func MayUse(c store.Client, u store.User) bool {
	if len(c.SubscriberUsers) == 0 && len(c.SubscriberGroups) == 0 {
		return true
	}
	if slices.Contains(c.SubscriberUsers, u.Username) {
		return true
	}
	for _, g := range u.Groups {
		if slices.Contains(c.SubscriberGroups, g) {
			return true
		}
	}
	return false
}

// AddressAllowed reports whether addr is inside c's IP allow-list (or the list is empty).
func AddressAllowed(c store.Client, addr netip.Addr) bool {
	if len(c.AllowedIPs) == 0 {
		return true
	}
	addr = addr.Unmap()
	for _, cidr := range c.AllowedIPs {
		if p, err := netip.ParsePrefix(cidr); err == nil && p.Contains(addr) {
			return true
		}
	}
	return false
}

// ParseCIDR accepts a CIDR or a bare address (taken as a single host) and
// returns its canonical form. An IPv4-mapped range becomes the IPv4 range it
// maps, since callers are compared unmapped (AddressAllowed); one reaching
// beyond the mapped block, or an address with a zone, could never match a
// caller, so it is refused rather than stored.
func ParseCIDR(s string) (string, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		if a, aerr := netip.ParseAddr(s); aerr == nil && a.Zone() == "" {
			p = netip.PrefixFrom(a, a.BitLen())
		}
	}
	if a := p.Addr(); a.Is4In6() {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96) // invalid when it reaches beyond the mapped block
	}
	if !p.IsValid() {
		return "", problem("app.cidr_invalid", "%q is not an IP address or CIDR range", s)
	}
	return p.Masked().String(), nil
}

// HasGrant reports whether c may use the grant type.
func HasGrant(c store.Client, grant string) bool { return slices.Contains(c.Grants, grant) }
