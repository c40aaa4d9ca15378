package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/user"
)

// A browser an account signed in from carries a known-device cookie: its
// sign-ins to that account are throttled on a count of their own
// (user.Service.AuthenticateOnKnownDevice), so guesses from elsewhere at a
// well-known account cannot lock its owner out (OWASP's "device cookies").
// The cookie names the account, a random device ID and an expiry, tagged
// under the secret key: it cannot be made or changed without the key.
const (
	knownDeviceCookie = "gatehouse_device"
	knownDeviceLife   = 90 * 24 * time.Hour
)

// knownDevice returns the device ID of r's known-device cookie when it was
// given for username, unexpired and untouched; "" otherwise.
func (p *Pages) knownDevice(r *http.Request, username string) string {
	c, err := r.Cookie(knownDeviceCookie)
	if err != nil {
		return ""
	}
	encoded, tag, ok := strings.Cut(c.Value, ".")
	got, err := base64.RawURLEncoding.DecodeString(tag)
	if !ok || err != nil || subtle.ConstantTimeCompare(got, p.keys.Tag("known device:"+encoded)) != 1 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(encoded)
	if err != nil {
		return ""
	}
	fields := strings.Split(string(payload), "\x00")
	if len(fields) != 3 || fields[0] != user.NormalizeUsername(username) {
		return ""
	}
	expires, err := strconv.ParseInt(fields[2], 10, 64)
	if err != nil || p.now().Unix() >= expires {
		return ""
	}
	return fields[1]
}

// rememberDevice gives the browser a known-device cookie for username after
// a sign-in, keeping device (the one it came with, if any) so that its count
// carries on.
func (p *Pages) rememberDevice(w http.ResponseWriter, username, device string) {
	if device == "" {
		device = rand.Text() // 128 random bits
	}
	payload := user.NormalizeUsername(username) + "\x00" + device + "\x00" + strconv.FormatInt(p.now().Add(knownDeviceLife).Unix(), 10)
	encoded := base64.RawURLEncoding.EncodeToString([]byte(payload))
	http.SetCookie(w, &http.Cookie{Name: knownDeviceCookie, Value: encoded + "." + base64.RawURLEncoding.EncodeToString(p.keys.Tag("known device:"+encoded)),
		Path: "/login", MaxAge: int(knownDeviceLife.Seconds()), HttpOnly: true, Secure: p.sessions.Cookie.Secure, SameSite: http.SameSiteLaxMode})
}
