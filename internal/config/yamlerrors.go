package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

var (
	unknownField = regexp.MustCompile(`^line (\d+): field (\S+) not found in type config\.(\w+)$`)
	badValue     = regexp.MustCompile(`^line (\d+): cannot unmarshal !!\w+ ` + "`(.*)`" + ` into (time\.Duration|bool|int)$`)
	// urlCredentials is the user and password of a URL, which an error
	// that echoes a misplaced database URL must not print.
	urlCredentials = regexp.MustCompile(`://[^/\s@]*@`)
)

// fileErrors words the YAML decoder's refusals of a configuration file in
// the file's own terms: "unknown setting lifetimes.acces_token; did you mean
// lifetimes.access_token?" rather than "field acces_token not found in type
// config.Lifetimes", and "\"90\" is not a duration such as 90s" rather than
// "cannot unmarshal !!int `90` into time.Duration". Others pass unchanged.
func fileErrors(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return errors.New(urlCredentials.ReplaceAllString(err.Error(), "://…@"))
	}
	sections := yamlSections()
	lines := make([]string, 0, len(te.Errors))
	for _, msg := range te.Errors {
		if m := unknownField.FindStringSubmatch(msg); m != nil {
			keys, known := sections[m[3]]
			if !known {
				lines = append(lines, msg)
				continue
			}
			line := fmt.Sprintf("line %s: unknown setting %s", m[1], keys.path+m[2])
			if near := closest(m[2], keys.names); near != "" {
				line += "; did you mean " + keys.path + near + "?"
			}
			lines = append(lines, line)
			continue
		}
		if m := badValue.FindStringSubmatch(msg); m != nil {
			want := map[string]string{"time.Duration": "a duration such as 90s, 10m or 2h", "bool": "true or false", "int": "a whole number"}[m[3]]
			lines = append(lines, fmt.Sprintf("line %s: %q is not %s", m[1], m[2], want))
			continue
		}
		lines = append(lines, msg)
	}
	return errors.New(urlCredentials.ReplaceAllString(strings.Join(lines, "; "), "://…@"))
}

// section is one YAML mapping of the configuration: its dotted path
// ("lifetimes.") and its keys.
type section struct {
	path  string
	names []string
}

// yamlSections maps each struct type of Config to its section.
func yamlSections() map[string]section {
	out := map[string]section{}
	var visit func(t reflect.Type, path string)
	visit = func(t reflect.Type, path string) {
		s := out[t.Name()]
		s.path = path
		for i := range t.NumField() {
			f := t.Field(i)
			tag, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			switch {
			case opts == "inline" && f.Type.Kind() == reflect.Struct:
				// Its keys sit at this level.
				visit(f.Type, path)
				s.names = append(s.names, out[f.Type.Name()].names...)
			case tag == "" || tag == "-":
			default:
				s.names = append(s.names, tag)
				if f.Type.Kind() == reflect.Struct && f.Type != durationType {
					visit(f.Type, path+tag+".")
				}
			}
		}
		out[t.Name()] = s
	}
	visit(reflect.TypeOf(Config{}), "")
	return out
}
