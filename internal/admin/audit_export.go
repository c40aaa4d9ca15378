package admin

import (
	"context"
	"encoding/json"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/user"
)

// MaxAuditExport bounds one export; page with before= for more.
const MaxAuditExport = 100_000

// auditExportBatch is how many events one read of an export takes.
const auditExportBatch = 1000

// AuditFilterFromQuery reads kind, user, client, since, until (YYYY-MM-DD or
// RFC 3339) and before (an event ID, for the next page); the console and the
// API take the same query, read with ReadQuery.
func AuditFilterFromQuery(q url.Values) (store.AuditFilter, error) {
	f := store.AuditFilter{Kind: q.Get("kind"), Username: q.Get("user"), ClientID: q.Get("client")}
	// Usernames are case-insensitive, and stored as NormalizeUsername makes
	// them; an actor with a colon (the command line's cli:NAME, whose OS
	// user name may have capitals) is no username and is matched as it is.
	if !strings.Contains(f.Username, ":") && utf8.ValidString(f.Username) { // ToLower would mend what must be refused
		f.Username = user.NormalizeUsername(f.Username)
	}
	var ok bool
	if f.Since, ok = parseWhen(q.Get("since"), false); !ok {
		return f, invalid("admin.audit_since", "since must be a date (2006-01-02) or an RFC 3339 time")
	}
	if f.Until, ok = parseWhen(q.Get("until"), true); !ok {
		return f, invalid("admin.audit_until", "until must be a date (2006-01-02) or an RFC 3339 time")
	}
	if s := q.Get("before"); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return f, invalid("admin.audit_before", "before must be an event ID (a positive integer)")
		}
		f.BeforeID = id
	}
	return f, nil
}

// parseWhen reads a date (a whole day: its start, or with endOfDay its end)
// or an RFC 3339 time; "" is no bound, anything else unreadable is not ok.
func parseWhen(s string, endOfDay bool) (time.Time, bool) {
	if s == "" {
		return time.Time{}, true
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, true
	}
	if d, err := time.Parse("2006-01-02", s); err == nil {
		if endOfDay {
			return d.AddDate(0, 0, 1), true
		}
		return d, true
	}
	return time.Time{}, false
}

// AuditExport says how ExportAudit writes.
type AuditExport struct {
	Limit int // at most this many events (0 or more than MaxAuditExport: MaxAuditExport)
	// Start runs once, just before the first line: headers go out then, so a
	// refusal or a failure before it can still be answered as an error.
	Start func()
	// AfterBatch runs after each batch of lines (to flush, to extend a deadline).
	AfterBatch func()
}

// ExportAudit writes the events matching f as JSON lines, newest first, in
// batches: the one export of the console and the API. It reports whether it
// started writing; an error after that can only end the stream early.
func (s *Service) ExportAudit(ctx context.Context, w io.Writer, f store.AuditFilter, x AuditExport) (started bool, err error) {
	if x.Limit <= 0 || x.Limit > MaxAuditExport {
		x.Limit = MaxAuditExport
	}
	enc := json.NewEncoder(w)
	for sent := 0; sent < x.Limit; {
		f.Limit = min(auditExportBatch, x.Limit-sent)
		events, err := s.Audit(ctx, f)
		if err != nil {
			return started, err
		}
		if !started {
			if x.Start != nil {
				x.Start()
			}
			started = true
		}
		for _, e := range events {
			if err := enc.Encode(NewAuditView(e)); err != nil {
				return started, err
			}
		}
		sent += len(events)
		if len(events) < f.Limit {
			return started, nil
		}
		f.BeforeID = events[len(events)-1].ID
		if x.AfterBatch != nil {
			x.AfterBatch()
		}
	}
	return started, nil
}

// ReadQuery parses a list's query strictly: a pair that cannot be decoded
// or a parameter given twice is refused. url.Query drops the one and takes
// the first of the other silently, which widens or changes a filter — and
// a list a script acts on.
func ReadQuery(raw string) (url.Values, error) {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return nil, invalid("admin.query_encoding", "the query cannot be read (%v): percent-encode it", err)
	}
	for name, values := range q {
		if len(values) > 1 {
			return nil, invalid("admin.query_repeated", "%s is given more than once", name)
		}
	}
	return q, nil
}
