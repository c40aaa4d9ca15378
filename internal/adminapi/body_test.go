package adminapi_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
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
		// A member the contract does not make nullable is refused as null,
		// rather than read as left out or empty.
		{"null client_id on create", "POST", pathClients, raw{"application/json", []byte(`{"name":"null 0","redirect_uris":["` + callback + `"],"scopes":["READ"],"client_id":null}`)}, http.StatusBadRequest, "invalid_request"},
		{"null enabled on create", "POST", pathClients, raw{"application/json", []byte(`{"name":"null 1","redirect_uris":["` + callback + `"],"scopes":["READ"],"enabled":null}`)}, http.StatusBadRequest, "invalid_request"},
		{"null require_pkce on replace", "PUT", pathClients + "/" + clientID, raw{"application/json", []byte(`{"name":"Bodies","redirect_uris":["` + callback + `"],"scopes":["READ"],"require_pkce":null}`)}, http.StatusBadRequest, "invalid_request"},
		{"null level on create", "POST", adminPathUser, raw{"application/json", []byte(`{"username":"nully","password":"a long password","level":null}`)}, http.StatusBadRequest, "invalid_request"},
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
	// The system administrator's routes, under the same rule.
	want(t, f.root.do("POST", pathMail, raw{"application/json", []byte(`{"name":"m","protocol":"imap","host":"mail.example.com","tls":"implicit","username":"u","password":"p","port":null}`)}), http.StatusBadRequest, "invalid_request")
	want(t, f.root.do("POST", pathIntegrations, raw{"application/json", []byte(`{"provider":"google","name":null}`)}), http.StatusBadRequest, "invalid_request")
	want(t, f.root.do("GET", adminPathUser+"/nully", nil), http.StatusNotFound, "not_found")
	for _, path := range []string{pathMail, pathIntegrations} {
		if r := f.root.do("GET", path, nil); r.status != http.StatusOK || strings.Contains(string(r.raw), `"id"`) {
			t.Errorf("GET %s after refused creates: %d %s", path, r.status, r.raw)
		}
	}
	// Where the contract allows null it means "left out": a user's change,
	// and the last_used a GET of an unused application returns.
	want(t, f.admin.do("PATCH", adminPathUser+"/uma", raw{"application/json", []byte(`{"display_name":null,"email":null,"level":null,"groups":null,"disabled":null}`)}), http.StatusOK, "")
	want(t, f.admin.do("PUT", pathClients+"/"+clientID, raw{"application/json", []byte(`{"name":"Bodies","redirect_uris":["` + callback + `"],"scopes":["READ"],"last_used":null}`)}), http.StatusOK, "")
	// A route that takes no body refuses one rather than ignore what it
	// says; an empty object says nothing, and passes.
	disable := pathClients + "/" + clientID + "/disable"
	want(t, f.admin.do("POST", pathClients+"/"+clientID+"/enable", map[string]any{"enabled": false}), http.StatusBadRequest, "invalid_request")
	want(t, f.admin.do("DELETE", pathClients+"/"+clientID, map[string]any{"confirm": false}), http.StatusBadRequest, "invalid_request")
	want(t, f.admin.do("GET", pathClients, raw{"application/json", []byte(`{"q":"x"}`)}), http.StatusBadRequest, "invalid_request")
	want(t, f.admin.do("POST", disable, raw{"application/json", []byte(" { } ")}), http.StatusOK, "")
	want(t, f.admin.do("GET", pathClients+"/"+clientID, nil), http.StatusOK, "")
	// Nor does an empty body of unknown length (chunked).
	req, _ := http.NewRequest("POST", f.base+disable, struct{ *strings.Reader }{strings.NewReader("")})
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+f.admin.bearer)
	want(t, f.roundTrip(http.DefaultClient, req), http.StatusOK, "")
	// A charset parameter is fine.
	want(t, f.admin.do("PATCH", adminPathUser+"/uma", raw{"application/json; charset=utf-8", []byte(`{"email":"uma@example.com"}`)}), http.StatusOK, "")
}

// TestUnreadableBodyIsABadRequest: a body that cannot be read — a chunked
// encoding broken by the client (an invalid chunk size), or one that ends
// before its Content-Length — is the caller's mistake, answered 400 as the
// OAuth endpoints and the console answer it, not a 500 logged as the
// server's failure.
func TestUnreadableBodyIsABadRequest(t *testing.T) {
	f := newFixture(t)
	host := strings.TrimPrefix(f.base, "http://")
	head := "POST " + adminPathUser + " HTTP/1.1\r\nHost: " + host + "\r\nAuthorization: Bearer " + f.root.bearer + "\r\nContent-Type: application/json\r\n"
	for _, tc := range []struct {
		name, request string
		halfClose     bool // the client sends no more, and waits for the answer
	}{
		{"an invalid chunk size", head + "Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", false},
		{"a body shorter than its Content-Length", head + "Content-Length: 500\r\n\r\n{\"username\": \"x\"}", true},
	} {
		name := tc.name
		conn, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(conn, tc.request); err != nil {
			t.Fatal(err)
		}
		if tc.halfClose {
			conn.(*net.TCPConn).CloseWrite()
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "invalid_request") {
			t.Errorf("%s: %d %s, want 400 invalid_request", name, resp.StatusCode, body)
		}
	}
}
