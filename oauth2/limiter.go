package oauth2

import (
	"math"
	"sync"
	"time"
)

// maxLimited bounds the number of applications whose issuance rate a
// node tracks. Only applications that authenticated are tracked, so it
// is reached only by a configuration of more applications than that
// all asking for tokens at once.
const maxLimited = 100_000

// limiter bounds token issuance per application on this node: a token
// bucket per application, of burst tokens refilled at rate a second. The
// zero value is ready to use.
type limiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// allow takes one token from app's bucket at now and reports whether
// there was one; when there was not, wait is how long until there is.
func (l *limiter) allow(app string, now time.Time, rate float64, burst int) (ok bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[app]
	if b == nil {
		if l.buckets == nil {
			l.buckets = make(map[string]*bucket)
		}
		if len(l.buckets) >= maxLimited {
			l.sweep(now, rate, burst)
		}
		b = &bucket{tokens: float64(burst), last: now}
		l.buckets[app] = b
	}
	if d := now.Sub(b.last); d > 0 {
		b.tokens = math.Min(float64(burst), b.tokens+d.Seconds()*rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / rate * float64(time.Second))
}

// sweep forgets the buckets that are full again at now (forgetting them
// changes no decision); if that frees nothing, it forgets them all, which
// at worst grants each application one more burst.
func (l *limiter) sweep(now time.Time, rate float64, burst int) {
	for app, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*rate >= float64(burst) {
			delete(l.buckets, app)
		}
	}
	if len(l.buckets) >= maxLimited {
		clear(l.buckets)
	}
}

// len returns the number of tracked applications.
func (l *limiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
