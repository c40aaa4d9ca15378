package bench

import (
	"io"
	"net/http"
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
