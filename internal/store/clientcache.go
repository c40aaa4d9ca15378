package store

import (
	"context"
	"sync"
	"time"
)

// ClientCacheSize bounds the applications a ClientCache keeps.
const ClientCacheSize = 4096

// ClientCache is a Store whose ClientByID is answered from memory for up to
// a TTL. Every client is read on every token, introspection and Bearer
// request, and reading and decoding its row was the largest cost of those
// paths. Changes made through this Store drop the entry at once; changes made
// by another node or process are seen within the TTL. Tokens are never
// cached: revocation stays exact.
type ClientCache struct {
	Store
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[string]cachedClient
	gen     uint64 // bumped by every invalidation, so a read that raced one is not kept
	// deleting counts the deletions under way per application: it is read
	// past the cache meanwhile, since a deletion's first transaction
	// disables it while its tokens are deleted in later ones.
	deleting map[string]int
}

type cachedClient struct {
	client Client
	until  time.Time
}

// NewClientCache wraps s; ttl <= 0 returns s itself (no cache).
func NewClientCache(s Store, ttl time.Duration, now func() time.Time) Store {
	if ttl <= 0 {
		return s
	}
	if now == nil {
		now = time.Now
	}
	return &ClientCache{Store: s, ttl: ttl, now: now, entries: make(map[string]cachedClient), deleting: make(map[string]int)}
}

// ClientByID implements Clients. Callers must not modify the returned slices.
func (c *ClientCache) ClientByID(ctx context.Context, id string) (Client, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[id]
	gen, deleting := c.gen, c.deleting[id] > 0
	c.mu.Unlock()
	if deleting {
		return c.Store.ClientByID(ctx, id)
	}
	if ok && now.Before(e.until) {
		return e.client, nil
	}
	return c.read(ctx, id, now, gen)
}

// Reread reads the application from the store past its cached copy, and
// keeps what it read.
func (c *ClientCache) Reread(ctx context.Context, id string) (Client, error) {
	now := c.now()
	c.mu.Lock()
	gen := c.gen
	c.mu.Unlock()
	return c.read(ctx, id, now, gen)
}

// read reads the application and caches it unless an invalidation came
// after gen.
func (c *ClientCache) read(ctx context.Context, id string, now time.Time, gen uint64) (Client, error) {
	cl, err := c.Store.ClientByID(ctx, id)
	if err != nil {
		return cl, err // not-found is not cached: a new client must work at once
	}
	c.mu.Lock()
	if c.gen == gen && c.deleting[id] == 0 {
		if len(c.entries) >= ClientCacheSize {
			for k := range c.entries { // drop any one entry; the map iterates in random order
				delete(c.entries, k)
				break
			}
		}
		c.entries[id] = cachedClient{client: cl, until: now.Add(c.ttl)}
	}
	c.mu.Unlock()
	return cl, nil
}

func (c *ClientCache) forget(id string) {
	c.mu.Lock()
	delete(c.entries, id)
	c.gen++
	c.mu.Unlock()
}

// UpdateClient implements Clients. The row is read inside the store's
// transaction, never from this cache: a change applied to a stale copy would
// write the stale fields back (an old secret, an enabled flag).
func (c *ClientCache) UpdateClient(ctx context.Context, id string, change func(*Client) error) (Client, error) {
	defer c.forget(id)
	return c.Store.UpdateClient(ctx, id, change)
}

// DeleteClient implements Clients. While it runs, the application is read
// past the cache (see deleting).
func (c *ClientCache) DeleteClient(ctx context.Context, id string, allow func(Client) error) error {
	c.mu.Lock()
	c.deleting[id]++
	c.mu.Unlock()
	c.forget(id)
	defer func() {
		c.mu.Lock()
		if c.deleting[id]--; c.deleting[id] == 0 {
			delete(c.deleting, id)
		}
		c.mu.Unlock()
		c.forget(id)
	}()
	return c.Store.DeleteClient(ctx, id, allow)
}

// SetClientLogo implements Clients; the cached client's HasLogo changes.
func (c *ClientCache) SetClientLogo(ctx context.Context, id string, data []byte, contentType string) error {
	defer c.forget(id)
	return c.Store.SetClientLogo(ctx, id, data, contentType)
}
