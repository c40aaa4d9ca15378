package e2e

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
)

// binary returns n reproducible bytes covering every byte value.
func binary(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return b
}

// Bad input of any size or shape gets a 4xx answer with a clear message.
func TestTokenEndpointGarbage(t *testing.T) {
	w := newWorld(t, app.Registration{Grants: []string{app.GrantAuthorizationCode, app.GrantRefreshToken, app.GrantClientCredentials}})
	basic := withBasic(w.client.ID, w.secret)
	huge := strings.Repeat("A", 60<<10) // under the 64 KiB body limit
	cases := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        io.Reader
		status      int
		code        string
	}{
		{"binary body", "POST", pathToken, formType, bytes.NewReader(binary(4096)), 400, "invalid_request"},
		{"binary body without a content type", "POST", pathToken, "", bytes.NewReader(binary(4096)), 400, "invalid_request"},
		{"1 MiB body", "POST", pathToken, formType, bytes.NewReader(bytes.Repeat([]byte("a"), 1<<20)), 413, "invalid_request"},
		{"invalid percent-encoding", "POST", pathToken, formType, strings.NewReader("grant_type=client_credentials&scope=%zz"), 400, "invalid_request"},
		{"truncated percent-encoding", "POST", pathToken, formType, strings.NewReader("grant_type=client_credentials&scope=%"), 400, "invalid_request"},
		{"semicolon separator", "POST", pathToken, formType, strings.NewReader("grant_type=client_credentials;scope=READ"), 400, "invalid_request"},
		{"JSON body", "POST", pathToken, "application/json", strings.NewReader(`{"grant_type":"client_credentials"}`), 400, "invalid_request"},
		{"multipart body", "POST", pathToken, "multipart/form-data; boundary=x", strings.NewReader("--x\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\nclient_credentials\r\n--x--\r\n"), 400, "invalid_request"},
		{"malformed content type", "POST", pathToken, "application/x-www-form-urlencoded; charset", strings.NewReader("grant_type=client_credentials"), 400, "invalid_request"},
		{"GET", "GET", pathToken, "", nil, 405, "invalid_request"},
		{"PUT", "PUT", pathToken, formType, strings.NewReader("grant_type=client_credentials"), 405, "invalid_request"},
		{"NUL in a value", "POST", pathToken, formType, strings.NewReader("grant_type=client_credentials&scope=READ%00"), 400, "invalid_request"},
		{"newline in a value", "POST", pathToken, formType, strings.NewReader("grant_type=client_credentials&scope=READ%0AWRITE"), 400, "invalid_request"},
		{"DEL in a value", "POST", pathToken, formType, strings.NewReader("grant_type=client_credentials&scope=READ%7F"), 400, "invalid_request"},
		{"invalid UTF-8 in a value", "POST", pathToken, formType, strings.NewReader("grant_type=client_credentials&scope=%FF%FE"), 400, "invalid_request"},
		{"duplicated grant_type", "POST", pathToken, formType, strings.NewReader("grant_type=client_credentials&grant_type=client_credentials"), 400, "invalid_request"},
		{"duplicated scope", "POST", pathToken, formType, strings.NewReader("grant_type=client_credentials&scope=READ&scope=WRITE"), 400, "invalid_request"},
		{"garbage code", "POST", pathToken, formType, strings.NewReader("grant_type=authorization_code&code=xyz&redirect_uri=" + url.QueryEscape(callback)), 400, "invalid_grant"},
		{"huge code", "POST", pathToken, formType, strings.NewReader("grant_type=authorization_code&code=" + huge), 400, "invalid_grant"},
		{"code-shaped forgery", "POST", pathToken, formType, strings.NewReader("grant_type=authorization_code&code=gac_" + strings.Repeat("A", 51)), 400, "invalid_grant"},
		{"missing code", "POST", pathToken, formType, strings.NewReader("grant_type=authorization_code"), 400, "invalid_request"},
		{"garbage refresh_token", "POST", pathToken, formType, strings.NewReader("grant_type=refresh_token&refresh_token=%27%20OR%201%3D1"), 400, "invalid_grant"},
		{"huge refresh_token", "POST", pathToken, formType, strings.NewReader("grant_type=refresh_token&refresh_token=" + huge), 400, "invalid_grant"},
		{"missing refresh_token", "POST", pathToken, formType, strings.NewReader("grant_type=refresh_token"), 400, "invalid_request"},
		{"huge scope", "POST", pathToken, formType, strings.NewReader("grant_type=client_credentials&scope=" + huge), 400, "invalid_scope"},
		{"many scopes", "POST", pathToken, formType, strings.NewReader("grant_type=client_credentials&scope=" + strings.Repeat("READ+", 5000)), 400, "invalid_scope"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := w.request(tc.method, tc.path, tc.contentType, tc.body, basic)
			wantError(t, r, tc.status, tc.code)
			if tc.status == http.StatusMethodNotAllowed && r.header.Get("Allow") != "POST" {
				t.Fatalf("Allow %q, want POST", r.header.Get("Allow"))
			}
		})
	}
}

