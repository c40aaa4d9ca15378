package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPrecedenceFileThenEnv(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.yaml")
	os.WriteFile(path, []byte("dev: true\nlisten: 127.0.0.1:9000\nlifetimes:\n  access_token: 1h\ncompat:\n  query_parameters: true\n"), 0o600)
	c := Default()
	if err := c.LoadFile(path); err != nil {
		t.Fatal(err)
	}
	if err := c.LoadEnv([]string{"GATEHOUSE_LISTEN=127.0.0.1:9100", "GATEHOUSE_LIMITS_CLIENTS=20", "GATEHOUSE_TRUSTED_PROXIES=10.0.0.0/8, 127.0.0.1", "OTHER=1"}); err != nil {
		t.Fatal(err)
	}
	if err := c.ValidateServe(); err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9100" || c.Lifetimes.AccessToken != time.Hour || !c.Compat.QueryParameters || c.Limits.Clients != 20 {
		t.Fatalf("unexpected config %+v", c)
	}
	if !slices.Equal(c.TrustedProxies, []string{"10.0.0.0/8", "127.0.0.1"}) {
		t.Fatalf("trusted proxies %v", c.TrustedProxies)
	}
	if c.BaseURL != "http://127.0.0.1:9100" || c.Lifetimes.Code != 10*time.Minute {
		t.Fatalf("derived defaults wrong: %q %v", c.BaseURL, c.Lifetimes.Code)
	}
}

func TestUnknownKeyIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.yaml")
	os.WriteFile(path, []byte("lifetimes:\n  acess_token: 1h\n"), 0o600)
	c := Default()
	if err := c.LoadFile(path); err == nil || !strings.Contains(err.Error(), "acess_token") {
		t.Fatalf("LoadFile = %v, want an error naming the key", err)
	}
}

func TestEmptyFileKeepsDefaults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.yaml")
	os.WriteFile(path, nil, 0o600)
	c := Default()
	if err := c.LoadFile(path); err != nil || c.Listen != "127.0.0.1:8080" {
		t.Fatalf("LoadFile(empty) = %v, listen %q", err, c.Listen)
	}
}

func TestBadEnvValues(t *testing.T) {
	for _, kv := range []string{"GATEHOUSE_DEV=maybe", "GATEHOUSE_LIFETIMES_CODE=ten", "GATEHOUSE_LIMITS_CLIENTS=x"} {
		c := Default()
		if err := c.LoadEnv([]string{kv}); err == nil {
			t.Errorf("LoadEnv(%s) accepted", kv)
		}
	}
}

func TestProductionRequiresHTTPS(t *testing.T) {
	c := Default()
	if err := c.ValidateServe(); err == nil || !strings.Contains(err.Error(), "base_url is required") {
		t.Fatalf("Validate without base URL = %v", err)
	}
	c = Default()
	c.BaseURL = "http://auth.example.com"
	if err := c.ValidateServe(); err == nil || !strings.Contains(err.Error(), "https") {
		t.Fatalf("Validate with http base URL = %v", err)
	}
	c = Default()
	c.BaseURL = "https://auth.example.com/"
	if err := c.ValidateServe(); err != nil || c.BaseURL != "https://auth.example.com" {
		t.Fatalf("Validate(https) = %v, base %q", err, c.BaseURL)
	}
}

func TestValidateRejectsNonsense(t *testing.T) {
	c := Default()
	c.Dev = true
	c.Listen = "nonsense"
	c.Lifetimes.AccessToken = 0
	c.Lifetimes.RefreshGrace = -time.Second
	c.TrustedProxies = []string{"not-an-ip"}
	c.Log.Level = "loud"
	c.Database.URL = "mysql://x"
	err := c.ValidateServe()
	for _, want := range []string{"listen", "access_token", "refresh_grace", "trusted_proxies", "log.level", "database.url"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error %v does not mention %s", err, want)
		}
	}
}

func TestEnvNamesCoverNestedFields(t *testing.T) {
	names := EnvNames()
	for _, want := range []string{"GATEHOUSE_BASE_URL", "GATEHOUSE_DATABASE_URL", "GATEHOUSE_LIFETIMES_REFRESH_GRACE", "GATEHOUSE_COMPAT_QUERY_PARAMETERS"} {
		if !slices.Contains(names, want) {
			t.Errorf("EnvNames lacks %s", want)
		}
	}
}
