package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/internal/store"
)

func mailServer(id, name string) store.MailServer {
	return store.MailServer{
		ID: id, Name: name, Protocol: "imap", Host: "mail.example.com", Port: 993, TLS: "implicit",
		Username: "ops@example.com", PasswordSealed: []byte("sealed " + id), CreatedAt: t0, UpdatedAt: t0,
	}
}

func testMailServers(t *testing.T, s store.Store) {
	ctx := t.Context()
	if list, err := s.ListMailServers(ctx); err != nil || len(list) != 0 {
		t.Fatalf("ListMailServers on an empty store = %v, %v", list, err)
	}
	b := mailServer("ms2", "Backup")
	a := mailServer("ms1", "archive")
	a.Protocol, a.Port, a.TLS, a.PasswordSealed = "pop3", 110, "starttls", nil
	a.IntegrationID, a.SASL, a.CACert = "int1", "oauthbearer", "-----BEGIN CERTIFICATE-----\n…\n"
	for _, m := range []store.MailServer{b, a} {
		if err := s.CreateMailServer(ctx, m); err != nil {
			t.Fatalf("CreateMailServer(%s): %v", m.Name, err)
		}
	}
	// Names are unique whatever their case; IDs are unique.
	for _, dup := range []store.MailServer{mailServer("ms3", "BACKUP"), mailServer("ms1", "Other")} {
		if err := s.CreateMailServer(ctx, dup); !errors.Is(err, store.ErrConflict) {
			t.Errorf("CreateMailServer(%s, %s) = %v; want ErrConflict", dup.ID, dup.Name, err)
		}
	}
	got, err := s.MailServerByID(ctx, "ms1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, got); diff != "" {
		t.Errorf("MailServerByID round trip (-want +got):\n%s", diff)
	}
	if got, err := s.MailServerByName(ctx, "bAcKuP"); err != nil || got.ID != "ms2" {
		t.Errorf("MailServerByName(bAcKuP) = %s, %v; want ms2", got.ID, err)
	}
	for _, missing := range []func() error{
		func() error { _, err := s.MailServerByID(ctx, "nope"); return err },
		func() error { _, err := s.MailServerByName(ctx, "nope"); return err },
		func() error { return s.DeleteMailServer(ctx, "nope") },
		func() error {
			_, err := s.UpdateMailServer(ctx, "nope", func(*store.MailServer) error { return nil })
			return err
		},
	} {
		if err := missing(); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("on an unknown server: %v; want ErrNotFound", err)
		}
	}
	list, err := s.ListMailServers(ctx)
	if err != nil || len(list) != 2 || list[0].ID != "ms1" || list[1].ID != "ms2" {
		t.Fatalf("ListMailServers = %v, %v; want archive, Backup (by name, case-insensitively)", list, err)
	}

	// An update writes every field but ID and CreatedAt.
	updated, err := s.UpdateMailServer(ctx, "ms2", func(m *store.MailServer) error {
		m.ID, m.CreatedAt = "changed", at(5*time.Minute)
		m.Name, m.Host, m.Port, m.PasswordSealed, m.IntegrationID, m.SASL = "Primary", "imap.example.com", 143, nil, "int2", "xoauth2"
		m.UpdatedAt = at(time.Minute)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := b
	want.Name, want.Host, want.Port, want.PasswordSealed, want.IntegrationID, want.SASL, want.UpdatedAt = "Primary", "imap.example.com", 143, nil, "int2", "xoauth2", at(time.Minute)
	if diff := cmp.Diff(want, updated); diff != "" {
		t.Errorf("UpdateMailServer result (-want +got):\n%s", diff)
	}
	if stored, _ := s.MailServerByName(ctx, "primary"); !cmp.Equal(want, stored) {
		t.Errorf("stored after update = %+v; want %+v", stored, want)
	}
	if _, err := s.MailServerByName(ctx, "backup"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the old name still finds the server: %v", err)
	}
	// A refusal from change writes nothing; a taken name is a conflict.
	refusal := errors.New("refused")
	if _, err := s.UpdateMailServer(ctx, "ms2", func(m *store.MailServer) error { m.Host = "x"; return refusal }); err != refusal {
		t.Errorf("UpdateMailServer with a refusing change = %v; want the refusal itself", err)
	}
	if _, err := s.UpdateMailServer(ctx, "ms2", func(m *store.MailServer) error { m.Name = "ARCHIVE"; return nil }); !errors.Is(err, store.ErrConflict) {
		t.Errorf("renaming onto another server's name = %v; want ErrConflict", err)
	}
	if stored, _ := s.MailServerByID(ctx, "ms2"); !cmp.Equal(want, stored) {
		t.Errorf("a failed update changed the server: %+v", stored)
	}

	if err := s.DeleteMailServer(ctx, "ms1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MailServerByID(ctx, "ms1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after delete: %v; want ErrNotFound", err)
	}
	// The name is free again.
	if err := s.CreateMailServer(ctx, mailServer("ms4", "Archive")); err != nil {
		t.Errorf("reusing a deleted server's name: %v", err)
	}
}

// testConcurrentMailServerEdits: concurrent changes of one server each apply
// to the other's result, so none is lost.
func testConcurrentMailServerEdits(t *testing.T, s store.Store) {
	ctx := t.Context()
	m := mailServer("ms1", "Inbox")
	m.Port = 0
	if err := s.CreateMailServer(ctx, m); err != nil {
		t.Fatal(err)
	}
	const n = 16
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, err := s.UpdateMailServer(ctx, "ms1", func(m *store.MailServer) error {
				m.Port++
				m.Username = fmt.Sprint("user", i)
				return nil
			})
			if err != nil {
				t.Errorf("UpdateMailServer: %v", err)
			}
		})
	}
	wg.Wait()
	if got, err := s.MailServerByID(ctx, "ms1"); err != nil || got.Port != n {
		t.Fatalf("port after %d concurrent increments = %d, %v", n, got.Port, err)
	}
}
