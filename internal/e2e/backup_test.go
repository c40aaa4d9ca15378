package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/secret"
)

// TestBinaryBackupUnderLoadAndRestore takes `gatehouse backup` of a serving
// node's SQLite database while clients keep requesting tokens, restores it
// into a fresh data directory with the same secret.key, and checks that the
// tokens issued before the backup began still introspect active there.
func TestBinaryBackupUnderLoadAndRestore(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	startProcess(t, bin, dir, addr, nil, nil)
	e := &env{t: t, base: "http://" + addr}
	app := parseCreatedClient(t, cli(t, bin, dir, "client", "create", "--name", "Nightly job", "--grant", "client_credentials", "--scope", "READ", "--json"))
	tokenRequest := func() (string, error) {
		status, r, err := post(e.base, "/rest/oauth2/latest/token", form("grant_type", "client_credentials"), app.ID, app.Secret)
		if err != nil {
			return "", err
		}
		if status != http.StatusOK {
			return "", fmt.Errorf("token: %d %v", status, r.body)
		}
		return r.str("access_token"), nil
	}
	var before []string
	for range 20 {
		tok, err := tokenRequest()
		if err != nil {
			t.Fatal(err)
		}
		before = append(before, tok)
	}

	// Load: token requests until the backup is done.
	var (
		ok     atomic.Int64
		failed atomic.Value
		stop   = make(chan struct{})
		wg     sync.WaitGroup
	)
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := tokenRequest(); err != nil {
					failed.Store(err)
					return
				}
				ok.Add(1)
			}
		})
	}
	for ok.Load() < 50 && failed.Load() == nil { // the load is under way
		time.Sleep(10 * time.Millisecond)
	}
	atStart := ok.Load()
	backup := filepath.Join(t.TempDir(), "gatehouse-backup.db")
	out, errOut, err := runCLI(bin, dir, "backup", "--to", backup, "--json")
	duringBackup := ok.Load() - atStart
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, errOut)
	}
	if err, _ := failed.Load().(error); err != nil {
		t.Fatalf("a token request failed during the backup: %v", err)
	}
	if duringBackup == 0 {
		t.Fatal("no token request completed while the backup ran: the server did not keep serving")
	}
	var report struct {
		Database  string `json:"database"`
		Backup    string `json:"backup"`
		Bytes     int64  `json:"bytes"`
		SecretKey string `json:"secret_key"`
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		t.Fatalf("backup --json printed %q: %v", out, err)
	}
	data := filepath.Join(dir, "gatehouse-data")
	if report.Backup != backup || report.Database != filepath.Join(data, "gatehouse.db") || report.Bytes <= 0 || report.SecretKey != filepath.Join(data, secret.KeyFileName) {
		t.Errorf("backup reported %+v", report)
	}
	fi, err := os.Stat(backup)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || fi.Size() != report.Bytes {
		t.Errorf("backup file mode %v, %d bytes; want 0600 and %d bytes", fi.Mode().Perm(), fi.Size(), report.Bytes)
	}
	t.Logf("%d token requests answered 200 while the backup ran", duringBackup)

	// An existing file is kept unless --force.
	if _, errOut, err := runCLI(bin, dir, "backup", "--to", backup); err == nil || !strings.Contains(errOut, "already exists") || !strings.Contains(errOut, "--force") {
		t.Errorf("backup over an existing file: %v, %q; want a refusal naming --force", err, errOut)
	}
	if out, errOut, err := runCLI(bin, dir, "backup", "--to", backup, "--force"); err != nil || !strings.Contains(out, "backed up") || !strings.Contains(out, secret.KeyFileName) {
		t.Errorf("backup --force: %v, %q %q; want it done, naming the secret key to keep", err, out, errOut)
	}

	// --force replaces a previous backup, never what the node runs on: the
	// database, its WAL and shared memory, the secret key or a directory.
	// Each is refused, and the node goes on serving from the same data.
	keyBefore, err := os.ReadFile(filepath.Join(data, secret.KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"gatehouse.db", "gatehouse.db-wal", "gatehouse.db-shm", secret.KeyFileName, "."} {
		if _, errOut, err := runCLI(bin, dir, "backup", "--to", filepath.Join(data, target), "--force"); err == nil || !strings.Contains(errOut, "never replaces") && !strings.Contains(errOut, "not a regular file") {
			t.Errorf("backup --force over %s: %v, %q; want a refusal", target, err, errOut)
		}
	}
	if keyAfter, err := os.ReadFile(filepath.Join(data, secret.KeyFileName)); err != nil || !bytes.Equal(keyAfter, keyBefore) {
		t.Errorf("the secret key changed: %v", err)
	}
	if _, err := tokenRequest(); err != nil {
		t.Errorf("a token request after the refused backups: %v", err)
	}
	if !e.active(before[0], app.ID, app.Secret) {
		t.Error("a token issued before the refused backups is not active")
	}
	if out, _, err := runCLI(bin, dir, "client", "list", "--json"); err != nil || !strings.Contains(out, app.ID) {
		t.Errorf("the command line after the refused backups: %v %q", err, out)
	}

	// Restore as docs/operations.md says: the backup as gatehouse.db in a
	// data directory, with the secret.key it was sealed with.
	restored := t.TempDir()
	restoredData := filepath.Join(restored, "gatehouse-data")
	if err := os.Mkdir(restoredData, 0o700); err != nil {
		t.Fatal(err)
	}
	copyFile(t, backup, filepath.Join(restoredData, "gatehouse.db"))
	copyFile(t, filepath.Join(data, secret.KeyFileName), filepath.Join(restoredData, secret.KeyFileName))
	restoredAddr := freeAddr(t)
	startProcess(t, bin, restored, restoredAddr, nil, nil)
	re := &env{t: t, base: "http://" + restoredAddr}
	for i, tok := range before {
		if !re.active(tok, app.ID, app.Secret) {
			t.Fatalf("token %d, issued before the backup, is not active on the restored node", i)
		}
	}
}

