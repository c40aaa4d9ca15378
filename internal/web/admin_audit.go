package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/store"
)

func (p *Pages) registerAdminAudit(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/audit", p.requireAdmin(p.handleAudit))
	mux.HandleFunc("GET /admin/audit/export", p.requireAdmin(p.handleAuditExport))
}

// AuditFilterFromQuery reads kind, user, client, since, until (YYYY-MM-DD or
// RFC 3339) and before (an event ID, for the next page).
func AuditFilterFromQuery(q url.Values) store.AuditFilter {
	f := store.AuditFilter{Kind: q.Get("kind"), Username: q.Get("user"), ClientID: q.Get("client")}
	f.Since = parseWhen(q.Get("since"), false)
	f.Until = parseWhen(q.Get("until"), true)
	f.BeforeID, _ = strconv.ParseInt(q.Get("before"), 10, 64)
	return f
}

// parseWhen reads a date (a whole day: its start, or with endOfDay its end) or an RFC 3339 time.
func parseWhen(s string, endOfDay bool) time.Time {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t
	}
	if d, err := time.Parse("2006-01-02", s); err == nil {
		if endOfDay {
			return d.AddDate(0, 0, 1)
		}
		return d
	}
	return time.Time{}
}

// auditKindPrefix is where an audit event kind's label lives in the
// catalogue: "client.secret.view" is labelled by "audit.kind.client.secret.view".
const auditKindPrefix = "audit.kind."

type auditData struct {
	Events   []store.AuditEvent
	Kinds    []string
	Query    url.Values
	NextPage string
	Export   string
}

const auditPageSize = 50

func (p *Pages) handleAudit(w http.ResponseWriter, r *http.Request, u store.User) {
	q := r.URL.Query()
	f := AuditFilterFromQuery(q)
	f.Limit = auditPageSize + 1
	events, err := p.admin.Audit(r.Context(), f)
	if isRefusal(err) {
		p.render(w, r, http.StatusBadRequest, "error", p.t(r, "error.title"), errorData{Message: p.refusal(r, err)})
		return
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	d := auditData{Kinds: audit.Kinds, Query: q}
	if len(events) > auditPageSize {
		events = events[:auditPageSize]
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set("before", strconv.FormatInt(events[len(events)-1].ID, 10))
		d.NextPage = "/admin/audit?" + next.Encode()
	}
	exp := url.Values{}
	for k, v := range q {
		if k != "before" {
			exp[k] = v
		}
	}
	d.Events, d.Export = events, "/admin/audit/export?"+exp.Encode()
	p.render(w, r, http.StatusOK, "admin_audit", p.t(r, "admin.audit"), d)
}

// AuditJSON is one exported event.
type AuditJSON struct {
	ID       int64     `json:"id"`
	At       time.Time `json:"at"`
	Kind     string    `json:"kind"`
	Actor    string    `json:"actor,omitempty"`
	Address  string    `json:"address,omitempty"`
	ClientID string    `json:"client_id,omitempty"`
	Username string    `json:"username,omitempty"`
	Detail   string    `json:"detail,omitempty"`
}

// ToAuditJSON converts an event for export.
func ToAuditJSON(e store.AuditEvent) AuditJSON {
	return AuditJSON{e.ID, e.At.UTC(), e.Kind, e.Actor, e.Address, e.ClientID, e.Username, e.Detail}
}

// maxExport bounds one export; page with before= for more.
const maxExport = 100_000

// handleAuditExport streams the matching events as JSON lines, newest first.
func (p *Pages) handleAuditExport(w http.ResponseWriter, r *http.Request, u store.User) {
	f := AuditFilterFromQuery(r.URL.Query())
	if _, err := p.admin.Audit(r.Context(), store.AuditFilter{Kind: f.Kind, Username: f.Username, ClientID: f.ClientID, Limit: 1}); isRefusal(err) {
		p.render(w, r, http.StatusBadRequest, "error", p.t(r, "error.title"), errorData{Message: p.refusal(r, err)})
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="gatehouse-audit.jsonl"`)
	enc := json.NewEncoder(w)
	for sent := 0; sent < maxExport; {
		f.Limit = 1000
		events, err := p.admin.Audit(r.Context(), f)
		if err != nil {
			p.log.Error("audit export", "error", err)
			return
		}
		for _, e := range events {
			enc.Encode(ToAuditJSON(e))
		}
		sent += len(events)
		if len(events) < f.Limit {
			return
		}
		f.BeforeID = events[len(events)-1].ID
	}
}
