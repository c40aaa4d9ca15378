package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestUserListReadsPages: `user list` reads the directory a page at a time
// and prints, in text and in JSON, exactly what one read of every user
// prints — across page boundaries, on an exact multiple of the page, and
// with special characters printed as they are.
func TestUserListReadsPages(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		root := newRootCommand(&out, &errOut)
		root.SetArgs(append(args, "--data-dir", dir))
		if err := root.Execute(); err != nil {
			t.Fatalf("gatehouse %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
		}
		return out.String()
	}
	run("migrate")
	for i := range 5 {
		run("user", "create", "--username", fmt.Sprintf("user%d", i), "--password", "correct horse battery",
			"--display-name", fmt.Sprintf("<User> & %d", i))
	}
	run("user", "disable", "--username", "user2")

	defer func(size int) { userListPage = size }(userListPage)
	wholeText, wholeJSON := run("user", "list"), run("user", "list", "--json")
	var users []struct {
		Username    string `json:"username"`
		DisplayName string `json:"display_name"`
	}
	if err := json.Unmarshal([]byte(wholeJSON), &users); err != nil || len(users) != 5 || users[4].Username != "user4" {
		t.Fatalf("user list --json in one page: %v\n%s", err, wholeJSON)
	}
	if !strings.Contains(wholeJSON, `"<User> & 1"`) || !strings.Contains(wholeText, "disabled") {
		t.Fatalf("user list: escaped or without the disabled user:\n%s\n%s", wholeJSON, wholeText)
	}
	var items []json.RawMessage // the same list as printJSON prints it
	json.Unmarshal([]byte(wholeJSON), &items)
	var printed bytes.Buffer
	(&globals{stdout: &printed}).printJSON(items)
	if printed.String() != wholeJSON {
		t.Fatalf("user list --json\n%s\nwant it as printJSON prints it\n%s", wholeJSON, printed.String())
	}
	for _, size := range []int{1, 2, 5, 6} { // the last page short, full, or one past
		userListPage = size
		if got := run("user", "list"); got != wholeText {
			t.Errorf("pages of %d: text\n%s\nwant\n%s", size, got, wholeText)
		}
		if got := run("user", "list", "--json"); got != wholeJSON {
			t.Errorf("pages of %d: JSON\n%s\nwant\n%s", size, got, wholeJSON)
		}
	}
}

// TestJSONPagesCutShort: a read failing after the first page fails the
// command and leaves the printed list unclosed, never a shorter list that
// parses as whole; a first page's failure prints nothing.
func TestJSONPagesCutShort(t *testing.T) {
	failure := errors.New("the database went away")
	for _, pages := range [][][]int{{}, {{1, 2}}, {{1, 2}, {3}}} {
		var out bytes.Buffer
		reads := 0
		err := printJSONPages(&globals{stdout: &out}, func() ([]int, error) {
			if reads == len(pages) {
				return nil, failure
			}
			reads++
			return pages[reads-1], nil
		}, func(n int) int { return n })
		if !errors.Is(err, failure) {
			t.Errorf("after %d pages: %v, want the failure", len(pages), err)
		}
		var list []int
		if len(pages) == 0 && out.Len() > 0 || json.Unmarshal(out.Bytes(), &list) == nil {
			t.Errorf("after %d pages: printed %q", len(pages), out.String())
		}
	}
}
