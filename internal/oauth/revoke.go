package oauth

import (
	"errors"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/clientip"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/token"
)

// handleRevoke serves RFC 7009. Revoking a refresh token revokes its whole
// grant (§2.1); an access token is revoked alone. Unknown, malformed and
// already revoked tokens get the same 200 (§2.2). A token issued to another
// client is refused and stays valid: §2.1 has the server verify that the
// token was issued to the client making the request, and answering 200 would
// tell that client its request worked.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	if err := s.revoke(w, r); err != nil {
		writeError(w, s.log, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

func (s *Server) revoke(w http.ResponseWriter, r *http.Request) error {
	form, e := readForm(w, r, s.settings.CompatQuery)
	if e != nil {
		return e
	}
	ctx := r.Context()
	c, e := s.authenticateClient(ctx, r, &form)
	if e != nil {
		return e
	}
	value := form[paramToken]
	if value == "" {
		return invalidRequest("token is required")
	}
	kind := token.KindOf(value)
	if kind != token.Access && kind != token.Refresh {
		return nil
	}
	hash, ok := s.minter.Parse(kind, value)
	if !ok {
		return nil
	}
	t, err := s.store.TokenByHash(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return serverError(err)
	}
	if t.ClientID != c.ID {
		return unauthorizedClient("this token was not issued to this client; only the client it was issued to may revoke it")
	}
	now := s.now()
	if t.Kind == store.KindRefresh {
		_, err = s.store.RevokeGrant(ctx, t.GrantID, now)
	} else {
		err = s.store.RevokeToken(ctx, hash, now)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return serverError(err)
	}
	s.audit.Record(ctx, store.AuditEvent{Kind: audit.TokenRevoke, Address: clientip.From(ctx).String(), ClientID: c.ID, Detail: string(t.Kind) + " token revoked by the application"})
	return nil
}
