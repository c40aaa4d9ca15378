package adminapi

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/admin"
)

// MaxBody caps a JSON request body.
const MaxBody = 1 << 20

// bodyKind is what an endpoint accepts as a body.
type bodyKind int

const (
	jsonBody  bodyKind = iota // application/json, at most MaxBody
	imageBody                 // image/png or image/jpeg, at most admin.MaxLogoBytes
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
	return nil
}

func hasBody(r *http.Request) bool {
	return r.ContentLength > 0 || (r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody)
}

// decode reads exactly one JSON object into v, refusing unknown fields.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err
		}
		return badRequest("the request body must hold one JSON object and nothing after it")
	}
	return nil
}

// decodeError describes a decoding failure without Go type names.
func decodeError(err error) error {
	var tooBig *http.MaxBytesError
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		return err
	case errors.Is(err, io.EOF):
		return badRequest("a JSON body is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("malformed JSON: the body ends too early")
	case errors.As(err, &syntax):
		return badRequest("malformed JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return badRequest("the request body must be a JSON object")
		}
		return badRequest("field %q has the wrong type (got a JSON %s)", typ.Field, typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return badRequest("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return badRequest("the request body could not be read as JSON")
}
