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

// readForm parses a POST endpoint's application/x-www-form-urlencoded body.
// Parameters in the URL query are refused unless compat allows them (some
// vendor examples send them that way with curl), a parameter sent twice is
// refused (RFC 6749 §3.2), and one sent once with an empty value is dropped
// (§3.1).
func readForm(w http.ResponseWriter, r *http.Request, compat bool) (url.Values, *Error) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return nil, newError(CodeInvalidRequest, http.StatusMethodNotAllowed, "this endpoint accepts only POST")
	}
	var query url.Values
	if r.URL.RawQuery != "" {
		var err error
		if query, err = url.ParseQuery(r.URL.RawQuery); err != nil {
			return nil, invalidRequest("the URL query string is malformed")
		}
	}
	if len(query) > 0 && !compat {
		return nil, invalidRequest("parameters must be sent in the form-encoded request body, not in the URL query string " +
			"(an administrator can allow them for migrated integrations with the setting compat.query_parameters)")
	}
	var form url.Values
	if r.ContentLength != 0 || r.Header.Get("Content-Type") != "" {
		if !isFormEncoded(r.Header.Get("Content-Type")) {
			return nil, invalidRequest("the request body must be application/x-www-form-urlencoded")
		}
		body, err := readBody(w, r)
		if err != nil {
			if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
				return nil, newError(CodeInvalidRequest, http.StatusRequestEntityTooLarge, "the request body is larger than 64 KiB")
			}
			return nil, invalidRequest("the request body could not be read")
		}
		if form, err = url.ParseQuery(string(body)); err != nil {
			return nil, invalidRequest("the request body is not valid form encoding")
		}
	}
	if form == nil {
		form = url.Values{}
	}
	for k, vs := range query { // a parameter in both is sent twice
		form[k] = append(form[k], vs...)
	}
	if e := checkParams(form, formParameters...); e != nil {
		return nil, e
	}
	omitEmpty(form)
	return form, nil
}

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
// §3.1 has it treated as omitted (Dovecot, for one, sends client_id= and
// client_secret= beside HTTP Basic). A parameter sent more than once stays,
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

// formParameters are the parameters the token, revocation and
// introspection endpoints read; any other is ignored (RFC 6749 §3.1).
var formParameters = []string{"grant_type", "code", "redirect_uri", "code_verifier", "refresh_token", "scope",
	"client_id", "client_secret", "token", "token_type_hint"}

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
		switch {
		case len(vs) > 1:
			first, fault = i, "is sent more than once"
		case !utf8.ValidString(vs[0]):
			first, fault = i, "is not valid UTF-8 text"
		case strings.ContainsFunc(vs[0], func(c rune) bool { return c < 0x20 || c == 0x7f }):
			first, fault = i, "contains control characters"
		}
	}
	if fault == "" {
		return nil
	}
	return invalidRequest("parameter '" + names[first] + "' " + fault)
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
