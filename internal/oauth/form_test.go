package oauth

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func formRequest(method, target, contentType, body string) *http.Request {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

// withLength declares n as r's length (-1: unknown, as a chunked body).
func withLength(r *http.Request, n int64) *http.Request {
	r.ContentLength = n
	return r
}

func TestReadForm(t *testing.T) {
	const form = "application/x-www-form-urlencoded"
	cases := []struct {
		name        string
		req         *http.Request
		compat      bool
		wantStatus  int // 0: success
		wantMention string
	}{
		{"ok", formRequest("POST", "/t", form, "a=1&b=2"), false, 0, ""},
		{"charset parameter", formRequest("POST", "/t", form+"; charset=UTF-8", "a=1"), false, 0, ""},
		{"GET", formRequest("GET", "/t", "", ""), false, 405, "POST"},
		{"query refused", formRequest("POST", "/t?grant_type=x", form, "a=1"), false, 400, "compat.query_parameters"},
		{"query allowed in compat", formRequest("POST", "/t?grant_type=x", form, "a=1"), true, 0, ""},
		{"query and body both", formRequest("POST", "/t?scope=READ", form, "scope=WRITE"), true, 400, "more than once"},
		{"unknown parameter in query and body", formRequest("POST", "/t?a=1", form, "a=2"), true, 0, ""},
		{"json", formRequest("POST", "/t", "application/json", `{"a":1}`), false, 400, "x-www-form-urlencoded"},
		{"duplicate", formRequest("POST", "/t", form, "token=1&token=2"), false, 400, "more than once"},
		{"duplicate with an empty copy", formRequest("POST", "/t", form, "client_id=&client_id=2"), false, 400, "more than once"},
		// Map order is random; the fault named is the first in formParameters' order.
		{"two faults", formRequest("POST", "/t", form, "token=%01&scope=a&scope=b&grant_type=x&grant_type=y"), false, 400, "'grant_type' is sent more than once"},
		{"duplicate empty", formRequest("POST", "/t", form, "scope=&scope="), false, 400, "more than once"},
		{"bad escape", formRequest("POST", "/t", form, "a=%zz"), false, 400, "form encoding"},
		{"control character", formRequest("POST", "/t", form, "code=%00"), false, 400, "control"},
		{"invalid UTF-8", formRequest("POST", "/t", form, "refresh_token=%ff"), false, 400, "UTF-8"},
		// RFC 6749 §3.1: what the endpoints do not read is ignored, whatever it holds.
		{"unknown parameter repeated", formRequest("POST", "/t", form, "resource=a&resource=b"), false, 0, ""},
		{"unknown parameter with a control character", formRequest("POST", "/t", form, "claims=%0A"), false, 0, ""},
		{"unknown parameter not UTF-8", formRequest("POST", "/t", form, "x%ff=%ff"), false, 0, ""},
		{"too large", formRequest("POST", "/t", form, "a="+strings.Repeat("x", MaxFormBytes)), false, 413, "64 KiB"},
		{"at the limit", formRequest("POST", "/t", form, "a="+strings.Repeat("x", MaxFormBytes-2)), false, 0, ""},
		{"length not declared", withLength(formRequest("POST", "/t", form, "a=1&b=2"), -1), false, 0, ""},
		{"too large, length not declared", withLength(formRequest("POST", "/t", form, "a="+strings.Repeat("x", MaxFormBytes)), -1), false, 413, "64 KiB"},
		{"shorter than declared", withLength(formRequest("POST", "/t", form, "a=1"), 10), false, 400, "could not be read"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, e := readForm(httptest.NewRecorder(), c.req, c.compat)
			if c.wantStatus == 0 {
				if e != nil {
					t.Fatalf("readForm = %v", e)
				}
				return
			}
			if e == nil || e.Status != c.wantStatus || e.Code != CodeInvalidRequest || !strings.Contains(e.Description, c.wantMention) {
				t.Fatalf("readForm = %+v, want %d mentioning %q", e, c.wantStatus, c.wantMention)
			}
		})
	}
}

// TestReadFormOmitsEmpty checks RFC 6749 §3.1: a parameter sent without a
// value is as if omitted.
func TestReadFormOmitsEmpty(t *testing.T) {
	r := formRequest("POST", "/t", "application/x-www-form-urlencoded", "token=x&client_id=&client_secret&scope=")
	v, e := readForm(httptest.NewRecorder(), r, false)
	if e != nil {
		t.Fatalf("readForm = %v", e)
	}
	if len(v) != 1 || v.Get("token") != "x" {
		t.Fatalf("readForm = %v, want only token", v)
	}
}

func FuzzReadForm(f *testing.F) {
	f.Add("grant_type=authorization_code&code=x", "", "application/x-www-form-urlencoded", false)
	f.Add("a=%zz&b", "x=1", "application/x-www-form-urlencoded; charset=utf-8", true)
	f.Add("\x00\xff", "", "text/plain", false)
	f.Fuzz(func(t *testing.T, body, query, contentType string, compat bool) {
		target := "/t"
		if query != "" {
			target += "?" + strings.NewReplacer(" ", "%20", "#", "%23").Replace(query)
		}
		req, err := http.NewRequest("POST", target, strings.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", contentType)
		v, e := readForm(httptest.NewRecorder(), req, compat)
		if e != nil {
			if e.Status < 400 || e.Status >= 500 {
				t.Fatalf("status %d for bad input", e.Status)
			}
			return
		}
		for k, vs := range v {
			if len(vs) != 1 || vs[0] == "" {
				t.Fatalf("parameter %q kept values %q", k, vs)
			}
		}
	})
}
