// Package browsertest drives Gatehouse's real pages in a real browser:
// headless Debian Chromium through github.com/chromedp/chromedp, against a
// node started in-process on a free loopback port.
//
// Everything is in the test files. The harness (harness_test.go) gives each
// test a node (startNode), a browser with its own fresh profile and a bounded
// context (newBrowser, newBrowserLang), a fake OAuth client whose callback
// records what the browser brings it (newCallback), and helpers for pages:
// signIn, screenshot, waitPage. Admin console tests add their own files here
// and reuse them.
//
// Chromium is found as `chromium` (Debian's package, installed by
// scripts/install-chromium.sh) or `chromium-browser`. Without it the tests
// skip, except under CI=true, where they fail. It runs with --headless,
// --no-sandbox, --disable-gpu and with background networking, component
// updates, sync and QUIC turned off, because the machines that run these
// tests reach no network but loopback and the package registries.
//
// Screenshots of every page a test visits are written as PNG files to
// test-artifacts/screenshots/ at the repository root (gitignored), to be
// looked at by a person.
package browsertest
