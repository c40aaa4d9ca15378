package user

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the argon2id cost parameters written into new hashes.
// Existing hashes keep the parameters they were made with.
type Argon2Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// DefaultArgon2 follows the OWASP recommendation (19 MiB, 2 passes, 1 lane).
var DefaultArgon2 = Argon2Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1}

// MaxPasswordBytes bounds the work a single sign-in can ask for.
const MaxPasswordBytes = 1024

// MinPasswordLength is the shortest password accepted for a new account.
const MinPasswordLength = 8

const (
	saltBytes = 16
	keyBytes  = 32
)

// ErrBadHash is returned for a stored hash that is not an argon2id PHC string.
var ErrBadHash = errors.New("user: stored password hash is not argon2id")

// Hasher hashes and verifies passwords, running at most a fixed number of
// argon2 computations at once; the others wait (or give up with ctx). With
// UseWorkerProcess, the computations run in a worker process (hashworker.go).
type Hasher struct {
	params Argon2Params
	slots  chan struct{}
	worker *hashWorker // nil: in this process
}

// UseWorkerProcess makes h derive keys in a worker process that start
// returns a command for (ServeHashWorker on its standard input and output),
// started at the first hash and stopped after a while without one. Each
// process, from its start until it has ended, holds what whileRunning
// (if not nil) returns, and then calls it: a node gives its heap floor up
// meanwhile, so that the two processes together stay within its memory.
// Call it before h is used concurrently; Close stops the process.
func (h *Hasher) UseWorkerProcess(start func() *exec.Cmd, whileRunning func() (release func())) {
	h.worker = newHashWorker(start, whileRunning)
}

// Close stops the worker process, if any.
func (h *Hasher) Close() {
	if h.worker != nil {
		h.worker.close()
	}
}

// idKey derives the argon2id key, in the worker process when there is one
// (falling back to this process should it fail).
func (h *Hasher) idKey(ctx context.Context, password, salt []byte, p Argon2Params, keyLen uint32) ([]byte, error) {
	if h.worker != nil {
		key, err := h.worker.key(ctx, password, salt, p, keyLen)
		if err == nil || ctx.Err() != nil {
			return key, err
		}
	}
	return argon2.IDKey(password, salt, p.Time, p.MemoryKiB, p.Threads, keyLen), nil
}

// NewHasher returns a Hasher; concurrency <= 0 means one per CPU.
func NewHasher(p Argon2Params, concurrency int) *Hasher {
	if concurrency <= 0 {
		concurrency = runtime.GOMAXPROCS(0)
	}
	return &Hasher{params: p, slots: make(chan struct{}, concurrency)}
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.slots }

// Hash returns the PHC string of password with a fresh salt.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if len(password) > MaxPasswordBytes {
		return "", fmt.Errorf("password longer than %d bytes", MaxPasswordBytes)
	}
	salt := make([]byte, saltBytes)
	rand.Read(salt)
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	p := h.params
	key, err := h.idKey(ctx, []byte(password), salt, p, keyBytes)
	if err != nil {
		return "", err
	}
	return h.format(salt, key), nil
}

// Decoy returns a hash in the current parameters that no password matches:
// random salt and key, so it needs no hashing to make and cannot fail.
// Verifying against it costs what verifying a real hash costs.
func (h *Hasher) Decoy() string {
	salt, key := make([]byte, saltBytes), make([]byte, keyBytes)
	rand.Read(salt)
	rand.Read(key)
	return h.format(salt, key)
}

func (h *Hasher) format(salt, key []byte) string {
	p, enc := h.params, base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Time, p.Threads, enc.EncodeToString(salt), enc.EncodeToString(key))
}

// Verify reports whether password matches the PHC string phc.
func (h *Hasher) Verify(ctx context.Context, phc, password string) (bool, error) {
	if len(password) > MaxPasswordBytes {
		return false, nil
	}
	p, salt, want, err := parsePHC(phc)
	if err != nil {
		return false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	got, err := h.idKey(ctx, []byte(password), salt, p, uint32(len(want)))
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

func parsePHC(phc string) (p Argon2Params, salt, key []byte, err error) {
	parts := strings.Split(phc, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, nil, nil, ErrBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, ErrBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, ErrBadHash
	}
	if p.MemoryKiB == 0 || p.MemoryKiB > 1<<20 || p.Time == 0 || p.Time > 64 || p.Threads == 0 {
		return p, nil, nil, ErrBadHash
	}
	enc := base64.RawStdEncoding
	if salt, err = enc.DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return p, nil, nil, ErrBadHash
	}
	if key, err = enc.DecodeString(parts[5]); err != nil || len(key) < 16 {
		return p, nil, nil, ErrBadHash
	}
	return p, salt, key, nil
}
