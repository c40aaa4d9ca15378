// Package contract holds the admin API's requests and answers against its
// OpenAPI description (internal/adminapi/openapi.yaml), for tests: wrap the
// HTTP client a test talks to a node with (Transport, Client), and every
// admin API exchange through it is checked, failing the test on a mismatch.
//
// For each exchange under /rest/oauth2/latest/client… or
// /rest/gatehouse/latest/…, the answer must be described: its status among
// the operation's responses, its Content-Type among that response's media
// types, its required headers present, and its body valid against the
// response's schema (an NDJSON body line by line, each against the media
// type's schema). A path the description does not have must be answered
// 404 not_found, a method it does not list 405 method_not_allowed with
// Allow, both with the error body.
//
// The request is checked too, as a one-way test of strictness: when it
// breaks the description's shape rules (an unknown member, a wrong type, a
// missing required member or body, a body that is not JSON or of another
// media type, a query parameter of the wrong type or range, no credentials)
// the server must refuse it. Value rules (enums, lengths, list sizes) are
// left out of that test, since the server trims, lower-cases and removes
// repeats before applying them: the description is stricter there.
//
// The validation is github.com/pb33f/libopenapi-validator's (OpenAPI 3.1,
// JSON Schema 2020-12). The package is imported only by tests, so the
// validator never reaches the gatehouse binary.
package contract

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	"github.com/pb33f/libopenapi-validator/content"
	liberrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/helpers"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"

	"github.com/gatehouse/gatehouse/internal/adminapi"
)

// NDJSON is the audit export's media type: its schema describes one line.
const NDJSON = "application/x-ndjson"

// Checker checks admin API exchanges against the description. It is safe
// for concurrent use.
type Checker struct {
	model     *v3.Document
	validator validator.Validator
	errSchema *base.Schema
	schemas   schema_validation.SchemaValidator
}

var (
	loadOnce sync.Once
	loaded   *Checker
	loadErr  error
)

// Load returns the checker for the embedded description, built once per
// test binary.
func Load() (*Checker, error) {
	loadOnce.Do(func() { loaded, loadErr = New(adminapi.OpenAPI()) })
	return loaded, loadErr
}

// New builds a checker for an OpenAPI document (YAML or JSON).
func New(spec []byte) (*Checker, error) {
	doc, err := libopenapi.NewDocument(spec)
	if err != nil {
		return nil, fmt.Errorf("read the OpenAPI description: %w", err)
	}
	m, err := doc.BuildV3Model()
	if err != nil {
		return nil, fmt.Errorf("build the OpenAPI model: %w", err)
	}
	opts := []config.Option{
		config.WithFormatAssertions(),
		// An NDJSON body is checked one line at a time, each line a JSON value.
		config.WithBodyDecoder(NDJSON, content.JSONDecoder()),
	}
	c := &Checker{model: &m.Model, validator: validator.NewValidatorFromV3Model(&m.Model, opts...),
		schemas: schema_validation.NewSchemaValidator(opts...)}
	if m.Model.Components != nil {
		if p := m.Model.Components.Schemas.GetOrZero("Error"); p != nil {
			c.errSchema = p.Schema()
		}
	}
	if c.errSchema == nil {
		return nil, fmt.Errorf("the OpenAPI description has no components.schemas.Error")
	}
	return c, nil
}

// Model is the description's OpenAPI model.
func (c *Checker) Model() *v3.Document { return c.model }

// ValidateDocument checks the description against the OpenAPI 3.1 schema.
func (c *Checker) ValidateDocument(spec []byte) []string {
	doc, err := libopenapi.NewDocument(spec)
	if err != nil {
		return []string{err.Error()}
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		var out []string
		for _, e := range errs {
			out = append(out, e.Error())
		}
		return out
	}
	_, verrs := v.ValidateDocument()
	return describe(verrs)
}

// IsAdminPath reports whether path belongs to the admin API.
func IsAdminPath(path string) bool {
	return path == adminapi.PathClients || strings.HasPrefix(path, adminapi.PathClients+"/") ||
		strings.HasPrefix(path, adminapi.PathGatehouse+"/")
}

