package secret

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testKeys(t *testing.T, seed byte) *Keys {
	t.Helper()
	k, err := New(bytes.Repeat([]byte{seed}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestHashIsKeyedAndStable(t *testing.T) {
	a, b := testKeys(t, 1), testKeys(t, 2)
	if !Equal(a.Hash("x"), a.Hash("x")) {
		t.Fatal("hash not stable")
	}
	if Equal(a.Hash("x"), b.Hash("x")) {
		t.Fatal("hash does not depend on the key")
	}
	if Equal(a.Hash("x"), a.Tag("x")) {
		t.Fatal("hash and tag keys are the same")
	}
}

func TestSealOpen(t *testing.T) {
	k := testKeys(t, 1)
	sealed := k.Seal([]byte("s3cret"), "client-1")
	got, err := k.Open(sealed, "client-1")
	if err != nil || string(got) != "s3cret" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := k.Open(sealed, "client-2"); err == nil {
		t.Fatal("opened with the wrong context")
	}
	if _, err := testKeys(t, 2).Open(sealed, "client-1"); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("Open with the wrong key = %v; want ErrKeyMismatch", err)
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := k.Open(sealed, "client-1"); err == nil {
		t.Fatal("opened tampered data")
	}
	if _, err := k.Open([]byte{1, 2}, "client-1"); err == nil {
		t.Fatal("opened a short value")
	}
}

func TestLoadMasterCreatesPrivateFileOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	first, err := LoadMaster(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", info.Mode().Perm())
	}
	again, err := LoadMaster(dir, "")
	if err != nil || !bytes.Equal(first, again) {
		t.Fatalf("second load differs: %v", err)
	}
}

// TestKeyFileOpenToOthersIsRestricted: a key file copied in with the
// umask's 0644 (or 0640) is read and left readable by its owner only, as the
// database files are.
func TestKeyFileOpenToOthersIsRestricted(t *testing.T) {
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o400} {
		dir := t.TempDir()
		path := filepath.Join(dir, KeyFileName)
		key := GenerateMaster()
		if err := os.WriteFile(path, []byte(key+"\n"), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(path, mode) // past the umask
		if _, err := ReadMaster(dir, ""); err != nil {
			t.Fatalf("mode %04o: %v", mode, err)
		}
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if want := mode & 0o700; info.Mode().Perm() != want {
			t.Errorf("a key file of mode %04o is %04o after reading, want %04o", mode, info.Mode().Perm(), want)
		}
	}
}

func TestLoadMasterFromEnv(t *testing.T) {
	key := GenerateMaster()
	got, err := LoadMaster(t.TempDir(), key)
	if err != nil || len(got) != KeySize {
		t.Fatalf("LoadMaster(env) = %v, %v", got, err)
	}
	if _, err := LoadMaster(t.TempDir(), "too-short"); err == nil {
		t.Fatal("accepted a malformed key")
	}
}

// A key that cannot be read says where it came from in the operator's
// terms, and a damaged key file is not answered with "make one with
// keygen": a new key opens nothing the old one sealed.
func TestUnreadableKeySaysWhatToDo(t *testing.T) {
	_, err := LoadMaster(t.TempDir(), "too-short")
	if err == nil || !strings.Contains(err.Error(), "secret_key") || !strings.Contains(err.Error(), "GATEHOUSE_SECRET_KEY") {
		t.Errorf("a malformed configured key: %v; want it to name secret_key and GATEHOUSE_SECRET_KEY", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, KeyFileName), []byte("damaged\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = ReadMaster(dir, "")
	if err == nil || strings.Contains(err.Error(), "keygen") || !strings.Contains(err.Error(), "restore") {
		t.Errorf("a damaged key file: %v; want it to say to restore the key, not to make a new one", err)
	}
}
