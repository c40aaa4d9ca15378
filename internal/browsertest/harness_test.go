package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testnode"
	"github.com/gatehouse/gatehouse/internal/user"
)

// testTimeout bounds one browser: its start, every page and every wait.
const testTimeout = 30 * time.Second

// ---------------------------------------------------------------------------
// The Gatehouse node

// node is one Gatehouse server running in-process on a free loopback port.
type node struct {
	t    *testing.T
	gh   *server.Gatehouse
	base string // http://127.0.0.1:PORT, no trailing slash
}

// startNode starts a node in dev mode with a fresh SQLite file, as
// internal/e2e's newEnv does, and stops it when the test ends.
func startNode(t *testing.T, mutate ...func(*config.Config)) *node {
	t.Helper()
	n := testnode.Start(t, testnode.Options{}, mutate...)
	return &node{t: t, gh: n.Gatehouse, base: n.BaseURL}
}

func (n *node) createUser(username, password string, level store.Level, groups ...string) store.User {
	n.t.Helper()
	u, err := n.gh.Users.Create(context.Background(), user.NewUser{Username: username, Password: password, Level: level, Groups: groups})
	if err != nil {
		n.t.Fatal(err)
	}
	return u
}

// createClient registers a confidential application that redirects to cb
// and returns it with its secret.
func (n *node) createClient(cb *callback, r app.Registration) (store.Client, string) {
	n.t.Helper()
	if r.Name == "" {
		r.Name = "Test application"
	}
	if r.RedirectURIs == nil {
		r.RedirectURIs = []string{cb.URL}
	}
	if r.Scopes == nil {
		r.Scopes = []string{"READ", "WRITE", "ADMIN"}
	}
	c, secretValue, err := n.gh.Apps.Create(context.Background(), r)
	if err != nil {
		n.t.Fatal(err)
	}
	return c, secretValue
}

// authorizeURL is a complete authorization request of c that answers to cb.
func (n *node) authorizeURL(c store.Client, cb *callback, scope, state string) string {
	v := url.Values{"client_id": {c.ID}, "redirect_uri": {cb.URL}, "response_type": {"code"}, "scope": {scope}, "state": {state}}
	return n.base + "/rest/oauth2/latest/authorize?" + v.Encode()
}

// jsonAnswer is a decoded JSON answer of the server.
type jsonAnswer struct {
	status int
	body   map[string]any
	raw    string
}

func (a jsonAnswer) str(k string) string { s, _ := a.body[k].(string); return s }

func (n *node) send(req *http.Request) jsonAnswer {
	n.t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		n.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := jsonAnswer{status: resp.StatusCode, raw: string(raw)}
	json.Unmarshal(raw, &a.body)
	return a
}

// exchange redeems an authorization code at the token endpoint over plain
// HTTP, as the client's back end would, with HTTP Basic client credentials.
func (n *node) exchange(code, redirectURI, clientID, clientSecret string) jsonAnswer {
	n.t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}
	req, _ := http.NewRequest("POST", n.base+"/rest/oauth2/latest/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(clientSecret))
	return n.send(req)
}

// myself calls the protected resource with a Bearer token.
func (n *node) myself(accessToken string) jsonAnswer {
	n.t.Helper()
	req, _ := http.NewRequest("GET", n.base+"/rest/api/latest/myself", nil)
	req.Header.Set("Authorization", "Bearer "+accessToken)
	return n.send(req)
}

// ---------------------------------------------------------------------------
// The fake OAuth client

// callback is a fake OAuth client's redirect endpoint on its own loopback
// origin. It records the query of every request, and answers with a small
// page so that the browser really lands somewhere.
type callback struct {
	URL    string // the redirect URI, http://127.0.0.1:PORT/callback
	Origin string // http://127.0.0.1:PORT
	srv    *httptest.Server
	got    chan url.Values
}

