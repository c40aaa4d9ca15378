package web_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestStaticListsNoDirectory: the assets are served, but /static/ (a
// directory) answers 404 instead of listing its files.
func TestStaticListsNoDirectory(t *testing.T) {
	b := newSite(t).browser("en")
	for _, path := range []string{"/static/", "/static/./", "/static//"} {
		if a := b.follow(path); a.status != http.StatusNotFound || strings.Contains(a.body, "gatehouse.css") {
			t.Errorf("GET %s: %d, want 404 without a file list:\n%s", path, a.status, a.body)
		}
	}
	for _, path := range []string{"/static/gatehouse.css", "/static/gatehouse.js"} {
		if a := b.get(path); a.status != http.StatusOK || a.body == "" {
			t.Errorf("GET %s: %d, want the file", path, a.status)
		}
	}
}
