// Package validation carries refusals that people read — invalid input, or an
// operation the rules forbid — in two forms: the English text of Error, for
// logs, the command line and the JSON admin API; and a stable message key with
// its arguments, which the web pages look up in their catalogue (under
// "refusal.<key>", internal/web/i18n) to word the refusal in the reader's
// language.
//
// The domain packages (internal/app, internal/admin, internal/user) make these
// errors; an Error wraps the domain's sentinel (app.ErrInvalid, …), so
// errors.Is still classifies it, and errors.As finds its key through any
// further wrapping.
package validation

import (
	"errors"
	"fmt"
)

// Error is a refusal with a message key.
type Error struct {
	// Key names the message, e.g. "app.scope_unknown"; it never changes
	// once published, whatever the English wording becomes.
	Key string
	// Args fill the message's verbs, in the order of the English text.
	Args []any
	err  error // the English text, wrapping the domain's sentinel
}

// Errorf returns an Error whose English text is format filled with args,
// after kind's text and ": " when kind is not nil; it wraps kind.
func Errorf(kind error, key, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	if kind == nil {
		return &Error{Key: key, Args: args, err: errors.New(msg)}
	}
	return &Error{Key: key, Args: args, err: fmt.Errorf("%w: %s", kind, msg)}
}

// Wrap gives err, already worded in English, a message key and arguments.
func Wrap(err error, key string, args ...any) *Error {
	return &Error{Key: key, Args: args, err: err}
}

func (e *Error) Error() string { return e.err.Error() }

func (e *Error) Unwrap() error { return e.err }
