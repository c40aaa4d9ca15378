package integration

import (
	"fmt"
	"testing"
)

// The opened tokens serve only the exact sealed bytes they came from, and
// their memory is bounded.
func TestOpenedTokens(t *testing.T) {
	var o openedTokens
	sealed := []byte("sealed one")
	if _, ok := o.get("i1", sealed); ok {
		t.Fatal("found tokens never opened")
	}
	o.put("i1", sealed, sealedTokens{Access: "a1"})
	sealed[0] = 'S' // the caller's bytes may change; the memory keeps its copy
	if got, ok := o.get("i1", []byte("sealed one")); !ok || got.Access != "a1" {
		t.Fatalf("get = %+v, %v; want a1", got, ok)
	}
	if _, ok := o.get("i1", []byte("sealed two")); ok {
		t.Fatal("tokens served for other sealed bytes (a refresh must be opened anew)")
	}
	if _, ok := o.get("i2", []byte("sealed one")); ok {
		t.Fatal("tokens served for another integration")
	}
	for i := range openedMax + 1 {
		o.put(fmt.Sprint("x", i), []byte("s"), sealedTokens{})
	}
	if n := len(o.m); n > openedMax {
		t.Fatalf("%d opened tokens kept, want at most %d", n, openedMax)
	}
}

// TestGrantedScopeKeepsScopeTokensOnly: what a provider says it granted is
// stored and shown as its RFC 6749 scope-tokens only.
func TestGrantedScopeKeepsScopeTokensOnly(t *testing.T) {
	for in, want := range map[string]string{
		"https://mail.google.com/  openid\temail":          "https://mail.google.com/ openid email",
		"a\x00b\u202e\x1b[31m offline_access":              "offline_access",
		`mail "quoted" back\slash é IMAP.AccessAsUser.All`: "mail IMAP.AccessAsUser.All",
		"": "",
	} {
		if got := grantedScope(in); got != want {
			t.Errorf("grantedScope(%q) = %q, want %q", in, got, want)
		}
	}
}
