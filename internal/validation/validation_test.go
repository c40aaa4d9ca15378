package validation

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

func TestError(t *testing.T) {
	errInvalid := errors.New("invalid thing")
	cases := []struct {
		err      *Error
		text     string
		sentinel error
	}{
		{Errorf(errInvalid, "thing.size", "size must be at most %d", 5), "invalid thing: size must be at most 5", errInvalid},
		{Errorf(nil, "thing.name", "name %q is taken", "a"), `name "a" is taken`, nil},
		{Wrap(fmt.Errorf("%w (%d)", errInvalid, 3), "thing.limit", 3), "invalid thing (3)", errInvalid},
	}
	for _, c := range cases {
		if c.err.Error() != c.text {
			t.Errorf("Error() = %q, want %q", c.err.Error(), c.text)
		}
		if c.sentinel != nil && !errors.Is(c.err, c.sentinel) {
			t.Errorf("%q does not wrap its sentinel", c.text)
		}
		// Wrapped again (as a domain package prefixes a value's refusal), the key is still found.
		var v *Error
		if wrapped := fmt.Errorf("%w: %w", errInvalid, c.err); !errors.As(wrapped, &v) || v.Key != c.err.Key || !slices.Equal(v.Args, c.err.Args) {
			t.Errorf("%q: errors.As lost the key", c.text)
		}
	}
}
