package bench

import (
	"net/http"
	"testing"
)

const consentPage = `<!doctype html><html><body>
<header><form method="post" action="/logout"><input type="hidden" name="csrf_token" value="wrong"><button>Sign out</button></form></header>
<form method="post" action="/plugins/servlet/oauth2/consent">
  <input type="hidden" name="csrf_token" value="abc&#43;/=">
  <input type="hidden" name="redirect_uri" value="http://127.0.0.1:9/bench-callback">
  <input name="state" value='s&amp;1' type=hidden>
  <input type="text" name="ignored" value="x">
  <button type="submit" name="decision" value="allow">Allow</button>
</form></body></html>`

func TestFindForm(t *testing.T) {
	f, ok := findForm([]byte(consentPage), "/consent")
	if !ok || f.action != "/plugins/servlet/oauth2/consent" {
		t.Fatalf("%v %+v", ok, f)
	}
	if f.get("csrf_token") != "abc+/=" || f.get("redirect_uri") != "http://127.0.0.1:9/bench-callback" || f.get("state") != "s&1" || f.get("ignored") != "" || len(f.fields) != 3 {
		t.Fatalf("%+v", f.fields)
	}
	if f, ok := findForm([]byte(consentPage), "/logout"); !ok || f.get("csrf_token") != "wrong" {
		t.Fatalf("%+v", f)
	}
	if _, ok := findForm([]byte(consentPage), "/login"); ok {
		t.Fatal("found a form that is not there")
	}
	if _, ok := findForm([]byte(`<form action="/login"><input type="hidden" name="a" value="unterminated`), "/login"); !ok {
		t.Fatal("a truncated page's form is not found")
	}
}

func TestJSONString(t *testing.T) {
	for _, tc := range []struct {
		body, key, want string
		ok              bool
	}{
		{`{"access_token":"gat_x","token_type":"bearer"}`, "access_token", "gat_x", true},
		{`{"a": "x", "access_token" : "y"}`, "access_token", "y", true},
		{`{"not_access_token":"z","access_token":"y"}`, "access_token", "y", true},
		{`{"refresh_token":"a\/b"}`, "refresh_token", "a/b", true},
		{`{"access_token":7}`, "access_token", "", false},
		{`{"error":"invalid_client"}`, "access_token", "", false},
		{`{"scope":"access_token"}`, "access_token", "", false},
	} {
		got, ok := jsonString([]byte(tc.body), tc.key)
		if ok != tc.ok || string(got) != tc.want {
			t.Errorf("%s: %q %v", tc.body, got, ok)
		}
	}
	if !jsonTrue([]byte(`{"active":true,"scope":"READ"}`), "active") || !jsonTrue([]byte(`{"active": true}`), "active") || jsonTrue([]byte(`{"active":false}`), "active") {
		t.Fatal("jsonTrue")
	}
}

func TestCookies(t *testing.T) {
	var c cookies
	c.update(http.Header{"Set-Cookie": {"gatehouse_session=one; Path=/; HttpOnly; SameSite=Lax", "lang=en; Path=/"}})
	if c.header != "gatehouse_session=one; lang=en" {
		t.Fatalf("%q", c.header)
	}
	c.update(http.Header{"Set-Cookie": {"gatehouse_session=two; Path=/"}})
	if c.header != "lang=en; gatehouse_session=two" {
		t.Fatalf("%q", c.header)
	}
	c.update(http.Header{"Set-Cookie": {"lang=; Max-Age=0", "gatehouse_session=x; Expires=Thu, 01 Jan 1970 00:00:01 GMT"}})
	if c.header != "" {
		t.Fatalf("%q", c.header)
	}
	c.update(http.Header{"Set-Cookie": {"a=b"}})
	c.reset()
	if c.header != "" || len(c.list) != 0 {
		t.Fatal("reset")
	}
}

func TestAppendFormValue(t *testing.T) {
	if got := string(appendFormValue([]byte("t="), []byte("grt_AZaz09-_"))); got != "t=grt_AZaz09-_" {
		t.Fatal(got)
	}
	if got := string(appendFormValue(nil, []byte("a+b/c"))); got != "a%2Bb%2Fc" {
		t.Fatal(got)
	}
}
