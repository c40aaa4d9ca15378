// Package qvalue reads the weights of HTTP content negotiation (the q of
// Accept and Accept-Language, RFC 9110 §12.4.2), for the pages' language
// and the admin API's choice of JSON or JSON lines.
package qvalue

import "strconv"

// Parse reads a weight as RFC 9110 writes it: 0 to 1 with at most three
// decimals ("0", "0.5", "1.000"). Anything else — "1.5", "NaN", "0x1p-1",
// ".5" — is not a weight, and ok is false, where strconv.ParseFloat would
// take several of them.
func Parse(s string) (q float64, ok bool) {
	if len(s) == 0 || len(s) > 5 || (s[0] != '0' && s[0] != '1') {
		return 0, false
	}
	if len(s) > 1 {
		if s[1] != '.' {
			return 0, false
		}
		for _, c := range s[2:] {
			if c < '0' || c > '9' || s[0] == '1' && c != '0' {
				return 0, false
			}
		}
	}
	q, err := strconv.ParseFloat(s, 64)
	return q, err == nil
}
