package cluster

import (
	"log/slog"
	"sync"
	"time"
)

// outage logs a failing data store once per outage rather than once per
// attempt: the first failure is logged as a warning, later ones are
// counted, and the first success after them logs the recovery with the
// outage's length and number of failed attempts.
type outage struct {
	log  *slog.Logger
	what string // e.g. "config feed", "membership"

	mu       sync.Mutex
	down     bool
	since    time.Time
	failures int
}

// fail records a failed attempt at now. It reports whether this failure
// began an outage (and was logged).
func (o *outage) fail(now time.Time, err error) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.failures++
	if o.down {
		return false
	}
	o.down, o.since, o.failures = true, now, 1
	o.log.Warn(o.what+": data store unreachable, retrying", "err", err)
	return true
}

// ok records a successful attempt at now, logging the end of an outage.
func (o *outage) ok(now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.down {
		return
	}
	o.down = false
	o.log.Info(o.what+": data store reachable again",
		"outage", now.Sub(o.since).Round(time.Millisecond), "failed_attempts", o.failures)
}
