package web

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/store"
)

func (p *Pages) registerAdminAudit(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/audit", p.requireAdmin(p.handleAudit))
	mux.HandleFunc("GET /admin/audit/export", p.requireAdmin(p.handleAuditExport))
}

// auditKindPrefix is where an audit event kind's label lives in the
// catalogue: "client.secret.view" is labelled by "audit.kind.client.secret.view".
const auditKindPrefix = "audit.kind."

type auditData struct {
	Events []store.AuditEvent
	// AppNames names the applications by client ID; a deleted one is not in it.
	AppNames map[string]string
	Kinds    []string
	Query    url.Values
	NextPage string
	// Newest leads back to the first page, once paged past it.
	Newest string
	Export string
}

const auditPageSize = 50

func (p *Pages) handleAudit(w http.ResponseWriter, r *http.Request, u store.User) error {
	q, err := admin.ReadQuery(r.URL.RawQuery)
	if err != nil {
		return err
	}
	f, err := admin.AuditFilterFromQuery(q)
	if err != nil {
		return err
	}
	f.Limit = auditPageSize + 1
	events, err := p.admin.Audit(r.Context(), f)
	if err != nil {
		return err
	}
	names, err := p.admin.AppNames(r.Context())
	if err != nil {
		return err
	}
	d := auditData{Kinds: audit.Kinds, Query: q, AppNames: names}
	if len(events) > auditPageSize {
		events = events[:auditPageSize]
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set("before", strconv.FormatInt(events[len(events)-1].ID, 10))
		d.NextPage = "/admin/audit?" + next.Encode()
	}
	filter := url.Values{}
	for k, v := range q {
		if k != "before" {
			filter[k] = v
		}
	}
	d.Events, d.Export = events, "/admin/audit/export?"+filter.Encode()
	if q.Has("before") {
		d.Newest = "/admin/audit"
		if len(filter) > 0 {
			d.Newest += "?" + filter.Encode()
		}
	}
	p.render(w, r, http.StatusOK, "admin_audit", p.t(r, "admin.audit"), d)
	return nil
}

// handleAuditExport streams the matching events as JSON lines, newest first.
func (p *Pages) handleAuditExport(w http.ResponseWriter, r *http.Request, u store.User) error {
	q, err := admin.ReadQuery(r.URL.RawQuery)
	if err != nil {
		return err
	}
	f, err := admin.AuditFilterFromQuery(q)
	if err != nil {
		return err
	}
	started, err := p.admin.ExportAudit(r.Context(), w, f, admin.AuditExport{
		Start: func() {
			w.Header().Set("Content-Type", "application/x-ndjson; charset=utf-8")
			w.Header().Set("Content-Disposition", `attachment; filename="gatehouse-audit.jsonl"`)
		},
	})
	if err != nil && started {
		p.log.Warn("audit export ended early", "error", err)
		return nil
	}
	return err // a refusal before the first line is the console's 400
}
