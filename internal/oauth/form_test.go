package oauth

import (
	"net/http"
	"net/http/httptest"
	"net/url"
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
		// The fault named is the first in formParamNames' order, whatever the body's.
		{"two faults", formRequest("POST", "/t", form, "token=%01&scope=a&scope=b&grant_type=x&grant_type=y"), false, 400, "'grant_type' is sent more than once"},
		{"duplicate empty", formRequest("POST", "/t", form, "scope=&scope="), false, 400, "more than once"},
		{"bad escape", formRequest("POST", "/t", form, "a=%zz"), false, 400, "form encoding"},
		{"bad escape after the parameters read", formRequest("POST", "/t", form, "token=x&b%zz=1"), false, 400, "form encoding"},
		{"semicolon", formRequest("POST", "/t", form, "token=x;scope=READ"), false, 400, "form encoding"},
		{"bad escape in the query", formRequest("POST", "/t?a=%zz", form, "token=x"), true, 400, "URL query string"},
		{"empty pairs", formRequest("POST", "/t", form, "&&token=x&&"), false, 0, ""},
		{"10,000 parameters", formRequest("POST", "/t", form, "token=x"+strings.Repeat("&a", maxFormPairs-1)), false, 0, ""},
		{"10,001 parameters", formRequest("POST", "/t", form, "token=x"+strings.Repeat("&a", maxFormPairs)), false, 400, "form encoding"},
		{"10,001 parameters in the query", formRequest("POST", "/t?"+strings.Repeat("a&", maxFormPairs)+"a", form, "token=x"), true, 400, "URL query string"},
		{"empty query", formRequest("POST", "/t?&", form, "token=x"), false, 0, ""},
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
	if v != (formValues{paramToken: "x"}) {
		t.Fatalf("readForm = %q, want only token", v)
	}
}

// TestReadFormValues checks that each parameter is read under its own name,
// decoded, from the body and (compat) the query alike.
func TestReadFormValues(t *testing.T) {
	var body, want formValues
	for p, name := range formParamNames {
		body[p] = name + " +&=é"
		want[p] = body[p]
	}
	body[paramScope] = "" // sent in the query instead
	encoded := url.Values{}
	for p, v := range body {
		if v != "" {
			encoded.Set(formParamNames[p], v)
		}
	}
	encoded.Set("resource", "ignored")
	r := formRequest("POST", "/t?scope="+url.QueryEscape(want[paramScope]), "application/x-www-form-urlencoded", encoded.Encode())
	got, e := readForm(httptest.NewRecorder(), r, true)
	if e != nil {
		t.Fatalf("readForm = %v", e)
	}
	if got != want {
		t.Fatalf("readForm = %q, want %q", got, want)
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
		for p, value := range v {
			if unfitValue(value) != "" {
				t.Fatalf("parameter %s kept the unfit value %q", formParamNames[p], value)
			}
		}
	})
}

// FuzzFormParse holds the form parser to url.ParseQuery: the same forms are
// refused, and each parameter read comes with the values ParseQuery gives.
func FuzzFormParse(f *testing.F) {
	f.Add("grant_type=client_credentials&scope=READ+WRITE")
	f.Add("token=a%20b&token=&x;y=1")
	f.Add("a=%zz&&=&token")
	f.Fuzz(func(t *testing.T, s string) {
		var v formValues
		var sent [formParams]int
		pairs, err := v.parse(s, &sent)
		q, qerr := url.ParseQuery(s)
		if (err != nil) != (qerr != nil) {
			t.Fatalf("parse(%q) = %v, ParseQuery: %v", s, err, qerr)
		}
		if err != nil {
			return
		}
		total := 0
		for _, vs := range q {
			total += len(vs)
		}
		if pairs != total {
			t.Fatalf("parse(%q) counted %d pairs, ParseQuery %d", s, pairs, total)
		}
		for p, name := range formParamNames {
			if sent[p] != len(q[name]) || sent[p] > 0 && v[p] != q[name][len(q[name])-1] {
				t.Fatalf("parse(%q): %s sent %d times as %q, ParseQuery %q", s, name, sent[p], v[p], q[name])
			}
		}
	})
}
