package scope

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// manyScopes returns n distinct scope names.
func manyScopes(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("s%d", i)
	}
	return out
}

func TestParseParam(t *testing.T) {
	tests := []struct {
		name  string
		param string
		want  []string
	}{
		{"empty", "", nil},
		{"only spaces", "   ", nil},
		{"one", "READ", []string{"READ"}},
		{"several", "READ WRITE g:schedule:read", []string{"READ", "WRITE", "g:schedule:read"}},
		{"runs of spaces", "  READ   WRITE ", []string{"READ", "WRITE"}},
		{"case-sensitive", "read READ Read", []string{"read", "READ", "Read"}},
		{"deduplicated, first order kept", "WRITE READ WRITE READ", []string{"WRITE", "READ"}},
		{"every allowed character", "!#$%&'()*+,-./0123456789:;<=>?@AZ[]^_`az{|}~",
			[]string{"!#$%&'()*+,-./0123456789:;<=>?@AZ[]^_`az{|}~"}},
		{"exactly the scope limit", strings.Join(manyScopes(MaxScopes), " "), manyScopes(MaxScopes)},
		{"repeats do not count towards the limit",
			strings.Join(manyScopes(MaxScopes), " ") + " s0 s1", manyScopes(MaxScopes)},
		{"exactly the byte limit", strings.Repeat("x", MaxParamBytes), []string{strings.Repeat("x", MaxParamBytes)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseParam(tt.param)
			if err != nil {
				t.Fatalf("ParseParam(%q): %v", tt.param, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseParam(%q) (-want +got):\n%s", tt.param, diff)
			}
		})
	}
}

func TestParseParamErrors(t *testing.T) {
	tests := []struct {
		name, param, want string
	}{
		{"tab", "READ\tWRITE", "U+0009 at offset 4"},
		{"newline", "READ\n", "U+000A at offset 4"},
		{"carriage return", "\rREAD", "U+000D at offset 0"},
		{"no-break space", "READ\u00a0WRITE", "U+00A0 at offset 4"},
		{"double quote", `a"b`, "U+0022 at offset 1"},
		{"backslash", `a\b`, "U+005C at offset 1"},
		{"control character", "a\x00", "U+0000 at offset 1"},
		{"delete", "a\x7f", "U+007F at offset 1"},
		{"non-ASCII", "g:予定", "U+4E88 at offset 2"},
		{"invalid UTF-8", "a\xff", "byte 0xff at offset 1"},
		{"replacement character", "a\ufffd", "U+FFFD at offset 1"},
		{"too many scopes", strings.Join(manyScopes(MaxScopes+1), " "), "more than 100 scopes"},
		{"too long", strings.Repeat("x", MaxParamBytes+1), "2049 bytes, more than 2048"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseParam(tt.param)
			if err == nil {
				t.Fatalf("ParseParam(%q) = %q, want error", tt.param, got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		scopes []string
		want   string
	}{
		{nil, ""},
		{[]string{"READ"}, "READ"},
		{[]string{"READ", "WRITE", "g:mail:read"}, "READ WRITE g:mail:read"},
	}
	for _, tt := range tests {
		if got := Format(tt.scopes); got != tt.want {
			t.Errorf("Format(%q) = %q, want %q", tt.scopes, got, tt.want)
		}
	}
}

func TestValidToken(t *testing.T) {
	for b := range 256 {
		want := b == 0x21 || b >= 0x23 && b <= 0x5b || b >= 0x5d && b <= 0x7e
		if got := validToken(string([]byte{byte(b)})); got != want {
			t.Errorf("validToken(%#02x) = %v, want %v", b, got, want)
		}
	}
	if validToken("") {
		t.Error(`validToken("") = true`)
	}
}

func FuzzParseParam(f *testing.F) {
	f.Fuzz(func(t *testing.T, param string) {
		scopes, err := ParseParam(param)
		if err != nil {
			return
		}
		if len(scopes) > MaxScopes {
			t.Fatalf("%d scopes, more than %d", len(scopes), MaxScopes)
		}
		seen := make(map[string]bool)
		for _, s := range scopes {
			if !validToken(s) {
				t.Fatalf("token %q is not a scope-token", s)
			}
			if seen[s] {
				t.Fatalf("token %q repeated", s)
			}
			seen[s] = true
		}
		formatted := Format(scopes)
		if len(formatted) > len(param) {
			t.Fatalf("Format made %q longer than %q", formatted, param)
		}
		again, err := ParseParam(formatted)
		if err != nil {
			t.Fatalf("ParseParam(Format(%q)) = %v", scopes, err)
		}
		if !cmp.Equal(scopes, again) {
			t.Fatalf("round trip: %q became %q", scopes, again)
		}
	})
}
