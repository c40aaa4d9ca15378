package adminapi_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
)

// Bad bodies are refused with a JSON error and the right status, never a 500.
func TestRequestBodies(t *testing.T) {
	f := newFixture(t)
	clientID := f.newClient("Bodies", nil).str("client_id")
	huge := raw{"application/json", append(append([]byte(`{"name":"`), bytes.Repeat([]byte("a"), 1<<20)...), []byte(`"}`)...)}
	cases := []struct {
		name   string
		method string
		path   string
		body   any
		status int
		code   string
	}{
		{"wrong content type", "POST", pathClients, raw{"text/plain", []byte(`{"name":"x"}`)}, http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"form content type", "POST", pathClients, raw{"application/x-www-form-urlencoded", []byte("name=x")}, http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"no content type", "PATCH", adminPathUser + "/uma", raw{"", []byte(`{"email":"u@example.com"}`)}, http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"JSON body on a bodyless route with the wrong type", "POST", pathClients + "/" + clientID + "/disable", raw{"text/plain", []byte("x")}, http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"malformed JSON", "POST", pathClients, raw{"application/json", []byte(`{"name": "x",`)}, http.StatusBadRequest, "invalid_request"},
		{"syntax error", "POST", pathClients, raw{"application/json", []byte(`{"name" "x"}`)}, http.StatusBadRequest, "invalid_request"},
		{"unknown field", "POST", pathClients, map[string]any{"name": "x", "scopes": []string{"READ"}, "redirect_uris": []string{callback}, "colour": "blue"}, http.StatusBadRequest, "invalid_request"},
		{"unknown field in PATCH", "PATCH", adminPathUser + "/uma", map[string]any{"nickname": "u"}, http.StatusBadRequest, "invalid_request"},
		{"wrong field type", "POST", pathClients, map[string]any{"name": "x", "scopes": "READ"}, http.StatusBadRequest, "invalid_request"},
		{"an array, not an object", "POST", pathClients, []string{"x"}, http.StatusBadRequest, "invalid_request"},
		{"two objects", "POST", pathClients, raw{"application/json", []byte(`{"name":"x"} {"name":"y"}`)}, http.StatusBadRequest, "invalid_request"},
		{"empty body", "POST", pathClients, raw{"application/json", nil}, http.StatusBadRequest, "invalid_request"},
		{"no body", "POST", adminPathUser, nil, http.StatusBadRequest, "invalid_request"},
		{"huge body", "POST", pathClients, huge, http.StatusRequestEntityTooLarge, "request_too_large"},
		{"huge body on a password route", "POST", pathClients + "/" + clientID + "/credentials", huge, http.StatusRequestEntityTooLarge, "request_too_large"},
		{"unknown type", "POST", pathClients, map[string]any{"name": "x", "type": "secretive", "scopes": []string{"READ"}, "redirect_uris": []string{callback}}, http.StatusBadRequest, "invalid_request"},
		{"unknown level", "POST", adminPathUser, map[string]any{"username": "zed", "password": "zed-password", "level": "king"}, http.StatusBadRequest, "invalid_request"},
		{"empty level in PATCH", "PATCH", adminPathUser + "/uma", map[string]any{"level": ""}, http.StatusBadRequest, "invalid_request"},
		// null is not an object, nor an item of a list (it was read as {} and dropped).
		{"null body", "PATCH", adminPathUser + "/uma", raw{"application/json", []byte(`null`)}, http.StatusBadRequest, "invalid_request"},
		{"null scope", "POST", pathClients, raw{"application/json", []byte(`{"name":"x","redirect_uris":["` + callback + `"],"scopes":["READ",null]}`)}, http.StatusBadRequest, "invalid_request"},
		{"null group", "PATCH", adminPathUser + "/uma", raw{"application/json", []byte(`{"groups":[null,"ops"]}`)}, http.StatusBadRequest, "invalid_request"},
		// The read-only fields a GET answer has may come back, but as what it has.
		{"fractional active_tokens", "POST", pathClients, map[string]any{"name": "read-only 0", "scopes": []string{"READ"}, "redirect_uris": []string{callback}, "active_tokens": 1.5}, http.StatusBadRequest, "invalid_request"},
		{"overflowing active_tokens", "POST", pathClients, raw{"application/json", []byte(`{"name":"read-only 1","scopes":["READ"],"redirect_uris":["` + callback + `"],"active_tokens":1e400}`)}, http.StatusBadRequest, "invalid_request"},
		{"has_logo as text", "POST", pathClients, map[string]any{"name": "read-only 2", "scopes": []string{"READ"}, "redirect_uris": []string{callback}, "has_logo": "yes"}, http.StatusBadRequest, "invalid_request"},
		{"created_at as a number", "POST", pathClients, map[string]any{"name": "read-only 3", "scopes": []string{"READ"}, "redirect_uris": []string{callback}, "created_at": 5}, http.StatusBadRequest, "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want(t, f.admin.do(tc.method, tc.path, tc.body), tc.status, tc.code)
		})
	}
	// The same limit holds for a chunked body whose length is not announced.
	t.Run("huge chunked body", func(t *testing.T) {
		req, _ := http.NewRequest("POST", f.base+pathClients, struct{ *strings.Reader }{strings.NewReader(`{"name":"` + strings.Repeat("a", 2<<20) + `"}`)})
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+f.admin.bearer)
		if req.ContentLength != 0 {
			t.Fatalf("the request announces its length (%d)", req.ContentLength)
		}
		want(t, f.roundTrip(http.DefaultClient, req), http.StatusRequestEntityTooLarge, "request_too_large")
	})
	// Nothing was created by any of them: the fixture's two applications and "Bodies".
	r := f.admin.do("GET", pathClients, nil)
	want(t, r, http.StatusOK, "")
	if n := len(r.list("clients")); n != 3 {
		t.Fatalf("%d applications after refused requests, want 3: %s", n, r.raw)
	}
	// A charset parameter is fine.
	want(t, f.admin.do("PATCH", adminPathUser+"/uma", raw{"application/json; charset=utf-8", []byte(`{"email":"uma@example.com"}`)}), http.StatusOK, "")
}
