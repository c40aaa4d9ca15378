package contract

import (
	"net/http"
	"strings"
	"testing"
)

// ValidateDocument finds a document that breaks the OpenAPI 3.1 schema.
func TestValidateDocumentCatchesErrors(t *testing.T) {
	broken := []byte("openapi: 3.1.0\ninfo: {title: x, version: '1'}\npaths:\n  /x:\n    get:\n      responses:\n        \"200\": {summary: no description}\n")
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if problems := c.ValidateDocument(broken); len(problems) == 0 {
		t.Error("a response without a description passed")
	}
}

// A report names the exchange and what does not match.
func TestReportWording(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "http://127.0.0.1:1/rest/gatehouse/latest/groups", nil)
	req.Header.Set("Authorization", "Bearer x")
	resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}}
	problems := strings.Join(c.Check(req, nil, resp, []byte(`{"groups":[{"name":"ops"}]}`)), "\n")
	if !strings.Contains(problems, "members") {
		t.Errorf("report:\n%s", problems)
	}
	t.Log(problems)
}
