package bench

import (
	"bytes"
	"encoding/json"
	"html"
	"net/http"
	"strings"
	"time"
)

// jsonString returns the string value of a top-level-looking "key": "value"
// pair in a JSON object without decoding the whole document (the hot loops
// only need one field). It falls back to encoding/json when the value holds
// escapes. The result aliases body unless ok came from the fallback.
func jsonString(body []byte, key string) (value []byte, ok bool) {
	i := 0
	for {
		j := bytes.Index(body[i:], []byte(key))
		if j < 0 {
			return nil, false
		}
		start := i + j
		i = start + len(key)
		if start == 0 || body[start-1] != '"' || i >= len(body) || body[i] != '"' {
			continue
		}
		k := skipSpace(body, i+1)
		if k >= len(body) || body[k] != ':' {
			continue
		}
		k = skipSpace(body, k+1)
		if k >= len(body) || body[k] != '"' {
			return nil, false
		}
		end := bytes.IndexByte(body[k+1:], '"')
		if end < 0 {
			return nil, false
		}
		v := body[k+1 : k+1+end]
		if bytes.IndexByte(v, '\\') >= 0 {
			var m map[string]any
			if json.Unmarshal(body, &m) != nil {
				return nil, false
			}
			s, ok := m[key].(string)
			return []byte(s), ok
		}
		return v, true
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// jsonTrue reports whether the object has "key": true.
func jsonTrue(body []byte, key string) bool {
	if bytes.Contains(body, []byte(`"`+key+`":true`)) {
		return true
	}
	var m map[string]any
	return json.Unmarshal(body, &m) == nil && m[key] == true
}

// htmlForm is one <form> of a page: where it posts and its hidden fields.
type htmlForm struct {
	action string
	fields [][2]string
}

// findForm returns the form whose action ends with actionSuffix (the last one
// if several do). It reads the page as a sequence of tags rather than with a
// fixed pattern, so attribute order and quoting may change.
func findForm(page []byte, actionSuffix string) (htmlForm, bool) {
	var found htmlForm
	ok := false
	rest := page
	for {
		i := indexFold(rest, "<form")
		if i < 0 {
			return found, ok
		}
		rest = rest[i+len("<form"):]
		attrs, after := tagAttrs(rest)
		end := indexFold(after, "</form")
		if end < 0 {
			end = len(after)
		}
		inner := after[:end]
		rest = after[end:]
		action := attrs["action"]
		if !strings.HasSuffix(strings.SplitN(action, "?", 2)[0], actionSuffix) {
			continue
		}
		f := htmlForm{action: action}
		for {
			j := indexFold(inner, "<input")
			if j < 0 {
				break
			}
			var a map[string]string
			a, inner = tagAttrs(inner[j+len("<input"):])
			if strings.EqualFold(a["type"], "hidden") && a["name"] != "" {
				f.fields = append(f.fields, [2]string{a["name"], a["value"]})
			}
		}
		found, ok = f, true
	}
}

// get returns a field's value.
func (f htmlForm) get(name string) string {
	for _, kv := range f.fields {
		if kv[0] == name {
			return kv[1]
		}
	}
	return ""
}

func indexFold(b []byte, lowerNeedle string) int {
	// Pages are generated in lower case; an upper-case tag is looked for too.
	if i := bytes.Index(b, []byte(lowerNeedle)); i >= 0 {
		return i
	}
	return bytes.Index(b, []byte(strings.ToUpper(lowerNeedle)))
}

// tagAttrs parses attributes up to the end of a tag (its '>') and returns
// them with the bytes after the tag. Names are lower-cased, values unescaped.
func tagAttrs(b []byte) (map[string]string, []byte) {
	attrs := map[string]string{}
	i := 0
	for i < len(b) {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r' || b[i] == '/') {
			i++
		}
		if i >= len(b) {
			break
		}
		if b[i] == '>' {
			return attrs, b[i+1:]
		}
		start := i
		for i < len(b) && b[i] != '=' && b[i] != '>' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' && b[i] != '/' {
			i++
		}
		name := strings.ToLower(string(b[start:i]))
		if i >= len(b) || b[i] != '=' {
			attrs[name] = ""
			continue
		}
		i++
		var value []byte
		if i < len(b) && (b[i] == '"' || b[i] == '\'') {
			q := b[i]
			end := bytes.IndexByte(b[i+1:], q)
			if end < 0 {
				return attrs, nil
			}
			value = b[i+1 : i+1+end]
			i += end + 2
		} else {
			start := i
			for i < len(b) && b[i] != '>' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
				i++
			}
			value = b[start:i]
		}
		v := string(value)
		if strings.IndexByte(v, '&') >= 0 {
			v = html.UnescapeString(v)
		}
		attrs[name] = v
	}
	return attrs, nil
}

// cookies is a minimal cookie store for one host: enough for the session
// cookie of the sign-in and consent pages.
type cookies struct {
	list   []http.Cookie
	header string // the Cookie request header, rebuilt when the list changes
}

// update applies the Set-Cookie headers of an answer.
func (c *cookies) update(h http.Header) {
	lines := h["Set-Cookie"]
	if len(lines) == 0 {
		return
	}
	for _, line := range lines {
		sc, err := http.ParseSetCookie(line)
		if err != nil {
			continue
		}
		del := sc.MaxAge < 0 || sc.Value == "" || (!sc.Expires.IsZero() && sc.Expires.Before(time.Now()))
		kept := c.list[:0]
		for _, old := range c.list {
			if old.Name != sc.Name {
				kept = append(kept, old)
			}
		}
		c.list = kept
		if !del {
			c.list = append(c.list, http.Cookie{Name: sc.Name, Value: sc.Value})
		}
	}
	var sb strings.Builder
	for i, ck := range c.list {
		if i > 0 {
			sb.WriteString("; ")
		}
		sb.WriteString(ck.Name)
		sb.WriteByte('=')
		sb.WriteString(ck.Value)
	}
	c.header = sb.String()
}

// reset forgets every cookie.
func (c *cookies) reset() { c.list, c.header = c.list[:0], "" }