// Some vendor examples send the token request in the URL query string.
func TestQueryStringParameters(t *testing.T) {
	query := pathToken + "?grant_type=client_credentials&scope=READ"
	t.Run("refused by default, naming the setting", func(t *testing.T) {
		e := newEnv(t)
		c, secretValue := e.createClient(app.Registration{Grants: []string{app.GrantClientCredentials}, RedirectURIs: []string{}})
		r := e.request("POST", query, "", nil, withBasic(c.ID, secretValue))
		wantError(t, r, http.StatusBadRequest, "invalid_request")
		if !strings.Contains(r.str("error_description"), "compat.query_parameters") {
			t.Fatalf("the description does not name the setting: %s", r.raw)
		}
		// Also with a body, and on the other endpoints.
		wantError(t, e.request("POST", pathToken+"?scope=READ", formType, strings.NewReader("grant_type=client_credentials"), withBasic(c.ID, secretValue)), http.StatusBadRequest, "invalid_request")
		wantError(t, e.request("POST", pathIntro+"?token=x", "", nil, withBasic(c.ID, secretValue)), http.StatusBadRequest, "invalid_request")
		wantError(t, e.request("POST", pathRevoke+"?token=x", "", nil, withBasic(c.ID, secretValue)), http.StatusBadRequest, "invalid_request")
	})
	t.Run("accepted with compat.query_parameters", func(t *testing.T) {
		e := newEnv(t, func(c *config.Config) { c.Compat.QueryParameters = true })
		c, secretValue := e.createClient(app.Registration{Grants: []string{app.GrantClientCredentials}, RedirectURIs: []string{}})
		r := e.request("POST", query, "", nil, withBasic(c.ID, secretValue))
		wantOK(t, r)
		if r.str("scope") != "READ" {
			t.Fatalf("scope %q, want READ", r.str("scope"))
		}
		// Still one value per parameter.
		wantError(t, e.request("POST", pathToken+"?scope=READ", formType, strings.NewReader("grant_type=client_credentials&scope=WRITE"), withBasic(c.ID, secretValue)), http.StatusBadRequest, "invalid_request")
		wantError(t, e.request("POST", pathToken+"?grant_type=client_credentials&scope=READ&scope=WRITE", "", nil, withBasic(c.ID, secretValue)), http.StatusBadRequest, "invalid_request")
		wantError(t, e.request("POST", pathToken+"?grant_type=client_credentials&scope=%zz", "", nil, withBasic(c.ID, secretValue)), http.StatusBadRequest, "invalid_request")
	})
}

