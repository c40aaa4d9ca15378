// Package yamlfile reads the YAML files people write for Gatehouse (the
// configuration, a scope catalogue) strictly: a misspelt key or a second
// document would otherwise be ignored without a word.
package yamlfile

import (
	"bytes"
	"errors"
	"io"

	"go.yaml.in/yaml/v3"
)

// Decode reads exactly one YAML document of data into v, refusing unknown
// keys and anything after the first document. An empty input decodes
// nothing and returns io.EOF, so the caller decides whether that is fine.
func Decode(data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return err
	}
	err := dec.Decode(new(yaml.Node))
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return err
	}
	return errors.New(`more than one YAML document ("---"): only the first would be read; put everything in one`)
}
