package oauth

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// MaxFormBytes bounds a token, revocation or introspection request body.
const MaxFormBytes = 64 << 10

// formParam is a parameter the token, revocation and introspection
// endpoints read; any other is ignored (RFC 6749 §3.1).
type formParam int

const (
	paramGrantType formParam = iota
	paramCode
	paramRedirectURI
	paramCodeVerifier
	paramRefreshToken
	paramScope
	paramClientID
	paramClientSecret
	paramToken
	paramTokenTypeHint
	formParams // how many there are
)

// formParamNames are the formParams' names, in the order in which a request
// with several faults has the first reported.
var formParamNames = [formParams]string{"grant_type", "code", "redirect_uri", "code_verifier", "refresh_token", "scope",
	"client_id", "client_secret", "token", "token_type_hint"}

// formValues holds each formParam's value: "" when it was not sent or was sent
// empty, which RFC 6749 §3.1 treats alike (Dovecot, for one, sends
// client_id= and client_secret= beside HTTP Basic). It is an array rather
// than url.Values: building that map was half of readForm's time on the
// introspection path, for the two or three parameters an endpoint reads.
type formValues [formParams]string

// readForm parses a POST endpoint's application/x-www-form-urlencoded body.
// Parameters in the URL query are refused unless compat allows them (some
// vendor examples send them that way with curl), and a parameter sent twice
// (RFC 6749 §3.2), or whose value is not text, is refused.
func readForm(w http.ResponseWriter, r *http.Request, compat bool) (formValues, *Error) {
	var f formValues
	var sent [formParams]int
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return f, newError(CodeInvalidRequest, http.StatusMethodNotAllowed, "this endpoint accepts only POST")
	}
	inQuery, err := f.parse(r.URL.RawQuery, &sent)
	if err != nil {
		return f, invalidRequest("the URL query string is malformed")
	}
	if inQuery > 0 && !compat {
		return f, invalidRequest("parameters must be sent in the form-encoded request body, not in the URL query string " +
			"(an administrator can allow them for migrated integrations with the setting compat.query_parameters)")
	}
	if r.ContentLength != 0 || r.Header.Get("Content-Type") != "" {
		if !isFormEncoded(r.Header.Get("Content-Type")) {
			return f, invalidRequest("the request body must be application/x-www-form-urlencoded")
		}
		body, err := readBody(w, r)
		if err != nil {
			if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
				return f, newError(CodeInvalidRequest, http.StatusRequestEntityTooLarge, "the request body is larger than 64 KiB")
			}
			return f, invalidRequest("the request body could not be read")
		}
		if _, err := f.parse(string(body), &sent); err != nil { // a parameter in the query and the body is sent twice
			return f, invalidRequest("the request body is not valid form encoding")
		}
	}
	for p, n := range sent {
		fault := "is sent more than once"
		if n == 1 {
			fault = unfitValue(f[p])
		}
		if n > 0 && fault != "" {
			return f, invalidRequest("parameter '" + formParamNames[p] + "' " + fault)
		}
	}
	return f, nil
}

// maxFormPairs bounds the parameters of a query or body, as url.ParseQuery
// bounds them (docs/protocol.md promises its limit).
const maxFormPairs = 10_000

// parse reads the form-encoded pairs of s into f, counting in sent how often
// each formParam came; it returns how many pairs s holds. A pair that is not
// valid form encoding fails the whole of s, as url.ParseQuery fails it,
// whatever its name, and so do more than maxFormPairs pairs.
func (f *formValues) parse(s string, sent *[formParams]int) (pairs int, err error) {
	if strings.Count(s, "&") >= maxFormPairs {
		return 0, errTooManyPairs
	}
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		if strings.Contains(pair, ";") {
			return pairs, errSemicolon
		}
		if pair == "" {
			continue
		}
		pairs++
		name, value, _ := strings.Cut(pair, "=")
		if name, err = url.QueryUnescape(name); err != nil {
			return pairs, err
		}
		if value, err = url.QueryUnescape(value); err != nil {
			return pairs, err
		}
		if p := slices.Index(formParamNames[:], name); p >= 0 {
			sent[p]++
			f[p] = value
		}
	}
	return pairs, nil
}

// errSemicolon refuses a semicolon in a form, as url.ParseQuery does: some
// proxies take it for a separator, so it could make them read other
// parameters than the server does.
var errSemicolon = errors.New("invalid semicolon separator in form")

var errTooManyPairs = errors.New("more than 10,000 parameters")

// readBody reads a body of at most MaxFormBytes. One whose length is
// declared within the bound is read into a buffer of that size in one go:
// on the token and introspection paths, growing a buffer as io.ReadAll does
// was a tenth of readForm's time.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if n := r.ContentLength; n > 0 && n <= MaxFormBytes {
		body := make([]byte, n)
		_, err := io.ReadFull(r.Body, body) // net/http ends the body at its declared length
		return body, err
	}
	return io.ReadAll(http.MaxBytesReader(w, r.Body, MaxFormBytes))
}

// omitEmpty deletes every parameter sent once with an empty value: RFC 6749
// §3.1 has it treated as omitted. A parameter sent more than once stays,
// empty or not, so that it is refused as repeated: no client needs to send
// one twice, and dropping the empty copies would let client_id=&client_id=X
// through.
func omitEmpty(v url.Values) {
	for k, vs := range v {
		if len(vs) == 1 && vs[0] == "" {
			delete(v, k)
		}
	}
}

// isFormEncoded reports whether a Content-Type names form encoding; the
// common exact spelling skips the parser.
func isFormEncoded(contentType string) bool {
	const form = "application/x-www-form-urlencoded"
	if contentType == form {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == form
}

// checkParams refuses, among the parameters named, one sent more than once
// (RFC 6749 §3.1) or whose value is not text; when several are, the first
// in names. The others are left alone: an endpoint ignores what it does not
// read, whatever it holds (RFC 8707's resource, say, may come several
// times). It walks the form rather than names: a form holds a few of them.
func checkParams(v url.Values, names ...string) *Error {
	first, fault := len(names), ""
	for k, vs := range v {
		i := slices.Index(names, k)
		if i < 0 || i > first {
			continue
		}
		f := "is sent more than once"
		if len(vs) == 1 {
			f = unfitValue(vs[0])
		}
		if f != "" {
			first, fault = i, f
		}
	}
	if fault == "" {
		return nil
	}
	return invalidRequest("parameter '" + names[first] + "' " + fault)
}

// unfitValue says why a parameter's value is not text, or "" when it is.
func unfitValue(v string) string {
	switch {
	case !utf8.ValidString(v):
		return "is not valid UTF-8 text"
	case strings.ContainsFunc(v, func(c rune) bool { return c < 0x20 || c == 0x7f }):
		return "contains control characters"
	}
	return ""
}

// MethodNotAllowed answers, at a path whose routes take only allow, any
// other method: 405 with Allow, in this package's error format. Registered
// on the bare path beside the method's own route, it keeps such a request
// from the pages' catch-all, which would answer 404.
func (s *Server) MethodNotAllowed(allow string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeError(w, s.log, newError(CodeInvalidRequest, http.StatusMethodNotAllowed, "this endpoint accepts only "+allow))
	})
}
