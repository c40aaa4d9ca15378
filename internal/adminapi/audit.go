package adminapi

import (
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/qvalue"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Audit paging: a page holds DefaultAuditPage events unless limit says
// otherwise (at most MaxAuditPage); an NDJSON export streams at most
// MaxAuditExport events (like the console's export), in batches.
const (
	DefaultAuditPage = 50
	MaxAuditPage     = 1000
	MaxAuditExport   = admin.MaxAuditExport
)

// NDJSON is the media type of the audit export.
const NDJSON = "application/x-ndjson"

// auditQuery is a parsed audit request.
type auditQuery struct {
	filter store.AuditFilter
	limit  int
	export bool
}

// parseAuditQuery reads the filter the console uses and refuses what it
// would silently ignore: an unreadable time, before or limit.
func parseAuditQuery(r *http.Request) (auditQuery, error) {
	aq := auditQuery{export: acceptsNDJSON(r.Header.Get("Accept"))}
	q, err := readQuery(r, "kind", "user", "client", "since", "until", "before", "limit")
	if err != nil {
		return aq, err
	}
	if aq.filter, err = admin.AuditFilterFromQuery(q); err != nil {
		return aq, err
	}
	ceiling, def := MaxAuditPage, DefaultAuditPage
	if aq.export {
		ceiling, def = MaxAuditExport, MaxAuditExport
	}
	aq.limit, err = intParam(q, "limit", 1, ceiling, def)
	return aq, err
}

// acceptsNDJSON reports whether Accept prefers NDJSON to JSON: NDJSON named
// with a weight above zero (q=0 means "not this", RFC 9110 §12.4.2) and
// not below JSON's. A wildcard does not ask for the export.
func acceptsNDJSON(accept string) bool {
	ndjson := acceptWeight(accept, NDJSON, false)
	return ndjson > 0 && ndjson >= acceptWeight(accept, "application/json", true)
}

// acceptWeight is the q of the most specific range in accept that matches
// mediaType (wildcards too when wildcards is set), or -1 when none does.
func acceptWeight(accept, mediaType string, wildcards bool) float64 {
	weight, specificity := -1.0, -1
	for _, part := range strings.Split(accept, ",") {
		t, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		s := -1
		switch {
		case t == mediaType:
			s = 2
		case wildcards && t == strings.SplitN(mediaType, "/", 2)[0]+"/*":
			s = 1
		case wildcards && t == "*/*":
			s = 0
		}
		if s <= specificity {
			continue
		}
		q := 1.0
		if v, given := params["q"]; given {
			var ok bool
			if q, ok = qvalue.Parse(v); !ok {
				continue
			}
		}
		weight, specificity = q, s
	}
	return weight
}

// auditPage is one page of events, newest first.
type auditPage struct {
	Events []admin.AuditView `json:"events"`
	// Next is the path and query of the next (older) page, or "" on the last.
	Next string `json:"next"`
}

// GET /rest/gatehouse/latest/audit?kind=&user=&client=&since=&until=&before=&limit=
func (a *API) listAudit(w http.ResponseWriter, r *http.Request, _ admin.Actor) error {
	aq, err := parseAuditQuery(r)
	if err != nil {
		return err
	}
	if aq.export {
		return a.exportAudit(w, r, aq)
	}
	f := aq.filter
	f.Limit = aq.limit + 1
	events, err := a.admin.Audit(r.Context(), f)
	if err != nil {
		return err
	}
	page := auditPage{Events: make([]admin.AuditView, 0, len(events))}
	if len(events) > aq.limit {
		events = events[:aq.limit]
		next := url.Values{}
		for k, v := range r.URL.Query() {
			next[k] = v
		}
		next.Set("before", strconv.FormatInt(events[len(events)-1].ID, 10))
		page.Next = PathGatehouse + "/audit?" + next.Encode()
	}
	for _, e := range events {
		page.Events = append(page.Events, admin.NewAuditView(e))
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// exportAudit streams every matching event (up to the limit) as JSON lines,
// newest first. A failure before the first line is an ordinary error answer;
// a later one can only end the stream early, and is logged.
func (a *API) exportAudit(w http.ResponseWriter, r *http.Request, aq auditQuery) error {
	rc := http.NewResponseController(w)
	started, err := a.admin.ExportAudit(r.Context(), w, aq.filter, admin.AuditExport{
		Limit: aq.limit,
		Start: func() {
			w.Header().Set("Content-Type", NDJSON+"; charset=utf-8")
			w.WriteHeader(http.StatusOK)
		},
		AfterBatch: func() {
			// A long export may outlive the server's write timeout: extend it per batch.
			rc.SetWriteDeadline(time.Now().Add(30 * time.Second)) //nolint:errcheck // not every writer supports it
			rc.Flush()                                            //nolint:errcheck
		},
	})
	if started && err != nil {
		a.log.Warn("audit export ended early", "error", err)
		return nil
	}
	return err
}
