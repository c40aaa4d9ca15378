package validation

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

var errKind = errors.New("invalid")

func TestTextRule(t *testing.T) {
	name := TextRule{Field: "name", Max: 5, Name: true}
	desc := TextRule{Field: "description", Max: 10, Multiline: true}
	cases := []struct {
		rule  TextRule
		value string
		key   string // "" when accepted
	}{
		{name, "héllo", ""}, // five characters, six bytes
		{name, "日本語です", ""}, // five characters, fifteen bytes
		{name, "héllos", "input.too_long"},
		{name, "a\x00b", "input.control"},
		{name, "a\x7fb", "input.control"},
		{name, "a\u0085b", "input.control"},
		{name, "a\nb", "input.control"},
		{name, "ab\xffc", "input.utf8"},
		{name, "\xed\xa0\x80", "input.utf8"}, // a lone surrogate, encoded
		{name, "ab\u202ec", "input.bidi"},
		{name, "ab\u2067c", "input.bidi"},
		// Invisible characters would let two names that look alike differ.
		{name, "a\u200bb", "input.invisible"},
		{name, "\u200b", "input.invisible"},
		{name, "a\ufeffb", "input.invisible"},
		{name, "a\u00adb", "input.invisible"},
		{name, "a\u2028b", "input.invisible"},
		// The joiners that scripts and emoji need are kept between two
		// characters beyond ASCII (Persian "mi-xâham", a technologist
		// emoji), never beside ASCII, where they would only hide a difference.
		{name, "می\u200cخو", ""},
		{name, "👩\u200d💻", ""},
		{name, "ad\u200cm", "input.invisible"},
		{name, "a\u200d💻", "input.invisible"},
		{name, "\u200dま", "input.invisible"},
		{name, "ま\u200c", "input.invisible"},
		{name, "ま\u200c\u200cま", "input.invisible"},
		// Only where the joiner changes what is seen: between two
		// characters of a script that does not join, it hides a
		// difference ("社\u200d内" reads as "社内").
		{name, "社\u200d内", "input.invisible"},
		{name, "да\u200cнн", "input.invisible"},
		{name, "é\u200cé", "input.invisible"},
		{name, "क्\u200dष", ""}, // after a virama: a half form
		{name, "क\u200dष", "input.invisible"},
		{desc, "a\u200bb", ""},
		{desc, "ab\u202ec", ""},
		{desc, "line\r\nline", ""},
		{desc, "a\x00", "input.control"},
	}
	for _, c := range cases {
		err := c.rule.Check(errKind, c.value)
		var v *Error
		switch {
		case c.key == "" && err != nil:
			t.Errorf("%s %q: refused: %v", c.rule.Field, c.value, err)
		case c.key != "" && (!errors.As(err, &v) || v.Key != c.key || !errors.Is(err, errKind)):
			t.Errorf("%s %q: %v; want key %s", c.rule.Field, c.value, err, c.key)
		case c.key != "" && !strings.Contains(err.Error(), c.rule.Field):
			t.Errorf("%s %q: message %q does not name the field", c.rule.Field, c.value, err)
		}
	}
}

func TestListRule(t *testing.T) {
	groups := ListRule{Item: TextRule{Field: "groups", Max: 10, Name: true}, Max: 3}
	got, err := groups.Clean(errKind, []string{" ops ", "ops", "", "dev", "OPS"})
	if err != nil || fmt.Sprint(got) != "[ops dev OPS]" {
		t.Fatalf("Clean = %v, %v", got, err)
	}
	folded := ListRule{Item: groups.Item, Max: 3, Fold: true}
	if got, _ := folded.Clean(errKind, []string{"Ops", "ops"}); len(got) != 1 {
		t.Fatalf("folded Clean = %v", got)
	}
	for _, in := range [][]string{
		{"a", "b", "c", "d"},
		{"a-very-long-group-name"},
		{"a\x00"},
	} {
		if _, err := groups.Clean(errKind, in); !errors.Is(err, errKind) {
			t.Errorf("Clean(%q) = %v; want a refusal", in, err)
		}
	}
	// A huge list is refused at once, not de-duplicated first.
	huge := make([]string, 100000)
	for i := range huge {
		huge[i] = fmt.Sprint("g", i)
	}
	if _, err := groups.Clean(errKind, huge); !errors.Is(err, errKind) {
		t.Fatalf("100,000 groups: %v", err)
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"alice":                 "alice",
		"a\x00b\xffc":           "a\uFFFDb\uFFFDc",
		"ab\u202ecd":            "ab\uFFFDcd",
		strings.Repeat("é", 70): strings.Repeat("é", 64),
	} {
		if got := Printable(in, 64); got != want {
			t.Errorf("Printable(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestCollapseSpaces(t *testing.T) {
	for in, want := range map[string]string{"Race Name": "Race Name", "  Race  \t Name ": "Race Name", "Race\u00a0Name": "Race Name", "Race\u3000\u2003Name": "Race Name", "": ""} {
		if got := CollapseSpaces(in); got != want {
			t.Errorf("CollapseSpaces(%q) = %q, want %q", in, got, want)
		}
	}
}
