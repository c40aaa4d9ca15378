package web

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"html/template"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// slottedData is page data carrying one value of its own that differs on
// every request (a form's signed ID). A page of such data is kept rendered
// with that value, and the page's own per-request values, left out as
// slots (slottedPages).
type slottedData interface {
	formID() string
	withFormID(id string) any
	// appendShape appends every field but the form ID (shape).
	appendShape(b shape) shape
}

// A slot is where one request's value goes into a kept page.
type slot byte

const (
	slotCSRF slot = iota
	slotRequestID
	slotFormID
	slotLangSwitch
	slotCount
)

// slottedPages keeps pages rendered with their per-request values left out,
// so that the same page shown again — the consent page for the same user,
// application and scopes, which every authorization shows — has them
// spliced in instead of executing the templates again (~50 µs of
// html/template's reflection per consent page; docs/performance.md).
//
// A page is kept under its shape: everything it is rendered from except
// the slots, so a change to any of it (an application renamed, a user's display
// name, the language) is a different page: nothing is ever stale. The slots
// are escaped as html/template would: the tokens (form token, signed ID,
// request ID) only when written in a double-quoted attribute value and made
// only of characters that no escaper changes there, the language switch
// link by html/template itself; a page whose slots stand anywhere else is
// rendered in full every time.
type slottedPages struct {
	mu    sync.RWMutex
	pages map[string]*keptPage // by the page's shape (appendShape); nil: rendered in full, not kept
	hits  atomic.Uint64        // for tests
}

// keptPages bounds the cache: a node shows few distinct consent pages at a
// time, and a full cache starts over rather than track use.
const keptPages = 64

// keptPage is a page split at its slots: text[i] comes before slots[i], and
// the last text after the last slot.
type keptPage struct {
	text  [][]byte
	slots []slot
}

// hrefTemplate escapes a link the way html/template escapes the language
// switch link in the layout: a double-quoted href attribute.
var hrefTemplate = template.Must(template.New("href").Parse(`<a href="{{.}}">`))

// hrefValue is link as hrefTemplate writes it between the quotes. A link
// made only of the characters of a path and a percent-encoded query (the
// language switch link nearly always is) has no scheme to filter and
// nothing html/template's URL normaliser changes (it keeps a '%' only
// before two hex digits), and its attribute escaper changes only '&' and
// '+' of those: so it is escaped by a replacer, not by executing the
// template (~15 µs per consent page). TestHrefValueIsTheTemplates checks
// the two agree.
func hrefValue(link string) (string, error) {
	if plainHref(link) {
		return hrefEscaper.Replace(link), nil
	}
	var b bytes.Buffer
	if err := hrefTemplate.Execute(&b, link); err != nil {
		return "", err
	}
	return string(bytes.TrimSuffix(bytes.TrimPrefix(b.Bytes(), []byte(`<a href="`)), []byte(`">`))), nil
}

// plainHref reports whether link is made of hrefPlain's characters and
// percent escapes.
func plainHref(link string) bool {
	for i := 0; i < len(link); i++ {
		if link[i] == '%' {
			if i+2 >= len(link) || !hexDigits[link[i+1]] || !hexDigits[link[i+2]] {
				return false
			}
			i += 2
		} else if !hrefPlain[link[i]] {
			return false
		}
	}
	return true
}

var (
	hrefPlain   = newCharSet(alphanumerics + "-._~/?=&+")
	hexDigits   = newCharSet("0123456789abcdefABCDEF")
	hrefEscaper = strings.NewReplacer("&", "&amp;", "+", "&#43;")
	// tokenPlain: base64url letters and dots, which a double-quoted
	// attribute value shows as they are.
	tokenPlain = newCharSet(alphanumerics + "-_.")
)

const alphanumerics = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// charSet is a set of bytes, looked up by table.
type charSet [256]bool

func newCharSet(chars string) *charSet {
	var c charSet
	for i := 0; i < len(chars); i++ {
		c[chars[i]] = true
	}
	return &c
}

// all reports whether every byte of s is in c.
func (c *charSet) all(s string) bool {
	for i := 0; i < len(s); i++ {
		if !c[s[i]] {
			return false
		}
	}
	return true
}

