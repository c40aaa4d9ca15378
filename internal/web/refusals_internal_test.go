package web

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/validation"
)

// refusalSources are the packages whose refusals the pages show.
var refusalSources = []string{"../app", "../admin", "../user", "../validation", "../mail", "../integration", "."}

// refusalUse is one place that makes a refusal with a literal message key.
type refusalUse struct {
	key  string
	args int // the arguments after the English format
	at   string
}

// refusalUses reads the sources for the calls that make a *validation.Error:
// validation.Errorf(kind, key, format, args...), validation.Wrap(err, key,
// args...) and the packages' helpers invalid, problem and aboveLevel (key,
// format, args...). It also reports any error that wraps a refusal sentinel
// (ErrInvalid, ErrLimit) without a key, but for a narrower sentinel
// (fmt.Errorf("%w", ErrInvalid)), which only ever serves as a kind.
func refusalUses(t *testing.T) []refusalUse {
	t.Helper()
	var uses []refusalUse
	fset := token.NewFileSet()
	for _, dir := range refusalSources {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no sources in %s: %v", dir, err)
		}
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, name, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				at := fset.Position(call.Pos()).String()
				keyAt, formatted, descend := -1, false, true
				switch callee(call) {
				case "invalid", "problem", "aboveLevel":
					keyAt, formatted = 0, true
				case "validation.Errorf", "Errorf": // bare inside package validation
					keyAt, formatted = 1, true
				case "validation.Wrap":
					keyAt = 1
					descend = false // its error argument wraps the sentinel on purpose
				case "fmt.Errorf":
					if wrapsSentinel(call) && !isWrapOfRefusal(call) && !isNarrowerSentinel(call) {
						t.Errorf("%s: an error wraps a refusal sentinel without a message key (use validation.Errorf)", at)
					}
				case "errors.Join":
					if wrapsSentinel(call) {
						t.Errorf("%s: an error wraps a refusal sentinel without a message key (use validation.Errorf)", at)
					}
				}
				if keyAt < 0 || len(call.Args) <= keyAt {
					return descend
				}
				lit, ok := call.Args[keyAt].(*ast.BasicLit)
				if !ok {
					if id, ok := call.Args[keyAt].(*ast.Ident); ok && id.Name == "key" {
						return descend // a helper passing its own key on
					}
					t.Errorf("%s: the message key is not a string literal", at)
					return descend
				}
				key, _ := strconv.Unquote(lit.Value)
				args := len(call.Args) - keyAt - 1
				if formatted {
					args--
				}
				if call.Ellipsis.IsValid() {
					t.Errorf("%s: %s: arguments passed as a slice cannot be counted", at, key)
				}
				uses = append(uses, refusalUse{key, args, at})
				return descend
			})
		}
	}
	return uses
}

func callee(call *ast.CallExpr) string {
	switch fn := call.Fun.(type) {
	case *ast.Ident:
		return fn.Name
	case *ast.SelectorExpr:
		if x, ok := fn.X.(*ast.Ident); ok {
			return x.Name + "." + fn.Sel.Name
		}
	}
	return ""
}

// wrapsSentinel reports whether a call's arguments name ErrInvalid or ErrLimit.
func wrapsSentinel(call *ast.CallExpr) bool {
	for _, a := range call.Args {
		name := ""
		switch a := a.(type) {
		case *ast.Ident:
			name = a.Name
		case *ast.SelectorExpr:
			name = a.Sel.Name
		}
		if name == "ErrInvalid" || name == "ErrLimit" {
			return true
		}
	}
	return false
}

// isWrapOfRefusal recognises fmt.Errorf("%w: %w", ErrInvalid, err), which
// prefixes a refusal that has its key already (a redirect URI's, say).
func isWrapOfRefusal(call *ast.CallExpr) bool {
	lit, ok := call.Args[0].(*ast.BasicLit)
	return ok && lit.Value == `"%w: %w"` && len(call.Args) == 3
}

// isNarrowerSentinel recognises fmt.Errorf("%w", ErrInvalid): a sentinel
// that is a kind of refusal (admin.ErrAboveLevel), given to validation.Errorf.
func isNarrowerSentinel(call *ast.CallExpr) bool {
	lit, ok := call.Args[0].(*ast.BasicLit)
	return ok && lit.Value == `"%w"` && len(call.Args) == 2
}

var verb = regexp.MustCompile(`%(?:\[(\d+)\])?[-+# 0]*\d*(?:\.\d+)?([a-zA-Z%])`)

