package oauth

import (
	"strings"
	"testing"
)

// RFC 7636 Appendix B.
const (
	rfcVerifier  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	rfcChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
)

func TestVerifyPKCE(t *testing.T) {
	cases := []struct {
		name, method, challenge, verifier string
		want                              bool
	}{
		{"RFC 7636 appendix B", MethodS256, rfcChallenge, rfcVerifier, true},
		{"S256 wrong verifier", MethodS256, rfcChallenge, strings.Replace(rfcVerifier, "d", "e", 1), false},
		{"plain", MethodPlain, rfcVerifier, rfcVerifier, true},
		{"plain mismatch", MethodPlain, rfcVerifier, rfcChallenge, false},
		{"S256 challenge used as plain verifier", MethodS256, rfcChallenge, rfcChallenge, false},
		{"verifier too short", MethodPlain, "abc", "abc", false},
		{"verifier too long", MethodPlain, strings.Repeat("a", 129), strings.Repeat("a", 129), false},
		{"longest allowed", MethodPlain, strings.Repeat("a", 128), strings.Repeat("a", 128), true},
		{"forbidden character", MethodPlain, strings.Repeat("a", 42) + "+", strings.Repeat("a", 42) + "+", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := verifyPKCE(c.method, c.challenge, c.verifier); got != c.want {
				t.Fatalf("verifyPKCE = %v, want %v", got, c.want)
			}
		})
	}
}

func TestNormalizeMethod(t *testing.T) {
	for in, want := range map[string]string{"": MethodPlain, "plain": MethodPlain, "S256": MethodS256, "sha256": MethodS256} {
		if got, ok := normalizeMethod(in); !ok || got != want {
			t.Errorf("normalizeMethod(%q) = %q, %v", in, got, ok)
		}
	}
	for _, in := range []string{"s256", "SHA256", "md5", "S512"} {
		if _, ok := normalizeMethod(in); ok {
			t.Errorf("normalizeMethod(%q) accepted", in)
		}
	}
}

func FuzzVerifyPKCE(f *testing.F) {
	f.Add(MethodS256, rfcChallenge, rfcVerifier)
	f.Add(MethodPlain, rfcVerifier, rfcVerifier)
	f.Add("sha256", "", "\x00")
	f.Fuzz(func(t *testing.T, method, challenge, verifier string) {
		if !verifyPKCE(method, challenge, verifier) {
			return
		}
		// Whatever passes must be a well-formed verifier matching the challenge.
		if !validVerifier(verifier) {
			t.Fatalf("accepted malformed verifier %q", verifier)
		}
		if method != MethodS256 && challenge != verifier {
			t.Fatalf("plain accepted %q for %q", verifier, challenge)
		}
	})
}
