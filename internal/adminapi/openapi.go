package adminapi

import (
	"crypto/sha256"
	_ "embed" // the OpenAPI description
	"encoding/hex"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// PathOpenAPI is where the API's OpenAPI description is served.
const PathOpenAPI = PathGatehouse + "/openapi.yaml"

// openAPI is the OpenAPI 3.1 description of this API: the one copy, which
// docs/openapi.yaml points to. The contract tests hold every route and every
// answer of the API against it.
//
//go:embed openapi.yaml
var openAPI []byte

// openAPIETag names this build's description, for conditional requests.
var openAPIETag = func() string {
	sum := sha256.Sum256(openAPI)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}()

// OpenAPI returns the OpenAPI description of the admin API (YAML).
func OpenAPI() []byte { return slices.Clone(openAPI) }

// GET /rest/gatehouse/latest/openapi.yaml needs no credentials: it
// describes routes anyone can see, and holds nothing about this node.
func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/yaml")
	h.Set("Cache-Control", "no-cache") // revalidate: a new version has a new ETag
	h.Set("ETag", openAPIETag)
	if etagListed(r.Header.Get("If-None-Match"), openAPIETag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(openAPI)))
	w.WriteHeader(http.StatusOK)
	w.Write(openAPI) //nolint:errcheck // the caller went away; nothing to do
}

// etagListed reports whether an If-None-Match value names tag (RFC 9110
// §13.1.2: "*", or a list compared weakly).
func etagListed(header, tag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == tag {
			return true
		}
	}
	return false
}
