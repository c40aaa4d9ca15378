package config

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/validation"
	"github.com/gatehouse/gatehouse/internal/yamlfile"
)

// Config is every setting of a Gatehouse node.
type Config struct {
	// Dev allows http URLs and prints a warning banner. Never in production.
	Dev bool `yaml:"dev"`
	// Listen is the address the HTTP server binds.
	Listen string `yaml:"listen"`
	// BaseURL is the public URL clients use; the issuer. Default: http://<listen> in dev.
	BaseURL string `yaml:"base_url"`
	// DataDir holds the SQLite file and the secret key file.
	DataDir string `yaml:"data_dir"`
	// SecretKey (base64, 32 bytes) overrides the key file; every node of a cluster needs the same.
	SecretKey string `yaml:"secret_key"`

	Database  Database  `yaml:"database"`
	Scopes    Scopes    `yaml:"scopes"`
	Lifetimes Lifetimes `yaml:"lifetimes"`
	Limits    Limits    `yaml:"limits"`
	Compat    Compat    `yaml:"compat"`
	SignIn    SignIn    `yaml:"sign_in"`
	Janitor   Janitor   `yaml:"janitor"`
	Cache     Cache     `yaml:"cache"`
	Log       Log       `yaml:"log"`
	TLS       TLS       `yaml:"tls"`
	// TrustedProxies lists CIDRs whose X-Forwarded-For header is believed.
	TrustedProxies []string `yaml:"trusted_proxies"`

	// Integrations tunes the outgoing OAuth 2.0 integrations.
	Integrations Integrations `yaml:"integrations"`
	// Metrics says who may scrape /metrics, and where it is served.
	Metrics Metrics `yaml:"metrics"`
}

// Database selects the store.
type Database struct {
	// URL is empty for the embedded SQLite file, or postgres://… to use PostgreSQL.
	URL string `yaml:"url"`
	// Pool sizes the PostgreSQL connection pool; its keys sit directly under
	// database: (database.max_open_conns, GATEHOUSE_DATABASE_MAX_OPEN_CONNS).
	Pool Pool `yaml:",inline"`
	// SQLiteSynchronous is the embedded SQLite file's durability: "full"
	// (the default) answers a write only once it is on disk; "normal" answers
	// once the operating system has it, and flushes it to disk at the next
	// checkpoint (~every 100 ms): a power cut or a kernel crash may then lose
	// the last ~100 ms of writes, tokens issued and revocations made
	// included. See docs/configuration.md.
	SQLiteSynchronous string `yaml:"sqlite_synchronous"`
}

// Pool sizes each node's PostgreSQL connection pool (SQLite has its own fixed
// pool). A node holds at most MaxOpenConns connections, so nodes ×
// MaxOpenConns must stay below the server's max_connections.
type Pool struct {
	MaxOpenConns int `yaml:"max_open_conns"` // 0: unlimited
	// MaxIdleConns is best equal to MaxOpenConns: a connection closed because
	// more were idle is opened again at the next burst, and each opening is
	// a new PostgreSQL backend process (milliseconds of CPU). Idle ones still
	// close after ConnMaxIdleTime.
	MaxIdleConns    int           `yaml:"max_idle_conns"`     // 0: none kept idle
	ConnMaxLifetime time.Duration `yaml:"conn_max_lifetime"`  // 0: no limit
	ConnMaxIdleTime time.Duration `yaml:"conn_max_idle_time"` // 0: no limit
}

// Scopes selects the scope catalogue.
type Scopes struct {
	// Catalogue is "atlassian", "bitbucket", or a path to a YAML file of scopes.
	Catalogue string `yaml:"catalogue"`
}

