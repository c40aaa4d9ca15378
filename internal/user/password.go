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
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/argon2"

	"github.com/gatehouse/gatehouse/internal/proccpu"
)

// Argon2Params are the argon2id cost parameters written into new hashes.
// Existing hashes keep the parameters they were made with.
type Argon2Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// DefaultArgon2 holds 7 MiB for 6 passes. OWASP's Password Storage Cheat
// Sheet lists 7 MiB with 5 passes (Keycloak's default) as a defense equal
// to 19 MiB with 2; a sixth pass makes what a guess costs on memory-bound
// hardware, the memory times the passes over it, 42 MiB-passes against
// 19 MiB with 2 passes' 38, for the same CPU time here (~25 ms), while a
// hash holds a third of the memory (docs/performance.md, "Memory and
// start-up").
var DefaultArgon2 = Argon2Params{MemoryKiB: 7 * 1024, Time: 6, Threads: 1}

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

	// processCPU reads this process's CPU time (false where it cannot);
	// rests counts the slots' rests (release).
	processCPU func() (time.Duration, bool)
	rests      prometheus.Counter
}

// While the node is busy, a slot rests after each hash in the worker
// process, hashRestFactor times as long as the hash took, before the next
// may start (the caller does not wait for it; the next hash does).
//
// The worker hashes at the lowest priority, yet it keeps the node's core
// busy while the node waits for the disk, and on a busy core those waits
// grow (docs/performance.md, "Token writes during a sign-in flood"):
// client_credentials' p99 went 3.5× during a sign-in flood. Tokens come
// first and sign-ins wait, but never stop: a slot hashes at least a quarter
// of the time (more when a rest is cut at maxHashRest). Busy is the node's
// own CPU time over the hash: more than busyShare of its CPUs (GOMAXPROCS).
// Over the hashes of a 200-client
// sign-in flood alone the node's share was 0.05–0.1, never above 0.32;
// under client_credentials at c=32 beside it, 0.41–0.72. Connections that
// only hold a request open cost no CPU, so they cannot slow sign-ins.
// A rest lasts at most maxHashRest: on a node so busy that the worker got
// almost nothing (a hash held for seconds), three times as long would keep
// the sign-ins queued behind it past a browser's or proxy's patience.
const (
	hashRestFactor = 3
	busyShare      = 0.35
	maxHashRest    = 2 * time.Second
)

// UseWorkerProcess makes h derive keys in a worker process that start
// returns a command for (ServeHashWorker on its standard input and output),
// started at the first hash and stopped after a while without one. From a
// hash's start until hashingGrace after the last one has ended, h holds
// what whileHashing (if not nil) returns, and then calls it: a node gives
// its heap floor up meanwhile, so that the two processes together stay
// within its memory while the worker holds hashes' memory, and keeps the
// floor's cheaper collections the rest of the time.
// Call it before h is used concurrently; Close stops the process.
func (h *Hasher) UseWorkerProcess(start func() *exec.Cmd, whileHashing func() (release func())) {
	h.worker = newHashWorker(start, whileHashing)
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
	return &Hasher{params: p, slots: make(chan struct{}, concurrency), processCPU: proccpu.Time, rests: prometheus.NewCounter(prometheus.CounterOpts{
		Name: "gatehouse_password_hash_rests_total",
		Help: "Password hashes after which their slot rested, the node serving other requests meanwhile (sign-ins give way to tokens).",
	})}
}

// slot is a hash slot taken at a time, with this process's CPU time then.
type slot struct {
	at  time.Time
	cpu time.Duration
	ok  bool // cpu was read
}

func (h *Hasher) acquire(ctx context.Context) (slot, error) {
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return slot{}, ctx.Err()
	}
	if h.worker == nil {
		return slot{}, nil // hashing in process: its own CPU time tells nothing
	}
	cpu, ok := h.processCPU()
	return slot{time.Now(), cpu, ok}, nil
}

// release gives a slot back, after a rest if the node was busy while it
// was held.
func (h *Hasher) release(s slot) {
	held := time.Since(s.at)
	if !h.busyWhileHeld(s, held) {
		<-h.slots
		return
	}
	h.rests.Inc()
	time.AfterFunc(restAfter(held), func() { <-h.slots })
}

// busyWhileHeld reports whether this process used more than busyShare of
// its CPUs over the held time since s was taken.
func (h *Hasher) busyWhileHeld(s slot, held time.Duration) bool {
	if !s.ok || held <= 0 {
		return false
	}
	cpu, ok := h.processCPU()
	return ok && float64(cpu-s.cpu) > busyShare*float64(runtime.GOMAXPROCS(0))*float64(held)
}

// restAfter is how long a slot held for held rests while the node is busy.
func restAfter(held time.Duration) time.Duration {
	return min(hashRestFactor*held, maxHashRest)
}

// Hash returns the PHC string of password with a fresh salt.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if len(password) > MaxPasswordBytes {
		return "", fmt.Errorf("password longer than %d bytes", MaxPasswordBytes)
	}
	salt := make([]byte, saltBytes)
	rand.Read(salt)
	acquired, err := h.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer h.release(acquired)
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
	acquired, err := h.acquire(ctx)
	if err != nil {
		return false, err
	}
	defer h.release(acquired)
	got, err := h.idKey(ctx, []byte(password), salt, p, uint32(len(want)))
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// Outdated reports whether phc was made with other parameters than h makes
// new hashes with (or cannot be read): a sign-in that proves its password
// then hashes it again.
func (h *Hasher) Outdated(phc string) bool {
	p, _, _, err := parsePHC(phc)
	return err != nil || p != h.params
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
