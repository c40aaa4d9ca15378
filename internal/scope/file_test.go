package scope

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/google/go-cmp/cmp"
)

func TestLoadFile(t *testing.T) {
	c := mustCustom(t)
	want := []string{"g:schedule:read", "g:schedule:write", "g:mail:read", "g:mail:write",
		"g:workflow:read", "g:workflow:write", "g:users:read", "g:system:admin"}
	if diff := cmp.Diff(want, names(c.All())); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	levels := map[string]store.Level{"g:users:read": store.LevelAdmin, "g:system:admin": store.LevelSystemAdmin}
	for _, s := range c.All() {
		if s.Level != levels[s.Name] {
			t.Errorf("%s: Level = %d, want %d", s.Name, s.Level, levels[s.Name])
		}
	}

	if _, err := LoadFile("testdata/missing.yaml"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadFile(missing) error = %v, want fs.ErrNotExist", err)
	}

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("scopes: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("LoadFile(bad) error = %v, want one naming %s", err, bad)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the error
	}{
		{"empty document", "", []string{"no scopes"}},
		{"empty list", "scopes: []", []string{"no scopes"}},
		{"not YAML", "scopes: [", []string{"yaml"}},
		{"second document", `
scopes:
  - name: a
    description: {en: A}
---
scopes:
  - name: b
    description: {en: B}`, []string{"more than one YAML document"}},
		{"misspelt key", `
scopes:
  - name: a
    descripton: {en: A}`, []string{"descripton"}},
		{"no name", `
scopes:
  - name: a
    description: {en: A}
  - description: {en: B}`, []string{"scope #2", "no name"}},
		{"space in name", `
scopes:
  - name: "a b"
    description: {en: A}`, []string{`"a b"`, "scope-token"}},
		{"quote in name", `
scopes:
  - name: 'a"b'
    description: {en: A}`, []string{`a\"b`, "scope-token"}},
		{"non-ASCII name", `
scopes:
  - name: "予定"
    description: {en: A}`, []string{`\u4e88\u5b9a`, "scope-token"}},
		{"duplicate", `
scopes:
  - name: a
    description: {en: A}
  - name: a
    description: {en: B}`, []string{`"a"`, "twice"}},
		{"duplicate but for case", `
scopes:
  - name: read
    description: {en: A}
  - name: READ
    description: {en: B}`, []string{`"READ"`, `"read"`, "letter case"}},
		{"no English description", `
scopes:
  - name: a
    description: {ja: あ}`, []string{`"a"`, "English"}},
		{"blank English description", `
scopes:
  - name: a
    description: {en: "  "}`, []string{`"a"`, "English"}},
		{"unknown level", `
scopes:
  - name: a
    level: root
    description: {en: A}`, []string{`"a"`, `"root"`}},
		{"unknown implied scope", `
scopes:
  - name: a
    implies: [b]
    description: {en: A}`, []string{`"a"`, `unknown scope "b"`}},
		{"implies a higher level", `
scopes:
  - name: admin
    level: admin
    description: {en: A}
  - name: user
    implies: [admin]
    description: {en: B}`, []string{`"user"`, `"admin"`, "higher level admin"}},
		{"self cycle", `
scopes:
  - name: a
    implies: [a]
    description: {en: A}`, []string{"cycle", "a -> a"}},
		{"long cycle", `
scopes:
  - name: x
    description: {en: X}
  - name: a
    implies: [x, b]
    description: {en: A}
  - name: b
    implies: [c]
    description: {en: B}
  - name: c
    implies: [a]
    description: {en: C}`, []string{"cycle", "a -> b -> c -> a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml))
			if err == nil {
				t.Fatalf("Parse succeeded with %d scopes, want error", len(c.All()))
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestParse(t *testing.T) {
	c, err := Parse([]byte(`
scopes:
  - name: "!#[]~"
    description: {EN: Edge, ja-JP: 端}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Scope{{Name: "!#[]~", Description: map[string]string{"en": "Edge", "ja-jp": "端"}, Level: store.LevelUser}}
	if diff := cmp.Diff(want, c.All()); diff != "" {
		t.Errorf("All (-want +got):\n%s", diff)
	}
	if got := c.Describe("!#[]~", "ja-JP"); got != "端" {
		t.Errorf(`Describe("!#[]~", "ja-JP") = %q`, got)
	}
}

func TestBuiltinAndLoad(t *testing.T) {
	for _, name := range []string{"atlassian", "bitbucket"} {
		b, err := Builtin(name)
		if err != nil {
			t.Fatalf("Builtin(%q): %v", name, err)
		}
		l, err := Load(name)
		if err != nil || l != b {
			t.Errorf("Load(%q) = %p, %v; want the built-in %p", name, l, err, b)
		}
	}
	if l, err := Load(""); err != nil || l != mustBuiltin(t, Default) {
		t.Errorf("Load(\"\") = %p, %v; want the %s catalogue", l, err, Default)
	}
	if l, err := Load("testdata/custom.yaml"); err != nil || !cmp.Equal(names(l.All()), names(mustCustom(t).All())) {
		t.Errorf("Load(testdata/custom.yaml) = %v", err)
	}

	for _, name := range []string{"", "Atlassian", "jira", "testdata/custom.yaml"} {
		if _, err := Builtin(name); err == nil {
			t.Errorf("Builtin(%q) succeeded, want error", name)
		}
	}
	if _, err := Load("jira"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(jira) error = %v, want fs.ErrNotExist", err)
	}
}