// Lifetimes of credentials and sessions.
type Lifetimes struct {
	Code         time.Duration `yaml:"code"`
	AccessToken  time.Duration `yaml:"access_token"`
	RefreshIdle  time.Duration `yaml:"refresh_idle"`     // 0: no idle expiry
	RefreshMax   time.Duration `yaml:"refresh_absolute"` // 0: no absolute expiry
	RefreshGrace time.Duration `yaml:"refresh_grace"`    // 0: strict reuse detection
	// RefreshGraceReuses bounds the reuses of one rotated refresh token within RefreshGrace.
	RefreshGraceReuses int           `yaml:"refresh_grace_reuses"`
	SessionIdle        time.Duration `yaml:"session_idle"`
	SessionMax         time.Duration `yaml:"session_absolute"`
}

// Limits on how much may exist.
type Limits struct {
	RefreshTokensPerUserClient int `yaml:"refresh_tokens_per_user_client"`
	Clients                    int `yaml:"clients"` // 0: unlimited
}

// Compat switches for integrations migrated from other providers.
type Compat struct {
	// QueryParameters accepts token-endpoint parameters in the URL query string.
	QueryParameters bool `yaml:"query_parameters"`
}

// SignIn throttling.
type SignIn struct {
	MaxFailuresPerAccount int           `yaml:"max_failures_per_account"`
	MaxFailuresPerAddress int           `yaml:"max_failures_per_address"`
	FailureWindow         time.Duration `yaml:"failure_window"`
	// HashConcurrency bounds simultaneous argon2id computations; 0: one per CPU.
	HashConcurrency int `yaml:"hash_concurrency"`
}

// Janitor purges expired rows.
type Janitor struct {
	Interval         time.Duration `yaml:"interval"`
	RevokedRetention time.Duration `yaml:"revoked_retention"`
	RotatedRetention time.Duration `yaml:"rotated_retention"`
	// AuditRetention keeps audit events this long; 0 keeps them forever.
	AuditRetention time.Duration `yaml:"audit_retention"`
}

// Cache settings.
type Cache struct {
	// ClientTTL is how long an application is served from memory. Changes
	// made on this node apply at once; those of other nodes within the TTL.
	// 0 turns the cache off.
	ClientTTL time.Duration `yaml:"client_ttl"`
}

// Log settings.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // json or text; default json in production, text in dev
}

// TLS lets a node serve HTTPS itself, for a team without a reverse proxy.
type TLS struct {
	// CertFile (the certificate chain, leaf first) and KeyFile are PEM files,
	// read again when they change, so a renewed certificate needs no restart.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// RedirectListen, when set, is a plain-HTTP address that only redirects
	// to the https base URL (":80", say).
	RedirectListen string `yaml:"redirect_listen"`
}

// Enabled reports whether the node serves HTTPS itself.
func (t TLS) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" }

// Default returns the documented defaults.
func Default() Config {
	return Config{
		Listen:  "127.0.0.1:8080",
		DataDir: "./gatehouse-data",
		Database: Database{Pool: Pool{
			MaxOpenConns: 20, MaxIdleConns: 20, ConnMaxLifetime: 30 * time.Minute, ConnMaxIdleTime: 5 * time.Minute,
		}, SQLiteSynchronous: "full"},
		Scopes: Scopes{Catalogue: "atlassian"},
		Lifetimes: Lifetimes{
			Code:               10 * time.Minute,
			AccessToken:        2 * time.Hour,
			RefreshGraceReuses: 1,
			SessionIdle:        30 * time.Minute,
			SessionMax:         12 * time.Hour,
		},
		Limits: Limits{RefreshTokensPerUserClient: 10},
		SignIn: SignIn{MaxFailuresPerAccount: 5, MaxFailuresPerAddress: 20, FailureWindow: 15 * time.Minute},
		Janitor: Janitor{
			Interval:         5 * time.Minute,
			RevokedRetention: 24 * time.Hour,
			RotatedRetention: 7 * 24 * time.Hour,
		},
		Cache: Cache{ClientTTL: time.Second},
		Log:   Log{Level: "info"},

		Integrations: Integrations{RequestTimeout: 30 * time.Second, PollInterval: 5 * time.Second, BackgroundRefresh: true},
	}
}

// minAuditRetention is the shortest audit retention other than forever.
const minAuditRetention = 24 * time.Hour

