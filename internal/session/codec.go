package session

import (
	"maps"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"
)

// decodeCacheSize bounds the decoded sessions kept; past it the cache starts
// over. Only sessions in use are there, so it holds the active ones.
const decodeCacheSize = 2048

// cachingCodec is scs's gob codec with the decoded form of recently seen
// session rows kept by their exact bytes. A session is read at every page
// and written rarely, and gob decodes each row with a fresh decoder that
// compiles its types again: that was over a tenth of a whole authorization
// code flow's CPU. The stored format is unchanged (gob), so rows stay
// readable by every release.
//
// The cache is exact: the key is the whole encoded row, and decoding is a
// function of those bytes. Callers get a copy of the values map (scs changes
// it in place); the values themselves are strings and integers, never
// changed in place.
type cachingCodec struct {
	inner scs.Codec

	mu      sync.Mutex
	decoded map[string]decodedSession
}

type decodedSession struct {
	deadline time.Time
	values   map[string]any
}

func newCachingCodec() *cachingCodec {
	return &cachingCodec{inner: scs.GobCodec{}, decoded: make(map[string]decodedSession)}
}

func (c *cachingCodec) Encode(deadline time.Time, values map[string]any) ([]byte, error) {
	return c.inner.Encode(deadline, values)
}

func (c *cachingCodec) Decode(b []byte) (time.Time, map[string]any, error) {
	c.mu.Lock()
	d, ok := c.decoded[string(b)]
	c.mu.Unlock()
	if ok {
		return d.deadline, maps.Clone(d.values), nil
	}
	deadline, values, err := c.inner.Decode(b)
	if err != nil {
		return deadline, values, err
	}
	if !cacheable(values) {
		return deadline, values, nil
	}
	c.mu.Lock()
	if len(c.decoded) >= decodeCacheSize {
		clear(c.decoded)
	}
	c.decoded[string(b)] = decodedSession{deadline: deadline, values: maps.Clone(values)}
	c.mu.Unlock()
	return deadline, values, nil
}

// cacheable reports whether every value is immutable, so that copies of the
// map may share them.
func cacheable(values map[string]any) bool {
	for _, v := range values {
		switch v.(type) {
		case string, bool, int, int32, int64, uint, uint32, uint64, float64, time.Time:
		default:
			return false
		}
	}
	return true
}
