package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// setZeroDurations lets a duration be written as a bare 0, as the docs show
// "0 (none)": YAML reads it as a number, which the decoder refuses for a
// duration, though 0 is the one number that is a duration in any unit. Given
// the decoder's error for data decoded into c, it sets each such setting to
// zero and returns the error without their refusals (nil when none is left).
// The decoder reports every other mistake in the same pass, so the line
// numbers in what is left are the file's own.
func setZeroDurations(decodeErr error, data []byte, c *Config) error {
	var te *yaml.TypeError
	if !errors.As(decodeErr, &te) {
		return decodeErr
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return decodeErr
	}
	zeros := map[string][]reflect.Value{}
	findZeroDurations(doc.Content[0], reflect.ValueOf(c).Elem(), zeros)
	left := slices.DeleteFunc(slices.Clone(te.Errors), func(msg string) bool {
		for _, f := range zeros[msg] {
			f.SetInt(0)
		}
		return zeros[msg] != nil
	})
	if len(left) == 0 {
		return nil
	}
	return &yaml.TypeError{Errors: left}
}

// findZeroDurations maps the decoder's refusal of each bare 0 written for a
// duration field of v, under node, to that field (to the fields, when one
// line of a flow mapping holds several).
func findZeroDurations(node *yaml.Node, v reflect.Value, zeros map[string][]reflect.Value) {
	if node.Kind != yaml.MappingNode || v.Kind() != reflect.Struct {
		return
	}
	for i := 0; i+1 < len(node.Content); i += 2 {
		key, value := node.Content[i], node.Content[i+1]
		f, ok := fieldByTag(v, key.Value)
		if !ok {
			continue
		}
		switch {
		case f.Type() == durationType && value.Kind == yaml.ScalarNode && value.Tag == "!!int" && value.Value == "0":
			msg := fmt.Sprintf("line %d: cannot unmarshal !!int `0` into time.Duration", value.Line)
			zeros[msg] = append(zeros[msg], f)
		case f.Kind() == reflect.Struct:
			findZeroDurations(value, f, zeros)
		}
	}
}

// fieldByTag is v's field whose yaml tag is name, looking into inline ones.
func fieldByTag(v reflect.Value, name string) (reflect.Value, bool) {
	t := v.Type()
	for i := range t.NumField() {
		tag, opts, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if opts == "inline" {
			if f, ok := fieldByTag(v.Field(i), name); ok {
				return f, true
			}
			continue
		}
		if tag == name && tag != "" && tag != "-" {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}
