package bench

import (
	"database/sql"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/store"
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
	if resp, answer := do("POST", pathToken, "grant_type=client_credentials&scope=READ+WRITE", false, true); resp.StatusCode != http.StatusOK ||
		!strings.HasPrefix(answer, `{"access_token":"gat_`) || len(answer) != len(ceilingAccessToken) {
		t.Fatalf("client_credentials: %d %q", resp.StatusCode, answer)
	}
	rotation := "grant_type=refresh_token&refresh_token=grt_x"
	if resp, pair := do("POST", pathToken, rotation, false, true); resp.StatusCode != http.StatusOK || !strings.Contains(pair, `"refresh_token":"grt_`) || len(pair) != len(ceilingTokenPair) {
		t.Fatalf("refresh: %d %q", resp.StatusCode, pair)
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
		"refresh without credentials":  func() (*http.Response, string) { return do("POST", pathToken, rotation, false, false) },
		"refresh without a token":      func() (*http.Response, string) { return do("POST", pathToken, "grant_type=refresh_token", false, true) },
		"client_credentials without credentials": func() (*http.Response, string) {
			return do("POST", pathToken, "grant_type=client_credentials", false, false)
		},
		"a token request that is no form": func() (*http.Response, string) { return do("POST", pathToken, "%zz", false, true) },
	} {
		if resp, _ := refused(); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", name, resp.StatusCode)
		}
	}
}

// With a floor, the flow's writes are real: each Allow stores a fresh code,
// each exchange redeems it once and stores a token pair, and /metrics gives
// the fsyncs that --flushes reads. The ceiling-flow scenario runs clean
// against it, with at least one flush per few exchanges — with the minimal
// storage and with Gatehouse's own.
func TestCeilingFloorStoresTheFlow(t *testing.T) {
	for _, storage := range []string{FloorMinimal, FloorRequired, FloorGatehouse} {
		t.Run(storage, func(t *testing.T) { testCeilingFloor(t, storage) })
	}
	if _, err := StartCeilingFloor(t.Context(), "127.0.0.1:0", t.TempDir(), "everything"); err == nil {
		t.Error("an unknown floor storage was accepted")
	}
}

// startFloor starts a ceiling server storing with storage in a fresh
// directory, closed when the test ends.
func startFloor(t *testing.T, storage string) (*CeilingServer, string) {
	t.Helper()
	dir := t.TempDir()
	srv, err := StartCeilingFloor(t.Context(), "127.0.0.1:0", dir, storage)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, dir
}

func testCeilingFloor(t *testing.T, storage string) {
	srv, dir := startFloor(t, storage)
	r := runAgainstFloor(t, srv, "ceiling-flow", 2)
	if r.Operations == 0 || r.Errors != 0 || r.HTTPRequests < 3*r.Operations {
		t.Fatalf("%d flows, %d errors %v, %d requests", r.Operations, r.Errors, r.ErrorSamples, r.HTTPRequests)
	}
	// Each exchange waits for a flush, which two browsers share at most.
	if r.ServerFlushesPerOp < 0.45 {
		t.Errorf("%.2f flushes per flow, want each exchange flushed", r.ServerFlushesPerOp)
	}

	// A code is redeemed once: the same exchange again is refused.
	post := func(path, form string, basic bool) *http.Response {
		resp, _ := floorPost(t, srv, path, form, basic)
		return resp
	}
	id := base64.RawURLEncoding.EncodeToString([]byte("client_id=c&redirect_uri=" + url.QueryEscape(RedirectURI) + "&state=s"))
	exchange := floorAllow(t, srv, id)
	if resp := post(pathToken, exchange, true); resp.StatusCode != http.StatusOK {
		t.Fatalf("exchange: %d", resp.StatusCode)
	}
	if resp := post(pathToken, exchange, true); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("the same code again: %d, want 400", resp.StatusCode)
	}
	if resp := post(pathToken, "grant_type=authorization_code&code=gac_unknown&code_verifier=v", true); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("an unknown code: %d, want 400", resp.StatusCode)
	}
	if storage == FloorMinimal {
		return
	}
	// The required and Gatehouse's storage decide a consent page once, audit
	// each Allow, and hold the user to the refresh cap however many flows ran.
	if resp := post(pathConsent, "csrf_token=x&decision=allow&consent_id="+id+ceilingSignature, false); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("the same consent decided again: %d, want 400", resp.StatusCode)
	}
	if storage == FloorRequired {
		audits, live := requiredFloorCounts(t, dir)
		if audits < r.Operations || live != floorRefreshCap {
			t.Errorf("%d consent audit rows and %d live refresh tokens after %d flows, want at least as many rows and the cap's %d",
				audits, live, r.Operations, floorRefreshCap)
		}
		return
	}
	s := srv.floor.(*gatehouseStorage).s
	events, err := s.ListAudit(t.Context(), store.AuditFilter{Kind: audit.ConsentAllow, Limit: 1000})
	if err != nil || int64(len(events)) < min(r.Operations, 1000) {
		t.Errorf("%d consent audit rows after %d flows (%v)", len(events), r.Operations, err)
	}
	live, err := s.ListActiveTokens(t.Context(), store.TokenFilter{UserID: "bench", Kind: store.KindRefresh}, time.Now())
	if err != nil || len(live) != floorRefreshCap {
		t.Errorf("%d live refresh tokens after %d flows, want the cap's %d (%v)", len(live), r.Operations, floorRefreshCap, err)
	}
}

