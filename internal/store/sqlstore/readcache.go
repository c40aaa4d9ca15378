package sqlstore

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore/sqlitevfs"
)

// readCacheSize bounds each map of the read cache; past it an entry is dropped.
const readCacheSize = 4096

// readCache keeps the rows the hot paths read on every request — a token with
// its user (introspection, Bearer, refresh), a user (every signed-in page), a
// session, an integration (the token API), an authorization code (written by
// the consent decision, read back by the code exchange) — of a SQLite store,
// and serves them only while it can prove they are what the database holds,
// so that a revocation by this node or by any other process (the CLI) takes
// effect at the next request, as without it.
//
// How it stays exact:
//   - Writes through this store run on the group committer, which applies
//     each write's effect on the cache after its commit and before the writer
//     gets its answer: the entries it names are dropped (a revoked token, a
//     rotated refresh token, a changed session) or, for a write that does not
//     name them, everything is dropped.
//   - Any other commit — another process, another store on the same file, a
//     write that went around the committer — is seen through SQLite's
//     WAL-index header, whose change counter every commit increments before it
//     returns (sqlitevfs.Watch). The cache records the counter value it
//     reflects (known); an entry is served only while the counter still has
//     that value. The committer accounts for its own commits: at BEGIN (the
//     write lock held) the counter must be known, else everything is dropped;
//     after COMMIT it must have moved by exactly its own commit (one, if the
//     batch changed rows), else everything is dropped. A reader that finds the
//     counter moved while no batch is committing drops everything itself.
//   - A read that raced an invalidation is not kept: every invalidation bumps
//     gen, and an entry is stored only if gen is what it was before the read.
//
// Only found rows and rows this store inserted are kept, so a new row is
// seen at once. Entries are copies: callers get their own.
type readCache struct {
	watch *sqlitevfs.Watch

	// known is the change counter the cache reflects, plus one (0: none yet).
	known      atomic.Uint64
	committing atomic.Bool // a batch is between BEGIN and its effects
	gen        atomic.Uint64

	mu           sync.RWMutex
	tokens       map[string]store.Token
	users        map[string]store.User
	sessions     map[string]cachedSession
	integrations map[string]store.Integration
	codes        map[string]store.Code

	hits, misses, drops atomic.Uint64
}

type cachedSession struct {
	data   []byte
	expiry int64 // unix ms
}

// newReadCache returns the cache of the database at path, or nil when its
// commits cannot be watched (the cache is then off: every read is a query).
func newReadCache(path string) *readCache {
	w := sqlitevfs.WatchFile(path)
	if w == nil {
		return nil
	}
	if _, ok := w.Change(); !ok {
		return nil
	}
	return &readCache{
		watch:        w,
		tokens:       make(map[string]store.Token),
		users:        make(map[string]store.User),
		sessions:     make(map[string]cachedSession),
		integrations: make(map[string]store.Integration),
		codes:        make(map[string]store.Code),
	}
}

// current reports whether the entries may be served now.
func (c *readCache) current() bool {
	ch, ok := c.watch.Change()
	return ok && uint64(ch)+1 == c.known.Load()
}

// start is called before a database read whose result may be kept: it
// returns the generation to keep it under, and first settles a commit the
// cache has not accounted for when no batch is committing (that can only be
// another process's, or one that went around the committer).
func (c *readCache) start() uint64 {
	if !c.current() && !c.committing.Load() {
		c.mu.Lock()
		if ch, ok := c.watch.Change(); ok && uint64(ch)+1 != c.known.Load() && !c.committing.Load() {
			c.dropAllLocked()
			c.known.Store(uint64(ch) + 1)
		}
		c.mu.Unlock()
	}
	return c.gen.Load()
}

func (c *readCache) dropAllLocked() {
	c.drops.Add(1)
	clear(c.tokens)
	clear(c.users)
	clear(c.sessions)
	clear(c.integrations)
	clear(c.codes)
	c.gen.Add(1)
}

// bound makes room in m for one more entry.
func bound[V any](m map[string]V) {
	if len(m) >= readCacheSize {
		for k := range m { // any one: maps iterate in random order
			delete(m, k)
			break
		}
	}
}

func copyUser(u store.User) store.User {
	u.Groups = slices.Clone(u.Groups)
	return u
}

func copyToken(t store.Token) store.Token {
	t.Hash = slices.Clone(t.Hash)
	t.AccessHash = slices.Clone(t.AccessHash)
	return t
}