// Check returns what does not conform in one exchange: req as sent, with
// reqBody its body; resp as received, with respBody its body. It returns
// nil when everything conforms.
func (c *Checker) Check(req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) []string {
	if req.Method == http.MethodHead {
		return nil // answered as GET without a body; nothing to hold it against
	}
	vreq := req.Clone(context.Background())
	vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
	vreq.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(reqBody)), nil }

	_, reqErrs := c.validator.ValidateHttpRequestSync(vreq)
	for _, e := range reqErrs {
		if e.ValidationType == helpers.PathValidation {
			return c.checkUnrouted(e, resp, respBody)
		}
	}
	var problems []string
	if strict := shapeViolations(reqErrs); len(strict) > 0 && resp.StatusCode < 400 {
		problems = append(problems, fmt.Sprintf("the server answered %d to a request the description refuses:\n%s",
			resp.StatusCode, strings.Join(strict, "\n")))
	}
	problems = append(problems, c.checkResponse(vreq, resp, respBody)...)
	return problems
}

// checkResponse holds the answer against the operation's responses.
func (c *Checker) checkResponse(req *http.Request, resp *http.Response, body []byte) []string {
	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	var problems []string
	if mediaType == "application/json" && len(bytes.TrimSpace(body)) == 0 {
		problems = append(problems, fmt.Sprintf("%d application/json answer without a body", resp.StatusCode))
	}
	parts := [][]byte{body}
	if mediaType == NDJSON && len(body) > 0 {
		parts = nil
		if !bytes.HasSuffix(body, []byte("\n")) {
			problems = append(problems, "the NDJSON answer does not end with a line break")
		}
		for _, line := range bytes.SplitAfter(body, []byte("\n")) {
			if len(line) > 0 {
				parts = append(parts, line)
			}
		}
	}
	for i, part := range parts {
		r := *resp
		r.Header = resp.Header.Clone()
		r.Body = io.NopCloser(bytes.NewReader(part))
		if _, errs := c.validator.ValidateHttpResponse(req, &r); len(errs) > 0 {
			where := ""
			if len(parts) > 1 {
				where = fmt.Sprintf(" (line %d)", i+1)
			}
			problems = append(problems, fmt.Sprintf("the %d answer%s does not match the description:\n%s",
				resp.StatusCode, where, strings.Join(describe(errs), "\n")))
			break // one line is enough to show it
		}
	}
	return problems
}

// checkUnrouted holds the answer to a request for a route the description
// does not have: the API's 404 or 405, in its error body.
func (c *Checker) checkUnrouted(e *liberrors.ValidationError, resp *http.Response, body []byte) []string {
	var problems []string
	switch e.ValidationSubType {
	case helpers.ValidationMissing:
		if resp.StatusCode != http.StatusNotFound {
			problems = append(problems, fmt.Sprintf("answered %d to a path the description does not have (%s): "+
				"describe the route in openapi.yaml, or answer 404", resp.StatusCode, e.Message))
		}
		problems = append(problems, c.checkError(resp, body, "not_found")...)
	case helpers.ValidationMissingOperation:
		if resp.StatusCode != http.StatusMethodNotAllowed {
			problems = append(problems, fmt.Sprintf("answered %d to a method the description does not list (%s): "+
				"describe the operation in openapi.yaml, or answer 405", resp.StatusCode, e.Message))
		}
		if resp.Header.Get("Allow") == "" {
			problems = append(problems, "405 without Allow")
		}
		problems = append(problems, c.checkError(resp, body, "method_not_allowed")...)
	default: // a path that different readings would route differently
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			problems = append(problems, fmt.Sprintf("answered %d to an ambiguous path (%s)", resp.StatusCode, e.Message))
		}
		problems = append(problems, c.checkError(resp, body, "")...)
	}
	return problems
}

