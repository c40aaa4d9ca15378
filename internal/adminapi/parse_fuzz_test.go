package adminapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Whatever the body, decoding answers 400 or 413, never a server error.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"name":"x","scopes":["READ"],"enabled":true}`, `{"name":`, `[]`, `null`, `{"colour":1}`,
		`{"name":"x"} {}`, `{"groups":null,"level":"admin"}`, `{"password":123}`, "\xff", ``,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, v := range []any{&clientRequest{}, &userPatch{}, &newUserRequest{}, &passwordRequest{}} {
			w := httptest.NewRecorder()
			r := httptest.NewRequest("POST", "/", strings.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			if err := admitBody(w, r, jsonBody); err != nil {
				t.Fatalf("admitBody: %v", err)
			}
			err := decode(r, v)
			if err == nil {
				continue
			}
			if s := classify(r, err).Status; s != http.StatusBadRequest && s != http.StatusRequestEntityTooLarge {
				t.Fatalf("body %q: status %d (%v)", body, s, err)
			}
		}
	})
}

// Whatever the query, the audit filter parses or answers 400.
func FuzzAuditQuery(f *testing.F) {
	for _, seed := range []string{"kind=client.&since=2026-01-01&limit=5", "before=-1", "until=2026-02-30T25:00:00Z", "limit=99999999999999999999", "%zz"} {
		f.Add(seed, false)
	}
	f.Fuzz(func(t *testing.T, query string, export bool) {
		r := httptest.NewRequest("GET", "/", nil)
		r.URL.RawQuery = query
		if export {
			r.Header.Set("Accept", NDJSON)
		}
		aq, err := parseAuditQuery(r)
		if err != nil {
			if classify(r, err).Status != http.StatusBadRequest {
				t.Fatalf("query %q: %v", query, err)
			}
			return
		}
		if aq.limit < 1 || (!export && aq.limit > MaxAuditPage) || aq.limit > MaxAuditExport {
			t.Fatalf("query %q: limit %d", query, aq.limit)
		}
	})
}
