package cluster

import (
	"sync/atomic"
	"time"
)

// RateWindow is the span over which RequestRate averages: the last five
// complete seconds.
const RateWindow = 5 * time.Second

const (
	rateSeconds = int64(RateWindow / time.Second)
	rateBuckets = 8 // > rateSeconds: the current second plus the window, and slack
	countMask   = 1<<32 - 1
)

// RequestRate counts requests in one-second buckets and reports the recent
// rate in requests per second, for the heartbeat's request rate. The
// gateway calls Inc for each request; Inc takes no lock and never
// allocates. Time is passed in. The zero value is ready to use; a
// RequestRate must not be copied after first use.
type RequestRate struct {
	// Each bucket holds a Unix second (low 32 bits) in its high half and
	// the count of that second in its low half.
	buckets [rateBuckets]atomic.Uint64
}

// Inc counts one request at now.
func (r *RequestRate) Inc(now time.Time) { r.Add(now, 1) }

// Add counts n requests at now. Counts for a second more than a few
// seconds older than the latest one counted are dropped.
func (r *RequestRate) Add(now time.Time, n uint32) {
	sec := now.Unix()
	b := &r.buckets[uint64(sec)%rateBuckets]
	stamp := uint32(sec)
	for {
		old := b.Load()
		s := uint32(old >> 32)
		var next uint64
		switch {
		case s == stamp && old != 0:
			next = old&^countMask | min(old&countMask+uint64(n), countMask)
		case old != 0 && int32(s-stamp) > 0: // the bucket holds a newer second
			return
		default:
			next = uint64(stamp)<<32 | uint64(n)
		}
		if b.CompareAndSwap(old, next) {
			return
		}
	}
}

// Rate returns the average requests per second over the RateWindow of
// complete seconds before now's second. The second now is in does not
// count, as it is not over yet: the rate lags by up to a second.
func (r *RequestRate) Rate(now time.Time) float64 {
	sec := now.Unix()
	var total uint64
	for i := int64(1); i <= rateSeconds; i++ {
		s := sec - i
		v := r.buckets[uint64(s)%rateBuckets].Load()
		if uint32(v>>32) == uint32(s) {
			total += v & countMask
		}
	}
	return float64(total) / float64(rateSeconds)
}
