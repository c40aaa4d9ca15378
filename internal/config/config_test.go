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

func TestDatabasePool(t *testing.T) {
	want := Pool{MaxOpenConns: 20, MaxIdleConns: 10, ConnMaxLifetime: 30 * time.Minute, ConnMaxIdleTime: 5 * time.Minute}
	if got := Default().Database.Pool; got != want {
		t.Errorf("default pool %+v, want %+v", got, want)
	}

	// The keys sit directly under database:, and the environment follows the YAML path.
	path := filepath.Join(t.TempDir(), "gatehouse.yaml")
	os.WriteFile(path, []byte("database:\n  url: postgres://db/gatehouse\n  max_open_conns: 50\n  conn_max_lifetime: 1h\n"), 0o600)
	c := Default()
	if err := c.LoadFile(path); err != nil {
		t.Fatal(err)
	}
	if err := c.LoadEnv([]string{"GATEHOUSE_DATABASE_MAX_IDLE_CONNS=7", "GATEHOUSE_DATABASE_CONN_MAX_IDLE_TIME=90s"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	want = Pool{MaxOpenConns: 50, MaxIdleConns: 7, ConnMaxLifetime: time.Hour, ConnMaxIdleTime: 90 * time.Second}
	if c.Database.URL != "postgres://db/gatehouse" || c.Database.Pool != want {
		t.Errorf("database %+v, want pool %+v", c.Database, want)
	}
	names := EnvNames()
	for _, name := range []string{"GATEHOUSE_DATABASE_MAX_OPEN_CONNS", "GATEHOUSE_DATABASE_MAX_IDLE_CONNS", "GATEHOUSE_DATABASE_CONN_MAX_LIFETIME", "GATEHOUSE_DATABASE_CONN_MAX_IDLE_TIME"} {
		if !slices.Contains(names, name) {
			t.Errorf("EnvNames lacks %s", name)
		}
	}

	// Zero is allowed (database/sql's "no limit" or "keep none"); negative is not.
	c = Default()
	c.Database.Pool = Pool{}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate(zero pool) = %v", err)
	}
	c.Database.Pool = Pool{MaxOpenConns: -1, MaxIdleConns: -1, ConnMaxLifetime: -time.Second, ConnMaxIdleTime: -time.Second}
	err := c.Validate()
	for _, key := range []string{"max_open_conns", "max_idle_conns", "conn_max_lifetime", "conn_max_idle_time"} {
		if err == nil || !strings.Contains(err.Error(), "database."+key+" must not be negative") {
			t.Errorf("Validate error %v does not reject a negative %s", err, key)
		}
	}
}

// Settings that cannot work are refused rather than run: a lifetime under a
// second is announced as expires_in 0, and a tiny janitor interval is a busy loop.
func TestValidateRefusesUnworkableDurations(t *testing.T) {
	cases := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"sub-second access token", func(c *Config) { c.Lifetimes.AccessToken = 500 * time.Millisecond }, "lifetimes.access_token must be at least 1s, not 500ms"},
		{"sub-second code", func(c *Config) { c.Lifetimes.Code = 999 * time.Millisecond }, "lifetimes.code must be at least 1s"},
		{"sub-second session idle", func(c *Config) { c.Lifetimes.SessionIdle = time.Millisecond }, "lifetimes.session_idle must be at least 1s"},
		{"sub-second session lifetime", func(c *Config) { c.Lifetimes.SessionMax = time.Millisecond }, "lifetimes.session_absolute must be at least 1s"},
		{"sub-second refresh idle", func(c *Config) { c.Lifetimes.RefreshIdle = 10 * time.Millisecond }, "lifetimes.refresh_idle must be 0 (none) or at least 1s"},
		{"sub-second refresh lifetime", func(c *Config) { c.Lifetimes.RefreshMax = time.Nanosecond }, "lifetimes.refresh_absolute must be 0 (none) or at least 1s"},
		{"nanosecond janitor", func(c *Config) { c.Janitor.Interval = time.Nanosecond }, "janitor.interval must be at least 1s, not 1ns"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.change(&c)
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	t.Run("one second is enough", func(t *testing.T) {
		c := Default()
		c.Lifetimes.AccessToken, c.Lifetimes.Code, c.Janitor.Interval = time.Second, time.Second, time.Second
		c.Lifetimes.SessionIdle, c.Lifetimes.SessionMax = time.Second, time.Second
		c.Lifetimes.RefreshIdle, c.Lifetimes.RefreshMax = time.Second, 1500*time.Millisecond
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSecondDocumentIsAnError(t *testing.T) {
	for name, text := range map[string]string{
		"settings after ---": "listen: 127.0.0.1:9000\n---\nlifetimes:\n  access_token: 1h\n",
		"an empty document":  "listen: 127.0.0.1:9000\n---\n",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "gatehouse.yaml")
			os.WriteFile(path, []byte(text), 0o600)
			c := Default()
			err := c.LoadFile(path)
			if err == nil || !strings.Contains(err.Error(), "more than one YAML document") || !strings.Contains(err.Error(), path) {
				t.Fatalf("LoadFile = %v, want an error naming the file and the second document", err)
			}
		})
	}
	// A leading --- or a closing ... still make one document.
	path := filepath.Join(t.TempDir(), "gatehouse.yaml")
	os.WriteFile(path, []byte("---\nlisten: 127.0.0.1:9000\n...\n"), 0o600)
	c := Default()
	if err := c.LoadFile(path); err != nil || c.Listen != "127.0.0.1:9000" {
		t.Fatalf("LoadFile(one marked document) = %v, listen %q", err, c.Listen)
	}
}
