package scope

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/google/go-cmp/cmp"
)

func mustBuiltin(t *testing.T, name string) *Catalogue {
	t.Helper()
	c, err := Builtin(name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustCustom(t *testing.T) *Catalogue {
	t.Helper()
	c, err := LoadFile("testdata/custom.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func names(scopes []Scope) []string {
	var out []string
	for _, s := range scopes {
		out = append(out, s.Name)
	}
	return out
}

func TestBuiltinCatalogues(t *testing.T) {
	tests := []struct {
		catalogue string
		names     []string
		levels    map[string]store.Level
		// expand maps each scope to everything it grants.
		expand map[string][]string
	}{
		{
			catalogue: "atlassian",
			names:     []string{"READ", "WRITE", "ADMIN", "SYSTEM_ADMIN", "INTEGRATION_TOKEN"},
			levels: map[string]store.Level{
				"READ": store.LevelUser, "WRITE": store.LevelUser,
				"ADMIN": store.LevelAdmin, "SYSTEM_ADMIN": store.LevelSystemAdmin,
				"INTEGRATION_TOKEN": store.LevelSystemAdmin,
			},
			expand: map[string][]string{
				"READ":         {"READ"},
				"WRITE":        {"READ", "WRITE"},
				"ADMIN":        {"READ", "WRITE", "ADMIN"},
				"SYSTEM_ADMIN": {"READ", "WRITE", "ADMIN", "SYSTEM_ADMIN"},
				// Implied by nothing: SYSTEM_ADMIN does not fetch integration tokens.
				"INTEGRATION_TOKEN": {"INTEGRATION_TOKEN"},
			},
		},
		{
			catalogue: "bitbucket",
			names: []string{"PUBLIC_REPOS", "ACCOUNT_WRITE", "REPO_READ", "REPO_WRITE",
				"REPO_ADMIN", "PROJECT_ADMIN", "ADMIN_WRITE", "SYSTEM_ADMIN", "INTEGRATION_TOKEN"},
			levels: map[string]store.Level{
				"PUBLIC_REPOS": store.LevelUser, "ACCOUNT_WRITE": store.LevelUser,
				"REPO_READ": store.LevelUser, "REPO_WRITE": store.LevelUser,
				"REPO_ADMIN": store.LevelUser, "PROJECT_ADMIN": store.LevelUser,
				"ADMIN_WRITE": store.LevelAdmin, "SYSTEM_ADMIN": store.LevelSystemAdmin,
				"INTEGRATION_TOKEN": store.LevelSystemAdmin,
			},
			expand: map[string][]string{
				"PUBLIC_REPOS":      {"PUBLIC_REPOS"},
				"ACCOUNT_WRITE":     {"ACCOUNT_WRITE"},
				"REPO_READ":         {"REPO_READ"},
				"REPO_WRITE":        {"REPO_READ", "REPO_WRITE"},
				"REPO_ADMIN":        {"REPO_READ", "REPO_WRITE", "REPO_ADMIN"},
				"PROJECT_ADMIN":     {"REPO_READ", "REPO_WRITE", "REPO_ADMIN", "PROJECT_ADMIN"},
				"ADMIN_WRITE":       {"REPO_READ", "REPO_WRITE", "REPO_ADMIN", "PROJECT_ADMIN", "ADMIN_WRITE"},
				"SYSTEM_ADMIN":      {"REPO_READ", "REPO_WRITE", "REPO_ADMIN", "PROJECT_ADMIN", "ADMIN_WRITE", "SYSTEM_ADMIN"},
				"INTEGRATION_TOKEN": {"INTEGRATION_TOKEN"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.catalogue, func(t *testing.T) {
			c := mustBuiltin(t, tt.catalogue)
			if diff := cmp.Diff(tt.names, names(c.All())); diff != "" {
				t.Errorf("All() names (-want +got):\n%s", diff)
			}
			for _, s := range c.All() {
				if s.Level != tt.levels[s.Name] {
					t.Errorf("%s: Level = %d, want %d", s.Name, s.Level, tt.levels[s.Name])
				}
				for _, lang := range []string{"en", "ja"} {
					if s.Description[lang] == "" {
						t.Errorf("%s: no %q description", s.Name, lang)
					}
				}
				if diff := cmp.Diff(tt.expand[s.Name], c.Expand([]string{s.Name})); diff != "" {
					t.Errorf("Expand(%s) (-want +got):\n%s", s.Name, diff)
				}
			}
		})
	}
}

func TestLookup(t *testing.T) {
	c := mustCustom(t)
	got, ok := c.Lookup("g:schedule:write")
	if !ok {
		t.Fatal("Lookup(g:schedule:write) not found")
	}
	want := Scope{
		Name:        "g:schedule:write",
		Description: map[string]string{"en": "Add, change and delete your appointments", "ja": "あなたの予定を登録・変更・削除する"},
		Implies:     []string{"g:schedule:read"},
		Level:       store.LevelUser,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Lookup (-want +got):\n%s", diff)
	}

	// What Lookup and All return is a copy: changing it leaves the catalogue alone.
	got.Implies[0] = "g:mail:read"
	got.Description["en"] = "changed"
	c.All()[0].Description["en"] = "changed"
	if again, _ := c.Lookup("g:schedule:write"); !cmp.Equal(want, again) {
		t.Errorf("catalogue changed through Lookup result: %+v", again)
	}
	if d := c.Describe("g:schedule:read", "en"); d != "View your schedule" {
		t.Errorf("catalogue changed through All result: %q", d)
	}

	if level, ok := c.Level("g:schedule:write"); !ok || level != want.Level {
		t.Errorf("Level(g:schedule:write) = %v, %v; want %v, true", level, ok, want.Level)
	}
	for _, name := range []string{"", "G:SCHEDULE:WRITE", "g:schedule", "nope"} {
		if _, ok := c.Lookup(name); ok {
			t.Errorf("Lookup(%q) found, want not found", name)
		}
		if _, ok := c.Level(name); ok {
			t.Errorf("Level(%q) found, want not found", name)
		}
	}
}

func TestExpand(t *testing.T) {
	c := mustCustom(t)
	tests := []struct {
		name  string
		names []string
		want  []string
	}{
		{"nil", nil, nil},
		{"no implications", []string{"g:mail:read"}, []string{"g:mail:read"}},
		{"direct", []string{"g:mail:write"}, []string{"g:mail:read", "g:mail:write"}},
		{"transitive", []string{"g:system:admin"},
			[]string{"g:schedule:read", "g:schedule:write", "g:users:read", "g:system:admin"}},
		{"catalogue order, not request order", []string{"g:workflow:read", "g:schedule:read"},
			[]string{"g:schedule:read", "g:workflow:read"}},
		{"deduplicated", []string{"g:schedule:write", "g:schedule:read", "g:schedule:write"},
			[]string{"g:schedule:read", "g:schedule:write"}},
		{"unknown and miscased names grant nothing", []string{"nope", "G:MAIL:READ", "g:mail:read"},
			[]string{"g:mail:read"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, c.Expand(tt.names)); diff != "" {
				t.Errorf("Expand(%q) (-want +got):\n%s", tt.names, diff)
			}
		})
	}
}

func TestIncludes(t *testing.T) {
	c := mustBuiltin(t, "atlassian")
	tests := []struct {
		granted  []string
		required string
		want     bool
	}{
		{[]string{"READ"}, "READ", true},
		{[]string{"WRITE"}, "READ", true},
		{[]string{"SYSTEM_ADMIN"}, "READ", true},
		{[]string{"READ", "ADMIN"}, "WRITE", true},
		{[]string{"READ"}, "WRITE", false},
		{[]string{"ADMIN"}, "SYSTEM_ADMIN", false},
		{nil, "READ", false},
		{[]string{"read"}, "READ", false},
		{[]string{"READ"}, "read", false},
		{[]string{"nope"}, "nope", false},
		{[]string{"READ"}, "", false},
	}
	for _, tt := range tests {
		if got := c.Includes(tt.granted, tt.required); got != tt.want {
			t.Errorf("Includes(%q, %q) = %v, want %v", tt.granted, tt.required, got, tt.want)
		}
	}
}

func TestCap(t *testing.T) {
	c := mustBuiltin(t, "bitbucket")
	tests := []struct {
		name          string
		names         []string
		level         store.Level
		kept, dropped []string
	}{
		{"nothing asked", nil, store.LevelUser, nil, nil},
		{"user keeps user scopes",
			[]string{"REPO_READ", "PROJECT_ADMIN", "ACCOUNT_WRITE"}, store.LevelUser,
			[]string{"REPO_READ", "PROJECT_ADMIN", "ACCOUNT_WRITE"}, nil},
		{"user loses admin scopes, order kept",
			[]string{"SYSTEM_ADMIN", "REPO_WRITE", "ADMIN_WRITE", "PUBLIC_REPOS"}, store.LevelUser,
			[]string{"REPO_WRITE", "PUBLIC_REPOS"}, []string{"SYSTEM_ADMIN", "ADMIN_WRITE"}},
		{"admin loses system admin",
			[]string{"ADMIN_WRITE", "SYSTEM_ADMIN"}, store.LevelAdmin,
			[]string{"ADMIN_WRITE"}, []string{"SYSTEM_ADMIN"}},
		{"system admin keeps all",
			[]string{"ADMIN_WRITE", "SYSTEM_ADMIN"}, store.LevelSystemAdmin,
			[]string{"ADMIN_WRITE", "SYSTEM_ADMIN"}, nil},
		{"unknown scopes are dropped",
			[]string{"REPO_READ", "repo_read", "nope"}, store.LevelSystemAdmin,
			[]string{"REPO_READ"}, []string{"repo_read", "nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kept, dropped := c.Cap(tt.names, tt.level)
			if diff := cmp.Diff(tt.kept, kept); diff != "" {
				t.Errorf("kept (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.dropped, dropped); diff != "" {
				t.Errorf("dropped (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCapBoundsExpand checks the promise Cap exists for: whatever survives
// capping, expanded, still needs no more than the user's level.
func TestCapBoundsExpand(t *testing.T) {
	for _, c := range []*Catalogue{mustBuiltin(t, "atlassian"), mustBuiltin(t, "bitbucket"), mustCustom(t)} {
		all := names(c.All())
		for _, level := range []store.Level{store.LevelUser, store.LevelAdmin, store.LevelSystemAdmin} {
			kept, _ := c.Cap(all, level)
			for _, name := range c.Expand(kept) {
				if s, _ := c.Lookup(name); s.Level > level {
					t.Errorf("%s (level %d) granted at level %d", name, s.Level, level)
				}
			}
		}
	}
}

func TestCanonical(t *testing.T) {
	c := mustCustom(t)
	tests := []struct {
		name, want string
		ok         bool
	}{
		{"g:mail:read", "g:mail:read", true},
		{"G:Mail:Read", "g:mail:read", true},
		{"G:SYSTEM:ADMIN", "g:system:admin", true},
		{"g:mail", "", false},
		{"", "", false},
		{"g:mail:read ", "", false},
		// U+212A KELVIN SIGN lower-cases to "k"; it must not reach a scope.
		{"g:wor\u212Aflow:read", "", false},
	}
	for _, tt := range tests {
		got, ok := c.Canonical(tt.name)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Canonical(%q) = %q, %v; want %q, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
	if got, ok := mustBuiltin(t, "atlassian").Canonical("system_admin"); got != "SYSTEM_ADMIN" || !ok {
		t.Errorf("atlassian Canonical(system_admin) = %q, %v", got, ok)
	}
}

func TestDescribe(t *testing.T) {
	c := mustCustom(t)
	tests := []struct {
		name, lang, want, in string
	}{
		{"g:schedule:read", "en", "View your schedule", "en"},
		{"g:schedule:read", "ja", "あなたの予定を表示する", "ja"},
		{"g:schedule:read", "ja-JP", "あなたの予定を表示する", "ja"},
		{"g:schedule:read", "JA", "あなたの予定を表示する", "ja"},
		{"g:schedule:read", "fr", "View your schedule", "en"},
		{"g:schedule:read", "", "View your schedule", "en"},
		{"g:system:admin", "ja", "Change system settings", "en"},
		{"nope", "ja", "nope", ""},
	}
	for _, tt := range tests {
		if got := c.Describe(tt.name, tt.lang); got != tt.want {
			t.Errorf("Describe(%q, %q) = %q, want %q", tt.name, tt.lang, got, tt.want)
		}
		// The language the text is in, for a page to mark a fallback's.
		if got, in := c.DescribeIn(tt.name, tt.lang); got != tt.want || in != tt.in {
			t.Errorf("DescribeIn(%q, %q) = %q, %q, want %q, %q", tt.name, tt.lang, got, in, tt.want, tt.in)
		}
	}
	if got := mustBuiltin(t, "atlassian").Describe("READ", "en"); got != "View your data and everything you can see" {
		t.Errorf("atlassian Describe(READ, en) = %q", got)
	}
}
