package adminapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
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

// TestStreamedListCutShortOnALaterFailure: when a page after the first
// fails to read, the caller must not get what looks like a whole, shorter
// list: over real HTTP the answer ends without its JSON end or its last
// chunk, so the client reads an error, whether or not part of the list had
// already been sent; and the failure is logged. A first page's failure is
// still an ordinary error answer.
func TestStreamedListCutShortOnALaterFailure(t *testing.T) {
	type item struct {
		N int `json:"n"`
	}
	pageOf := func(n int) []item {
		page := make([]item, n)
		for i := range page {
			page[i].N = i
		}
		return page
	}
	failure := errors.New("the database went away")
	for _, c := range []struct {
		name     string
		pages    [][]item // read in turn; the read after the last fails
		sentPart bool     // whether part of the list goes out before the failure
	}{
		{"the failure on the second page, nothing sent yet", [][]item{pageOf(3)}, false},
		{"the failure after flushes", [][]item{pageOf(listFlushAt / 4), pageOf(listFlushAt / 4)}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var logged bytes.Buffer
			a := &API{log: slog.New(slog.NewTextHandler(&logged, nil))}
			handled := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				defer close(handled)
				reads := 0
				next := func() ([]item, error) {
					if reads == len(c.pages) {
						return nil, failure
					}
					reads++
					return c.pages[reads-1], nil
				}
				if err := streamPages(a, w, r, "items", next, struct{}{}); err != nil {
					t.Errorf("streamPages: %v, want the later failure to cut the answer", err)
				}
			}))
			defer srv.Close()
			checkLogged := func() {
				<-handled
				if !strings.Contains(logged.String(), "admin API list cut short") || !strings.Contains(logged.String(), failure.Error()) {
					t.Errorf("logged %q; want the cut and its cause", logged.String())
				}
			}

			resp, err := http.Get(srv.URL)
			if err != nil {
				if c.sentPart {
					t.Fatalf("GET: %v; want the list's start before the cut", err)
				}
				checkLogged()
				return
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err == nil {
				t.Fatalf("the answer read whole (%d bytes, ends %q); want it cut", len(body), body[max(0, len(body)-20):])
			}
			if c.sentPart && (resp.StatusCode != 200 || !strings.HasPrefix(string(body), `{"items":[{"n":0}`)) {
				t.Errorf("status %d, body starts %.40q; want the list's start", resp.StatusCode, body)
			}
			checkLogged()
		})
	}

	a := &API{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	rec := httptest.NewRecorder()
	err := streamPages(a, rec, httptest.NewRequest("GET", "/", nil), "items", func() ([]item, error) { return nil, failure }, struct{}{})
	if !errors.Is(err, failure) || rec.Body.Len() != 0 {
		t.Errorf("first page failing: err %v, body %q; want the error returned and nothing written", err, rec.Body)
	}
}
