package main

import (
	"runtime/debug"
	"testing"
)

func TestDescribeVersion(t *testing.T) {
	vcs := []debug.BuildSetting{{Key: "vcs.revision", Value: "4ddcd4a0123456789abcdef"}, {Key: "vcs.time", Value: "2026-12-03T19:20:00Z"}}
	cases := []struct {
		version  string
		settings []debug.BuildSetting
		want     string
	}{
		{"1.4.0", vcs, "1.4.0"}, // set at build time: as given
		{"dev", vcs, "dev+4ddcd4a01234 (2026-12-03T19:20:00Z)"},
		{"dev", append(vcs, debug.BuildSetting{Key: "vcs.modified", Value: "true"}), "dev+4ddcd4a01234-modified (2026-12-03T19:20:00Z)"},
		{"dev", nil, "dev"}, // go run, or a build outside a repository
	}
	for _, c := range cases {
		if got := describeVersion(c.version, c.settings); got != c.want {
			t.Errorf("describeVersion(%q, %v) = %q, want %q", c.version, c.settings, got, c.want)
		}
	}
}
