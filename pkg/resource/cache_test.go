package resource

import (
	"crypto/sha256"
	"testing"
	"time"
)

func key(s string) [sha256.Size]byte { return sha256.Sum256([]byte(s)) }

func TestCacheKeepsUntilDeadline(t *testing.T) {
	c := newCache(10)
	t0 := time.Unix(1_700_000_000, 0)
	c.put(key("a"), Token{Username: "alice"}, t0.Add(10*time.Second), t0)
	if tok, ok := c.get(key("a"), t0.Add(9*time.Second)); !ok || tok.Username != "alice" {
		t.Fatalf("before the deadline: %+v, %v", tok, ok)
	}
	if _, ok := c.get(key("a"), t0.Add(10*time.Second)); ok {
		t.Fatal("the answer is still served at its deadline")
	}
	if len(c.entries) != 0 || c.order.Len() != 0 {
		t.Fatalf("an expired answer stays: %d entries, %d in order", len(c.entries), c.order.Len())
	}
	// A deadline that has passed (a negative CacheTTL) stores nothing.
	c.put(key("b"), Token{}, t0, t0)
	if len(c.entries) != 0 {
		t.Fatal("an answer already expired was stored")
	}
}

func TestCacheEvictsExpiredThenOldest(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	t.Run("oldest", func(t *testing.T) {
		c := newCache(2)
		c.put(key("a"), Token{}, t0.Add(time.Minute), t0)
		c.put(key("b"), Token{}, t0.Add(time.Minute), t0)
		c.put(key("a"), Token{}, t0.Add(time.Minute), t0) // again: "a" becomes the newest
		c.put(key("c"), Token{}, t0.Add(time.Minute), t0)
		for k, want := range map[string]bool{"a": true, "b": false, "c": true} {
			if _, ok := c.get(key(k), t0); ok != want {
				t.Errorf("%s cached: %v, want %v", k, ok, want)
			}
		}
	})
	t.Run("expired first", func(t *testing.T) {
		c := newCache(3)
		c.put(key("a"), Token{}, t0.Add(time.Second), t0)
		c.put(key("b"), Token{}, t0.Add(2*time.Second), t0)
		c.put(key("c"), Token{}, t0.Add(time.Minute), t0)
		// At t0+5s "a" and "b" have expired: both make room although one would do.
		c.put(key("d"), Token{}, t0.Add(time.Minute), t0.Add(5*time.Second))
		if len(c.entries) != 2 || c.order.Len() != 2 {
			t.Fatalf("%d entries, %d in order; want c and d", len(c.entries), c.order.Len())
		}
		for _, k := range []string{"c", "d"} {
			if _, ok := c.get(key(k), t0.Add(5*time.Second)); !ok {
				t.Errorf("%s was dropped", k)
			}
		}
	})
}