// maxConfigFile bounds a configuration file: a few kilobytes in practice.
const maxConfigFile = 1 << 20

// LoadFile merges a YAML file into c. Unknown keys are an error, so a typo
// does not silently leave a default in force.
func (c *Config) LoadFile(path string) error {
	// Looked at before it is opened: opening a FIFO would wait for a writer
	// forever, and a file of many megabytes is no configuration.
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("config: %s is not a regular file (%s)", path, info.Mode().Type())
	}
	if info.Size() > maxConfigFile {
		return fmt.Errorf("config: %s is %d bytes; a configuration file is at most %d", path, info.Size(), maxConfigFile)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	err = setZeroDurations(yamlfile.Decode(data, c), data, c)
	if errors.Is(err, io.EOF) { // an empty file is fine
		return nil
	}
	if err != nil {
		return fmt.Errorf("config: %s: %w", path, fileErrors(err))
	}
	return nil
}

// AdminPasswordEnv sets the password of the administrator that serve
// creates on first start.
const AdminPasswordEnv = "GATEHOUSE_ADMIN_PASSWORD"

// otherEnv are the GATEHOUSE_* variables that are not settings but are read
// elsewhere; LoadEnv lets them pass. This is the one list of them.
var otherEnv = []string{
	AdminPasswordEnv,
	// The test suite's PostgreSQL (scripts/with-postgres.sh exports it); the
	// binaries the tests start inherit it.
	"GATEHOUSE_TEST_DATABASE_URL",
}

// LoadEnv merges GATEHOUSE_* variables from environ (os.Environ form) into c.
// A GATEHOUSE_* variable that is neither a setting nor in otherEnv is an
// error, as an unknown YAML key is, so a misspelt name cannot leave a
// default silently in force.
func (c *Config) LoadEnv(environ []string) error {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "GATEHOUSE_") {
			env[k] = v
		}
	}
	if err := unknownEnv(env); err != nil {
		return err
	}
	return walk(reflect.ValueOf(c).Elem(), "GATEHOUSE", func(name string, field reflect.Value) error {
		v, ok := env[name]
		if !ok {
			return nil
		}
		return setFromString(field, v, name)
	})
}

// EnvNames lists every environment variable LoadEnv reads, for documentation and --help.
func EnvNames() []string {
	var names []string
	var c Config
	walk(reflect.ValueOf(&c).Elem(), "GATEHOUSE", func(name string, _ reflect.Value) error {
		names = append(names, name)
		return nil
	})
	return names
}

// unknownEnv refuses the variables of env that nothing reads, naming the
// closest known name when one is near enough to be a typo of it.
func unknownEnv(env map[string]string) error {
	known := append(EnvNames(), otherEnv...)
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(env)) {
		if slices.Contains(known, name) {
			continue
		}
		if near := closest(name, known); near != "" {
			errs = append(errs, fmt.Errorf("config: unknown setting %s; did you mean %s?", name, near))
			continue
		}
		errs = append(errs, fmt.Errorf("config: unknown setting %s: no GATEHOUSE_* variable has that name (see docs/configuration.md)", name))
	}
	return errors.Join(errs...)
}

