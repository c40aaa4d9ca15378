package app

import (
	"net/netip"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

func TestMayUse(t *testing.T) {
	alice := store.User{Username: "alice", Groups: []string{"dev"}}
	cases := []struct {
		name   string
		client store.Client
		want   bool
	}{
		{"everyone", store.Client{}, true},
		{"listed user", store.Client{SubscriberUsers: []string{"alice"}}, true},
		{"other user", store.Client{SubscriberUsers: []string{"bob"}}, false},
		{"listed group", store.Client{SubscriberGroups: []string{"dev"}}, true},
		{"other group", store.Client{SubscriberGroups: []string{"ops"}}, false},
	}
	for _, c := range cases {
		if got := MayUse(c.client, alice); got != c.want {
			t.Errorf("%s: MayUse = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestAddressAllowed(t *testing.T) {
	c := store.Client{AllowedIPs: []string{"10.0.0.0/8", "2001:db8::/32"}}
	for addr, want := range map[string]bool{"10.1.2.3": true, "11.0.0.1": false, "2001:db8::5": true, "::ffff:10.0.0.1": true, "127.0.0.1": false} {
		if got := AddressAllowed(c, netip.MustParseAddr(addr)); got != want {
			t.Errorf("AddressAllowed(%s) = %v, want %v", addr, got, want)
		}
	}
	if !AddressAllowed(store.Client{}, netip.MustParseAddr("192.0.2.1")) {
		t.Error("an empty allow-list must allow everyone")
	}
	if AddressAllowed(c, netip.Addr{}) {
		t.Error("an unknown address passed a non-empty allow-list")
	}
}

func TestParseCIDR(t *testing.T) {
	for in, want := range map[string]string{"10.1.2.3/8": "10.0.0.0/8", "192.0.2.7": "192.0.2.7/32", "2001:db8::1": "2001:db8::1/128"} {
		if got, err := ParseCIDR(in); err != nil || got != want {
			t.Errorf("ParseCIDR(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	// An IPv4-mapped range is the IPv4 range it maps, as callers are
	// compared unmapped; a zone is no part of an address a caller has.
	for in, want := range map[string]string{"::ffff:10.0.0.1/128": "10.0.0.1/32", "::ffff:10.0.0.0/120": "10.0.0.0/24", "::ffff:192.0.2.7": "192.0.2.7/32"} {
		if got, err := ParseCIDR(in); err != nil || got != want {
			t.Errorf("ParseCIDR(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"10.0.0.0/33", "fe80::1%eth0/64", "fe80::1%eth0", "::ffff:0:0/95"} {
		if got, err := ParseCIDR(in); err == nil {
			t.Errorf("ParseCIDR(%q) = %q; want a refusal", in, got)
		}
	}
}
