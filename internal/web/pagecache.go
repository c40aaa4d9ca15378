package web

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"html/template"
	"strings"
	"sync"
	"sync/atomic"
)

// slottedData is page data carrying one value of its own that differs on
// every request (a form's signed ID). A page of such data is kept rendered
// with that value, and the page's own per-request values, left out as
// slots (slottedPages).
type slottedData interface {
	formID() string
	withFormID(id string) any
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
// A page is kept under a hash of everything it is rendered from except the
// slots, so a change to any of it (an application renamed, a user's display
// name, the language) is a different page: nothing is ever stale. The slots
// are escaped as html/template would: the tokens (form token, signed ID,
// request ID) only when written in a double-quoted attribute value and made
// only of characters that no escaper changes there, the language switch
// link by html/template itself; a page whose slots stand anywhere else is
// rendered in full every time.
type slottedPages struct {
	mu    sync.RWMutex
	pages map[[sha256.Size]byte]*keptPage // nil: rendered in full, not kept
	hits  atomic.Uint64                   // for tests
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
	blank := pg
	blank.CSRF, blank.RequestID, blank.LangSwitch, blank.Data = "", "", "", d.withFormID("")
	shape, err := json.Marshal(struct {
		Name string
		Page page
	}{name, blank}) // the templates never change while the process runs
	if err != nil {
		return tmpl.ExecuteTemplate(buf, "layout", pg)
	}
	key := sha256.Sum256(shape)
	c.mu.RLock()
	kept, found := c.pages[key]
	c.mu.RUnlock()
	if !found {
		if kept, err = keep(tmpl, blank, d); err != nil {
			return err
		}
		c.mu.Lock()
		if len(c.pages) >= keptPages || c.pages == nil {
			c.pages = make(map[[sha256.Size]byte]*keptPage, keptPages)
		}
		c.pages[key] = kept
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