// closest returns the name of names nearest to name by edit distance, or ""
// when even that one differs by more than a typo: two edits, or a quarter of
// what follows the GATEHOUSE_ prefix in a longer name.
func closest(name string, names []string) string {
	limit := max(2, (len(name)-len("GATEHOUSE_"))/4)
	best, bestDist := "", limit+1
	for _, n := range names {
		if d := editDistance(name, n); d < bestDist {
			best, bestDist = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b (ASCII names).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func walk(v reflect.Value, prefix string, visit func(string, reflect.Value) error) error {
	t := v.Type()
	for i := range t.NumField() {
		tag, opts, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		f := v.Field(i)
		if opts == "inline" && f.Kind() == reflect.Struct {
			// Inlined fields sit at the parent's level in YAML, so in the environment too.
			if err := walk(f, prefix, visit); err != nil {
				return err
			}
			continue
		}
		if tag == "" || tag == "-" {
			continue
		}
		name := prefix + "_" + strings.ToUpper(tag)
		if f.Kind() == reflect.Struct {
			if err := walk(f, name, visit); err != nil {
				return err
			}
			continue
		}
		if err := visit(name, f); err != nil {
			return err
		}
	}
	return nil
}

var durationType = reflect.TypeOf(time.Duration(0))

func setFromString(f reflect.Value, s, name string) error {
	bad := func(want string) error { return fmt.Errorf("config: %s=%q is not %s", name, s, want) }
	switch {
	case f.Type() == durationType:
		d, err := time.ParseDuration(s)
		if err != nil {
			return bad("a duration such as 90s, 10m or 2h")
		}
		f.SetInt(int64(d))
	case f.Kind() == reflect.String:
		f.SetString(s)
	case f.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return bad("true or false")
		}
		f.SetBool(b)
	case f.Kind() == reflect.Int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return bad("a whole number")
		}
		f.SetInt(int64(n))
	case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String:
		var parts []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		f.Set(reflect.ValueOf(parts))
	default:
		return fmt.Errorf("config: %s cannot be set from the environment", name)
	}
	return nil
}

// Validate checks every setting a management command needs.
func (c *Config) Validate() error { return c.validate(false) }

// ValidateServe also requires a base URL (https in production) and fills in
// its development default.
func (c *Config) ValidateServe() error { return c.validate(true) }

func (c *Config) validate(serving bool) error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("listen %q must be host:port", c.Listen))
	}
	errs = append(errs, c.validateTLS()...)
	if serving {
		errs = append(errs, c.validateBaseURL()...)
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data_dir must be set"))
	} else if abs, err := filepath.Abs(c.DataDir); err == nil {
		c.DataDir = abs
	}
	if c.Database.URL != "" && !strings.HasPrefix(c.Database.URL, "postgres://") && !strings.HasPrefix(c.Database.URL, "postgresql://") {
		errs = append(errs, errors.New("database.url must be empty (embedded SQLite) or a postgres:// URL"))
	}
	switch c.Database.SQLiteSynchronous {
	case "full", "normal":
	default:
		errs = append(errs, fmt.Errorf("database.sqlite_synchronous must be full or normal, not %q", c.Database.SQLiteSynchronous))
	}
	p := c.Database.Pool
	for name, n := range map[string]int64{
		"database.max_open_conns": int64(p.MaxOpenConns), "database.max_idle_conns": int64(p.MaxIdleConns),
		"database.conn_max_lifetime": int64(p.ConnMaxLifetime), "database.conn_max_idle_time": int64(p.ConnMaxIdleTime),
	} {
		if n < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative", name))
		}
	}
	l := c.Lifetimes
	// Clients are told lifetimes in whole seconds (expires_in, cookie
	// Max-Age): a shorter one would be announced as 0, and is a typo anyway.
	for name, d := range map[string]time.Duration{
		"lifetimes.code": l.Code, "lifetimes.access_token": l.AccessToken,
		"lifetimes.session_idle": l.SessionIdle, "lifetimes.session_absolute": l.SessionMax,
	} {
		if d < time.Second {
			errs = append(errs, fmt.Errorf("%s must be at least 1s, not %v", name, d))
		} else if d%time.Second != 0 {
			errs = append(errs, notWholeSeconds(name, d))
		}
	}
	for name, d := range map[string]time.Duration{"lifetimes.refresh_idle": l.RefreshIdle, "lifetimes.refresh_absolute": l.RefreshMax} {
		if d != 0 && d < time.Second {
			errs = append(errs, fmt.Errorf("%s must be 0 (none) or at least 1s, not %v", name, d))
		} else if d%time.Second != 0 {
			errs = append(errs, notWholeSeconds(name, d))
		}
	}
	if c.Janitor.Interval < time.Second {
		errs = append(errs, fmt.Errorf("janitor.interval must be at least 1s, not %v: a shorter one keeps the database busy purging", c.Janitor.Interval))
	}
	if c.SignIn.FailureWindow <= 0 {
		errs = append(errs, errors.New("sign_in.failure_window must be positive"))
	}
	// Sign-in is always throttled (SPEC §9): 0 would mean no limit at all.
	for name, n := range map[string]int{"sign_in.max_failures_per_account": c.SignIn.MaxFailuresPerAccount, "sign_in.max_failures_per_address": c.SignIn.MaxFailuresPerAddress} {
		if n < 1 {
			errs = append(errs, fmt.Errorf("%s must be at least 1, not %d: sign-in is always rate-limited (a large number allows much)", name, n))
		}
	}
	if c.SignIn.HashConcurrency < 0 {
		errs = append(errs, fmt.Errorf("sign_in.hash_concurrency must be 0 (one per CPU) or more, not %d", c.SignIn.HashConcurrency))
	}
	// An audit trail shorter than a day is more likely a typo (24 for 24h
	// is refused by the parser, 24m is not) than a policy.
	if r := c.Janitor.AuditRetention; r != 0 && r < minAuditRetention {
		errs = append(errs, fmt.Errorf("janitor.audit_retention must be 0 (keep audit events forever) or at least %v, not %v", minAuditRetention, r))
	}
	if c.Janitor.RevokedRetention < 0 {
		errs = append(errs, fmt.Errorf("janitor.revoked_retention must not be negative, not %v", c.Janitor.RevokedRetention))
	}
	// A rotated refresh token is what detects its replay; the legitimate
	// client next refreshes when its access token expires, so a stolen copy
	// used before then must still find it.
	if c.Janitor.RotatedRetention < l.AccessToken {
		errs = append(errs, fmt.Errorf("janitor.rotated_retention must be at least lifetimes.access_token (%v), not %v: a rotated refresh token purged sooner lets its replay go unnoticed", l.AccessToken, c.Janitor.RotatedRetention))
	}
	for name, d := range map[string]time.Duration{"lifetimes.refresh_grace": l.RefreshGrace, "cache.client_ttl": c.Cache.ClientTTL} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative", name))
		}
	}
	// Upper bounds: past them a value is a typo (2562047h), or keeps what an
	// administrator ended working on other nodes for longer than anyone means.
	for _, b := range []struct {
		name    string
		d, most time.Duration
		why     string
	}{
		{"lifetimes.code", l.Code, time.Hour, "a code is redeemed within seconds; RFC 6749 recommends at most 10m"},
		{"lifetimes.access_token", l.AccessToken, 24 * time.Hour, "use refresh tokens for longer access"},
		{"cache.client_ttl", c.Cache.ClientTTL, time.Minute, "a disabled application or a replaced secret keeps working that long on the other nodes"},
	} {
		if b.d > b.most {
			errs = append(errs, fmt.Errorf("%s must be at most %v, not %v: %s", b.name, b.most, b.d, b.why))
		}
	}
	if l.RefreshGrace > time.Minute {
		errs = append(errs, errors.New("lifetimes.refresh_grace must be at most 1m: a longer window hides a stolen refresh token"))
	}
	if l.RefreshGrace > 0 && (l.RefreshGraceReuses < 1 || l.RefreshGraceReuses > 10) {
		errs = append(errs, errors.New("lifetimes.refresh_grace_reuses must be 1 to 10 when lifetimes.refresh_grace is set"))
	}
	for _, limit := range []struct {
		name string
		n    int
	}{{"limits.refresh_tokens_per_user_client", c.Limits.RefreshTokensPerUserClient}, {"limits.clients", c.Limits.Clients}} {
		if limit.n < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative, not %d (0 is unlimited)", limit.name, limit.n))
		}
	}
	for _, p := range c.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				errs = append(errs, fmt.Errorf("trusted_proxies: %q is not an IP address or CIDR", p))
			}
		}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log.level %q must be debug, info, warn or error", c.Log.Level))
	}
	if c.Log.Format == "" {
		c.Log.Format = "json"
		if c.Dev {
			c.Log.Format = "text"
		}
	}
	if c.Log.Format != "json" && c.Log.Format != "text" {
		errs = append(errs, fmt.Errorf("log.format %q must be json or text", c.Log.Format))
	}
	errs = append(errs, c.Integrations.validate()...)
	errs = append(errs, c.Metrics.validate(c)...)
	return errors.Join(errs...)
}

