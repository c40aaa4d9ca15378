package resource

import (
	"container/list"
	"crypto/sha256"
	"sync"
	"time"
)

// cache holds positive introspection answers until a deadline, at most max
// of them. It is keyed by the SHA-256 of the token, so a memory dump of the
// process shows no token.
type cache struct {
	mu      sync.Mutex
	max     int
	entries map[[sha256.Size]byte]*list.Element
	order   list.List // of *cached, oldest first
}

type cached struct {
	key   [sha256.Size]byte
	tok   Token
	until time.Time
}

func newCache(maxEntries int) *cache {
	return &cache{max: maxEntries, entries: make(map[[sha256.Size]byte]*list.Element)}
}

// get returns the answer for key if it is still good at now.
func (c *cache) get(key [sha256.Size]byte, now time.Time) (Token, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		return Token{}, false
	}
	e := el.Value.(*cached)
	if !now.Before(e.until) {
		c.remove(el)
		return Token{}, false
	}
	return e.tok, true
}

// put keeps tok for key until the deadline, which must be after now. When
// the cache is full, expired answers at the old end go first, then the oldest.
func (c *cache) put(key [sha256.Size]byte, tok Token, until, now time.Time) {
	if !until.After(now) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		c.remove(el)
	}
	for el := c.order.Front(); el != nil; el = c.order.Front() {
		if len(c.entries) < c.max && now.Before(el.Value.(*cached).until) {
			break
		}
		c.remove(el)
	}
	c.entries[key] = c.order.PushBack(&cached{key: key, tok: tok, until: until})
}

func (c *cache) remove(el *list.Element) {
	delete(c.entries, el.Value.(*cached).key)
	c.order.Remove(el)
}
