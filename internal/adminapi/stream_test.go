package adminapi

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestListStreamWritesOneDocument: a streamed list is one JSON document
// whatever its length (past the flush size too), with the tail's members
// after the list, and encoded as writeJSON encodes: no HTML escaping.
func TestListStreamWritesOneDocument(t *testing.T) {
	type item struct {
		N    int    `json:"n"`
		Text string `json:"text"`
	}
	for _, c := range []struct {
		items int
		tail  any
		want  string // the document's members after the list, as JSON
	}{
		{0, struct {
			Total int `json:"total"`
		}{0}, `"total":0`},
		{1, struct {
			Next string `json:"next"`
		}{"/next?a=1&b=<2>"}, `"next":"/next?a=1&b=<2>"`},
		{3 * listFlushAt / 20, struct{}{}, ``}, // several flushes
	} {
		rec := httptest.NewRecorder()
		out := startList(rec, "items")
		for i := range c.items {
			out.add(item{i, "<b>&</b>"})
		}
		out.end(c.tail)
		body := rec.Body.String()
		if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json; charset=utf-8" {
			t.Fatalf("%d items: status %d, type %q", c.items, rec.Code, rec.Header().Get("Content-Type"))
		}
		var doc struct {
			Items []item `json:"items"`
		}
		if err := json.Unmarshal([]byte(body), &doc); err != nil {
			t.Fatalf("%d items: not one JSON document (%v): %.200s…", c.items, err, body)
		}
		if len(doc.Items) != c.items || (c.items > 0 && doc.Items[c.items-1].N != c.items-1) {
			t.Errorf("%d items: read back %d", c.items, len(doc.Items))
		}
		if c.items > 0 && !strings.Contains(body, `"text":"<b>&</b>"`) {
			t.Errorf("%d items: HTML escaped: %.200s", c.items, body)
		}
		tail := "]}\n"
		if c.want != "" {
			tail = "]," + c.want + "}\n"
		}
		if !strings.HasSuffix(body, tail) {
			t.Errorf("%d items: ends %q, want %q", c.items, body[max(0, len(body)-40):], tail)
		}
	}
}
