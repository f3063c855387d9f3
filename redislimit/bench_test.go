package redislimit

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/internal/redistest"
)

// BenchmarkTake measures Take on one key with a limit it never reaches,
// from parallel goroutines: with leases most requests are decided
// locally; without, each is one script call.
func BenchmarkTake(b *testing.B) {
	s := redistest.Start(b)
	for _, leases := range []bool{true, false} {
		b.Run("leases="+strconv.FormatBool(leases), func(b *testing.B) {
			l := New(client(b, s), "bench:{c}:lim:")
			if !leases {
				l.LeaseFor = -1
			}
			specs := []portico.LimitSpec{
				{Key: "bench-rate-" + strconv.FormatBool(leases), Limit: 1 << 40, Per: portico.Second},
				{Key: "bench-quota-" + strconv.FormatBool(leases), Limit: 1 << 40, Per: portico.Month},
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if d, err := l.Take(ctx, time.Now(), specs); err != nil || !d.Allowed {
						b.Errorf("%+v %v", d, err)
						return
					}
				}
			})
			b.ReportMetric(float64(l.RoundTrips())/float64(b.N), "trips/op")
		})
	}
}
