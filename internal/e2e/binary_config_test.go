package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBinaryRefusesUnworkableConfig starts `gatehouse serve` with settings
// that cannot work: it must exit non-zero and say why, not run with them.
func TestBinaryRefusesUnworkableConfig(t *testing.T) {
	bin := buildBinary(t)
	cases := []struct {
		name     string
		config   string
		scopes   string // a custom catalogue file, if set
		wantText string
	}{
		{"sub-second access token", "lifetimes:\n  access_token: 500ms\n", "", "lifetimes.access_token must be at least 1s, not 500ms"},
		{"sub-second code", "lifetimes:\n  code: 100ms\n", "", "lifetimes.code must be at least 1s"},
		{"nanosecond janitor", "janitor:\n  interval: 1ns\n", "", "janitor.interval must be at least 1s, not 1ns"},
		{"audit kept minutes", "janitor:\n  audit_retention: 24m\n", "", "janitor.audit_retention must be 0 (keep audit events forever) or at least 24h0m0s, not 24m0s"},
		{"second document in the config file", "listen: 127.0.0.1:1\n---\nlifetimes:\n  access_token: 1h\n", "", "more than one YAML document"},
		{"second document in the scope catalogue", "", "scopes:\n  - name: a\n    description: {en: A}\n---\nscopes:\n  - name: b\n    description: {en: B}\n", "more than one YAML document"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			configText := tc.config
			if tc.scopes != "" {
				scopesPath := filepath.Join(dir, "scopes.yaml")
				if err := os.WriteFile(scopesPath, []byte(tc.scopes), 0o600); err != nil {
					t.Fatal(err)
				}
				configText += "scopes:\n  catalogue: " + scopesPath + "\n"
			}
			configPath := filepath.Join(dir, "gatehouse.yaml")
			if err := os.WriteFile(configPath, []byte(configText), 0o600); err != nil {
				t.Fatal(err)
			}
			// Today's code would serve: the timeout ends that as a failure.
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "serve", "--dev", "--config", configPath, "--listen", freeAddr(t))
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if ctx.Err() != nil {
				t.Fatalf("serve started with this configuration:\n%s", out)
			}
			if err == nil || !strings.Contains(string(out), tc.wantText) {
				t.Fatalf("serve: %v, output %q; want a failure saying %q", err, out, tc.wantText)
			}
		})
	}
}