// checkError holds an answer against the error body, and its code.
func (c *Checker) checkError(resp *http.Response, body []byte, code string) []string {
	var problems []string
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" {
		problems = append(problems, fmt.Sprintf("error answer with Content-Type %q", resp.Header.Get("Content-Type")))
	}
	if ok, errs := c.schemas.ValidateSchemaBytes(c.errSchema, body); !ok {
		problems = append(problems, "the error body does not match components.schemas.Error:\n"+strings.Join(describe(errs), "\n"))
	}
	if code != "" && !bytes.Contains(body, []byte(`"error":"`+code+`"`)) {
		problems = append(problems, fmt.Sprintf("error body %s, want error %q", bytes.TrimSpace(body), code))
	}
	return problems
}

// shapeKeywords are the schema keywords whose violation the server must
// refuse: it reads bodies strictly. (Value keywords such as enum or
// maxLength are applied by the server after it cleans the value.)
var shapeKeywords = []string{"additionalProperties", "unevaluatedProperties", "type", "required", "not", "false"}

// shapeViolations picks the request errors the server must refuse.
func shapeViolations(errs []*liberrors.ValidationError) []string {
	var out []string
	for _, e := range errs {
		strict := false
		switch {
		case e.ValidationType == helpers.SecurityValidation, e.ValidationType == helpers.ParameterValidation:
			strict = true
		case len(e.SchemaValidationErrors) == 0:
			strict = true // no body where one is required, a body that is not JSON, another media type
		default:
			for _, f := range e.SchemaValidationErrors {
				loc := f.KeywordLocation
				if slices.Contains(shapeKeywords, loc[strings.LastIndex(loc, "/")+1:]) {
					strict = true
				}
			}
		}
		if strict {
			out = append(out, describe([]*liberrors.ValidationError{e})...)
		}
	}
	return out
}

// describe lists validation errors, one a line, with their schema failures.
func describe(errs []*liberrors.ValidationError) []string {
	var out []string
	for _, e := range errs {
		s := "  - " + e.Message
		if e.Reason != "" && e.Reason != e.Message {
			s += ": " + e.Reason
		}
		for _, f := range e.SchemaValidationErrors {
			s += fmt.Sprintf("\n      %s at %s (schema %s)", f.Reason, f.FieldPath, f.KeywordLocation)
		}
		out = append(out, s)
	}
	return out
}

// Transport returns a RoundTripper that sends through base
// (http.DefaultTransport when nil) and reports every admin API exchange
// that does not conform to t, as an error (the test goes on).
func Transport(t testing.TB, base http.RoundTripper) http.RoundTripper {
	t.Helper()
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	switch base.(type) {
	case nil:
		base = http.DefaultTransport
	case *transport:
		return base // checked already
	}
	return &transport{t: t, c: c, base: base}
}

// Client returns a copy of hc (http.DefaultClient when nil) whose exchanges
// with the admin API are checked; hc itself when they are already.
func Client(t testing.TB, hc *http.Client) *http.Client {
	t.Helper()
	if hc == nil {
		hc = http.DefaultClient
	}
	if _, checked := hc.Transport.(*transport); checked {
		return hc
	}
	out := *hc
	out.Transport = Transport(t, hc.Transport)
	return &out
}

type transport struct {
	t    testing.TB
	c    *Checker
	base http.RoundTripper
}

func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !IsAdminPath(req.URL.Path) {
		return tr.base.RoundTrip(req)
	}
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		reqBody, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		sent := req.Clone(req.Context()) // the same length, announced or not
		sent.Body = io.NopCloser(bytes.NewReader(reqBody))
		req = sent
	}
	resp, err := tr.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		// The caller reads what came, then the same error.
		resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(respBody), errReader{err}))
		return resp, nil
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	if problems := tr.c.Check(req, reqBody, resp, respBody); len(problems) > 0 {
		tr.t.Errorf("admin API contract (internal/adminapi/openapi.yaml): %s %s → %d %s\n%s\nbody: %s",
			req.Method, req.URL.RequestURI(), resp.StatusCode, resp.Header.Get("Content-Type"),
			strings.Join(problems, "\n"), excerpt(respBody))
	}
	return resp, nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func excerpt(b []byte) string {
	const max = 600
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
