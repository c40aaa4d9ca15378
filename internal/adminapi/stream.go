package adminapi

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// streamPages answers 200 with the object {name: [the items of every
// page], tail's members}, reading a page at a time with next (an empty page:
// no more) and writing each out before reading the next, so that a long
// list is never in memory whole. The first page is read before the answer
// starts, so that its failure is still an error answer; a later one can
// only cut the answer short — the connection closes before the answer's
// end — rather than leave the caller a shorter list that looks whole.
func streamPages[T any](a *API, w http.ResponseWriter, r *http.Request, name string, next func() ([]T, error), tail any) error {
	page, err := next()
	if err != nil {
		return err
	}
	out := startList(w, name)
	for len(page) > 0 {
		for _, item := range page {
			out.add(item)
		}
		if page, err = next(); err != nil {
			if r.Context().Err() == nil { // not the caller going away
				a.log.Error("admin API list cut short", "path", r.URL.Path, "error", err)
			}
			panic(http.ErrAbortHandler)
		}
	}
	out.end(tail)
	return nil
}

// listFlushAt is how many bytes of a streamed list are gathered before
// they are written out.
const listFlushAt = 32 << 10

// listStream writes a JSON object whose first member is a list, an item at
// a time, so that a long list is held whole neither in memory nor in one
// answer buffer. Its encoding is writeJSON's: no HTML escaping.
type listStream struct {
	w     http.ResponseWriter
	buf   bytes.Buffer
	enc   *json.Encoder
	items int
}

// startList answers 200 and opens the object and its list, name.
func startList(w http.ResponseWriter, name string) *listStream {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	l := &listStream{w: w}
	l.enc = json.NewEncoder(&l.buf)
	l.enc.SetEscapeHTML(false)
	l.buf.WriteString(`{"` + name + `":[`)
	return l
}

// add appends v to the list.
func (l *listStream) add(v any) {
	if l.items > 0 {
		l.buf.WriteByte(',')
	}
	l.items++
	l.encode(v)
	if l.buf.Len() >= listFlushAt {
		l.flush()
	}
}

// end closes the list and the object, whose other members are those of
// tail (a struct or map encoded as an object).
func (l *listStream) end(tail any) {
	l.buf.WriteByte(']')
	mark := l.buf.Len()
	l.encode(tail)
	if l.buf.Len()-mark > len("{}") { // tail's members follow the list's
		l.buf.Bytes()[mark] = ','
	} else {
		l.buf.Truncate(mark)
		l.buf.WriteByte('}')
	}
	l.buf.WriteByte('\n')
	l.flush()
}

// encode writes v's JSON to the buffer without Encode's newline. The views
// listed encode without error.
func (l *listStream) encode(v any) {
	l.enc.Encode(v) //nolint:errcheck // see above
	l.buf.Truncate(l.buf.Len() - 1)
}

// flush writes out what is gathered; a write error means the caller went
// away, which the request's context then tells the reads that follow.
func (l *listStream) flush() {
	l.w.Write(l.buf.Bytes()) //nolint:errcheck // see above
	l.buf.Reset()
}
