package adminapi_test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse/gatehouse/internal/adminapi"
	"github.com/gatehouse/gatehouse/internal/adminapi/contract"
	"github.com/gatehouse/gatehouse/internal/testnode"
)

// The description is a valid OpenAPI 3.1 document.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	c, err := contract.Load()
	if err != nil {
		t.Fatal(err)
	}
	if v := c.Model().Version; !strings.HasPrefix(v, "3.1.") {
		t.Errorf("openapi: %s, want 3.1.x", v)
	}
	for _, p := range c.ValidateDocument(adminapi.OpenAPI()) {
		t.Error(p)
	}
	// Validators ignore keywords they do not know, so a description cut
	// short by an unquoted comma in a flow mapping ({description: a, b})
	// passes them as a stray key "b" holding null: look for those.
	var doc yaml.Node
	if err := yaml.Unmarshal(adminapi.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if v := n.Content[i+1]; v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
					t.Errorf("openapi.yaml line %d: %q holds null (an unquoted comma cutting a description short?)", v.Line, n.Content[i].Value)
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&doc)
}

// placeholder matches a path parameter, whatever its name.
var placeholder = regexp.MustCompile(`\{[^}]*\}`)

// Every route of the API's mux is described, and every described operation
// is a route of the mux: a route added without a description (or a
// description left behind by a removed route) fails here.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	c, err := contract.Load()
	if err != nil {
		t.Fatal(err)
	}
	n := testnode.Start(t, testnode.Options{})
	normal := func(method, path string) string { return method + " " + placeholder.ReplaceAllString(path, "{}") }

	var served []string
	for _, p := range adminapi.Patterns(n.Gatehouse.AdminAPI()) {
		method, path, ok := strings.Cut(p, " ")
		if !ok {
			t.Errorf("pattern %q has no method: every route names its method", p)
			continue
		}
		served = append(served, normal(method, path))
	}
	var described []string
	for path, item := range c.Model().Paths.PathItems.FromOldest() {
		for method := range item.GetOperations().FromOldest() {
			described = append(described, normal(strings.ToUpper(method), path))
		}
	}
	if len(served) < 30 {
		t.Fatalf("only %d routes found in the mux: %v", len(served), served)
	}
	for _, r := range served {
		if !slices.Contains(described, r) {
			t.Errorf("route %s is not in internal/adminapi/openapi.yaml: describe it", r)
		}
	}
	for _, r := range described {
		if !slices.Contains(served, r) {
			t.Errorf("openapi.yaml describes %s, which the API does not serve", r)
		}
	}
}

// The description is served from the binary, to anyone, as YAML, and
// docs/openapi.yaml is the same file.
func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t)
	r := e.anonymous().do("GET", adminapi.PathOpenAPI, nil)
	want(t, r, http.StatusOK, "")
	if ct := r.header.Get("Content-Type"); ct != "application/yaml" {
		t.Errorf("Content-Type %q", ct)
	}
	if r.raw != string(adminapi.OpenAPI()) {
		t.Error("the served description is not the embedded one")
	}
	etag := r.header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	want(t, e.anonymous().do("GET", adminapi.PathOpenAPI, nil, "If-None-Match", etag), http.StatusNotModified, "")
	want(t, e.anonymous().do("GET", adminapi.PathOpenAPI, nil, "If-None-Match", `W/"other", `+etag), http.StatusNotModified, "")
	want(t, e.anonymous().do("GET", adminapi.PathOpenAPI, nil, "If-None-Match", `"other"`), http.StatusOK, "")
	want(t, e.anonymous().do("POST", adminapi.PathOpenAPI, nil), http.StatusMethodNotAllowed, "method_not_allowed")
	// The API's other routes still need credentials.
	want(t, e.anonymous().do("GET", adminPathUser, nil), http.StatusUnauthorized, "unauthorized")

	docs, err := os.ReadFile("../../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(docs, adminapi.OpenAPI()) {
		t.Error("docs/openapi.yaml is not internal/adminapi/openapi.yaml: it must stay a link to the one copy")
	}
}

