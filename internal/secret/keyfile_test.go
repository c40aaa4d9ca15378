package secret

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestLoadMasterFullDisk: a key file whose write fails (a full disk) is not
// left behind, half written, to be refused by every later start; nor is its
// temporary file. The next start makes the key.
func TestLoadMasterFullDisk(t *testing.T) {
	dir := t.TempDir()
	write := writeKey
	failWritesAsFullDisk(t)
	if _, err := LoadMaster(dir, ""); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("LoadMaster on a full disk = %v; want ENOSPC", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("a failed write left %v", left)
	}

	writeKey = write
	master, err := LoadMaster(dir, "")
	if err != nil {
		t.Fatalf("the start after a full disk: %v", err)
	}
	again, err := LoadMaster(dir, "")
	if err != nil || !bytes.Equal(master, again) {
		t.Fatalf("the key file holds another key: %v", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 1 {
		t.Fatalf("the data directory holds %v; want only %s", left, KeyFileName)
	}
}

// TestLoadMasterNeverReplacesKey: a key file that exists is used, never
// written over, and of several processes starting at once on a new data
// directory, all use the one key that ends up in the file.
func TestLoadMasterNeverReplacesKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, KeyFileName)
	existing := GenerateMaster() + "\n"
	if err := os.WriteFile(path, []byte(existing), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadMaster(dir, ""); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(path); err != nil || string(got) != existing {
		t.Fatalf("the key file changed: %q, %v", got, err)
	}

	dir = t.TempDir()
	keys := make([][]byte, 16)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			var err error
			if keys[i], err = LoadMaster(dir, ""); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	onDisk, err := LoadMaster(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		if !bytes.Equal(k, onDisk) {
			t.Fatalf("start %d uses a key that is not the one in %s", i, KeyFileName)
		}
	}
}

// TestLoadMasterWithoutHardLinks: on a file system that has no hard links
// (vfat, some FUSE and SMB mounts) the key is still made — the first start
// failed there — and never written over, and a failed write leaves nothing.
func TestLoadMasterWithoutHardLinks(t *testing.T) {
	link := linkFile
	t.Cleanup(func() { linkFile = link })
	linkFile = func(oldname, newname string) error {
		return &os.LinkError{Op: "link", Old: oldname, New: newname, Err: syscall.EPERM}
	}
	dir := t.TempDir()
	master, err := LoadMaster(dir, "")
	if err != nil {
		t.Fatalf("the first start without hard links: %v", err)
	}
	again, err := LoadMaster(dir, "")
	if err != nil || !bytes.Equal(master, again) {
		t.Fatalf("the second start reads another key: %v", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 1 {
		t.Fatalf("the data directory holds %v; want only %s", left, KeyFileName)
	}
	path := filepath.Join(dir, KeyFileName)
	if err := WriteFile(path, []byte("other\n"), false); !errors.Is(err, os.ErrExist) {
		t.Fatalf("writing over the key = %v; want ErrExist", err)
	}
	if again, err := LoadMaster(dir, ""); err != nil || !bytes.Equal(master, again) {
		t.Fatalf("the key changed: %v", err)
	}

	failWritesAsFullDisk(t)
	dir = t.TempDir()
	if _, err := LoadMaster(dir, ""); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("LoadMaster on a full disk = %v; want ENOSPC", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("a failed write left %v", left)
	}
}

// failWritesAsFullDisk makes the key file's writes stop halfway with ENOSPC
// until the test ends.
func failWritesAsFullDisk(t *testing.T) {
	write := writeKey
	t.Cleanup(func() { writeKey = write })
	writeKey = func(f *os.File, b []byte) (int, error) {
		n, _ := f.Write(b[:len(b)/2])
		return n, syscall.ENOSPC
	}
}

// TestLoadMasterDanglingSymlink: a secret.key that is a symbolic link to
// nothing is refused with an error; the start looped forever.
func TestLoadMasterDanglingSymlink(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink(filepath.Join(dir, "gone"), filepath.Join(dir, KeyFileName)); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := LoadMaster(dir, ""); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), KeyFileName) {
			t.Fatalf("LoadMaster with a dangling secret.key = %v; want an error naming it", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("LoadMaster with a dangling secret.key did not return")
	}
}