// execute renders tmpl, the page called name, for pg, whose Data is d,
// into buf.
func (c *slottedPages) execute(buf *bytes.Buffer, name string, tmpl *template.Template, pg page, d slottedData) error {
	values := [slotCount]string{slotCSRF: pg.CSRF, slotRequestID: pg.RequestID, slotFormID: d.formID()}
	for _, v := range values {
		if !tokenPlain.all(v) {
			return tmpl.ExecuteTemplate(buf, "layout", pg)
		}
	}
	shaped := shapeBuffers.Get().(*shape)
	defer shapeBuffers.Put(shaped)
	*shaped = pg.appendShape((*shaped)[:0], name, d)
	key := *shaped
	c.mu.RLock()
	kept, found := c.pages[string(key)]
	c.mu.RUnlock()
	var err error
	if !found {
		blank := pg
		blank.CSRF, blank.RequestID, blank.LangSwitch, blank.Data = "", "", "", d.withFormID("")
		if kept, err = keep(tmpl, blank, d); err != nil {
			return err
		}
		c.mu.Lock()
		if len(c.pages) >= keptPages || c.pages == nil {
			c.pages = make(map[string]*keptPage, keptPages)
		}
		c.pages[string(key)] = kept
		c.mu.Unlock()
	}
	if kept == nil {
		return tmpl.ExecuteTemplate(buf, "layout", pg)
	}
	if found {
		c.hits.Add(1)
	}
	if values[slotLangSwitch], err = hrefValue(pg.LangSwitch); err != nil {
		return err
	}
	for i, s := range kept.slots {
		buf.Write(kept.text[i])
		buf.WriteString(values[s])
	}
	buf.Write(kept.text[len(kept.slots)])
	return nil
}

// shape is a kept page's key: everything the page is rendered from but its
// slots, each string preceded by its length so that no two different pages
// share a shape. It is written field by field rather than by a generic
// encoder (JSON took ~14 µs per consent page, most of it for the user's
// password hash and times); TestShapeHoldsEveryField fails when a field of
// page, store.User or a slotted page's data is left out.
type shape []byte

var shapeBuffers = sync.Pool{New: func() any { return new(shape) }}

func (s shape) str(v string) shape {
	return append(binary.AppendUvarint(s, uint64(len(v))), v...)
}

func (s shape) strs(v []string) shape {
	s = binary.AppendUvarint(s, uint64(len(v)))
	for _, e := range v {
		s = s.str(e)
	}
	return s
}

func (s shape) num(v int64) shape { return binary.AppendVarint(s, v) }

func (s shape) flag(v bool) shape {
	if v {
		return append(s, 1)
	}
	return append(s, 0)
}

func (s shape) time(t time.Time) shape {
	zone, offset := t.Zone()
	return s.num(t.Unix()).num(int64(t.Nanosecond())).str(zone).num(int64(offset))
}

// appendShape appends the shape of pg, the page called name (which stands
// for its templates: they never change while the process runs), whose data
// is d.
func (pg page) appendShape(s shape, name string, d slottedData) shape {
	s = s.str(name).str(pg.Lang).str(pg.Title).flag(pg.IsAdmin).flag(pg.IsSystemAdmin).str(pg.Section).str(pg.Flash)
	if u := pg.User; u == nil {
		s = s.flag(false)
	} else {
		s = s.flag(true).str(u.ID).str(u.Username).str(u.DisplayName).str(u.Email).str(u.PasswordHash).
			num(int64(u.Level)).strs(u.Groups).flag(u.Disabled).time(u.SessionsAfter).time(u.CreatedAt).time(u.UpdatedAt)
	}
	return d.appendShape(s)
}

// keep renders blank (pg without its slots' values) with a fresh random
// marker in each slot and splits the page at them; nil when a slot stands
// where keptPage cannot fill it.
func keep(tmpl *template.Template, blank page, d slottedData) (*keptPage, error) {
	var nonce [12]byte
	rand.Read(nonce[:])
	marker := "gh" + hex.EncodeToString(nonce[:]) // letters and digits: every escaper keeps them
	mark := func(s slot) string { return marker + string('0'+rune(s)) }
	blank.CSRF, blank.RequestID, blank.LangSwitch, blank.Data = mark(slotCSRF), mark(slotRequestID), mark(slotLangSwitch), d.withFormID(mark(slotFormID))
	var out bytes.Buffer
	if err := tmpl.ExecuteTemplate(&out, "layout", blank); err != nil {
		return nil, err
	}
	page, kept := out.Bytes(), &keptPage{}
	for {
		at := bytes.Index(page, []byte(marker))
		if at < 0 {
			break
		}
		end := at + len(marker) + 1
		if end > len(page) || page[end-1] < '0' || page[end-1] >= '0'+byte(slotCount) {
			return nil, nil
		}
		s := slot(page[end-1] - '0')
		opening := []byte(` value="`)
		if s == slotLangSwitch {
			opening = []byte(` href="`)
		}
		if !bytes.HasSuffix(page[:at], opening) || end == len(page) || page[end] != '"' {
			return nil, nil
		}
		kept.text = append(kept.text, page[:at])
		kept.slots = append(kept.slots, s)
		page = page[end:]
	}
	kept.text = append(kept.text, page)
	return kept, nil
}
