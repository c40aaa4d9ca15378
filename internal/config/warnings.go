package config

import "net/netip"

// Warnings are settings that work but that are seldom meant, for the start
// to log: a range that holds every address, where a list of particular
// machines belongs; a timeout that never applies.
func (c Config) Warnings() []string {
	var out []string
	if holdsEveryAddress(c.TrustedProxies) {
		out = append(out, "trusted_proxies holds every address: any caller may name its own address in X-Forwarded-For, past the sign-in throttle and IP allow-lists; list the reverse proxies' addresses")
	}
	if c.Lifetimes.SessionIdle > c.Lifetimes.SessionMax {
		out = append(out, "lifetimes.session_idle is longer than lifetimes.session_absolute, which ends every session first: the idle timeout never applies")
	}
	if l := c.Lifetimes; l.RefreshMax != 0 && l.RefreshMax < l.Code {
		out = append(out, "lifetimes.refresh_absolute is shorter than lifetimes.code: a code redeemed late gives a refresh token that has already ended")
	}
	if holdsEveryAddress(c.Metrics.Allow) {
		out = append(out, "metrics.allow holds every address: anyone who reaches the node reads its metrics")
	}
	return out
}

// holdsEveryAddress reports whether a list of CIDRs has 0.0.0.0/0 or ::/0
// (or another way of writing one of them).
func holdsEveryAddress(cidrs []string) bool {
	for _, s := range cidrs {
		if p, err := netip.ParsePrefix(s); err == nil && p.Bits() == 0 {
			return true
		}
	}
	return false
}
