package e2e

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/internal/app"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// golden is the stable form of one HTTP answer.
type golden struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    any               `json:"body"`
}

// goldenHeaders are the response headers worth pinning.
var goldenHeaders = []string{"Content-Type", "Cache-Control", "Pragma", "WWW-Authenticate", "Allow"}

// Values that change from run to run, by JSON key.
var (
	volatileStrings = map[string]string{"access_token": "<access_token>", "refresh_token": "<refresh_token>"}
	volatileNumbers = map[string]bool{"created_at": true, "iat": true, "exp": true}
)

// normalizer replaces run-specific values: tokens, times, IDs and the base URL's port.
type normalizer struct{ replace *strings.Replacer }

func newNormalizer(e *env, ids map[string]string) normalizer {
	pairs := []string{e.base, "http://127.0.0.1:PORT"}
	for value, placeholder := range ids {
		pairs = append(pairs, value, placeholder)
	}
	return normalizer{strings.NewReplacer(pairs...)}
}

func (n normalizer) value(key string, v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = n.value(k, x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = n.value("", x)
		}
		return out
	case string:
		if p, ok := volatileStrings[key]; ok && v != "" {
			return p
		}
		return n.replace.Replace(v)
	case float64:
		if volatileNumbers[key] {
			return 0
		}
	}
	return v
}

func (n normalizer) answer(status int, h http.Header, raw string) golden {
	g := golden{Status: status, Headers: map[string]string{}}
	for _, k := range goldenHeaders {
		if v := h.Get(k); v != "" {
			g.Headers[k] = n.replace.Replace(v)
		}
	}
	var body any
	if err := json.Unmarshal([]byte(raw), &body); err != nil {
		body = raw
	}
	g.Body = n.value("", body)
	return g
}

// checkGolden compares got with testdata/golden/name.json, or rewrites it with -update.
func checkGolden(t *testing.T, name string, got golden) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep "<access_token>" readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(got); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/e2e -run TestGolden -update to create it)", err)
	}
	if !bytes.Equal(want, data) {
		t.Fatalf("%s differs from the golden file (-want +got):\n%s", path, cmp.Diff(string(want), string(data)))
	}
}

func TestGolden(t *testing.T) {
	w := newWorld(t, app.Registration{Grants: []string{app.GrantAuthorizationCode, app.GrantRefreshToken, app.GrantClientCredentials}})
	alice, err := w.node.Users.ByUsername(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	n := newNormalizer(w.env, map[string]string{w.client.ID: "<client_id>", w.rs.ID: "<resource_server_id>", alice.ID: "<user_id>"})
	tok := func(r tokenResult) golden { return n.answer(r.status, r.header, r.raw) }

	t.Run("token_response", func(t *testing.T) {
		checkGolden(t, "token_response", tok(w.issue(w.alice, w.client, w.secret, "READ WRITE")))
	})
	t.Run("introspection_response", func(t *testing.T) {
		pair := w.issue(w.alice, w.client, w.secret, "READ")
		checkGolden(t, "introspection_access_token", tok(w.introspect(pair.str("access_token"))))
		checkGolden(t, "introspection_refresh_token", tok(w.introspect(pair.str("refresh_token"))))
		checkGolden(t, "introspection_inactive", tok(w.introspect("gat_nothing")))
	})
	t.Run("metadata", func(t *testing.T) {
		r := w.request("GET", "/.well-known/oauth-authorization-server", "", nil)
		checkGolden(t, "metadata", tok(r))
	})
	t.Run("error_invalid_grant", func(t *testing.T) {
		r := w.redeem(w.client, w.secret, "gac_"+strings.Repeat("A", 51))
		checkGolden(t, "error_invalid_grant", tok(r))
	})
	t.Run("error_invalid_client", func(t *testing.T) {
		r := w.token(form("grant_type", "client_credentials"), w.client.ID, "gcs_wrong")
		checkGolden(t, "error_invalid_client", tok(r))
	})
	t.Run("error_unsupported_grant_type", func(t *testing.T) {
		r := w.token(form("grant_type", "password", "username", "alice", "password", alicePassword), w.client.ID, w.secret)
		checkGolden(t, "error_unsupported_grant_type", tok(r))
	})
	t.Run("error_invalid_request_query_parameters", func(t *testing.T) {
		r := w.request("POST", pathToken+"?grant_type=client_credentials", "", nil, withBasic(w.client.ID, w.secret))
		checkGolden(t, "error_invalid_request_query_parameters", tok(r))
	})
	t.Run("myself", func(t *testing.T) {
		pair := w.issue(w.alice, w.client, w.secret, "READ")
		checkGolden(t, "myself", tok(w.myself(pair.str("access_token"))))
		checkGolden(t, "myself_invalid_token", tok(w.myself("gat_nothing")))
	})
}
