package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
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

// Gatehouse serves at the root of its host: its pages redirect to /login,
// its cookies are for /, and RFC 8414 puts the metadata of an issuer with a
// path at /.well-known/oauth-authorization-server/<path>. A base URL with a
// path would advertise endpoints that do not answer there.
func TestBaseURLHasNoPath(t *testing.T) {
	for _, base := range []string{"https://example.com/gh", "https://example.com/gh/", "https://example.com/a/b"} {
		c := Default()
		c.BaseURL = base
		if err := c.ValidateServe(); err == nil || !strings.Contains(err.Error(), "path") {
			t.Errorf("base_url %q: %v, want refused for its path", base, err)
		}
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
	for _, want := range []string{"GATEHOUSE_BASE_URL", "GATEHOUSE_DATABASE_URL", "GATEHOUSE_LIFETIMES_REFRESH_GRACE", "GATEHOUSE_COMPAT_QUERY_PARAMETERS", "GATEHOUSE_INTEGRATIONS_BACKGROUND_REFRESH"} {
		if !slices.Contains(names, want) {
			t.Errorf("EnvNames lacks %s", want)
		}
	}
}

func TestBackgroundRefreshSetting(t *testing.T) {
	c := Default()
	if !c.Integrations.BackgroundRefresh {
		t.Fatal("background refresh is off by default")
	}
	if err := c.LoadEnv([]string{"GATEHOUSE_INTEGRATIONS_BACKGROUND_REFRESH=false"}); err != nil || c.Integrations.BackgroundRefresh {
		t.Fatalf("LoadEnv = %v, background refresh %v; want off", err, c.Integrations.BackgroundRefresh)
	}
}

func TestDatabasePool(t *testing.T) {
	want := Pool{MaxOpenConns: 20, MaxIdleConns: 20, ConnMaxLifetime: 30 * time.Minute, ConnMaxIdleTime: 5 * time.Minute}
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
		c.Lifetimes.RefreshIdle, c.Lifetimes.RefreshMax = time.Second, 2*time.Second
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

func TestUnknownEnvIsAnError(t *testing.T) {
	cases := []struct {
		name, want string
	}{
		{"GATEHOUSE_LIFETIME_ACCESS_TOKEN", "unknown setting GATEHOUSE_LIFETIME_ACCESS_TOKEN; did you mean GATEHOUSE_LIFETIMES_ACCESS_TOKEN?"},
		{"GATEHOUSE_BASEURL", "unknown setting GATEHOUSE_BASEURL; did you mean GATEHOUSE_BASE_URL?"},
		{"GATEHOUSE_ADMIN_PASWORD", "unknown setting GATEHOUSE_ADMIN_PASWORD; did you mean GATEHOUSE_ADMIN_PASSWORD?"},
		{"GATEHOUSE_TLS_CERT_FIEL", "unknown setting GATEHOUSE_TLS_CERT_FIEL; did you mean GATEHOUSE_TLS_CERT_FILE?"},
		// Nothing is near: no guess.
		{"GATEHOUSE_FOO", "unknown setting GATEHOUSE_FOO: no GATEHOUSE_* variable has that name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			err := c.LoadEnv([]string{tc.name + "=s3cret-value", "GATEHOUSE_LISTEN=127.0.0.1:9100"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("LoadEnv = %v, want an error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cret-value") {
				t.Errorf("the error shows the variable's value: %v", err)
			}
		})
	}
	t.Run("every unknown one is named", func(t *testing.T) {
		c := Default()
		err := c.LoadEnv([]string{"GATEHOUSE_B=1", "GATEHOUSE_A=1"})
		if err == nil || !strings.Contains(err.Error(), "GATEHOUSE_A") || !strings.Contains(err.Error(), "GATEHOUSE_B") {
			t.Fatalf("LoadEnv = %v, want both names", err)
		}
	})
	t.Run("variables read elsewhere pass", func(t *testing.T) {
		c := Default()
		env := []string{"GATEHOUSE_ADMIN_PASSWORD=x", "GATEHOUSE_TEST_DATABASE_URL=postgres://t/t", "GATEHOUSE_SECRET_KEY=k", "GATEHOUSE_DATABASE_URL=postgres://db/g", "PATH=/bin", "GATEHOUSEX=1"}
		if err := c.LoadEnv(env); err != nil {
			t.Fatal(err)
		}
		if c.SecretKey != "k" || c.Database.URL != "postgres://db/g" {
			t.Fatalf("settings not read: %+v", c)
		}
	})
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"abc", "", 3}, {"kitten", "sitting", 3}, {"LIFETIME", "LIFETIMES", 1}, {"ab", "ba", 2}} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestTLSSettings(t *testing.T) {
	env := []string{"GATEHOUSE_TLS_CERT_FILE=cert.pem", "GATEHOUSE_TLS_KEY_FILE=key.pem", "GATEHOUSE_TLS_REDIRECT_LISTEN=127.0.0.1:8081"}
	c := Default()
	c.Dev = true
	if err := c.LoadEnv(env); err != nil {
		t.Fatal(err)
	}
	if err := c.ValidateServe(); err != nil {
		t.Fatal(err)
	}
	// Development defaults to https on the listen address, and the files become absolute.
	if c.BaseURL != "https://127.0.0.1:8080" || !filepath.IsAbs(c.TLS.CertFile) || !filepath.IsAbs(c.TLS.KeyFile) || c.TLS.RedirectListen != "127.0.0.1:8081" {
		t.Fatalf("TLS settings %+v, base URL %q", c.TLS, c.BaseURL)
	}

	cases := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"certificate without key", func(c *Config) { c.TLS.CertFile = "cert.pem" }, "tls.cert_file and tls.key_file must be set together"},
		{"key without certificate", func(c *Config) { c.TLS.KeyFile = "key.pem" }, "tls.cert_file and tls.key_file must be set together"},
		{"redirect without TLS", func(c *Config) { c.TLS.RedirectListen = ":80" }, "tls.redirect_listen needs tls.cert_file"},
		{"redirect not host:port", func(c *Config) { c.TLS = TLS{CertFile: "c", KeyFile: "k", RedirectListen: "80"} }, `tls.redirect_listen "80" must be host:port`},
		{"redirect on the TLS listener", func(c *Config) { c.TLS = TLS{CertFile: "c", KeyFile: "k", RedirectListen: c.Listen} }, "must differ from listen"},
		{"http base URL in dev", func(c *Config) {
			c.TLS = TLS{CertFile: "c", KeyFile: "k"}
			c.BaseURL = "http://auth.example.com"
		}, "must use https: with tls.cert_file set"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			c.Dev = true
			tc.change(&c)
			if err := c.ValidateServe(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ValidateServe = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// A configuration file's mistakes are named in the file's own terms — the
// setting's dotted path, the closest known key, what the value should be —
// as the environment's are, not in Go's ("field acces_token not found in
// type config.Lifetimes", "cannot unmarshal !!int `90` into time.Duration").
func TestFileErrorsNameTheSetting(t *testing.T) {
	for body, want := range map[string]string{
		"lifetimes:\n  acces_token: 1h\n":       "line 2: unknown setting lifetimes.acces_token; did you mean lifetimes.access_token?",
		"listne: 127.0.0.1:1\n":                 "line 1: unknown setting listne; did you mean listen?",
		"lifetimes:\n  access_token: 90\n":      `line 2: "90" is not a duration such as 90s, 10m or 2h`,
		"dev: maybe\n":                          `line 1: "maybe" is not true or false`,
		"lifetimes:\n  nothing_like_this: 1h\n": "line 2: unknown setting lifetimes.nothing_like_this",
		"dev: maybe\nlifetimes:\n  cod: 1m\n":   `line 1: "maybe" is not true or false; line 3: unknown setting lifetimes.cod; did you mean lifetimes.code?`,
		// A database URL put where a key goes is named without its password.
		"database: {url:postgres://u:Sup3rSecretPW@h/db}\n": "line 1: unknown setting database.url:postgres://…@h/db",
	} {
		path := filepath.Join(t.TempDir(), "gatehouse.yaml")
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		c := Default()
		err := c.LoadFile(path)
		if err == nil || !strings.HasSuffix(err.Error(), want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%q: LoadFile = %v; want it to end %q", body, err, want)
		}
	}
}

// TestBaseURLRefusesWhatWouldStandInEveryEndpoint: an empty query or
// fragment, credentials or a port out of range would be copied into the
// metadata, every endpoint and the start's log line.
func TestBaseURLRefusesWhatWouldStandInEveryEndpoint(t *testing.T) {
	for _, base := range []string{"https://auth.example.com?", "https://auth.example.com#", "https://admin:hunter2@auth.example.com", "https://auth.example.com:99999", "https://auth.example.com:0"} {
		c := Default()
		c.BaseURL = base
		err := c.ValidateServe()
		if err == nil || !strings.Contains(err.Error(), "base_url") {
			t.Errorf("base_url %q: %v, want refused", base, err)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the refusal repeats the password: %v", err)
		}
	}
	c := Default()
	c.BaseURL = "https://auth.example.com:8443"
	if err := c.ValidateServe(); err != nil {
		t.Errorf("a port in range: %v", err)
	}
}

// TestSecurityLimitsCannotBeTurnedOff: sign-in throttling and replay
// detection are promises (SPEC §2, §9); settings that would end them are
// refused, not read as "no limit".
func TestSecurityLimitsCannotBeTurnedOff(t *testing.T) {
	cases := map[string]func(*Config){
		"sign_in.max_failures_per_account": func(c *Config) { c.SignIn.MaxFailuresPerAccount = 0 },
		"sign_in.max_failures_per_address": func(c *Config) { c.SignIn.MaxFailuresPerAddress = -3 },
		"sign_in.hash_concurrency":         func(c *Config) { c.SignIn.HashConcurrency = -1 },
		"janitor.revoked_retention":        func(c *Config) { c.Janitor.RevokedRetention = -time.Hour },
		"janitor.rotated_retention":        func(c *Config) { c.Janitor.RotatedRetention = -time.Hour },
		"janitor.rotated_retention ":       func(c *Config) { c.Janitor.RotatedRetention = time.Hour }, // shorter than the access token's 2h
		"janitor.audit_retention":          func(c *Config) { c.Janitor.AuditRetention = -time.Hour },
		"janitor.audit_retention ":         func(c *Config) { c.Janitor.AuditRetention = 24 * time.Minute }, // a typo for 24h
	}
	for name, set := range cases {
		c := Default()
		c.Dev = true
		set(&c)
		if err := c.ValidateServe(); err == nil || !strings.Contains(err.Error(), strings.TrimSpace(name)) {
			t.Errorf("%s: %v, want refused naming it", name, err)
		}
	}
	c := Default()
	c.Dev = true
	c.SignIn.MaxFailuresPerAddress, c.Janitor.RevokedRetention, c.Janitor.RotatedRetention = 1_000_000, 0, 2*time.Hour
	c.Janitor.AuditRetention = 24 * time.Hour
	if err := c.ValidateServe(); err != nil {
		t.Errorf("a high limit, no revoked retention, a rotated retention of the access token's lifetime and a day of audit: %v", err)
	}
}

// TestLoadFileRefusesWhatIsNoConfigurationFile: a FIFO (opening it would
// wait for a writer forever), a directory and a file of megabytes are
// refused at once.
func TestLoadFileRefusesWhatIsNoConfigurationFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte("# "+strings.Repeat("x", 2<<20)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{"a FIFO": fifo, "a directory": dir, "a 2 MiB file": big} {
		done := make(chan error, 1)
		go func() { c := Default(); done <- c.LoadFile(path) }()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("%s was read as a configuration", name)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("loading %s as the configuration still waits after 5 s", name)
		}
	}
}

// TestZeroDurationsInAFile: a duration written as a bare 0 — as the docs
// show "0 (none)" — is zero, as 0s is, in any section; another bare number
// is still refused, and a 0 where a number goes is that number.
func TestZeroDurationsInAFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.yaml")
	body := "lifetimes:\n  refresh_idle: 0\n  refresh_absolute: 0s\njanitor: {revoked_retention: 0, rotated_retention: 0}\ncache: {client_ttl: 0}\nlimits:\n  clients: 0\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	c := Default()
	c.Lifetimes.RefreshIdle, c.Lifetimes.RefreshMax, c.Limits.Clients = time.Hour, time.Hour, 7
	if err := c.LoadFile(path); err != nil {
		t.Fatal(err)
	}
	if c.Lifetimes.RefreshIdle != 0 || c.Lifetimes.RefreshMax != 0 || c.Janitor.RevokedRetention != 0 || c.Janitor.RotatedRetention != 0 || c.Cache.ClientTTL != 0 || c.Limits.Clients != 0 {
		t.Fatalf("zeros read as %v %v %v %v %d", c.Lifetimes.RefreshIdle, c.Lifetimes.RefreshMax, c.Janitor.RevokedRetention, c.Cache.ClientTTL, c.Limits.Clients)
	}
	if c.Lifetimes.AccessToken != Default().Lifetimes.AccessToken {
		t.Fatalf("a setting not in the file changed: %v", c.Lifetimes.AccessToken)
	}
	if err := os.WriteFile(path, []byte("lifetimes:\n  refresh_idle: 0\n  access_token: 90\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	again := Default()
	if err := again.LoadFile(path); err == nil || !strings.HasSuffix(err.Error(), `line 3: "90" is not a duration such as 90s, 10m or 2h`) {
		t.Fatalf("a bare 90 beside a bare 0: %v", err)
	}
}

// TestWarnings: a trusted proxy range or a metrics allow-list that holds
// every address is named, so the start can log it; particular ranges are not.
func TestWarnings(t *testing.T) {
	c := Default()
	c.TrustedProxies, c.Metrics.Allow = []string{"10.0.0.0/8", "127.0.0.1"}, []string{"192.168.0.0/16"}
	if w := c.Warnings(); len(w) != 0 {
		t.Fatalf("particular ranges: %q", w)
	}
	for _, every := range []string{"0.0.0.0/0", "::/0", "1.2.3.4/0"} {
		c.TrustedProxies, c.Metrics.Allow = []string{"10.0.0.0/8", every}, []string{every}
		w := c.Warnings()
		if len(w) != 2 || !strings.HasPrefix(w[0], "trusted_proxies holds every address") || !strings.HasPrefix(w[1], "metrics.allow holds every address") {
			t.Fatalf("%s: %q", every, w)
		}
	}
}

// TestUpperBounds: a lifetime or cache time far past any sensible one (a
// typo's 2562047h, a cache that keeps a disabled application working for
// hours on the other nodes) stops the start, naming the setting and its
// bound; the bounds themselves are accepted.
func TestUpperBounds(t *testing.T) {
	for _, tc := range []struct {
		set  func(*Config, time.Duration)
		most time.Duration
		name string
	}{
		{func(c *Config, d time.Duration) { c.Lifetimes.Code = d }, time.Hour, "lifetimes.code"},
		{func(c *Config, d time.Duration) { c.Lifetimes.AccessToken = d; c.Janitor.RotatedRetention = d }, 24 * time.Hour, "lifetimes.access_token"},
		{func(c *Config, d time.Duration) { c.Cache.ClientTTL = d }, time.Minute, "cache.client_ttl"},
	} {
		c := Default()
		c.Dev = true
		tc.set(&c, tc.most)
		if err := c.ValidateServe(); err != nil {
			t.Errorf("%s at its bound %v: %v", tc.name, tc.most, err)
		}
		c = Default()
		c.Dev = true
		tc.set(&c, 2562047*time.Hour)
		if err := c.ValidateServe(); err == nil || !strings.Contains(err.Error(), tc.name+" must be at most "+tc.most.String()) {
			t.Errorf("%s of 2562047h: %v", tc.name, err)
		}
	}
	c := Default()
	c.Lifetimes.SessionIdle, c.Lifetimes.SessionMax = 24*time.Hour, time.Hour
	if w := c.Warnings(); len(w) != 1 || !strings.Contains(w[0], "the idle timeout never applies") {
		t.Errorf("an idle timeout past the absolute one: %q", w)
	}
	c = Default()
	c.Lifetimes.RefreshMax = 2 * time.Second
	if w := c.Warnings(); len(w) != 1 || !strings.Contains(w[0], "refresh_absolute is shorter than lifetimes.code") {
		t.Errorf("a refresh lifetime shorter than a code's: %q", w)
	}
	// Lifetimes are told in whole seconds: a fraction is refused.
	c = Default()
	c.Dev = true
	c.Lifetimes.AccessToken = 1500 * time.Millisecond
	if err := c.ValidateServe(); err == nil || !strings.Contains(err.Error(), "lifetimes.access_token must be whole seconds") {
		t.Errorf("an access token of 1.5s: %v", err)
	}
}

// TestNegativeLimitsAreNamed: a negative limit is refused naming which.
func TestNegativeLimitsAreNamed(t *testing.T) {
	c := Default()
	c.Dev = true
	c.Limits.Clients = -1
	if err := c.ValidateServe(); err == nil || !strings.Contains(err.Error(), "limits.clients must not be negative, not -1") {
		t.Fatalf("limits.clients -1: %v", err)
	}
	c = Default()
	c.Dev = true
	c.Limits.RefreshTokensPerUserClient = -3
	if err := c.ValidateServe(); err == nil || !strings.Contains(err.Error(), "limits.refresh_tokens_per_user_client must not be negative, not -3") {
		t.Fatalf("limits.refresh_tokens_per_user_client -3: %v", err)
	}
}
