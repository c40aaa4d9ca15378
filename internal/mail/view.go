package mail

import (
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// View is the one JSON representation of a mail server, shared by the admin
// API and the command line's --json. The password is never in it.
type View struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Protocol string `json:"protocol"`
	Host     string `json:"host"`
	Port     int    `json:"port"`
	TLS      string `json:"tls"`
	CACert   string `json:"ca_cert,omitempty"`
	Username string `json:"username"`
	Auth     string `json:"auth"` // "password" or "integration"
	// IntegrationID and Integration (its name; left out when it is gone)
	// are set for sign-in with an integration.
	IntegrationID string    `json:"integration_id,omitempty"`
	Integration   string    `json:"integration,omitempty"`
	SASL          string    `json:"sasl,omitempty"` // "xoauth2", "oauthbearer"; absent: what the server offers
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// NewView shows m; names maps integration IDs to names (IntegrationNames).
func NewView(m store.MailServer, names map[string]string) View {
	v := View{
		ID: m.ID, Name: m.Name, Protocol: m.Protocol, Host: m.Host, Port: m.Port, TLS: m.TLS, CACert: m.CACert,
		Username: m.Username, Auth: "password", SASL: m.SASL,
		CreatedAt: store.AsStored(m.CreatedAt), UpdatedAt: store.AsStored(m.UpdatedAt),
	}
	if m.IntegrationID != "" {
		v.Auth, v.IntegrationID, v.Integration = "integration", m.IntegrationID, names[m.IntegrationID]
	}
	return v
}

// ResultView is a connection test's outcome in JSON.
type ResultView struct {
	OK        bool   `json:"ok"`
	Messages  int    `json:"messages"`
	Message   string `json:"message"`
	Step      string `json:"step,omitempty"`      // where it failed
	Mechanism string `json:"mechanism,omitempty"` // how it signed in
	Refreshed bool   `json:"refreshed"`           // the token was refused once and refreshed
}

// View is the result in JSON, its message in English.
func (r Result) View() ResultView {
	return ResultView{OK: r.OK, Messages: r.Messages, Message: r.Message(), Step: r.Step, Mechanism: r.Mechanism, Refreshed: r.Refreshed}
}
