package jwtauth

import (
	"crypto/sha256"
	"sync"
	"time"
)

// entry is a verified token's result and the window in which it holds.
type entry struct {
	iss   *issuer
	key   *key // nil for a static key
	res   Result
	from  time.Time // not valid before (nbf or iat, less the leeway); zero when neither is set
	until time.Time // not valid from (exp plus the leeway)
}

// valid reports whether e may answer at now: inside its window, its
// issuer not dropped or changed by Update, its key still in the JWKS.
func (e *entry) valid(now time.Time) bool {
	return now.Before(e.until) && !now.Before(e.from) &&
		!e.iss.retired.Load() && (e.key == nil || !e.key.retired.Load())
}

const cacheShards = 64

// tokenCache remembers verified tokens by the SHA-256 of their text. Each
// shard keeps two generations of at most half its share: when the current
// one fills up, the previous one is dropped whole and the current one
// becomes previous; a hit in the previous generation moves the entry
// back. So the cache never holds more than its size, a token in use
// stays, and eviction costs no bookkeeping per entry.
type tokenCache struct {
	half   int
	shards [cacheShards]cacheShard
}

type cacheShard struct {
	mu       sync.Mutex
	cur, old map[[sha256.Size]byte]*entry
	_        [40]byte // keeps shards on separate cache lines
}

func newTokenCache(size int) *tokenCache {
	half := size / cacheShards / 2
	if half < 1 {
		half = 1
	}
	c := &tokenCache{half: half}
	for i := range c.shards {
		c.shards[i].cur = make(map[[sha256.Size]byte]*entry)
	}
	return c
}

// get returns the result cached for sum if it is valid at now.
func (c *tokenCache) get(sum *[sha256.Size]byte, now time.Time) (Result, bool) {
	s := &c.shards[sum[0]%cacheShards]
	s.mu.Lock()
	e := s.cur[*sum]
	if e == nil {
		if e = s.old[*sum]; e != nil {
			delete(s.old, *sum)
			s.putLocked(sum, e, c.half)
		}
	}
	s.mu.Unlock()
	if e == nil || !e.valid(now) {
		return Result{}, false
	}
	return e.res, true
}

// put caches e under sum.
func (c *tokenCache) put(sum *[sha256.Size]byte, e *entry) {
	s := &c.shards[sum[0]%cacheShards]
	s.mu.Lock()
	s.putLocked(sum, e, c.half)
	s.mu.Unlock()
}

func (s *cacheShard) putLocked(sum *[sha256.Size]byte, e *entry, half int) {
	if _, ok := s.cur[*sum]; !ok && len(s.cur) >= half {
		s.old, s.cur = s.cur, make(map[[sha256.Size]byte]*entry, half)
	}
	s.cur[*sum] = e
}

// len returns the number of cached entries, valid or not.
func (c *tokenCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.cur) + len(s.old)
		s.mu.Unlock()
	}
	return n
}
