package oauth2

import (
	"crypto/sha256"
	"sync"
	"time"

	"github.com/portico-gw/portico"
)

const cacheShards = 64

// cache remembers values by the SHA-256 of a token's text until a time of
// their own. Each shard keeps two generations of at most half its share:
// when the current one fills up, the previous one is dropped whole and the
// current one becomes previous; a hit in the previous generation moves the
// entry back. So the cache never holds more than its size, a token in use
// stays, and eviction costs no bookkeeping per entry (the same scheme as
// jwtauth/cache.go).
type cache[V any] struct {
	half   int
	shards [cacheShards]shard[V]
}

type item[V any] struct {
	val   V
	until time.Time // the value holds before until
}

type shard[V any] struct {
	mu       sync.Mutex
	cur, old map[[sha256.Size]byte]item[V]
	_        [40]byte // keeps shards on separate cache lines
}

// newCache returns a cache of at most about size entries; nil when size
// is negative (a nil cache remembers nothing).
func newCache[V any](size int) *cache[V] {
	if size < 0 {
		return nil
	}
	half := size / cacheShards / 2
	if half < 1 {
		half = 1
	}
	c := &cache[V]{half: half}
	for i := range c.shards {
		c.shards[i].cur = make(map[[sha256.Size]byte]item[V])
	}
	return c
}

// get returns the value cached for sum and whether there was one that
// holds at now. An entry that no longer holds is left for eviction.
func (c *cache[V]) get(sum *[sha256.Size]byte, now time.Time) (V, bool) {
	it, ok := c.lookup(sum)
	if !ok || !now.Before(it.until) {
		var zero V
		return zero, false
	}
	return it.val, true
}

// lookup returns the entry cached for sum, whether it holds or not.
func (c *cache[V]) lookup(sum *[sha256.Size]byte) (item[V], bool) {
	if c == nil {
		return item[V]{}, false
	}
	s := &c.shards[sum[0]%cacheShards]
	s.mu.Lock()
	it, ok := s.cur[*sum]
	if !ok {
		if it, ok = s.old[*sum]; ok {
			delete(s.old, *sum)
			s.putLocked(sum, it, c.half)
		}
	}
	s.mu.Unlock()
	return it, ok
}

// put caches v under sum until until.
func (c *cache[V]) put(sum *[sha256.Size]byte, v V, until time.Time) {
	if c == nil {
		return
	}
	s := &c.shards[sum[0]%cacheShards]
	s.mu.Lock()
	s.putLocked(sum, item[V]{val: v, until: until}, c.half)
	s.mu.Unlock()
}

func (s *shard[V]) putLocked(sum *[sha256.Size]byte, it item[V], half int) {
	if _, ok := s.cur[*sum]; !ok && len(s.cur) >= half {
		s.old, s.cur = s.cur, make(map[[sha256.Size]byte]item[V], half)
	}
	s.cur[*sum] = it
}

// len returns the number of cached entries, holding or not.
func (c *cache[V]) len() int {
	if c == nil {
		return 0
	}
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.cur) + len(s.old)
		s.mu.Unlock()
	}
	return n
}

// identities caches verified tokens; absent caches well-formed tokens the
// store did not have (or had expired), for a short while.
type (
	identities = cache[portico.TokenIdentity]
	absent     = cache[Reason]
)