// TestBinaryBackupRefusesPostgreSQL: a PostgreSQL store is backed up with
// pg_dump; the command says so without connecting or showing the password.
func TestBinaryBackupRefusesPostgreSQL(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	_, errOut, err := runCLI(bin, dir, "backup", "--to", filepath.Join(dir, "b.db"), "--database-url", "postgres://gatehouse:pa55word@127.0.0.1:1/gatehouse")
	if err == nil || !strings.Contains(errOut, "pg_dump") || strings.Contains(errOut, "pa55word") {
		t.Fatalf("backup on PostgreSQL: %v, %q; want a refusal pointing to pg_dump, without the password", err, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "b.db")); err == nil {
		t.Error("backup on PostgreSQL wrote a file")
	}
}

// TestBinaryBackupSaysWhatIsWrong: a backup that cannot be made says why in
// the operator's terms — no --to, a symbolic link where the copy would go,
// no database where the command looks — not in the library's.
func TestBinaryBackupSaysWhatIsWrong(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	if _, errOut, err := runCLI(bin, dir, "backup", "--to", ""); err == nil || !strings.Contains(errOut, "--to") || strings.Contains(errOut, "is ,") {
		t.Errorf("backup --to \"\": %v, %q; want it to ask for --to", err, errOut)
	}
	if _, errOut, err := runCLI(bin, dir, "backup", "--to", filepath.Join(dir, "b.db")); err == nil || !strings.Contains(errOut, "no Gatehouse database at") {
		t.Errorf("backup without a database: %v, %q; want it to say there is none where it looked", err, errOut)
	}
	if out, err := exec.Command(bin, "migrate", "--data-dir", filepath.Join(dir, "gatehouse-data")).CombinedOutput(); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	link := filepath.Join(dir, "link.db")
	if err := os.Symlink(filepath.Join(dir, "elsewhere.db"), link); err != nil {
		t.Fatal(err)
	}
	if _, errOut, err := runCLI(bin, dir, "backup", "--to", link, "--force"); err == nil || !strings.Contains(errOut, "symbolic link") {
		t.Errorf("backup onto a symbolic link: %v, %q; want it to say it is one", err, errOut)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// A backup checks the key it tells the operator to keep: one that does not
// open the copy (a wrong GATEHOUSE_SECRET_KEY, a cron job run without the
// node's) or no key at all fails the command, naming why, rather than say
// "keep the secret key, <a key that opens nothing>" and exit 0.
func TestBinaryBackupChecksItsKey(t *testing.T) {
	bin := buildBinary(t)
	dir := migratedDir(t, bin)
	cli(t, bin, dir, "client", "create", "--name", "sealed", "--redirect-uri", "http://127.0.0.1:1/cb", "--scope", "READ")
	if out := cli(t, bin, dir, "backup", "--to", filepath.Join(dir, "good.db")); !strings.Contains(out, "secret.key") {
		t.Fatalf("a backup with the node's key printed %q", out)
	}
	for name, c := range map[string]struct {
		env  []string
		want string
	}{
		"wrong key": {[]string{"GATEHOUSE_SECRET_KEY=" + secret.GenerateMaster()}, "does not open"},
		"no key":    {nil, "no secret key"},
	} {
		keyFile := filepath.Join(dir, "gatehouse-data", secret.KeyFileName)
		if name == "no key" {
			if err := os.Rename(keyFile, filepath.Join(dir, "kept.key")); err != nil {
				t.Fatal(err)
			}
		}
		to := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".db")
		_, errOut, err := runCLIEnv(bin, dir, c.env, "backup", "--to", to)
		if err == nil || !strings.Contains(errOut, c.want) || !strings.Contains(errOut, to) {
			t.Fatalf("%s: backup = %v, %q; want a failure naming the copy and saying %q", name, err, errOut, c.want)
		}
		if _, err := os.Stat(to); err != nil {
			t.Fatalf("%s: the copy itself was not kept: %v", name, err)
		}
		if name == "no key" {
			if _, err := os.Stat(keyFile); !os.IsNotExist(err) {
				t.Fatalf("the backup made a key: %v", err)
			}
		}
	}
}