// verbArgs is how many arguments a catalogue text uses.
func verbArgs(text string) int {
	n, next := 0, 1
	for _, m := range verb.FindAllStringSubmatch(text, -1) {
		if m[2] == "%" {
			continue
		}
		if m[1] != "" {
			next, _ = strconv.Atoi(m[1])
		}
		n = max(n, next)
		next++
	}
	return n
}

// TestEveryRefusalKeyIsInTheCatalogue reads the services' sources: every
// message key of a refusal must be in the catalogue of every language with
// as many verbs as the refusal has arguments, every refusal entry of the
// catalogue must be used, and no refusal may lack a key.
func TestEveryRefusalKeyIsInTheCatalogue(t *testing.T) {
	m, err := LoadMessages()
	if err != nil {
		t.Fatal(err)
	}
	uses := refusalUses(t)
	if len(uses) < 30 {
		t.Fatalf("found only %d refusals; is the scan still finding them?", len(uses))
	}
	used := map[string]bool{}
	for _, u := range uses {
		used[refusalPrefix+u.key] = true
		for _, lang := range Languages {
			text, ok := m[lang][refusalPrefix+u.key]
			if !ok {
				t.Errorf("%s: %s lacks %q", u.at, lang, refusalPrefix+u.key)
				continue
			}
			if n := verbArgs(text); n != u.args {
				t.Errorf("%s: %s %q uses %d arguments, the refusal has %d", u.at, lang, refusalPrefix+u.key, n, u.args)
			}
		}
	}
	for key := range m[Languages[0]] {
		if strings.HasPrefix(key, refusalPrefix) && !used[key] {
			t.Errorf("the catalogue has %q, which no refusal uses", key)
		}
	}
}

func TestVerbArgs(t *testing.T) {
	for text, want := range map[string]int{"": 0, "100%% sure": 0, "%s": 1, "%q and %d×%d": 3, "%[2]s は %[1]s": 2, "%5.1f%%": 1} {
		if got := verbArgs(text); got != want {
			t.Errorf("verbArgs(%q) = %d, want %d", text, got, want)
		}
	}
}

// TestRefusalWithoutTranslation: a refusal without a key, or with a key the
// catalogue lacks, is shown as a general refusal in the page's language and
// logged with its English text; it never reaches the page in English.
func TestRefusalWithoutTranslation(t *testing.T) {
	m, err := LoadMessages()
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	p := &Pages{messages: m, log: slog.New(slog.NewTextHandler(&logged, nil))}
	for _, err := range []error{
		fmt.Errorf("%w: a refusal nobody gave a key", app.ErrInvalid),
		validation.Errorf(admin.ErrInvalid, "admin.no_such_key", "a refusal whose key is not in the catalogue"),
	} {
		for _, lang := range Languages {
			logged.Reset()
			r := httptest.NewRequest("POST", "/admin/apps/new", nil)
			r.Header.Set("Accept-Language", lang)
			if got, want := p.refusal(r, err), m.T(lang, "error.refused"); got != want {
				t.Errorf("%s: %q, want %q", lang, got, want)
			}
			if !strings.Contains(logged.String(), "a refusal") {
				t.Errorf("%s: the refusal was not logged: %s", lang, logged.String())
			}
		}
	}
	// A key found through further wrapping is used.
	wrapped := fmt.Errorf("saving: %w", validation.Errorf(app.ErrInvalid, "app.scope_unknown", "scope %q is not in the scope catalogue", "NOPE"))
	r := httptest.NewRequest("POST", "/admin/apps/new", nil)
	r.Header.Set("Accept-Language", "ja")
	if got, want := p.refusal(r, wrapped), m.T("ja", "refusal.app.scope_unknown", "NOPE"); got != want {
		t.Errorf("wrapped refusal: %q, want %q", got, want)
	}
}

// TestEveryAuditKindHasALabel: the audit page labels every kind in every language.
func TestEveryAuditKindHasALabel(t *testing.T) {
	m, err := LoadMessages()
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, kind := range audit.Kinds {
		kinds[auditKindPrefix+kind] = true
		for _, lang := range Languages {
			if m[lang][auditKindPrefix+kind] == "" {
				t.Errorf("%s has no label for the audit kind %s", lang, kind)
			}
		}
	}
	for key := range m[Languages[0]] {
		if strings.HasPrefix(key, auditKindPrefix) && !kinds[key] {
			t.Errorf("the catalogue labels %q, which is no audit kind", key)
		}
	}
}