func TestIntrospectionAndRevocationOfGarbage(t *testing.T) {
	w := newWorld(t, app.Registration{})
	pair := w.issue(w.alice, w.client, w.secret, "READ")
	forged := []byte(pair.str("access_token"))
	forged[10] ^= 1
	garbage := map[string]string{
		"word":                   "hello",
		"huge":                   strings.Repeat("A", 60<<10),
		"access-token prefix":    "gat_",
		"token-shaped forgery":   "gat_" + strings.Repeat("A", 51),
		"one character changed":  string(forged),
		"a code":                 "gac_" + strings.Repeat("A", 51),
		"a client secret":        w.secret,
		"unicode":                "トークン",
		"SQL":                    "' OR 1=1 --",
		"refresh token, bad tag": tamperLast(pair.str("refresh_token")),
	}
	for name, tok := range garbage {
		t.Run("introspect "+name, func(t *testing.T) {
			r := w.postForm(pathIntro, form("token", tok), w.rs.ID, w.rsKey)
			if r.status != http.StatusOK || r.raw != "{\"active\":false}\n" {
				t.Fatalf("got %d %q, want 200 {\"active\":false}", r.status, r.raw)
			}
		})
		t.Run("revoke "+name, func(t *testing.T) {
			r := w.postForm(pathRevoke, form("token", tok), w.client.ID, w.secret)
			if r.status != http.StatusOK || r.raw != "" {
				t.Fatalf("got %d %q, want 200 and no body", r.status, r.raw)
			}
		})
	}
	t.Run("the real pair is untouched", func(t *testing.T) {
		w.wantActive(true, "the pair", pair.str("access_token"), pair.str("refresh_token"))
	})
	t.Run("missing token", func(t *testing.T) {
		wantError(t, w.postForm(pathIntro, url.Values{}, w.rs.ID, w.rsKey), http.StatusBadRequest, "invalid_request")
		wantError(t, w.postForm(pathRevoke, url.Values{}, w.client.ID, w.secret), http.StatusBadRequest, "invalid_request")
	})
	t.Run("token sent twice", func(t *testing.T) {
		body := "token=" + pair.str("access_token") + "&token=x"
		wantError(t, w.request("POST", pathIntro, formType, strings.NewReader(body), withBasic(w.rs.ID, w.rsKey)), http.StatusBadRequest, "invalid_request")
		wantError(t, w.request("POST", pathRevoke, formType, strings.NewReader(body), withBasic(w.client.ID, w.secret)), http.StatusBadRequest, "invalid_request")
		w.wantActive(true, "the access token", pair.str("access_token"))
	})
	t.Run("1 MiB body", func(t *testing.T) {
		big := func() io.Reader { return bytes.NewReader(bytes.Repeat([]byte("a"), 1<<20)) }
		wantError(t, w.request("POST", pathIntro, formType, big(), withBasic(w.rs.ID, w.rsKey)), http.StatusRequestEntityTooLarge, "invalid_request")
		wantError(t, w.request("POST", pathRevoke, formType, big(), withBasic(w.client.ID, w.secret)), http.StatusRequestEntityTooLarge, "invalid_request")
	})
}

func TestBearerGarbage(t *testing.T) {
	w := newWorld(t, app.Registration{})
	pair := w.issue(w.alice, w.client, w.secret, "READ")
	cases := []struct {
		name, header string
		status       int
		code         string
	}{
		{"no header", "", 401, ""},
		{"garbage", "Bearer !!!garbage!!!", 400, "invalid_request"},
		{"well-formed but unknown", "Bearer gat_garbage", 401, "invalid_token"},
		{"Bearer alone", "Bearer", 400, "invalid_request"},
		{"Bearer and spaces", "Bearer    ", 400, "invalid_request"},
		// RFC 6750 §3.1: another scheme carries no Bearer token, so no error code.
		{"another scheme", "Basic " + pair.str("access_token"), 401, ""},
		{"a scheme alone", "Digest", 401, ""},
		{"a refresh token", "Bearer " + pair.str("refresh_token"), 401, "invalid_token"},
		{"a client secret", "Bearer " + w.secret, 401, "invalid_token"},
		{"huge (20 KB)", "Bearer " + strings.Repeat("A", 20<<10), 401, "invalid_token"},
		// RFC 6750 §2.1: a token is a b64token; anything else is a malformed request.
		{"two tokens", "Bearer " + pair.str("access_token") + " " + pair.str("access_token"), 400, "invalid_request"},
		{"non-ASCII bytes", "Bearer " + pair.str("access_token") + "\xff\xfe", 400, "invalid_request"},
		{"a tab inside", "Bearer " + pair.str("access_token")[:20] + "\t" + pair.str("access_token")[20:], 400, "invalid_request"},
		{"a quote inside", "Bearer " + pair.str("access_token") + `"`, 400, "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r tokenResult
			if tc.header == "" {
				r = w.request("GET", "/rest/api/latest/myself", "", nil)
			} else {
				r = w.withAuthorization("/rest/api/latest/myself", tc.header)
			}
			wantBearerChallenge(t, r, tc.status, tc.code)
		})
	}
	t.Run("two Authorization headers, both the same token", func(t *testing.T) {
		twice := func(r *http.Request) {
			r.Header.Add("Authorization", "Bearer "+pair.str("access_token"))
			r.Header.Add("Authorization", "Bearer "+pair.str("access_token"))
		}
		wantBearerChallenge(t, w.request("GET", "/rest/api/latest/myself", "", nil, twice), 400, "invalid_request")
		emptyFirst := func(r *http.Request) {
			r.Header["Authorization"] = []string{"", "Bearer " + pair.str("access_token")}
		}
		wantBearerChallenge(t, w.request("GET", "/rest/api/latest/myself", "", nil, emptyFirst), 400, "invalid_request")
		// The token endpoint likewise takes one client authentication.
		basicTwice := func(r *http.Request) {
			r.SetBasicAuth(w.client.ID, w.secret)
			r.Header.Add("Authorization", r.Header.Get("Authorization"))
		}
		r := w.request("POST", pathToken, formType, strings.NewReader("grant_type=refresh_token&refresh_token="+pair.str("refresh_token")), basicTwice)
		wantError(t, r, http.StatusBadRequest, "invalid_request")
		if r.str("access_token") != "" {
			t.Fatal("a request with two Authorization headers got tokens")
		}
	})
	t.Run("larger than the header limit", func(t *testing.T) {
		r := w.withAuthorization("/rest/api/latest/myself", "Bearer "+strings.Repeat("A", 64<<10))
		if r.status != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("got %d, want 431", r.status)
		}
	})
	t.Run("scheme is case-insensitive (control)", func(t *testing.T) {
		if r := w.withAuthorization("/rest/api/latest/myself", "bearer "+pair.str("access_token")); r.status != http.StatusOK {
			t.Fatalf("got %d %s", r.status, r.raw)
		}
	})
}

