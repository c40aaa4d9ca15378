package adminapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/gatehouse/gatehouse/internal/admin"
)

// MaxBody caps a JSON request body.
const MaxBody = 1 << 20

// bodyKind is what an endpoint accepts as a body.
type bodyKind int

const (
	jsonBody  bodyKind = iota // application/json, at most MaxBody
	imageBody                 // image/png or image/jpeg, at most admin.MaxLogoBytes
	noBody                    // none, or an empty JSON object
)

func (k bodyKind) limit() int64 {
	if k == imageBody {
		return admin.MaxLogoBytes
	}
	return MaxBody
}

func (k bodyKind) types() []string {
	if k == imageBody {
		return []string{"image/png", "image/jpeg"}
	}
	return []string{"application/json"}
}

// admitBody refuses a body of the wrong type (415) or size (413) and caps
// what the endpoint may read. A request without a body passes: an endpoint
// that needs one says so when it decodes.
func admitBody(w http.ResponseWriter, r *http.Request, kind bodyKind) error {
	if !hasBody(r) {
		return nil
	}
	if r.ContentLength > kind.limit() {
		return &http.MaxBytesError{Limit: kind.limit()}
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !slices.Contains(kind.types(), mediaType) {
		return &apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
			Message: "the request body must be " + strings.Join(kind.types(), " or ")}
	}
	r.Body = http.MaxBytesReader(w, r.Body, kind.limit())
	if kind == noBody {
		return refuseBody(r)
	}
	return nil
}

// refuseBody refuses a body on a route that takes none, rather than ignore
// what it says ({"enabled": false} sent to enable). An empty object, or an
// empty body of unknown length, says nothing, and passes: some clients send
// one with every POST.
func refuseBody(r *http.Request) error {
	body, err := readBody(r)
	if err != nil || len(bytes.TrimSpace(body)) == 0 {
		return err // an empty body of unknown length (chunked) is none
	}
	var members map[string]jsontext.Value
	if err := decodeBody(body, &members, nil); err != nil {
		return err
	}
	if len(members) > 0 {
		return badRequest("this route takes no request body: leave it out (it would be ignored)")
	}
	return nil
}

func hasBody(r *http.Request) bool {
	return r.ContentLength > 0 || (r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody)
}

// decode reads exactly one JSON object into v, strictly: member names
// match the struct's exactly (Go's encoding/json would let "USERNAME" or
// "Level" through), unknown or duplicate members are refused (rather than
// the last one winning), a null member is refused unless named in nullable
// (the contract's nullable members, where null means left out), and invalid
// UTF-8 or a lone surrogate escape is refused rather than replaced.
func decode(r *http.Request, v any, nullable ...string) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("a JSON body is required")
	}
	return decodeBody(body, v, nullable)
}

// readBody reads the request's body (capped by admitBody).
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig), errors.Is(err, context.Canceled):
		return nil, err // 413, or a caller that went away (499)
	case err != nil:
		// A chunked encoding broken by the client, a body that ends before
		// its Content-Length: the request's fault, not the server's.
		return nil, badRequest("the request body could not be read: it ends before its stated length, or its encoding is broken")
	}
	return body, nil
}

// decodeBody is decode of a body already read.
func decodeBody(body []byte, v any, nullable []string) error {
	if !utf8.Valid(body) {
		return badRequest("the body is not valid UTF-8")
	}
	if err := refuseNulls(body, nullable); err != nil {
		return err
	}
	if err := json.Unmarshal(body, v, json.RejectUnknownMembers(true)); err != nil {
		return decodeError(err)
	}
	return nil
}

// refuseNulls refuses a null body, a null item of a list and a null member
// not in nullable, which Unmarshal would read as an empty object, an empty
// item (then dropped by the list's cleaning) and a member left out or empty,
// without a word. A body that is not JSON at all is left to Unmarshal,
// which says where.
func refuseNulls(body []byte, nullable []string) error {
	d := jsontext.NewDecoder(bytes.NewReader(body))
	if d.PeekKind() == 'n' {
		return badRequest("the request body must be a JSON object, not null")
	}
	for {
		tok, err := d.ReadToken()
		if err != nil {
			return nil
		}
		if tok.Kind() != 'n' {
			continue
		}
		switch kind, _ := d.StackIndex(d.StackDepth()); {
		case kind == '[':
			return badRequest("%q holds null: a list holds values only", strings.TrimPrefix(string(d.StackPointer().Parent()), "/"))
		case !slices.Contains(nullable, d.StackPointer().LastToken()) || d.StackDepth() > 1:
			return badRequest("member %q is null: leave it out instead", strings.TrimPrefix(string(d.StackPointer()), "/"))
		}
	}
}

// decodeError describes a decoding failure without Go type names.
func decodeError(err error) error {
	var syntax *jsontext.SyntacticError
	var semantic *json.SemanticError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("malformed JSON: the body ends too early")
	case errors.As(err, &syntax) && errors.Is(err, jsontext.ErrDuplicateName):
		return badRequest("member %q appears more than once", syntax.JSONPointer.LastToken())
	case errors.As(err, &syntax) && syntax.Err != nil:
		// Among others: a lone surrogate escape ("invalid surrogate pair").
		return badRequest("malformed JSON at byte %d: %v", syntax.ByteOffset, syntax.Err)
	case errors.As(err, &syntax):
		return badRequest("malformed JSON at byte %d", syntax.ByteOffset)
	case errors.As(err, &semantic) && errors.Is(err, json.ErrUnknownName):
		return badRequest("unknown field %q (names are case-sensitive)", semantic.JSONPointer.LastToken())
	case errors.As(err, &semantic) && semantic.JSONPointer == "":
		return badRequest("the request body must be a JSON object")
	case errors.As(err, &semantic):
		return badRequest("field %q has the wrong type (got a JSON %s)", strings.TrimPrefix(string(semantic.JSONPointer), "/"), semantic.JSONKind)
	}
	return badRequest("the request body could not be read as JSON")
}
