package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

// testSearchUsers: SearchUsers finds users by a part of their username,
// display name or email — ASCII letters in any case, anything else as typed,
// LIKE's wildcards as themselves — and pages them in username order.
func testSearchUsers(t *testing.T, s store.Store) {
	ctx := t.Context()
	users := []store.User{
		{ID: "u1", Username: "alice", DisplayName: "Alice Liddell", Email: "alice@wonder.example"},
		{ID: "u2", Username: "bob", DisplayName: "Bob Builder", Email: "bob@site.example"},
		{ID: "u3", Username: "carol", DisplayName: "山田 花子", Email: "hanako@yamada.example"},
		{ID: "u4", Username: "dave", DisplayName: "100% Dave", Email: "dave_x@site.example"},
		{ID: "u5", Username: "erin", DisplayName: "Érin", Email: ""},
	}
	for _, u := range users {
		u.CreatedAt, u.UpdatedAt = t0, t0
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatalf("CreateUser(%s): %v", u.Username, err)
		}
	}
	names := func(q store.UserSearch) []string {
		t.Helper()
		found, err := s.SearchUsers(ctx, q)
		if err != nil {
			t.Fatalf("SearchUsers(%+v): %v", q, err)
		}
		out := []string{}
		for _, u := range found {
			out = append(out, u.Username)
		}
		return out
	}
	cases := []struct {
		text string
		want []string
	}{
		{"", []string{"alice", "bob", "carol", "dave", "erin"}},
		{"ali", []string{"alice"}},                // a username
		{"BUILDER", []string{"bob"}},              // a display name, in another case
		{"Site.Example", []string{"bob", "dave"}}, // an email, in another case
		{"山田", []string{"carol"}},                 // not ASCII, as typed
		{"Érin", []string{"erin"}},                // an upper-case letter beyond ASCII, as typed
		{"%", []string{"dave"}},                   // LIKE's wildcards match only themselves
		{"_x", []string{"dave"}},
		{"b_b", []string{}},
		{`\`, []string{}},
		{"nobody", []string{}},
	}
	for _, c := range cases {
		if got := names(store.UserSearch{Text: c.text, Limit: 10}); !slices.Equal(got, c.want) {
			t.Errorf("SearchUsers(%q) = %q, want %q", c.text, got, c.want)
		}
	}

	// Pages follow each other in username order, without gaps or repeats.
	var paged []string
	for offset := 0; offset < 10; offset += 2 {
		page := names(store.UserSearch{Offset: offset, Limit: 2})
		if len(page) > 2 {
			t.Fatalf("offset %d: %d users, want at most 2", offset, len(page))
		}
		paged = append(paged, page...)
	}
	if want := []string{"alice", "bob", "carol", "dave", "erin"}; !slices.Equal(paged, want) {
		t.Errorf("page by page: %q, want %q", paged, want)
	}
	// Page after page by the last username, the same.
	paged = nil
	for after := ""; ; {
		page := names(store.UserSearch{After: after, Limit: 2})
		paged = append(paged, page...)
		if len(page) < 2 {
			break
		}
		after = page[len(page)-1]
	}
	if want := []string{"alice", "bob", "carol", "dave", "erin"}; !slices.Equal(paged, want) {
		t.Errorf("page by page after the last username: %q, want %q", paged, want)
	}
	if got := names(store.UserSearch{Text: "site.example", After: "bob", Limit: 10}); !slices.Equal(got, []string{"dave"}) {
		t.Errorf("matches after bob: %q, want [dave]", got)
	}
	if got := names(store.UserSearch{After: "bobby", Limit: 10}); !slices.Equal(got, []string{"carol", "dave", "erin"}) {
		t.Errorf("after a username nobody has: %q, want [carol dave erin]", got)
	}
	if got := names(store.UserSearch{Text: "example", Offset: 1, Limit: 2}); !slices.Equal(got, []string{"bob", "carol"}) {
		t.Errorf("second match onwards, two of them: %q, want [bob carol]", got)
	}
	if got := names(store.UserSearch{Offset: 5, Limit: 2}); len(got) != 0 {
		t.Errorf("past the end: %q, want none", got)
	}
	if got := names(store.UserSearch{}); len(got) != 0 {
		t.Errorf("no limit: %q, want none", got)
	}
	// The whole user comes back.
	found, err := s.SearchUsers(ctx, store.UserSearch{Text: "carol", Limit: 1})
	if err != nil || len(found) != 1 {
		t.Fatalf("SearchUsers(carol) = %v, %v", found, err)
	}
	want := users[2]
	want.CreatedAt, want.UpdatedAt = t0, t0
	diff(t, "SearchUsers(carol)", want, found[0])

	// Many users: a page is the slice of the whole ordered list.
	for i := range 30 {
		name := fmt.Sprintf("user%02d", i)
		if err := s.CreateUser(ctx, store.User{ID: "m" + name, Username: name, CreatedAt: t0, UpdatedAt: t0}); err != nil {
			t.Fatalf("CreateUser(%s): %v", name, err)
		}
	}
	if got := names(store.UserSearch{Text: "USER", Offset: 25, Limit: 10}); !slices.Equal(got, []string{"user25", "user26", "user27", "user28", "user29"}) {
		t.Errorf("the last page of user*: %q", got)
	}
}
