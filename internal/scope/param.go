package scope

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits on the scope parameter; nothing legitimate comes near them.
const (
	MaxParamBytes = 2048
	MaxScopes     = 100
)

// ParseParam parses a scope request parameter (RFC 6749 §3.3): scope-tokens
// separated by spaces, case-sensitive. Runs of spaces and leading or trailing
// spaces are tolerated; any other character outside the scope-token set is an
// error. Repeated tokens are kept once, in first-seen order. An empty
// parameter yields no scopes and no error: the caller picks the default.
func ParseParam(s string) ([]string, error) {
	if len(s) > MaxParamBytes {
		return nil, fmt.Errorf("scope: parameter is %d bytes, more than %d", len(s), MaxParamBytes)
	}
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' && !tokenChar(s[i]) {
			if r, size := utf8.DecodeRuneInString(s[i:]); size > 1 || r != utf8.RuneError {
				return nil, fmt.Errorf("scope: character %U at offset %d is not allowed", r, i)
			}
			return nil, fmt.Errorf("scope: invalid UTF-8 byte %#x at offset %d", s[i], i)
		}
	}
	var scopes []string
	seen := make(map[string]bool)
	for tok := range strings.FieldsFuncSeq(s, func(r rune) bool { return r == ' ' }) {
		if seen[tok] {
			continue
		}
		if len(scopes) == MaxScopes {
			return nil, fmt.Errorf("scope: more than %d scopes", MaxScopes)
		}
		seen[tok] = true
		scopes = append(scopes, tok)
	}
	return scopes, nil
}

// Format renders scopes as a scope parameter, separated by single spaces.
func Format(scopes []string) string {
	return strings.Join(scopes, " ")
}

// validToken reports whether s is an RFC 6749 scope-token.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tokenChar(s[i]) {
			return false
		}
	}
	return true
}

// tokenChar reports whether b is allowed in a scope-token:
// %x21 / %x23-5B / %x5D-7E, that is printable ASCII except space, '"' and '\'.
func tokenChar(b byte) bool {
	return b == 0x21 || b >= 0x23 && b <= 0x5B || b >= 0x5D && b <= 0x7E
}
