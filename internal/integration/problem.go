package integration

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"unicode"

	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/internal/validation"
)

// ErrInvalid is wrapped by every refusal of bad settings, each a
// *validation.Error.
var ErrInvalid = errors.New("invalid integration")

// ErrForbidden refuses an actor who is not a system administrator.
var ErrForbidden = errors.New("only system administrators may manage integrations")

func invalid(key, format string, args ...any) error {
	return validation.Errorf(ErrInvalid, key, format, args...)
}

// Failure is why talking to a provider failed, in words for people: a
// *validation.Error whose key the pages word in their language. Its
// arguments are strings only, so it survives the database (see encode).
type Failure struct {
	Why *validation.Error
	// NeedsReauth: the provider refused the grant itself (invalid_grant);
	// retrying cannot help, authorizing again does.
	NeedsReauth bool
}

func (f *Failure) Error() string { return f.Why.Error() }

// Unwrap lets errors.Is find ErrNeedsReauthorization, and errors.As the words.
func (f *Failure) Unwrap() []error {
	if f.NeedsReauth {
		return []error{f.Why, ErrNeedsReauthorization}
	}
	return []error{f.Why}
}

// problem is a Failure's words; every argument is a string.
func problem(key, format string, args ...string) *validation.Error {
	anys := make([]any, len(args))
	for i, a := range args {
		anys[i] = a
	}
	return validation.Errorf(nil, key, format, anys...)
}

func fail(why *validation.Error) *Failure { return &Failure{Why: why} }

// storedWords is a Failure's words as the vault keeps them.
type storedWords struct {
	Text string   `json:"text"`
	Args []string `json:"args"`
}

// encode returns the key and the detail column of f.
func (f *Failure) encode() (key, detail string) {
	w := storedWords{Text: f.Why.Error()}
	for _, a := range f.Why.Args {
		w.Args = append(w.Args, fmt.Sprint(a))
	}
	b, _ := json.Marshal(w) // strings always marshal
	return f.Why.Key, string(b)
}

// decodeWords rebuilds the words the vault keeps; nil when there are none.
func decodeWords(key, detail string) *validation.Error {
	if key == "" {
		return nil
	}
	var w storedWords
	if json.Unmarshal([]byte(detail), &w) != nil {
		w.Text = key
	}
	args := make([]any, len(w.Args))
	for i, a := range w.Args {
		args[i] = a
	}
	return validation.Wrap(errors.New(w.Text), key, args...)
}

// providerText makes a provider's words safe to show and store: no control
// characters, at most 300 characters.
func providerText(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.TrimSpace(s))
	if r := []rune(s); len(r) > 300 {
		s = string(r[:300]) + "…"
	}
	return s
}

var aadsts = regexp.MustCompile(`AADSTS\d+`)

// oauthError words an RFC 6749 §5.2 (or §4.1.2.1) error answer.
func oauthError(code, description string) *Failure {
	code, description = providerText(code), providerText(description)
	if m := aadsts.FindString(description); m != "" {
		// Microsoft Entra: "AADSTS70008: The provided authorization code or
		// refresh token has expired… Trace ID: …" — the first sentence says it.
		first, _, _ := strings.Cut(strings.TrimSpace(strings.TrimPrefix(description, m+":")), ". ")
		f := fail(problem("integration.aadsts", "Microsoft Entra refused (%s %s): %s", code, m, strings.TrimSuffix(first, ".")))
		f.NeedsReauth = code == "invalid_grant"
		return f
	}
	if description == "" {
		description = "no description"
	}
	switch code {
	case "invalid_grant":
		return &Failure{NeedsReauth: true, Why: problem("integration.invalid_grant",
			"the provider no longer accepts the grant (invalid_grant: %s): authorize the integration again", description)}
	case "invalid_client", "unauthorized_client":
		return fail(problem("integration.invalid_client",
			"the provider refused the client ID or secret (%s: %s): check them against the provider's registration", code, description))
	case "access_denied":
		return fail(problem("integration.access_denied", "access was refused at the provider (access_denied: %s)", description))
	case "invalid_scope":
		return fail(problem("integration.invalid_scope", "the provider refused the scopes (invalid_scope: %s): check the integration's scopes", description))
	}
	return fail(problem("integration.provider_error", "the provider answered with the error %s: %s", code, description))
}

