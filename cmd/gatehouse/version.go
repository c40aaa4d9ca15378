package main

import (
	"runtime/debug"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// buildVersion is version, and for a build without one ("dev") the commit
// it was built from when the Go toolchain recorded it, so that an operator
// can tell two builds apart (the start line and --version print it).
func buildVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return version
	}
	return describeVersion(version, info.Settings)
}

func describeVersion(v string, settings []debug.BuildSetting) string {
	if v != "dev" {
		return v
	}
	var revision, when string
	modified := false
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if revision == "" {
		return v
	}
	var b strings.Builder
	b.WriteString(v + "+" + revision[:min(12, len(revision))])
	if modified {
		b.WriteString("-modified")
	}
	if when != "" {
		b.WriteString(" (" + when + ")")
	}
	return b.String()
}
