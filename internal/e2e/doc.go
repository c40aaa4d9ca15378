// Package e2e holds end-to-end tests: a real Gatehouse node on a loopback
// port, driven over HTTP by golang.org/x/oauth2 and by a cookie-jar browser
// that goes through the real sign-in and consent pages.
package e2e
