package scope

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/yamlfile"
)

// catalogueFile is the YAML form of a custom catalogue.
type catalogueFile struct {
	Scopes []fileScope `yaml:"scopes"`
}

type fileScope struct {
	Name        string            `yaml:"name"`
	Level       string            `yaml:"level"` // user (default), admin or system-admin
	Description map[string]string `yaml:"description"`
	Implies     []string          `yaml:"implies"`
}

// LoadFile reads and validates a custom catalogue from a YAML file.
func LoadFile(path string) (*Catalogue, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scope: %w", err)
	}
	c, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("scope: catalogue %s: %w", path, err)
	}
	return c, nil
}

// Parse validates a custom catalogue in YAML:
//
//	scopes:
//	  - name: g:schedule:read
//	    level: user # user (default), admin or system-admin
//	    description: {en: "View your schedule", ja: "予定を表示する"}
//	  - name: g:schedule:write
//	    implies: [g:schedule:read]
//	    description: {en: "Change your schedule", ja: "予定を変更する"}
func Parse(data []byte) (*Catalogue, error) {
	c, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("scope: catalogue: %w", err)
	}
	return c, nil
}

func parse(data []byte) (*Catalogue, error) {
	var f catalogueFile
	// io.EOF means an empty document, reported below as having no scopes.
	if err := yamlfile.Decode(data, &f); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	scopes := make([]Scope, len(f.Scopes))
	for i, fs := range f.Scopes {
		level := store.LevelUser
		if fs.Level != "" {
			l := slices.Index(levelNames[:], fs.Level)
			if l < 0 {
				return nil, fmt.Errorf("scope %q: level %q is not user, admin or system-admin", fs.Name, fs.Level)
			}
			level = store.Level(l)
		}
		desc := make(map[string]string, len(fs.Description))
		for lang, text := range fs.Description {
			desc[strings.ToLower(lang)] = text
		}
		scopes[i] = Scope{Name: fs.Name, Description: desc, Implies: fs.Implies, Level: level}
	}
	return newCatalogue(scopes)
}