func newCallback(t *testing.T) *callback {
	t.Helper()
	cb := &callback{got: make(chan url.Values, 16)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		select {
		case cb.got <- r.URL.Query():
		default:
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Client callback</title></head>`+
			`<body><h1 id="callback">The client received the callback</h1></body></html>`)
	})
	cb.srv = httptest.NewServer(mux) // listens on 127.0.0.1
	t.Cleanup(cb.srv.Close)
	cb.Origin = cb.srv.URL
	cb.URL = cb.srv.URL + "/callback"
	return cb
}

// handle serves extra pages on the client's origin (for example a page that
// tries to frame Gatehouse).
func (cb *callback) handle(pattern string, h http.HandlerFunc) {
	cb.srv.Config.Handler.(*http.ServeMux).HandleFunc(pattern, h)
}

// wait returns the query of the next callback request, or fails the test when
// ctx ends first.
func (cb *callback) wait(t *testing.T, ctx context.Context) url.Values {
	t.Helper()
	select {
	case q := <-cb.got:
		return q
	case <-ctx.Done():
		t.Fatalf("the callback %s was not called: %v", cb.URL, ctx.Err())
		return nil
	}
}

// ---------------------------------------------------------------------------
// The browser

// chromiumPath finds Debian's Chromium. Without it the test skips, or fails
// when CI=true (CI must run every test; scripts/install-chromium.sh installs it).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found on PATH (run scripts/install-chromium.sh); with CI=true the browser tests fail rather than skip")
	}
	t.Skip("chromium not found on PATH; run scripts/install-chromium.sh to run the browser tests")
	return ""
}

var logVersion sync.Once

// newBrowser starts a headless Chromium with a fresh profile and returns the
// context of its first tab. The context ends after testTimeout, which bounds
// everything the test does in the browser; the browser is closed, and its
// profile removed, when the test ends. extra adds or overrides flags.
func newBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	execPath := chromiumPath(t)
	out := &syncBuffer{}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], // headless, no first run, no background networking, no sync, ...
		chromedp.ExecPath(execPath),
		chromedp.NoSandbox, // we run as root on CI machines
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(out),
		// No UserDataDir: the allocator makes a fresh temporary profile for
		// this browser and removes it (retrying while Chromium's helpers
		// exit) after the browser has stopped.
	)
	opts = append(opts, extra...)
	timeoutCtx, cancelTimeout := context.WithTimeout(context.Background(), testTimeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(timeoutCtx, opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelCtx()   // closes the tab and the browser
		cancelAlloc() // waits until the browser process has exited
		cancelTimeout()
		if t.Failed() {
			if s := out.String(); s != "" {
				t.Logf("chromium output:\n%s", s)
			}
		}
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser and opens the tab
		t.Fatalf("start chromium (%s): %v\n%s", execPath, err, out.String())
	}
	// A headless tab is not the focused window, so it would draw no focus
	// ring until the first key press; emulate focus as a person's window has.
	if _, err := chromedp.Call(ctx, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true}); err != nil {
		t.Fatal(err)
	}
	logVersion.Do(func() {
		if v, err := chromedp.CallBrowser(ctx, browser.GetVersion, cdp.Empty{}); err == nil {
			t.Logf("browser: %s (%s)", v.Product, execPath)
		}
	})
	return ctx
}

// newBrowserLang starts a browser whose preferred language is lang, as a
// person's browser set to that language would be: the UI language and
// Accept-Language flags, and the Accept-Language header on every request of
// the tab.
func newBrowserLang(t *testing.T, lang string) context.Context {
	t.Helper()
	ctx := newBrowser(t, chromedp.Flag("lang", lang), chromedp.Flag("accept-lang", lang))
	_, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
		Headers: network.Headers{"Accept-Language": lang},
	})
	if err != nil {
		t.Fatal(err)
	}
	return ctx
}

// navigate loads rawURL and waits until the page has loaded; it returns the
// response of the final document (after redirects).
func navigate(t *testing.T, ctx context.Context, rawURL string) *network.Response {
	t.Helper()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(rawURL))
	if err != nil {
		t.Fatalf("navigate to %s: %v", rawURL, err)
	}
	return resp
}

// waitPage runs the actions (a click, a key press) that make the page
// navigate, waits until the new document has loaded and returns its response.
func waitPage(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) *network.Response {
	t.Helper()
	resp, err := chromedp.RunResponse(ctx, actions...)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if resp == nil {
		t.Fatalf("%s: the page did not navigate", what)
	}
	return resp
}

// clickPage clicks the first visible element that matches the CSS selector
// (a link, a submit button) and waits for the page it leads to.
func clickPage(t *testing.T, ctx context.Context, css string) *network.Response {
	t.Helper()
	return waitPage(t, ctx, "click "+css, chromedp.Click(chromedp.CSS(css), chromedp.NodeVisible))
}

// location is the URL of the current page.
func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// text returns the visible text of the first element that matches the CSS
// selector, waiting until one is visible.
func text(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css), chromedp.NodeVisible))
	if err != nil {
		t.Fatalf("text of %q on %s: %v", css, location(t, ctx), err)
	}
	return strings.TrimSpace(s)
}

// texts returns the visible text of every element that matches the CSS
// selector (none when nothing matches).
func texts(t *testing.T, ctx context.Context, css string) []string {
	t.Helper()
	js := `Array.from(document.querySelectorAll(` + jsString(css) + `), e => e.innerText.trim())`
	return evaluate[[]string](t, ctx, js)
}

// evaluate runs a JavaScript expression in the page and decodes its result.
func evaluate[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// signIn signs in through the real sign-in page at baseURL, typing into the
// form as a person would, and fails the test unless the browser leaves the
// sign-in page.
func signIn(t *testing.T, ctx context.Context, baseURL, username, password string) {
	t.Helper()
	navigate(t, ctx, baseURL+"/login")
	submitSignIn(t, ctx, username, password)
}

// submitSignIn fills in the sign-in form of the current page and submits
// it; it fails the test unless the browser leaves the sign-in page.
func submitSignIn(t *testing.T, ctx context.Context, username, password string) *network.Response {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.Clear(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), username),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
	); err != nil {
		t.Fatalf("fill in the sign-in form on %s: %v", location(t, ctx), err)
	}
	resp := clickPage(t, ctx, `form[action="/login"] button[type="submit"]`)
	if onSignInPage(t, ctx) {
		t.Fatalf("still on the sign-in page after signing in as %s (%d): %v", username, resp.Status,
			texts(t, ctx, `[role="alert"]`))
	}
	return resp
}

// onSignInPage reports whether the current page shows the sign-in form.
func onSignInPage(t *testing.T, ctx context.Context) bool {
	t.Helper()
	return evaluate[bool](t, ctx, `!!document.querySelector('form[action="/login"] #password')`)
}

// screenshot saves a full-page PNG of the current page as
// test-artifacts/screenshots/NAME.png at the repository root.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := filepath.Join(repoRoot(t), "test-artifacts", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// repoRoot is the directory of go.mod above the package directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			t.Fatalf("no go.mod above %s", dir)
		}
	}
}

// syncBuffer collects Chromium's output, written from the allocator's goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 64<<10 {
		return len(p), nil // enough to see why it failed
	}
	return b.buf.Write(p)
}

// String is the output less the lines about D-Bus, which a headless browser
// on a machine without a session bus prints by the dozen and which never
// matter here.
func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var keep []string
	for _, line := range strings.SplitAfter(b.buf.String(), "\n") {
		if !strings.Contains(line, "dbus/") && strings.TrimSpace(line) != "" {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "")
}