// token returns a token and, when withUser, its user (nil for a token
// without one); ok is false unless everything asked for is cached. It counts
// a hit or a miss.
func (c *readCache) token(hash []byte, withUser bool) (store.Token, *store.User, bool) {
	t, u, ok := c.lookupToken(hash, withUser)
	if ok {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
	return t, u, ok
}

// lookupToken is token without the counting.
func (c *readCache) lookupToken(hash []byte, withUser bool) (store.Token, *store.User, bool) {
	if !c.current() {
		return store.Token{}, nil, false
	}
	c.mu.RLock()
	t, ok := c.tokens[string(hash)]
	var u store.User
	hasUser := false
	if ok && withUser && t.UserID != "" {
		u, hasUser = c.users[t.UserID]
		ok = hasUser
	}
	c.mu.RUnlock()
	if !ok {
		return store.Token{}, nil, false
	}
	var up *store.User
	if hasUser { // a copy of its own, so that u stays off the heap for a token with no user
		own := copyUser(u)
		up = &own
	}
	t.AccessHash = slices.Clone(t.AccessHash)
	t.Hash = hash // the key looked up, equal to the cached one: the caller's own copy
	return t, up, true
}

func (c *readCache) putToken(gen uint64, t store.Token, u *store.User) {
	t = copyToken(t)
	var cu store.User
	if u != nil {
		cu = copyUser(*u)
	}
	c.mu.Lock()
	if c.gen.Load() == gen {
		bound(c.tokens)
		c.tokens[string(t.Hash)] = t
		if u != nil {
			bound(c.users)
			c.users[cu.ID] = cu
		}
	}
	c.mu.Unlock()
}

// lookup returns a copy of m[key] while the cache is current.
func lookup[V any](c *readCache, m map[string]V, key string, clone func(V) V) (V, bool) {
	var v V
	ok := c.current()
	if ok {
		c.mu.RLock()
		v, ok = m[key]
		c.mu.RUnlock()
	}
	if !ok {
		c.misses.Add(1)
		return v, false
	}
	c.hits.Add(1)
	return clone(v), true
}

// keep stores a copy of v, read under generation gen, unless an invalidation
// came in since.
func keep[V any](c *readCache, gen uint64, m map[string]V, key string, v V, clone func(V) V) {
	v = clone(v)
	c.mu.Lock()
	if c.gen.Load() == gen {
		bound(m)
		m[key] = v
	}
	c.mu.Unlock()
}

func (c *readCache) user(id string) (store.User, bool) {
	return lookup(c, c.users, id, copyUser)
}

func (c *readCache) putUser(gen uint64, u store.User) {
	keep(c, gen, c.users, u.ID, u, copyUser)
}

func copyIntegration(in store.Integration) store.Integration {
	in.SecretSealed = slices.Clone(in.SecretSealed)
	in.Scopes = slices.Clone(in.Scopes)
	in.Vault.TokensSealed = slices.Clone(in.Vault.TokensSealed)
	return in
}

func (c *readCache) integration(id string) (store.Integration, bool) {
	return lookup(c, c.integrations, id, copyIntegration)
}

func (c *readCache) putIntegration(gen uint64, in store.Integration) {
	keep(c, gen, c.integrations, in.ID, in, copyIntegration)
}

func copyCode(c store.Code) store.Code {
	c.Hash = slices.Clone(c.Hash)
	return c
}

// code returns an authorization code, which the cache holds only from its
// insert (a code is read once, by its exchange).
func (c *readCache) code(hash []byte) (store.Code, bool) {
	return lookup(c, c.codes, string(hash), copyCode)
}

func (c *readCache) session(key string, now time.Time) ([]byte, bool) {
	if !c.current() {
		c.misses.Add(1)
		return nil, false
	}
	c.mu.RLock()
	e, ok := c.sessions[key]
	c.mu.RUnlock()
	if !ok || e.expiry <= ms(now) {
		c.misses.Add(1)
		return nil, false
	}
	c.hits.Add(1)
	return slices.Clone(e.data), true
}

func (c *readCache) putSession(gen uint64, key string, data []byte, expiry int64) {
	e := cachedSession{data: slices.Clone(data), expiry: expiry}
	c.mu.Lock()
	if c.gen.Load() == gen {
		bound(c.sessions)
		c.sessions[key] = e
	}
	c.mu.Unlock()
}

// effects is what one write job changed that the cache may hold. A job with
// no effects value (nil) may have changed anything: everything is dropped.
// What is dropped may be declared before the job runs and only grows (a job
// may run twice, see groupCommitter.run); inserted is what the last run
// inserted: the committer resets it before each run.
type effects struct {
	all          bool     // drop everything (a grant revoked, say)
	tokens       [][]byte // token hashes whose rows changed
	sessions     []string // session keys whose rows changed
	integrations bool     // drop every integration (a refresher's claim)
	// inserted are token rows the job inserted, exactly as a read returns
	// them: when the job succeeds, they go into the cache at its commit
	// (a refresh token is read back by the next rotation).
	inserted []store.Token
	// insertedCodes are the code rows the job inserted, kept the same way
	// (the code exchange reads its code back); codes are the code hashes
	// whose rows changed.
	insertedCodes []store.Code
	codes         [][]byte
}

func (e *effects) reset() {
	if e != nil {
		e.inserted = e.inserted[:0]
		e.insertedCodes = e.insertedCodes[:0]
	}
}

// insert records a token row the job inserted.
func (e *effects) insert(t store.Token) {
	e.inserted = append(e.inserted, asRead(t))
}

// asRead is t as the database returns it: times in milliseconds, UTC; an
// empty access hash NULL, so nil.
func asRead(t store.Token) store.Token {
	t.Hash = slices.Clone(t.Hash)
	if len(t.AccessHash) == 0 {
		t.AccessHash = nil
	} else {
		t.AccessHash = slices.Clone(t.AccessHash)
	}
	for _, p := range []*time.Time{&t.GrantedAt, &t.CreatedAt, &t.ExpiresAt, &t.RevokedAt, &t.RotatedAt} {
		*p = fromMS(ms(*p))
	}
	return t
}

// insertCode records a code row the job inserted.
func (e *effects) insertCode(c store.Code) {
	c.Hash = slices.Clone(c.Hash)
	for _, p := range []*time.Time{&c.CreatedAt, &c.ExpiresAt, &c.UsedAt} {
		*p = fromMS(ms(*p))
	}
	e.insertedCodes = append(e.insertedCodes, c)
}

func (e *effects) token(hashes ...[]byte) {
	for _, h := range hashes {
		if len(h) > 0 {
			e.tokens = append(e.tokens, h)
		}
	}
}

// beginBatch is called by the committer once its transaction holds the
// write lock: commits the cache has not accounted for are settled now.
func (c *readCache) beginBatch() (base uint32, ok bool) {
	c.committing.Store(true)
	ch, ok := c.watch.Change()
	c.mu.Lock()
	if !ok || uint64(ch)+1 != c.known.Load() {
		c.dropAllLocked()
		if ok {
			c.known.Store(uint64(ch) + 1)
		} else {
			c.known.Store(0)
		}
	}
	c.mu.Unlock()
	return ch, ok
}

// endBatch applies a batch's effects: jobs is the committed batch and
// results their outcomes, nil for a batch rolled back (no effects). base is
// the counter at BEGIN; wrote says whether the batch changed rows, so that
// its COMMIT moved the counter by one; certain is false when that is not
// known (then everything is dropped).
func (c *readCache) endBatch(base uint32, baseOK, wrote, certain bool, jobs []*writeJob, results []error) {
	c.mu.Lock()
	defer c.committing.Store(false)
	defer c.mu.Unlock()
	all := !certain || !baseOK
	if !all {
		for _, j := range jobs {
			if j.effects == nil || j.effects.all {
				all = true
				break
			}
		}
	}
	if all {
		c.dropAllLocked()
	} else {
		// In batch order, so that a later job's change to a row an earlier
		// one inserted drops it again.
		for i, j := range jobs {
			if results[i] == nil {
				for _, t := range j.effects.inserted {
					bound(c.tokens)
					c.tokens[string(t.Hash)] = t
				}
				for _, code := range j.effects.insertedCodes {
					bound(c.codes)
					c.codes[string(code.Hash)] = code
				}
			}
			for _, h := range j.effects.codes {
				delete(c.codes, string(h))
			}
			for _, h := range j.effects.tokens {
				delete(c.tokens, string(h))
			}
			for _, k := range j.effects.sessions {
				delete(c.sessions, k)
			}
			if j.effects.integrations {
				clear(c.integrations)
			}
		}
		c.gen.Add(1)
	}
	ch, ok := c.watch.Change()
	want := base
	if wrote {
		want++
	}
	switch {
	case !ok:
		c.dropAllLocked()
		c.known.Store(0)
	case !all && ch == want:
		c.known.Store(uint64(ch) + 1)
	default: // another commit came in between, or ours is not accounted for
		if !all {
			c.dropAllLocked()
		}
		c.known.Store(uint64(ch) + 1)
	}
}
