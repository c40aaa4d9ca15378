package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// KeySize is the master key length in bytes.
const KeySize = 32

// KeyFileName is the master key file inside the data directory.
const KeyFileName = "secret.key"

// Keys holds the subkeys derived from the master key. It is safe for concurrent use.
type Keys struct {
	hashes sync.Pool // of *keyedMAC for storage hashes
	tags   sync.Pool // of *keyedMAC for token tags
	aead   cipher.AEAD
}

// New derives the subkeys from master with HKDF-SHA256, one label each, so a
// leak of one subkey reveals nothing about the others.
func New(master []byte) (*Keys, error) {
	if len(master) != KeySize {
		return nil, fmt.Errorf("secret: master key must be %d bytes, got %d", KeySize, len(master))
	}
	derive := func(label string) ([]byte, error) {
		return hkdf.Key(sha256.New, master, nil, "gatehouse "+label, KeySize)
	}
	hashKey, err := derive("storage hash")
	if err != nil {
		return nil, err
	}
	tagKey, err := derive("token tag")
	if err != nil {
		return nil, err
	}
	sealKey, err := derive("seal")
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(sealKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	k := &Keys{aead: aead}
	k.hashes.New = func() any { return &keyedMAC{mac: hmac.New(sha256.New, hashKey)} }
	k.tags.New = func() any { return &keyedMAC{mac: hmac.New(sha256.New, tagKey)} }
	return k, nil
}

// keyedMAC is an HMAC with a buffer to hand it a string without allocating
// a copy per call, and one to sum into: these run several times in every
// token request, and a caller's buffer handed to the hash.Hash would be
// moved to the heap.
type keyedMAC struct {
	mac hash.Hash
	buf []byte
	out [sha256.Size]byte
}

// sum appends value's MAC to dst.
func sum(pool *sync.Pool, dst []byte, value string) []byte {
	k := pool.Get().(*keyedMAC)
	k.mac.Reset()
	k.buf = append(k.buf[:0], value...)
	k.mac.Write(k.buf)
	dst = append(dst, k.mac.Sum(k.out[:0])...)
	if cap(k.buf) <= 1<<10 { // a long value's buffer is not worth keeping
		pool.Put(k)
	}
	return dst
}

// Hash is the keyed hash (HMAC-SHA256) under which a token or secret is stored.
func (k *Keys) Hash(value string) []byte { return k.AppendHash(nil, value) }

// AppendHash appends value's Hash to dst.
func (k *Keys) AppendHash(dst []byte, value string) []byte { return sum(&k.hashes, dst, value) }

// Tag is a keyed MAC over value; tokens carry a truncated tag so that a
// forged one fails a local check.
func (k *Keys) Tag(value string) []byte { return k.AppendTag(nil, value) }

// AppendTag appends value's Tag to dst.
func (k *Keys) AppendTag(dst []byte, value string) []byte { return sum(&k.tags, dst, value) }

// Seal encrypts plain with AES-256-GCM; context binds the ciphertext to its
// owner (for example the client ID) so it cannot be moved to another row.
func (k *Keys) Seal(plain []byte, context string) []byte {
	nonce := make([]byte, k.aead.NonceSize())
	rand.Read(nonce) // crypto/rand.Read never fails on supported platforms
	return k.aead.Seal(nonce, nonce, plain, []byte(context))
}

// ErrKeyMismatch is Open's failure: the value was sealed under another
// master key. (Altered data fails the same way, but a node started with the
// wrong key is what happens in practice.)
var ErrKeyMismatch = errors.New("this node's secret key does not match the one the data was sealed with; give every node the same GATEHOUSE_SECRET_KEY (or secret.key)")

// Open decrypts what Seal produced with the same context.
func (k *Keys) Open(sealed []byte, context string) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("secret: sealed value too short")
	}
	plain, err := k.aead.Open(nil, sealed[:n], sealed[n:], []byte(context))
	if err != nil {
		return nil, ErrKeyMismatch
	}
	return plain, nil
}

// Equal compares two secrets or hashes in constant time.
func Equal(a, b []byte) bool { return hmac.Equal(a, b) }

