package browsertest

import (
	"fmt"
	"html"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/store"
)

// TestConsentCannotBeFramed: a page on another origin that puts the consent
// page in an iframe (clickjacking) gets Chromium's error page in the frame,
// not the consent page; a frameable page in the same framing page renders,
// which shows the check can tell the two apart. The consent response carries
// X-Frame-Options DENY and CSP frame-ancestors 'none'.
//
// The framing page is on the fake client's origin, 127.0.0.1 on another port:
// cross-origin but same-site, so the SameSite=Lax session cookie does go with
// the framed request and only the anti-framing headers stop the page.
func TestConsentCannotBeFramed(t *testing.T) {
	n := startNode(t)
	cb := newCallback(t)
	n.createUser("dave", "dave-password", store.LevelUser)
	c, _ := n.createClient(cb, app.Registration{})
	ctx := newBrowser(t)

	signIn(t, ctx, n.base, "dave", "dave-password")
	navigate(t, ctx, n.authorizeURL(c, cb, "READ", "st-frame"))
	checkConsentPage(t, ctx, n, c, "en", "READ")
	consentURL := location(t, ctx)

	cb.handle("GET /framing", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Framing attempt</title></head><body>`+
			`<h1>A page on another origin framing Gatehouse</h1>`+
			`<iframe name="consent" src="%s" width="600" height="400"></iframe>`+
			`<iframe name="control" src="/callback?control=1" width="300" height="100"></iframe></body></html>`,
			html.EscapeString(consentURL))
	})
	responses := chromedp.Events(ctx, network.ResponseReceived) // subscribe before the page loads
	navigate(t, ctx, cb.Origin+"/framing")
	screenshot(t, ctx, "framing-attempt")

	tree, err := chromedp.Call(ctx, page.GetFrameTree, cdp.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	frames := map[string]*cdp.Frame{}
	for _, ch := range tree.FrameTree.ChildFrames {
		frames[ch.Frame.Name] = ch.Frame
	}
	control, consent := frames["control"], frames["consent"]
	if control == nil || consent == nil {
		t.Fatalf("frames of the framing page: %v", frames)
	}
	if !strings.HasPrefix(control.URL, cb.Origin+"/callback") || control.UnreachableURL != "" {
		t.Fatalf("the control frame did not render: url %q unreachable %q", control.URL, control.UnreachableURL)
	}
	if strings.HasPrefix(consent.URL, n.base) || consent.UnreachableURL != consentURL {
		t.Errorf("the consent frame rendered: url %q unreachable %q; want Chromium's error page for %s",
			consent.URL, consent.UnreachableURL, consentURL)
	}

	// The headers that made Chromium refuse, on the framed response itself.
	for ev, err := range responses {
		if err != nil {
			t.Fatalf("no response for the framed consent page: %v", err)
		}
		if ev.Type != network.ResourceTypeDocument || ev.Response.URL != consentURL {
			continue
		}
		h := map[string]string{}
		for k, v := range ev.Response.Headers {
			h[strings.ToLower(k)] = fmt.Sprint(v)
		}
		if ev.Response.Status != http.StatusOK {
			t.Errorf("framed consent request answered %d, want 200 (a session was sent)", ev.Response.Status)
		}
		if !strings.EqualFold(h["x-frame-options"], "DENY") {
			t.Errorf("X-Frame-Options %q, want DENY", h["x-frame-options"])
		}
		if !strings.Contains(h["content-security-policy"], "frame-ancestors 'none'") {
			t.Errorf("Content-Security-Policy %q lacks frame-ancestors 'none'", h["content-security-policy"])
		}
		break
	}
}
