package web_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/user"
)

// TestEnglishFallbackIsMarkedEnglish: a scope the catalogue describes in
// English only is shown on a Japanese page with lang="en", so that a screen
// reader reads it as English; a Japanese description is not marked.
func TestEnglishFallbackIsMarkedEnglish(t *testing.T) {
	file := filepath.Join(t.TempDir(), "scopes.yaml")
	catalogue := "scopes:\n" +
		"  - name: g:read\n    level: user\n    description: {en: \"Read the schedule\", ja: \"予定を読む\"}\n" +
		"  - name: g:admin\n    level: admin\n    description: {en: \"Change system settings\"}\n"
	if err := os.WriteFile(file, []byte(catalogue), 0o600); err != nil {
		t.Fatal(err)
	}
	s := newSite(t, func(c *config.Config) { c.Scopes.Catalogue = file })
	if _, err := s.gh.Users.Create(context.Background(), user.NewUser{Username: "root", Password: "root-password", Level: store.LevelSystemAdmin}); err != nil {
		t.Fatal(err)
	}
	b := s.browser("ja")
	b.signIn("root", "root-password")
	page := b.get("/admin/apps/new").body
	if !strings.Contains(page, `<span lang="en">Change system settings</span>`) {
		t.Errorf("the English fallback is not marked lang=\"en\" on the Japanese form:\n%s", page)
	}
	if !strings.Contains(page, `<span>予定を読む</span>`) {
		t.Errorf("the Japanese description is marked or missing")
	}
}