func (c *Config) validateTLS() []error {
	t := &c.TLS
	if !t.Enabled() {
		if t.RedirectListen != "" {
			return []error{errors.New("tls.redirect_listen needs tls.cert_file and tls.key_file: it redirects to the node's https listener")}
		}
		return nil
	}
	var errs []error
	if t.CertFile == "" || t.KeyFile == "" {
		errs = append(errs, errors.New("tls.cert_file and tls.key_file must be set together"))
	}
	// Absolute, so that the reload log names the files wherever the node runs.
	for _, f := range []*string{&t.CertFile, &t.KeyFile} {
		if abs, err := filepath.Abs(*f); *f != "" && err == nil {
			*f = abs
		}
	}
	if t.RedirectListen != "" {
		if _, _, err := net.SplitHostPort(t.RedirectListen); err != nil {
			errs = append(errs, fmt.Errorf("tls.redirect_listen %q must be host:port", t.RedirectListen))
		} else if t.RedirectListen == c.Listen {
			errs = append(errs, fmt.Errorf("tls.redirect_listen %q must differ from listen", t.RedirectListen))
		}
	}
	return errs
}

func (c *Config) validateBaseURL() []error {
	if c.BaseURL == "" {
		if !c.Dev {
			return []error{errors.New("base_url is required in production: the node's public https URL, as --base-url https://auth.example.com, GATEHOUSE_BASE_URL or base_url in the configuration file (the management commands need the same one as the node); for a trial on this machine only, --dev uses http://" + c.Listen)}
		}
		c.BaseURL = "http://" + c.Listen
		if c.TLS.Enabled() {
			c.BaseURL = "https://" + c.Listen
		}
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	u, err := url.Parse(c.BaseURL)
	if err != nil || !u.IsAbs() || u.Host == "" || u.RawQuery != "" || u.ForceQuery || strings.Contains(c.BaseURL, "#") {
		return []error{fmt.Errorf("base_url %q must be an absolute URL without query or fragment", c.BaseURL)}
	}
	if u.User != nil {
		// It would stand in the metadata, every endpoint and the start's log line.
		return []error{errors.New("base_url must not hold a user name or password")}
	}
	if !validation.PortInRange(u) {
		return []error{fmt.Errorf("base_url %q: a port must be a number from 1 to 65535", c.BaseURL)}
	}
	if u.Path != "" {
		// Pages, cookies and the RFC 8414 metadata all live at the host's root.
		return []error{fmt.Errorf("base_url %q must have no path: Gatehouse serves at the root of its host name (give it a host name of its own behind a proxy)", c.BaseURL)}
	}
	if !c.Dev && u.Scheme != "https" {
		return []error{fmt.Errorf("base_url %q must use https in production; use --dev for http", c.BaseURL)}
	}
	if c.TLS.Enabled() && u.Scheme != "https" {
		return []error{fmt.Errorf("base_url %q must use https: with tls.cert_file set the node answers https only", c.BaseURL)}
	}
	return nil
}

// SQLitePath is the database file inside the data directory.
func (c *Config) SQLitePath() string { return filepath.Join(c.DataDir, "gatehouse.db") }

// notWholeSeconds refuses a lifetime with a fraction of a second: clients are
// told lifetimes in seconds, so 1500ms would be announced as 1 for a token
// that lives 2.
func notWholeSeconds(name string, d time.Duration) error {
	return fmt.Errorf("%s must be whole seconds, not %v: clients are told it in seconds", name, d)
}
