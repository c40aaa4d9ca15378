package browsertest

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/store"
)

// TestKeyboardOnly: the whole authorization flow can be done with the
// keyboard alone (Tab, typing, Enter), and every element that Tab reaches on
// the way shows a visible focus indicator.
func TestKeyboardOnly(t *testing.T) {
	n := startNode(t)
	cb := newCallback(t)
	n.createUser("carol", "carol-password", store.LevelUser)
	c, _ := n.createClient(cb, app.Registration{})
	ctx := newBrowser(t)

	navigate(t, ctx, n.authorizeURL(c, cb, "READ", "st-keys"))
	if !onSignInPage(t, ctx) {
		t.Fatalf("want the sign-in page, at %s", location(t, ctx))
	}
	// The username field may have the focus already (autofocus); if not,
	// Tab reaches it.
	tabTo(t, ctx, "#username", 15)
	press(t, ctx, "carol")
	press(t, ctx, kb.Tab)
	if f := focused(t, ctx); f.ID != "password" {
		t.Fatalf("Tab after the username focused %s, want the password field", f)
	} else {
		wantFocusVisible(t, f)
	}
	press(t, ctx, "carol-password")
	waitPage(t, ctx, "press Enter in the password field", chromedp.KeyEvent(kb.Enter))
	if onSignInPage(t, ctx) {
		t.Fatalf("still on the sign-in page after Enter: %v", texts(t, ctx, `[role="alert"]`))
	}

	// Consent: Tab to Allow; the focused button shows its focus ring.
	f := tabTo(t, ctx, allowButton, 20)
	screenshot(t, ctx, "consent-keyboard-focus-on-allow")
	if f.Tag != "button" {
		t.Fatalf("focused %s, want the Allow button", f)
	}
	waitPage(t, ctx, "press Enter on Allow", chromedp.KeyEvent(kb.Enter))
	if q := cb.wait(t, ctx); q.Get("code") == "" || q.Get("state") != "st-keys" {
		t.Fatalf("callback query %v: want a code and state st-keys", q)
	}
}

// focus describes document.activeElement and how it is drawn.
type focus struct {
	Tag          string `json:"tag"`
	ID           string `json:"id"`
	Name         string `json:"name"`
	Label        string `json:"label"`
	Matches      bool   `json:"matches"` // matches the selector tabTo looks for
	FocusVisible bool   `json:"focusVisible"`
	OutlineStyle string `json:"outlineStyle"`
	OutlineWidth string `json:"outlineWidth"`
	BoxShadow    string `json:"boxShadow"`
}

func (f focus) String() string {
	s := "<" + f.Tag
	if f.ID != "" {
		s += " id=" + f.ID
	}
	if f.Name != "" {
		s += " name=" + f.Name
	}
	s += ">"
	if f.Label != "" {
		s += " " + strconv.Quote(f.Label)
	}
	return s
}

// focused reads document.activeElement; css, if given, is checked with matches().
func focused(t *testing.T, ctx context.Context, css ...string) focus {
	t.Helper()
	sel := `null`
	if len(css) > 0 {
		sel = jsString(css[0])
	}
	return evaluate[focus](t, ctx, `(() => {
		const el = document.activeElement, sel = `+sel+`;
		if (!el || el === document.body) return {tag: "body"};
		const cs = getComputedStyle(el);
		return {
			tag: el.tagName.toLowerCase(), id: el.id || "", name: el.getAttribute("name") || "",
			label: (el.innerText || el.value || el.getAttribute("aria-label") || "").trim().slice(0, 40),
			matches: sel !== null && el.matches(sel),
			focusVisible: el.matches(":focus-visible"),
			outlineStyle: cs.outlineStyle, outlineWidth: cs.outlineWidth, boxShadow: cs.boxShadow,
		};
	})()`)
}

// wantFocusVisible fails unless the focused element is drawn with a visible
// focus indicator: an outline of some width, or else a box shadow.
func wantFocusVisible(t *testing.T, f focus) {
	t.Helper()
	if !f.FocusVisible {
		t.Errorf("%s has the keyboard focus but does not match :focus-visible", f)
		return
	}
	width, _ := strconv.ParseFloat(strings.TrimSuffix(f.OutlineWidth, "px"), 64)
	outline := f.OutlineStyle != "none" && f.OutlineStyle != "" && width > 0
	shadow := f.BoxShadow != "none" && f.BoxShadow != ""
	if !outline && !shadow {
		t.Errorf("%s has the keyboard focus but no visible focus indicator (outline %s %s, box-shadow %s)",
			f, f.OutlineStyle, f.OutlineWidth, f.BoxShadow)
	}
}

// tabTo presses Tab until the focused element matches css, at most max
// times, checking on the way that every focused element shows its focus.
// It returns the matching element.
func tabTo(t *testing.T, ctx context.Context, css string, max int) focus {
	t.Helper()
	var seen []string
	for i := 0; ; i++ {
		f := focused(t, ctx, css)
		if f.Tag != "body" {
			wantFocusVisible(t, f)
		}
		seen = append(seen, f.String())
		if f.Matches {
			t.Logf("focus: %s", strings.Join(seen, " → "))
			return f
		}
		if i == max {
			t.Fatalf("%d Tab presses did not reach %s; focus went %s", max, css, strings.Join(seen, " → "))
		}
		press(t, ctx, kb.Tab)
	}
}

// press sends keys to the focused element, as typing would.
func press(t *testing.T, ctx context.Context, keys string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.KeyEvent(keys)); err != nil {
		t.Fatalf("press %q: %v", keys, err)
	}
}