// ReadMaster returns the master key from fromEnv (base64, standard or URL
// alphabet) when set, else from the key file in dataDir; an error matching
// fs.ErrNotExist when there is neither.
func ReadMaster(dataDir, fromEnv string) ([]byte, error) {
	if fromEnv != "" {
		return decodeKey(fromEnv, "secret_key (from the configuration file or GATEHOUSE_SECRET_KEY)", "make one with `gatehouse keygen`, or give the key the data was sealed with")
	}
	path := filepath.Join(dataDir, KeyFileName)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secret: read key file: %w", err)
	}
	if err := ownerOnly(path); err != nil {
		return nil, err
	}
	return decodeKey(string(data), path, "it was damaged or replaced: restore it from your copy of the key (a new key cannot open what this one sealed)")
}

// ownerOnly takes every permission but the owner's from the key file, as
// the database files lose theirs: a key file copied in with the umask's
// 0644 would let any local user open every sealed secret.
func ownerOnly(path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("secret: key file: %w", err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		if err := os.Chmod(path, perm&0o700); err != nil {
			return fmt.Errorf("secret: the key file %s is open to other users (mode %04o) and cannot be restricted: %w; run chmod 600 on it", path, perm, err)
		}
	}
	return nil
}

// LoadMaster is ReadMaster, creating the key file with mode 0600 when there
// is none (a first start).
func LoadMaster(dataDir, fromEnv string) ([]byte, error) {
	master, err := ReadMaster(dataDir, fromEnv)
	if !errors.Is(err, os.ErrNotExist) {
		return master, err
	}
	path := filepath.Join(dataDir, KeyFileName)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("secret: create data directory: %w", err)
	}
	master = make([]byte, KeySize)
	rand.Read(master)
	err = WriteFile(path, []byte(base64.StdEncoding.EncodeToString(master)+"\n"), false)
	if errors.Is(err, os.ErrExist) {
		// Another process created it first: use theirs. Read once, not
		// created again: a path that exists but cannot be read (a dangling
		// symbolic link) looped here forever.
		return ReadMaster(dataDir, "")
	}
	if err != nil {
		return nil, fmt.Errorf("secret: create key file: %w", err)
	}
	return master, nil
}

// writeKey writes a file's data into its temporary file (WriteFile); a
// test makes it fail as a full disk does.
var writeKey = (*os.File).Write

// linkFile is os.Link; a test makes it fail as a file system without hard
// links does.
var linkFile = os.Link

// WriteFile writes a file of mode 0600 — a key, a one-time password — whole
// or not at all: data goes to a temporary file beside path, synced, then
// put at path (written in place, a key cut short by a full disk was refused
// by every later start). With replace a file at path is replaced (rename);
// without, it never is: the temporary file is linked to path, which fails
// with an error matching os.ErrExist.
func WriteFile(path string, data []byte, replace bool) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp") // mode 0600
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // gone once renamed; once linked, path keeps the data
	if err = writeSynced(f, data); err == nil && replace {
		err = os.Rename(f.Name(), path)
	} else if err == nil {
		err = linkFile(f.Name(), path)
		if err != nil && !errors.Is(err, os.ErrExist) {
			// No hard links here (vfat, some FUSE and SMB mounts): create
			// path exclusively and write it. A write that fails removes
			// it; only a crash in between can leave it short.
			err = writeExclusive(path, data)
		}
	}
	if err != nil {
		return err
	}
	// The new name is durable once the directory is (not every system can sync one).
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// writeSynced writes data to f, syncs and closes it.
func writeSynced(f *os.File, data []byte) error {
	_, err := writeKey(f, data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeExclusive creates path, which must not exist, with data; on failure
// it leaves no file at path.
func writeExclusive(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := writeSynced(f, data); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

// GenerateMaster returns a new random master key in the form LoadMaster reads.
func GenerateMaster() string {
	master := make([]byte, KeySize)
	rand.Read(master)
	return base64.StdEncoding.EncodeToString(master)
}

// decodeKey reads the key from source; advice says what to do when it
// cannot be read.
func decodeKey(s, source, advice string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == KeySize {
			return b, nil
		}
	}
	return nil, fmt.Errorf("secret: %s must hold %d random bytes in base64: %s", source, KeySize, advice)
}
