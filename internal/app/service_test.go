package app

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/token"
)

func newService(t *testing.T, limit int) *Service {
	t.Helper()
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	keys, _ := secret.New([]byte(strings.Repeat("k", secret.KeySize)))
	catalogue, _ := scope.Builtin("atlassian")
	return NewService(st, keys, token.NewMinter(keys, nil), catalogue, Options{Limit: limit})
}

func valid() Registration {
	return Registration{Name: "App", RedirectURIs: []string{"https://app.example.com/cb"}, Scopes: []string{"read", "WRITE"}}
}

func TestCreateRevealRotate(t *testing.T) {
	s := newService(t, 0)
	ctx := context.Background()
	c, first, err := s.Create(ctx, valid())
	if err != nil {
		t.Fatal(err)
	}
	if len(c.ID) != 32 || !strings.HasPrefix(first, "gcs_") || c.Scopes[0] != "READ" {
		t.Fatalf("unexpected client %+v secret %q", c, first)
	}
	if strings.Contains(string(c.SecretHash), first) || strings.Contains(string(c.SecretSealed), first) {
		t.Fatal("the secret is stored in clear")
	}
	if got, err := s.Reveal(c); err != nil || got != first {
		t.Fatalf("Reveal = %q, %v", got, err)
	}
	if !s.CheckSecret(c, first) || s.CheckSecret(c, first+"x") || s.CheckSecret(c, "") {
		t.Fatal("CheckSecret is wrong")
	}
	second, err := s.RotateSecret(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	c, _ = s.Get(ctx, c.ID)
	if s.CheckSecret(c, first) || !s.CheckSecret(c, second) {
		t.Fatal("rotation did not replace the secret")
	}
}

func TestPublicClientHasNoSecretAndRequiresPKCE(t *testing.T) {
	s := newService(t, 0)
	r := valid()
	r.Public = true
	c, secretValue, err := s.Create(context.Background(), r)
	if err != nil || secretValue != "" || !c.RequirePKCE || c.SecretHash != nil {
		t.Fatalf("public client %+v %q %v", c, secretValue, err)
	}
	if _, err := s.RotateSecret(context.Background(), c.ID); !errors.Is(err, ErrInvalid) {
		t.Fatalf("RotateSecret(public) = %v", err)
	}
}

func TestRegistrationValidation(t *testing.T) {
	cases := map[string]func(*Registration){
		"no name":                 func(r *Registration) { r.Name = " " },
		"unknown scope":           func(r *Registration) { r.Scopes = []string{"EVERYTHING"} },
		"no scope":                func(r *Registration) { r.Scopes = nil },
		"http redirect":           func(r *Registration) { r.RedirectURIs = []string{"http://app.example.com/cb"} },
		"no redirect":             func(r *Registration) { r.RedirectURIs = nil },
		"unknown grant":           func(r *Registration) { r.Grants = []string{"password"} },
		"public with client cred": func(r *Registration) { r.Public = true; r.Grants = []string{GrantClientCredentials} },
		"bad CIDR":                func(r *Registration) { r.AllowedIPs = []string{"10.0.0.0/99"} },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			r := valid()
			mutate(&r)
			if _, _, err := newService(t, 0).Create(context.Background(), r); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Create = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestApplicationLimit(t *testing.T) {
	s := newService(t, 2)
	ctx := context.Background()
	for range 2 {
		if _, _, err := s.Create(ctx, valid()); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.Create(ctx, valid()); !errors.Is(err, ErrLimit) {
		t.Fatalf("third Create = %v, want ErrLimit", err)
	}
}

func TestGetRefusesMalformedIDs(t *testing.T) {
	s := newService(t, 0)
	for _, id := range []string{"", "x", strings.Repeat("z", 32), strings.Repeat("0", 33)} {
		if _, err := s.Get(context.Background(), id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get(%q) = %v", id, err)
		}
	}
}
