package validation

import (
	"net"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// The input policy for every text field, whatever the door (sign-in form,
// console, admin API, command line) and whatever the database: valid UTF-8;
// no control characters (PostgreSQL cannot even store NUL); in names, no
// bidirectional overrides that make text read differently from how it is
// stored; lengths counted in characters, never bytes.

// TextRule says what one field accepts.
type TextRule struct {
	Field string // the field's name in messages, e.g. "display_name"
	Max   int    // most characters; 0: no limit
	// Multiline allows line feeds (and CR LF) and tabs, for descriptions.
	Multiline bool
	// Name forbids the bidirectional controls (U+202A–U+202E,
	// U+2066–U+2069), which let a name display as something else, and
	// invisible characters (format characters such as U+200B, line and
	// paragraph separators), which let two names that look alike differ.
	Name bool
}

// Check returns a refusal naming the field when value breaks the rule, with
// kind (a domain's ErrInvalid) wrapped.
func (r TextRule) Check(kind error, value string) error {
	if !utf8.ValidString(value) {
		return Errorf(kind, "input.utf8", "%s is not valid UTF-8", r.Field)
	}
	for i, c := range value {
		switch {
		case r.Multiline && (c == '\n' || c == '\r' || c == '\t'):
		case unicode.IsControl(c):
			return Errorf(kind, "input.control", "%s holds a control character", r.Field)
		case r.Name && isBidiControl(c):
			return Errorf(kind, "input.bidi", "%s holds a bidirectional override character", r.Field)
		case r.Name && isJoiner(c) && joinerShows(value, i):
		case r.Name && unicode.In(c, unicode.Cf, unicode.Zl, unicode.Zp):
			return Errorf(kind, "input.invisible", "%s holds an invisible character (%U)", r.Field, c)
		}
	}
	if r.Max > 0 && utf8.RuneCountInString(value) > r.Max {
		return Errorf(kind, "input.too_long", "%s must be at most %d characters", r.Field, r.Max)
	}
	return nil
}

// isJoiner reports whether c is the zero-width non-joiner or joiner, which
// Persian, the Indic scripts and emoji sequences need.
func isJoiner(c rune) bool { return c == '\u200c' || c == '\u200d' }

// joinerShows reports whether the joiner at byte i of s stands where it
// changes what is seen (after RFC 5892's CONTEXTJ rules, simplified): after
// a virama (an Indic half form), a non-joiner between two letters of a
// joining script (Persian "mi‌xâham"), a joiner inside an emoji sequence.
// Anywhere else it changes nothing visible, and would only let two names
// that look alike differ ("社\u200d内" reads as "社内").
func joinerShows(s string, i int) bool {
	c, size := utf8.DecodeRuneInString(s[i:])
	before, _ := utf8.DecodeLastRuneInString(s[:i])
	after, _ := utf8.DecodeRuneInString(s[i+size:])
	switch {
	case before == utf8.RuneError || after == utf8.RuneError:
		return false
	case norm.NFD.PropertiesString(string(before)).CCC() == viramaClass:
		return true
	case c == '\u200c':
		return unicode.In(before, joiningScripts...) && unicode.IsLetter(before) && unicode.In(after, joiningScripts...) && unicode.IsLetter(after)
	default:
		emoji := func(r rune) bool { return unicode.Is(unicode.So, r) }
		// An emoji may carry a presentation selector or a skin tone first.
		return (emoji(before) || before == '\ufe0f' || unicode.In(before, unicode.Sk) && before >= 0x1F3FB && before <= 0x1F3FF) && emoji(after)
	}
}

// viramaClass is the canonical combining class of a virama.
const viramaClass = 9

// joiningScripts are the scripts whose letters join, where a non-joiner
// keeps two of them apart visibly.
var joiningScripts = []*unicode.RangeTable{unicode.Arabic, unicode.Syriac, unicode.Nko, unicode.Mongolian}

// CollapseSpaces trims s and turns each run of white space in it (a
// no-break or ideographic space among them) into one space: names that
// only a page's rendering would tell apart are then one name.
func CollapseSpaces(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func isBidiControl(c rune) bool {
	return (c >= '\u202a' && c <= '\u202e') || (c >= '\u2066' && c <= '\u2069')
}

// ListRule says what one list field accepts: each item by Item, at most Max
// items after removing blanks and duplicates.
type ListRule struct {
	Item TextRule
	Max  int
	// Fold compares items case-insensitively (usernames).
	Fold bool
}

// Clean trims each item, drops empty ones and duplicates (keeping the
// first), and checks every item and the count. It runs in linear time
// whatever the input's size, and refuses rather than drops a bad item.
func (r ListRule) Clean(kind error, items []string) ([]string, error) {
	if len(items) > 4*r.Max+16 {
		// Refuse absurd lists before looking at them.
		return nil, Errorf(kind, "input.too_many", "%s may hold at most %d entries", r.Item.Field, r.Max)
	}
	out := make([]string, 0, len(items))
	seen := make(map[string]bool, len(items))
	for _, item := range items {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if err := r.Item.Check(kind, item); err != nil {
			return nil, err
		}
		key := item
		if r.Fold {
			key = strings.ToLower(item)
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, item)
	}
	if len(out) > r.Max {
		return nil, Errorf(kind, "input.too_many", "%s may hold at most %d entries", r.Item.Field, r.Max)
	}
	return out, nil
}

// Clean reports whether value is text a lookup can use: a value that breaks
// the policy cannot be stored, so looking it up can only find nothing.
func Clean(value string) bool {
	return TextRule{}.Check(nil, value) == nil
}

// Printable makes untrusted text fit to record (an attempted username in the
// audit log): invalid UTF-8 and control characters become U+FFFD, and it is
// cut to max characters, never inside one.
func Printable(s string, max int) string {
	var b strings.Builder
	n := 0
	for _, c := range strings.ToValidUTF8(s, "\uFFFD") {
		if n == max {
			break
		}
		if unicode.IsControl(c) || isBidiControl(c) {
			c = '\uFFFD'
		}
		b.WriteRune(c)
		n++
	}
	return b.String()
}

// FirstNonURIChar returns the first character of raw that RFC 3986 allows
// nowhere in a URI (a space, a double quote, <, >, \, ^, `, {, |, }, a
// control or non-ASCII character), or -1. Such a URI cannot be sent back
// exactly, and would reach headers, pages and a CSP as it is.
func FirstNonURIChar(raw string) rune {
	for _, c := range raw {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.ContainsRune("-._~:/?#[]@!$&'()*+,;=%", c):
		default:
			return c
		}
	}
	return -1
}

// HostIsName reports whether u's host, if it has one, is an IP literal or
// a DNS name: dot-separated labels of letters, digits and hyphens. RFC 3986
// allows far more in a host (sub-delimiters such as ; , ' $), which reach no
// resolver but would reach a Content-Security-Policy as they are.
func HostIsName(u *url.URL) bool {
	h := u.Hostname()
	switch {
	case u.Host == "":
		return true
	case strings.HasPrefix(u.Host, "["):
		return net.ParseIP(h) != nil
	}
	// Checked byte by byte, without allocating: the consent page asks at
	// every authorization (its CSP's form source).
	label := 0 // the current label's length
	for i := range len(h) {
		switch c := h[i]; {
		case c == '.' && label > 0 && i < len(h)-1:
			label = 0
		case c == '.' && label > 0: // a trailing dot, as DNS allows
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-':
			label++
		default:
			return false
		}
	}
	return label > 0
}

// PortInRange reports whether u's port, if it has one, is 1-65535; an
// empty port after the colon is refused too.
func PortInRange(u *url.URL) bool {
	if strings.HasSuffix(u.Host, ":") {
		return false
	}
	p := u.Port()
	if p == "" {
		return true
	}
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535
}
