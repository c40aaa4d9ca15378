package oauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// PKCE methods (RFC 7636 §4.2).
const (
	MethodS256  = "S256"
	MethodPlain = "plain"
)

// normalizeMethod reads code_challenge_method: absent means plain (RFC 7636
// §4.3); "sha256" is accepted as S256 because vendor documentation spells it
// that way. ok is false for anything else.
func normalizeMethod(m string) (string, bool) {
	switch m {
	case "", MethodPlain:
		return MethodPlain, true
	case MethodS256, "sha256":
		return MethodS256, true
	}
	return "", false
}

// validS256Challenge checks RFC 7636 §4.2's S256 challenge: a SHA-256 in
// unpadded base64url, 43 characters. Any other value can match no verifier,
// so it is refused at once rather than at the code exchange.
func validS256Challenge(c string) bool {
	b, err := base64.RawURLEncoding.DecodeString(c)
	return err == nil && len(b) == sha256.Size && len(c) == 43
}

// validVerifier checks RFC 7636 §4.1: 43-128 characters of ALPHA / DIGIT / "-" / "." / "_" / "~".
// A challenge has the same shape (§4.2: S256 gives 43, plain repeats the verifier).
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// verifyPKCE checks verifier against the stored challenge (RFC 7636 §4.6).
func verifyPKCE(method, challenge, verifier string) bool {
	if !validVerifier(verifier) {
		return false
	}
	computed := verifier
	if method == MethodS256 {
		sum := sha256.Sum256([]byte(verifier))
		computed = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return subtle.ConstantTimeCompare([]byte(computed), []byte(challenge)) == 1
}
