package scope

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Scope is one permission an application can ask for.
type Scope struct {
	Name string
	// Description says in plain words what the application may do on the
	// user's behalf, keyed by lower-case language ("en", "ja").
	Description map[string]string
	// Implies lists the scopes this one includes directly.
	Implies []string
	// Level is the minimum user permission level needed to hold the scope.
	Level store.Level
}

// levelNames spells the levels as catalogue files do.
var levelNames = [...]string{
	store.LevelUser:        "user",
	store.LevelAdmin:       "admin",
	store.LevelSystemAdmin: "system-admin",
}

// Catalogue is a validated, immutable set of scopes, safe for concurrent use.
type Catalogue struct {
	scopes []Scope
	index  map[string]int    // name -> position in scopes
	folded map[string]string // lower-case name -> name
	// closure[i] holds the positions of scope i and everything it implies
	// transitively, in catalogue order.
	closure [][]int
}

// newCatalogue validates scopes and builds a Catalogue from a copy of them.
func newCatalogue(scopes []Scope) (*Catalogue, error) {
	if len(scopes) == 0 {
		return nil, errors.New("no scopes defined")
	}
	c := &Catalogue{
		scopes: make([]Scope, len(scopes)),
		index:  make(map[string]int, len(scopes)),
		folded: make(map[string]string, len(scopes)),
	}
	for i, s := range scopes {
		if s.Name == "" {
			return nil, fmt.Errorf("scope #%d has no name", i+1)
		}
		if !validToken(s.Name) {
			return nil, fmt.Errorf(`scope %+q: name is not a scope-token (RFC 6749 §3.3 allows printable ASCII except space, '"' and '\')`, s.Name)
		}
		if _, dup := c.index[s.Name]; dup {
			return nil, fmt.Errorf("scope %q is defined twice", s.Name)
		}
		// Canonical folds case, so names differing only in case would be ambiguous.
		lower := strings.ToLower(s.Name)
		if other, dup := c.folded[lower]; dup {
			return nil, fmt.Errorf("scope %q differs from %q only in letter case", s.Name, other)
		}
		if strings.TrimSpace(s.Description["en"]) == "" {
			return nil, fmt.Errorf("scope %q has no English (en) description", s.Name)
		}
		c.index[s.Name] = i
		c.folded[lower] = s.Name
		c.scopes[i] = clone(s)
	}
	for _, s := range c.scopes {
		for _, name := range s.Implies {
			j, ok := c.index[name]
			if !ok {
				return nil, fmt.Errorf("scope %q implies unknown scope %q", s.Name, name)
			}
			// Checking each direct edge keeps every transitive one in bounds
			// too, which is what makes Cap sufficient.
			if need := c.scopes[j].Level; need > s.Level {
				return nil, fmt.Errorf("scope %q (level %s) implies %q, which needs the higher level %s",
					s.Name, levelNames[s.Level], name, levelNames[need])
			}
		}
	}
	if err := c.buildClosure(); err != nil {
		return nil, err
	}
	return c, nil
}

// buildClosure fills c.closure by depth-first search, failing on a cycle.
func (c *Catalogue) buildClosure() error {
	const (
		unseen = iota
		visiting
		done
	)
	state := make([]int, len(c.scopes))
	c.closure = make([][]int, len(c.scopes))
	var path []string // names on the current search path, for the cycle error
	var visit func(i int) error
	visit = func(i int) error {
		name := c.scopes[i].Name
		switch state[i] {
		case done:
			return nil
		case visiting:
			cycle := slices.Concat(path[slices.Index(path, name):], []string{name})
			return fmt.Errorf("scope %q is part of an implication cycle: %s", name, strings.Join(cycle, " -> "))
		}
		state[i] = visiting
		path = append(path, name)
		held := make([]bool, len(c.scopes))
		held[i] = true
		for _, implied := range c.scopes[i].Implies {
			j := c.index[implied]
			if err := visit(j); err != nil {
				return err
			}
			for _, k := range c.closure[j] {
				held[k] = true
			}
		}
		path = path[:len(path)-1]
		state[i] = done
		for k, ok := range held {
			if ok {
				c.closure[i] = append(c.closure[i], k)
			}
		}
		return nil
	}
	for i := range c.scopes {
		if err := visit(i); err != nil {
			return err
		}
	}
	return nil
}

