package web

import (
	"html/template"
	"regexp"
	"strings"
)

// constantT is a translation with a literal key and no arguments.
var constantT = regexp.MustCompile(`\{\{t "([^"{}]+)"\}\}`)

// pretranslate writes each constant translation of a template's source
// into the text, HTML-escaped, for one language: a page set is parsed per
// language anyway, and an action costs a reflective call and an escaper
// call at every rendering (a consent page had ~45 actions, a third of them
// constant translations; rendering was 13% of a browser flow's CPU).
//
// The text is escaped as html/template escapes text and quoted attribute
// values. Where that would not be its escaping — inside <script> or <style>,
// or in a URL, style or event-handler attribute — and where a translation
// could read as template syntax, the action is left to t at rendering.
func pretranslate(src string, msgs Messages, lang string) string {
	var b strings.Builder
	last := 0
	for _, m := range constantT.FindAllStringSubmatchIndex(src, -1) {
		start, end := m[0], m[1]
		text := msgs.T(lang, src[m[2]:m[3]])
		if !plainContext(src[:start]) || strings.Contains(text, "{{") || strings.Contains(text, "}}") {
			continue
		}
		b.WriteString(src[last:start])
		b.WriteString(escapeText(text))
		last = end
	}
	b.WriteString(src[last:])
	return b.String()
}

// escapeText escapes as html/template does text and quoted attribute values
// (its table also escapes '+').
func escapeText(s string) string {
	return strings.ReplaceAll(template.HTMLEscapeString(s), "+", "&#43;")
}

// plainContext reports whether template text ending with before leaves the
// next output in HTML text or in the value of an attribute that takes text.
func plainContext(before string) bool {
	lower := strings.ToLower(before)
	for _, raw := range []string{"script", "style"} {
		if strings.LastIndex(lower, "<"+raw) > strings.LastIndex(lower, "</"+raw) {
			return false
		}
	}
	open := strings.LastIndexByte(lower, '<')
	if open < strings.LastIndexByte(lower, '>') {
		return true // between tags
	}
	// Inside a tag: the value being written belongs to the last attribute named.
	tag := lower[open:]
	eq := strings.LastIndexByte(tag, '=')
	if eq < 0 {
		return false // an attribute name, not a value
	}
	name := strings.TrimSpace(tag[:eq])
	if i := strings.LastIndexAny(name, " \t\n"); i >= 0 {
		name = name[i+1:]
	}
	switch {
	case name == "href" || name == "src" || name == "action" || name == "formaction" || name == "style" || name == "srcset":
		return false
	case strings.HasPrefix(name, "on"):
		return false
	}
	value := tag[eq+1:]
	return strings.HasPrefix(value, `"`) || strings.HasPrefix(value, `'`)
}