func TestAuthorizeGarbage(t *testing.T) {
	e := newEnv(t)
	c, _ := e.createClient(app.Registration{})
	// A state that cannot be echoed is shown, not redirected
	// (TestAuthorizeNeverRedirectsToUntrustedTargets); every redirect here
	// carries state back.
	cases := []struct {
		name  string
		query string
		code  string
	}{
		{"invalid UTF-8 in scope", authParams(c, "READ").Encode() + "&scope=%FF", "invalid_request"},
		{"control character in scope", authParams(c, "READ\x00").Encode(), "invalid_request"},
		{"duplicated scope", authParams(c, "READ").Encode() + "&scope=WRITE", "invalid_request"},
		{"huge scope", authParams(c, strings.Repeat("READ ", 2000)).Encode(), "invalid_scope"},
		{"huge code_challenge", authParams(c, "READ", "code_challenge", strings.Repeat("a", 10<<10), "code_challenge_method", "S256").Encode(), "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := e.newBrowser().get("/rest/oauth2/latest/authorize?" + tc.query)
			q := wantRedirectErrorNoState(t, e, p, http.StatusFound, tc.code)
			if q.Get("state") != "st-123" {
				t.Fatalf("state %q in the redirect, want st-123", q.Get("state"))
			}
			if len(p.header.Get("Location")) > 4096 {
				t.Fatalf("the redirect is %d bytes long", len(p.header.Get("Location")))
			}
		})
	}
	pageCases := []struct{ name, query string }{
		{"invalid percent-encoding in redirect_uri", authParams(c, "READ", "redirect_uri", "").Encode() + "&redirect_uri=%zz"},
		{"invalid UTF-8 in redirect_uri", "client_id=" + c.ID + "&redirect_uri=http://127.0.0.1:7777/%FF"},
		{"huge redirect_uri", authParams(c, "READ", "redirect_uri", callback+"/"+strings.Repeat("a", 10<<10)).Encode()},
		{"huge client_id", authParams(c, "READ", "client_id", strings.Repeat("a", 10<<10)).Encode()},
		{"control character in redirect_uri", authParams(c, "READ", "redirect_uri", callback+"\r\nSet-Cookie: x=y").Encode()},
	}
	for _, tc := range pageCases {
		t.Run(tc.name, func(t *testing.T) {
			p := e.newBrowser().get("/rest/oauth2/latest/authorize?" + tc.query)
			if p.status != http.StatusBadRequest || p.header.Get("Location") != "" || p.header.Get("Set-Cookie") == "x=y" {
				t.Fatalf("got %d to %q, want a 400 error page", p.status, p.header.Get("Location"))
			}
		})
	}
}

// tamperLast changes the last character of s (in a credential: its tag).
func tamperLast(s string) string {
	last := byte('A')
	if s[len(s)-1] == 'A' {
		last = 'B'
	}
	return s[:len(s)-1] + string(last)
}