// clone copies s so callers cannot change a catalogue through what it returns.
func clone(s Scope) Scope {
	s.Description = maps.Clone(s.Description)
	s.Implies = slices.Clone(s.Implies)
	return s
}

// Lookup returns the scope with exactly this name.
func (c *Catalogue) Lookup(name string) (Scope, bool) {
	i, ok := c.index[name]
	if !ok {
		return Scope{}, false
	}
	return clone(c.scopes[i]), true
}

// Level returns the level of the scope with exactly this name, without
// copying the scope as Lookup does (it is asked at every token API call).
func (c *Catalogue) Level(name string) (store.Level, bool) {
	i, ok := c.index[name]
	if !ok {
		return 0, false
	}
	return c.scopes[i].Level, true
}

// All returns every scope in catalogue order.
func (c *Catalogue) All() []Scope {
	all := make([]Scope, len(c.scopes))
	for i, s := range c.scopes {
		all[i] = clone(s)
	}
	return all
}

// Canonical returns the catalogue's spelling of a scope matched without
// regard to letter case, for callers that choose to be lenient.
func (c *Catalogue) Canonical(name string) (string, bool) {
	if _, ok := c.index[name]; ok {
		return name, true
	}
	// Only scope-tokens fold: strings.ToLower would otherwise map some
	// non-ASCII letters (such as the Kelvin sign) onto ASCII ones.
	if !validToken(name) {
		return "", false
	}
	canon, ok := c.folded[strings.ToLower(name)]
	return canon, ok
}

// Expand returns the known scopes among names plus everything they imply,
// transitively, once each and in catalogue order. Unknown names grant
// nothing, so they are left out.
func (c *Catalogue) Expand(names []string) []string {
	var out []string
	for i, ok := range c.held(names) {
		if ok {
			out = append(out, c.scopes[i].Name)
		}
	}
	return out
}

// Includes reports whether granted, expanded, contains required.
func (c *Catalogue) Includes(granted []string, required string) bool {
	r, ok := c.index[required]
	return ok && c.held(granted)[r]
}

// held marks, by position, the scopes names grant.
func (c *Catalogue) held(names []string) []bool {
	held := make([]bool, len(c.scopes))
	for _, name := range names {
		i, ok := c.index[name]
		if !ok {
			continue
		}
		for _, j := range c.closure[i] {
			held[j] = true
		}
	}
	return held
}

// Cap splits names, keeping their order, into those a user of the given
// level may hold and those needing a higher level. Unknown names are dropped:
// nothing says who may hold them.
func (c *Catalogue) Cap(names []string, level store.Level) (kept, dropped []string) {
	for _, name := range names {
		if i, ok := c.index[name]; ok && c.scopes[i].Level <= level {
			kept = append(kept, name)
		} else {
			dropped = append(dropped, name)
		}
	}
	return kept, dropped
}

// Describe returns the description of a scope in lang (a language tag such
// as "ja" or "ja-JP"), falling back to English, then to the name itself.
func (c *Catalogue) Describe(name, lang string) string {
	text, _ := c.DescribeIn(name, lang)
	return text
}

// DescribeIn is Describe with the language the text is in: lang's, "en"
// for the English fallback, "" for the name itself. A page marks a
// fallback's language, so that a screen reader reads it as that language.
func (c *Catalogue) DescribeIn(name, lang string) (text, in string) {
	i, ok := c.index[name]
	if !ok {
		return name, ""
	}
	desc := c.scopes[i].Description
	lang = strings.ToLower(lang)
	base, _, _ := strings.Cut(lang, "-")
	for _, l := range []string{lang, base, "en"} {
		if text := desc[l]; text != "" {
			if l == lang {
				l = base // "ja-jp" holds Japanese: "ja"
			}
			return text, l
		}
	}
	return name, ""
}
