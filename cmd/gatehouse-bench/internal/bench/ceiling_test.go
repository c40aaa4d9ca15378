package bench

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The POST of ceiling-post must do what an introspection request makes
// net/http do, or the floor it measures is too low: it reads the Basic
// credentials and the form, and refuses a request without either.
func TestCeilingPostReadsTheRequest(t *testing.T) {
	srv, err := StartCeiling("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	post := func(basic bool, form string) (int, string) {
		req, err := http.NewRequest("POST", srv.URL+CeilingPath, strings.NewReader(form))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if basic {
			req.SetBasicAuth("client", "secret")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := post(true, "token="+ceilingToken); code != http.StatusOK || len(body) != 206 || !strings.HasPrefix(body, `{"active":true,`) {
		t.Errorf("with credentials and a token: %d %q", code, body)
	}
	if code, _ := post(false, "token="+ceilingToken); code != http.StatusBadRequest {
		t.Errorf("without credentials: %d, want 400", code)
	}
	if code, _ := post(true, "other=1"); code != http.StatusBadRequest {
		t.Errorf("without a token: %d, want 400", code)
	}
}

// The ceiling-flow handlers must read what Gatehouse's read and answer as
// many bytes, or the browser flow's floor is too low; and they refuse a
// request without what Gatehouse would refuse it for lacking.
func TestCeilingFlowReadsTheRequests(t *testing.T) {
	srv, err := StartCeiling("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	do := func(method, path, body string, session, basic bool) (*http.Response, string) {
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if session {
			req.Header.Set("Cookie", ceilingSession)
		}
		if basic {
			req.SetBasicAuth("client", ceilingSecret)
		}
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	authorize := pathAuthorize + "?response_type=code&client_id=c&redirect_uri=" + url.QueryEscape(RedirectURI) + "&state=s%20t"
	resp, page := do("GET", authorize, "", true, false)
	form, ok := findForm([]byte(page), "/consent")
	if resp.StatusCode != http.StatusOK || len(page) != ceilingPageBytes || !ok || resp.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("consent page: %d, %d bytes, form %v %+v", resp.StatusCode, len(page), ok, form)
	}
	v := url.Values{"decision": {"allow"}}
	for _, kv := range form.fields {
		v.Set(kv[0], kv[1])
	}
	resp, _ = do("POST", form.action, v.Encode(), true, false)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, RedirectURI+"?code=gac_") || !strings.HasSuffix(loc, "&state=s+t") {
		t.Fatalf("Allow: %d, Location %q", resp.StatusCode, loc)
	}
	exchange := "grant_type=authorization_code&code=gac_x&code_verifier=v"
	resp, pair := do("POST", pathToken, exchange, false, true)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(pair, `{"access_token":"gat_`) || len(pair) != len(ceilingTokenPair) {
		t.Fatalf("code exchange: %d %q", resp.StatusCode, pair)
	}
	for name, refused := range map[string]func() (*http.Response, string){
		"authorization without a session": func() (*http.Response, string) { return do("GET", authorize, "", false, false) },
		"authorization without a request": func() (*http.Response, string) { return do("GET", pathAuthorize, "", true, false) },
		"Allow without a session":         func() (*http.Response, string) { return do("POST", pathConsent, v.Encode(), false, false) },
		"Allow with a forged consent ID": func() (*http.Response, string) {
			return do("POST", pathConsent, "csrf_token=x&consent_id=%25%25", true, false)
		},
		"exchange without credentials": func() (*http.Response, string) { return do("POST", pathToken, exchange, false, false) },
		"exchange without a verifier":  func() (*http.Response, string) { return do("POST", pathToken, "code=gac_x", false, true) },
	} {
		if resp, _ := refused(); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", name, resp.StatusCode)
		}
	}
}
