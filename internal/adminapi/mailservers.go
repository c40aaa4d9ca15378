package adminapi

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/mail"
)

// PathMailServers is where the incoming mail servers are, for system
// administrators only.
const PathMailServers = PathGatehouse + "/mailservers"

// AddMail serves the incoming mail servers of m and returns a.
func (a *API) AddMail(m *mail.Service) *API {
	a.mail = m
	a.mailRoutes(a.mux)
	return a
}

func (a *API) mailRoutes(m *routeMux) {
	m.Handle("GET "+PathMailServers, a.systemRoute(mail.ErrForbidden, noBody, a.listMailServers))
	m.Handle("POST "+PathMailServers, a.systemRoute(mail.ErrForbidden, jsonBody, a.createMailServer))
	m.Handle("GET "+PathMailServers+"/{server}", a.systemRoute(mail.ErrForbidden, noBody, a.getMailServer))
	m.Handle("PUT "+PathMailServers+"/{server}", a.systemRoute(mail.ErrForbidden, jsonBody, a.replaceMailServer))
	m.Handle("DELETE "+PathMailServers+"/{server}", a.systemRoute(mail.ErrForbidden, noBody, a.deleteMailServer))
	m.Handle("POST "+PathMailServers+"/{server}/test", a.systemRoute(mail.ErrForbidden, jsonBody, a.testMailServer))
}

// mailServerRequest creates or replaces a mail server. On a replace, a
// password left out keeps the stored one (when it signs in with a password).
type mailServerRequest struct {
	Name        string `json:"name"`
	Protocol    string `json:"protocol"` // imap or pop3
	Host        string `json:"host"`
	Port        int    `json:"port"` // 0 or absent: the protocol's port for the TLS mode
	TLS         string `json:"tls"`  // implicit, starttls or none
	CACert      string `json:"ca_cert"`
	Username    string `json:"username"`
	Password    string `json:"password"`
	Integration string `json:"integration"` // its ID or name
	SASL        string `json:"sasl"`        // xoauth2, oauthbearer, or absent
}

func (q mailServerRequest) settings() mail.Settings {
	return mail.Settings{
		Name: q.Name, Protocol: q.Protocol, Host: q.Host, Port: q.Port, TLS: q.TLS, CACert: q.CACert,
		Username: q.Username, Password: q.Password, Integration: q.Integration, SASL: q.SASL,
	}
}

// writeMailView answers with mail server id as stored now, with its
// integration's name.
func (a *API) writeMailView(w http.ResponseWriter, r *http.Request, actor mail.Actor, id string, status int) error {
	m, err := a.mail.Get(r.Context(), actor, id)
	if err != nil {
		return err
	}
	names, err := a.mail.IntegrationNames(r.Context(), actor)
	if err != nil {
		return err
	}
	writeJSON(w, status, mail.NewView(m, names))
	return nil
}

// GET /rest/gatehouse/latest/mailservers
func (a *API) listMailServers(w http.ResponseWriter, r *http.Request, actor admin.Actor) error {
	if _, err := readQuery(r); err != nil {
		return err
	}
	servers, err := a.mail.List(r.Context(), actor)
	if err != nil {
		return err
	}
	names, err := a.mail.IntegrationNames(r.Context(), actor)
	if err != nil {
		return err
	}
	out := make([]mail.View, 0, len(servers))
	for _, m := range servers {
		out = append(out, mail.NewView(m, names))
	}
	writeJSON(w, http.StatusOK, struct {
		MailServers []mail.View `json:"mail_servers"`
	}{out})
	return nil
}

// POST /rest/gatehouse/latest/mailservers
func (a *API) createMailServer(w http.ResponseWriter, r *http.Request, actor admin.Actor) error {
	var q mailServerRequest
	if err := decode(r, &q); err != nil {
		return err
	}
	m, err := a.mail.Create(r.Context(), actor, q.settings())
	if err != nil {
		return err
	}
	w.Header().Set("Location", PathMailServers+"/"+m.ID)
	return a.writeMailView(w, r, actor, m.ID, http.StatusCreated)
}

// GET /rest/gatehouse/latest/mailservers/{server}: by ID or by name.
func (a *API) getMailServer(w http.ResponseWriter, r *http.Request, actor admin.Actor) error {
	m, err := a.mail.Find(r.Context(), actor, r.PathValue("server"))
	if err != nil {
		return err
	}
	return a.writeMailView(w, r, actor, m.ID, http.StatusOK)
}

// PUT /rest/gatehouse/latest/mailservers/{server}
func (a *API) replaceMailServer(w http.ResponseWriter, r *http.Request, actor admin.Actor) error {
	var q mailServerRequest
	if err := decode(r, &q); err != nil {
		return err
	}
	m, err := a.mail.Find(r.Context(), actor, r.PathValue("server"))
	if err != nil {
		return err
	}
	if m, err = a.mail.Update(r.Context(), actor, m.ID, q.settings()); err != nil {
		return err
	}
	return a.writeMailView(w, r, actor, m.ID, http.StatusOK)
}

// DELETE /rest/gatehouse/latest/mailservers/{server}
func (a *API) deleteMailServer(w http.ResponseWriter, r *http.Request, actor admin.Actor) error {
	m, err := a.mail.Find(r.Context(), actor, r.PathValue("server"))
	if err != nil {
		return err
	}
	if err := a.mail.Delete(r.Context(), actor, m.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// POST /rest/gatehouse/latest/mailservers/{server}/test answers 200 with
// the outcome, whether the test passed or not: a failed test is an answer.
func (a *API) testMailServer(w http.ResponseWriter, r *http.Request, actor admin.Actor) error {
	m, err := a.mail.Find(r.Context(), actor, r.PathValue("server"))
	if err != nil {
		return err
	}
	res, err := a.mail.Test(r.Context(), actor, m.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res.View())
	return nil
}