// With a floor, a refresh rotates for real: ceiling-refresh runs clean
// against every storage with each rotation flushed; a rotated token is
// refused, its successor works, and the access token issued with the
// rotated one is revoked.
func TestCeilingFloorRotates(t *testing.T) {
	for _, storage := range []string{FloorMinimal, FloorRequired, FloorGatehouse} {
		t.Run(storage, func(t *testing.T) { testCeilingFloorRotates(t, storage) })
	}
}

func testCeilingFloorRotates(t *testing.T, storage string) {
	srv, dir := startFloor(t, storage)
	r := runAgainstFloor(t, srv, "ceiling-refresh", 2)
	if r.Operations == 0 || r.Errors != 0 || r.HTTPRequests != r.Operations {
		t.Fatalf("%d rotations, %d errors %v, %d requests", r.Operations, r.Errors, r.ErrorSamples, r.HTTPRequests)
	}
	if r.ServerFlushesPerOp < 0.45 {
		t.Errorf("%.2f flushes per rotation, want each rotation flushed", r.ServerFlushesPerOp)
	}

	// A chain of the test's own, from a flow.
	id := base64.RawURLEncoding.EncodeToString([]byte("client_id=c&redirect_uri=" + url.QueryEscape(RedirectURI) + "&state=chain"))
	resp, pair := floorPost(t, srv, pathToken, floorAllow(t, srv, id), true)
	first, _ := jsonString(pair, "refresh_token")
	firstAccess, _ := jsonString(pair, "access_token")
	if resp.StatusCode != http.StatusOK || len(first) == 0 {
		t.Fatalf("exchange: %d %s", resp.StatusCode, pair)
	}
	rotate := func(refresh []byte) (*http.Response, []byte) {
		return floorPost(t, srv, pathToken, "grant_type=refresh_token&refresh_token="+string(refresh), true)
	}
	resp, pair = rotate(first)
	second, _ := jsonString(pair, "refresh_token")
	if resp.StatusCode != http.StatusOK || len(second) == 0 || string(second) == string(first) {
		t.Fatalf("rotation: %d %s", resp.StatusCode, pair)
	}
	if resp, _ := rotate(first); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("the rotated token again: %d, want 400", resp.StatusCode)
	}
	if resp, _ := rotate([]byte("grt_unknown")); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("an unknown refresh token: %d, want 400", resp.StatusCode)
	}
	if resp, _ := rotate(firstAccess); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("an access token as a refresh token: %d, want 400", resp.StatusCode)
	}
	if storage == FloorGatehouse {
		// A node's store counts the rotated token again as a reuse: the
		// grant is revoked, the successor with it.
		if resp, _ := rotate(second); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("the successor after a reuse: %d, want 400 (the grant revoked)", resp.StatusCode)
		}
		s := srv.floor.(*gatehouseStorage).s
		if old, err := s.TokenByHash(t.Context(), floorHash(string(firstAccess))); err != nil || old.RevokedAt.IsZero() {
			t.Errorf("the rotated token's access token: %+v, %v; want it revoked", old, err)
		}
		return
	}
	if resp, _ := rotate(second); resp.StatusCode != http.StatusOK {
		t.Errorf("the successor: %d, want 200", resp.StatusCode)
	}
	// Every rotation, the scenario's and the test's, marked one refresh
	// token rotated and revoked the access token issued with it.
	rotated, revoked := floorRotationCounts(t, dir, storage)
	if rotated < r.Operations+2 || revoked != rotated {
		t.Errorf("%d rotated refresh tokens and %d revoked access tokens after %d rotations, want as many of each", rotated, revoked, r.Operations+2)
	}
}