// The checker itself: it passes an answer that matches the description
// and names each kind of mismatch, so that a passing suite means something.
func TestContractCatchesMismatches(t *testing.T) {
	c, err := contract.Load()
	if err != nil {
		t.Fatal(err)
	}
	const user = `{"id":"u1","username":"ada","display_name":"","email":"","level":"admin","groups":[],"disabled":false,` +
		`"created_at":"2026-11-22T05:13:22.187Z","updated_at":"2026-11-22T05:13:22.187Z"}`
	const errBody = `{"error":"not_found","message":"no such user","request_id":"r1"}`
	jsonType := "application/json; charset=utf-8"
	cases := []struct {
		name          string
		method, path  string
		reqType       string
		reqBody       string
		noCredentials bool
		status        int
		respType      string
		header        []string
		respBody      string
		want          string // "" when it conforms
	}{
		{name: "a user", method: "GET", path: adminPathUser + "/ada", status: 200, respType: jsonType, respBody: user},
		{name: "a created user", method: "POST", path: adminPathUser, reqType: "application/json", reqBody: `{"username":"ada","password":"12345678"}`,
			status: 201, respType: jsonType, header: []string{"Location", adminPathUser + "/ada"}, respBody: user},
		{name: "an error", method: "GET", path: adminPathUser + "/x", status: 404, respType: jsonType, respBody: errBody},
		{name: "an empty export", method: "GET", path: "/rest/gatehouse/latest/audit", status: 200, respType: contract.NDJSON},
		{name: "an export", method: "GET", path: "/rest/gatehouse/latest/audit", status: 200, respType: contract.NDJSON,
			respBody: `{"id":2,"at":"2026-11-22T05:13:22.187Z","kind":"user.create","actor":"root"}` + "\n" + `{"id":1,"at":"2026-11-22T05:13:22.187Z","kind":"signin.success"}` + "\n"},
		{name: "an unknown route", method: "GET", path: "/rest/gatehouse/latest/nothing", status: 404, respType: jsonType,
			respBody: `{"error":"not_found","message":"there is no such API route","request_id":"r1"}`},
		{name: "a value the server cleans first", method: "PATCH", path: adminPathUser + "/ada", reqType: "application/json",
			reqBody: `{"level":"ADMIN","groups":[" ops "]}`, status: 200, respType: jsonType, respBody: user},
		{name: "an unknown method", method: "PATCH", path: pathClients, status: 405, respType: jsonType, header: []string{"Allow", "GET, POST"},
			respBody: `{"error":"method_not_allowed","message":"no","request_id":"r1"}`},

		{name: "an undocumented status", method: "GET", path: adminPathUser + "/ada", status: 418, respType: jsonType, respBody: errBody,
			want: "418"},
		{name: "an undocumented member", method: "GET", path: adminPathUser + "/ada", status: 200, respType: jsonType,
			respBody: strings.Replace(user, `"id"`, `"password_hash":"x","id"`, 1), want: "password_hash"},
		{name: "a missing member", method: "GET", path: adminPathUser + "/ada", status: 200, respType: jsonType,
			respBody: strings.Replace(user, `"disabled":false,`, "", 1), want: "disabled"},
		{name: "a wrong type", method: "GET", path: adminPathUser + "/ada", status: 200, respType: jsonType,
			respBody: strings.Replace(user, `"disabled":false`, `"disabled":"no"`, 1), want: "disabled"},
		{name: "a level outside the enum", method: "GET", path: adminPathUser + "/ada", status: 200, respType: jsonType,
			respBody: strings.Replace(user, `"admin"`, `"root"`, 1), want: "level"},
		{name: "a time that is not RFC 3339", method: "GET", path: adminPathUser + "/ada", status: 200, respType: jsonType,
			respBody: strings.Replace(user, `"2026-11-22T05:13:22.187Z"`, `"yesterday"`, 1), want: "created_at"},
		{name: "another content type", method: "GET", path: adminPathUser + "/ada", status: 200, respType: "text/html", respBody: user,
			want: "text/html"},
		{name: "a JSON answer without a body", method: "GET", path: adminPathUser + "/ada", status: 200, respType: jsonType,
			want: "without a body"},
		{name: "a 201 without Location", method: "POST", path: adminPathUser, reqType: "application/json", reqBody: `{"username":"ada","password":"12345678"}`,
			status: 201, respType: jsonType, respBody: user, want: "Location"},
		{name: "a 401 without a challenge", method: "GET", path: adminPathUser, noCredentials: true, status: 401, respType: jsonType,
			respBody: `{"error":"unauthorized","message":"sign in","request_id":"r1"}`, want: "WWW-Authenticate"},
		{name: "an error code of another status", method: "GET", path: adminPathUser + "/x", status: 404, respType: jsonType,
			respBody: `{"error":"forbidden","message":"no","request_id":"r1"}`, want: "error"},
		{name: "an error without request_id", method: "GET", path: adminPathUser + "/x", status: 404, respType: jsonType,
			respBody: `{"error":"not_found","message":"no such user"}`, want: "request_id"},
		{name: "a bad export line", method: "GET", path: "/rest/gatehouse/latest/audit", status: 200, respType: contract.NDJSON,
			respBody: `{"id":2,"at":"2026-11-22T05:13:22.187Z","kind":"user.create"}` + "\n" + `{"id":1,"kind":"signin.success"}` + "\n", want: "line 2"},
		{name: "an unknown route answered", method: "GET", path: "/rest/gatehouse/latest/nothing", status: 200, respType: jsonType, respBody: `{}`,
			want: "describe the route"},
		{name: "an unknown member accepted", method: "POST", path: adminPathUser, reqType: "application/json", reqBody: `{"username":"ada","password":"12345678","nickname":"a"}`,
			status: 201, respType: jsonType, header: []string{"Location", adminPathUser + "/ada"}, respBody: user, want: "nickname"},
		{name: "a wrong member type accepted", method: "POST", path: adminPathUser, reqType: "application/json", reqBody: `{"username":"ada","password":"12345678","groups":"ops"}`,
			status: 201, respType: jsonType, header: []string{"Location", adminPathUser + "/ada"}, respBody: user, want: "groups"},
		{name: "a request without credentials accepted", method: "GET", path: adminPathUser + "/ada", noCredentials: true, status: 200, respType: jsonType,
			respBody: user, want: "Authorization"},
		{name: "a query parameter of the wrong type accepted", method: "GET", path: "/rest/gatehouse/latest/audit?limit=many", status: 200, respType: jsonType,
			respBody: `{"events":[],"next":""}`, want: "limit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.reqBody != "" {
				body = strings.NewReader(tc.reqBody)
			}
			req, _ := http.NewRequest(tc.method, "http://127.0.0.1:1"+tc.path, body)
			if tc.reqType != "" {
				req.Header.Set("Content-Type", tc.reqType)
			}
			if !tc.noCredentials {
				req.Header.Set("Authorization", "Bearer gat_x")
			}
			resp := &http.Response{StatusCode: tc.status, Header: http.Header{}, Request: req}
			if tc.respType != "" {
				resp.Header.Set("Content-Type", tc.respType)
			}
			for i := 0; i+1 < len(tc.header); i += 2 {
				resp.Header.Set(tc.header[i], tc.header[i+1])
			}
			problems := strings.Join(c.Check(req, []byte(tc.reqBody), resp, []byte(tc.respBody)), "\n")
			switch {
			case tc.want == "" && problems != "":
				t.Fatalf("a conforming exchange was refused:\n%s", problems)
			case tc.want != "" && problems == "":
				t.Fatalf("not caught")
			case tc.want != "" && !strings.Contains(problems, tc.want):
				t.Fatalf("the report does not name %q:\n%s", tc.want, problems)
			}
		})
	}
}

// recorder keeps what a checked transport reports.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, format)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// The wrapped client reports a mismatch to the test, and only for the
// admin API; the caller still reads the whole answer.
func TestContractTransportReports(t *testing.T) {
	rec := &recorder{TB: t}
	answer := `{"users": [], "extra": true}`
	node := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(answer)), Request: req}, nil
	})
	client := contract.Client(rec, &http.Client{Transport: node})
	get := func(path string) string {
		req, _ := http.NewRequest("GET", "http://127.0.0.1:1"+path, nil)
		req.Header.Set("Authorization", "Bearer gat_x")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if get("/login"); len(rec.errors) != 0 {
		t.Fatalf("a page outside the admin API was checked: %v", rec.errors)
	}
	if body := get(adminPathUser); body != answer || len(rec.errors) != 1 {
		t.Fatalf("an undocumented member: body %q, %d reports", body, len(rec.errors))
	}
	answer = `{"users": [], "next": ""}`
	if get(adminPathUser); len(rec.errors) != 1 {
		t.Fatalf("a conforming answer was reported: %v", rec.errors)
	}
	if contract.Client(rec, client) != client {
		t.Error("a checked client was wrapped twice")
	}
}