// transportError words a failed exchange with endpoint: no connection, no
// TLS, or an answer that is not an OAuth 2.0 one. The answer's body is never
// quoted: it may hold a token. seen is what the answer was, when there was one.
func transportError(err error, endpoint string, timeout string, seen *answered) *Failure {
	host := hostOf(endpoint)
	var retrieve *oauth2.RetrieveError
	var dns *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalidCert x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	var record tls.RecordHeaderError
	var alert tls.AlertError
	var netErr net.Error
	switch {
	case errors.As(err, &retrieve) && retrieve.ErrorCode != "":
		return oauthError(retrieve.ErrorCode, retrieve.ErrorDescription)
	case errors.As(err, &retrieve):
		return answerError(retrieve.Response, endpoint)
	case errors.As(err, &dns):
		return fail(problem("integration.dns", "the host name %s is not known (DNS): check the endpoint %s", dns.Name, endpoint))
	case errors.Is(err, syscall.ECONNREFUSED):
		return fail(problem("integration.refused", "nothing answers at %s (connection refused): check the host and port of %s", host, endpoint))
	case errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &invalidCert), errors.As(err, &verify):
		return fail(problem("integration.tls_certificate", "the TLS certificate of %s is not trusted: %s", host, providerText(tlsReason(err))))
	case errors.Is(err, http.ErrSchemeMismatch), errors.As(err, &record):
		return fail(problem("integration.tls_plain", "%s does not speak TLS on that port: check the scheme (https) and the port of %s", host, endpoint))
	case errors.As(err, &alert):
		return fail(problem("integration.tls_failed", "the TLS handshake with %s failed: %s", host, providerText(alert.Error())))
	case errors.As(err, &netErr) && netErr.Timeout():
		return fail(problem("integration.timeout", "%s did not answer within %s seconds", host, timeout))
	case seen != nil && seen.status != 0:
		// A 2xx answer x/oauth2 could not read, or one without access_token.
		return answerError(&http.Response{StatusCode: seen.status, Header: http.Header{"Content-Type": {seen.contentType}}}, endpoint)
	case strings.Contains(err.Error(), "malformed HTTP"), strings.Contains(err.Error(), "transport connection broken"),
		// The server spoke first (an SMTP or IMAP banner): net/http finds
		// bytes on an idle connection and gives up before any answer.
		strings.Contains(err.Error(), "readLoopPeekFailLocked"):
		return fail(problem("integration.not_http", "%s does not answer HTTP on that port: check the port of %s", host, endpoint))
	}
	return fail(problem("integration.unreachable", "cannot reach %s: %s", host, providerText(netText(err))))
}

// answerError words an answer that is not an OAuth 2.0 one, by its status
// and type only.
func answerError(resp *http.Response, endpoint string) *Failure {
	host := hostOf(endpoint)
	status := fmt.Sprintf("HTTP %d", resp.StatusCode)
	switch {
	case resp.StatusCode >= 500:
		return fail(problem("integration.server_error", "%s answered %s, a fault at the provider; it is tried again", host, status))
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return fail(problem("integration.redirected", "%s answered with a redirect (%s) to %s: use the final address as the endpoint",
			host, status, providerText(resp.Header.Get("Location"))))
	}
	kind, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if kind == "text/html" {
		return fail(problem("integration.html", "%s answered a web page (%s) instead of an OAuth 2.0 answer: check the endpoint %s", host, status, endpoint))
	}
	return fail(problem("integration.not_oauth", "%s did not answer with an OAuth 2.0 token (%s): check the token endpoint %s", host, status, endpoint))
}

func hostOf(endpoint string) string {
	rest := endpoint
	if _, after, ok := strings.Cut(endpoint, "://"); ok {
		rest = after
	}
	host, _, _ := strings.Cut(rest, "/")
	return host
}

// tlsReason is the certificate's problem without the URL around it.
func tlsReason(err error) string {
	var verify *tls.CertificateVerificationError
	if errors.As(err, &verify) {
		err = verify.Err
	}
	return err.Error()
}

// netText is err without the request's method and URL, which url.Error adds.
func netText(err error) string {
	var u *url.Error
	if errors.As(err, &u) {
		err = u.Err
	}
	return err.Error()
}

// keyMismatch words a sealed value this node's secret key cannot open.
func keyMismatch() *validation.Error {
	return problem("integration.key_mismatch", "a sealed value cannot be opened with this node's secret key: give every node the same GATEHOUSE_SECRET_KEY")
}