// With a floor, each client_credentials token is a durable row: the
// scenario runs clean against every storage, its requests flushed, and the
// floor's table holds a token for each (bound to the client and scope in
// the required floor and Gatehouse's storage).
func TestCeilingFloorIssues(t *testing.T) {
	for _, storage := range []string{FloorMinimal, FloorRequired, FloorGatehouse} {
		t.Run(storage, func(t *testing.T) {
			srv, dir := startFloor(t, storage)
			r := runAgainstFloor(t, srv, "ceiling-client-credentials", 4)
			if r.Operations == 0 || r.Errors != 0 {
				t.Fatalf("%d tokens, %d errors %v", r.Operations, r.Errors, r.ErrorSamples)
			}
			// Four callers share a flush at most.
			if r.ServerFlushesPerOp < 0.2 {
				t.Errorf("%.2f flushes per token, want each token flushed", r.ServerFlushesPerOp)
			}
			table, bound := "flow_floor_tokens", "1"
			switch storage {
			case FloorRequired:
				table, bound = "flow_required_tokens", "client_id <> '' AND scope = 'READ WRITE' AND expires_at > created_at"
			case FloorGatehouse:
				table, bound = "tokens", "client_id = '"+floorClientID+"' AND scope = 'READ WRITE' AND expires_at > created_at"
			}
			if n := floorCount(t, dir, `SELECT count(*) FROM `+table+` WHERE kind = 'access' AND `+bound); n < r.Operations {
				t.Errorf("%d access tokens stored after %d requests, want one each", n, r.Operations)
			}
		})
	}
}

// runAgainstFloor runs scenario against the floor server srv for a second
// with c workers, the floor's flushes counted, and returns the run.
func runAgainstFloor(t *testing.T, srv *CeilingServer, scenario string, c int) RunResult {
	t.Helper()
	rep, err := Run(t.Context(), Options{Scenario: scenario, URLs: []string{srv.URL}, Concurrency: c, ServerPIDs: []int{os.Getpid()},
		Flushes: true, Duration: time.Second, Warmup: 100 * time.Millisecond, Runs: 1})
	if err != nil {
		t.Fatal(err)
	}
	return rep.Runs[0]
}

// floorCount runs a count query on the floor's database in dir.
func floorCount(t *testing.T, dir, query string) int64 {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "floor.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int64
	if err := db.QueryRowContext(t.Context(), query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// floorPost POSTs form to the floor server srv at path, as a signed-in
// browser (with the client's Basic credentials if basic), and returns the
// answer and its body, redirects not followed.
func floorPost(t *testing.T, srv *CeilingServer, path, form string, basic bool) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", ceilingSession)
	if basic {
		req.SetBasicAuth("client", ceilingSecret)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

// floorAllow allows the consent page whose ID is id on the floor server
// and returns the form of its code's exchange.
func floorAllow(t *testing.T, srv *CeilingServer, id string) string {
	t.Helper()
	allow, _ := floorPost(t, srv, pathConsent, "csrf_token=x&decision=allow&consent_id="+id+ceilingSignature, false)
	loc, err := url.Parse(allow.Header.Get("Location"))
	if allow.StatusCode != http.StatusSeeOther || err != nil || len(loc.Query().Get("code")) != len("gac_")+51 {
		t.Fatalf("Allow: %d, Location %q", allow.StatusCode, allow.Header.Get("Location"))
	}
	return "grant_type=authorization_code&code=" + loc.Query().Get("code") + "&code_verifier=v"
}

// floorRotationCounts reads a floor's database in dir: how many refresh
// tokens are rotated and how many access tokens revoked.
func floorRotationCounts(t *testing.T, dir, storage string) (rotated, revoked int64) {
	t.Helper()
	table := "flow_floor_tokens"
	if storage == FloorRequired {
		table = "flow_required_tokens"
	}
	return floorCount(t, dir, `SELECT count(*) FROM `+table+` WHERE kind = 'refresh' AND rotated_at <> 0`),
		floorCount(t, dir, `SELECT count(*) FROM `+table+` WHERE kind = 'access' AND revoked_at <> 0`)
}

// requiredFloorCounts reads the required floor's database in dir: its
// consent audit rows and the most live refresh tokens the bench user holds
// for one client (the cap is per user and client; the flows' client and the
// test's own are two).
func requiredFloorCounts(t *testing.T, dir string) (audits, live int64) {
	t.Helper()
	return floorCount(t, dir, `SELECT count(*) FROM flow_required_audit WHERE kind = 'consent.allow'`),
		floorCount(t, dir, `SELECT max(n) FROM (SELECT count(*) AS n FROM flow_required_tokens
			WHERE user_id = 'bench' AND kind = 'refresh' AND revoked_at = 0 GROUP BY client_id)`)
}