// answered is what a provider answered, recorded by recordingTransport for
// the words of a failure.
type answered struct {
	status      int
	contentType string
	// rotated is the refresh_token of a successful JSON answer: if x/oauth2
	// then refuses the answer (no access_token, say), it is still the only
	// refresh token the provider takes.
	rotated string
}

type answeredKey struct{}

// recordAnswer returns a context whose requests record their answer in the
// returned value.
func recordAnswer(ctx context.Context) (context.Context, *answered) {
	a := &answered{}
	return context.WithValue(ctx, answeredKey{}, a), a
}

// recordingTransport notes the status and type of each answer whose
// request context asks for it (recordAnswer).
type recordingTransport struct{ next http.RoundTripper }

func (t recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if a, ok := req.Context().Value(answeredKey{}).(*answered); ok && err == nil {
		a.status, a.contentType = resp.StatusCode, resp.Header.Get("Content-Type")
		if resp.StatusCode/100 == 2 {
			a.rotated = keepRotatedToken(resp)
		}
	}
	return resp, err
}

// unusable says why a token answer x/oauth2 read cannot be handed out: an
// access token of characters RFC 6749 does not allow (VSCHAR: %x20-7E;
// a line break in one would reach the headers its users build), or a type
// other than Bearer, the only one XOAUTH2 and the token API's callers use.
func unusable(tok *oauth2.Token) *Failure {
	if strings.ContainsFunc(tok.AccessToken, func(r rune) bool { return r < 0x20 || r > 0x7e }) {
		return fail(problem("integration.token_characters", "the provider's access token holds characters an access token may not (RFC 6749: printable ASCII)"))
	}
	if tok.TokenType != "" && !strings.EqualFold(tok.TokenType, "Bearer") {
		return fail(problem("integration.token_type", "the provider issued a token of type %s, and only Bearer tokens can be used", providerText(tok.TokenType)))
	}
	return nil
}

// maxTokenAnswer is as much of a token answer as x/oauth2 reads.
const maxTokenAnswer = 1 << 20

// keepRotatedToken makes sure a successful JSON token answer's rotated
// refresh token is not lost with an answer x/oauth2 refuses: the next
// refresh would present the old one and the provider end the grant. It
// rewrites an expires_in that x/oauth2 cannot read — a fraction, a number in
// a string, or no number at all — as whole seconds, or leaves it out; and it
// returns the answer's refresh token, for the caller to keep should x/oauth2
// refuse the answer for another fault (no access_token, say).
func keepRotatedToken(resp *http.Response) (rotated string) {
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" {
		return "" // x/oauth2 reads other answers as forms, and an unreadable lifetime there as none
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenAnswer+1))
	rest := resp.Body
	resp.Body = readCloser{io.MultiReader(bytes.NewReader(body), rest), rest}
	if err != nil || len(body) > maxTokenAnswer {
		return ""
	}
	var answer map[string]json.RawMessage
	if json.Unmarshal(body, &answer) != nil {
		return ""
	}
	json.Unmarshal(answer["refresh_token"], &rotated) //nolint:errcheck // not a string: none
	raw, stated := answer["expires_in"]
	var whole int64
	if !stated || json.Unmarshal(raw, &whole) == nil {
		return rotated // readable as it is
	}
	if seconds, ok := wholeSeconds(raw); ok {
		answer["expires_in"] = json.RawMessage(strconv.FormatInt(seconds, 10))
	} else {
		delete(answer, "expires_in")
	}
	fixed, err := json.Marshal(answer)
	if err != nil {
		return rotated
	}
	resp.Body, resp.ContentLength = readCloser{bytes.NewReader(fixed), rest}, int64(len(fixed))
	return rotated
}

// wholeSeconds reads a lifetime stated as a number or as a string holding
// one, cut to whole seconds and to x/oauth2's own ceiling; a negative or
// unreadable one is no lifetime.
func wholeSeconds(raw json.RawMessage) (int64, bool) {
	var n json.Number
	if json.Unmarshal(raw, &n) != nil {
		return 0, false
	}
	f, err := n.Float64()
	if err != nil || f < 0 {
		return 0, false
	}
	return int64(min(f, math.MaxInt32)), true
}

// readCloser reads from one reader and closes another (the answer's body).
type readCloser struct {
	io.Reader
	io.Closer
}
