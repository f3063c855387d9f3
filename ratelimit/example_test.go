package ratelimit_test

import (
	"context"
	"fmt"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/ratelimit"
)

// A plan of 2 requests per minute and 3 per day: the third request of a
// minute is rejected by the rate limit without using the quota, and the
// quota, once used up, rejects until the end of the day.
func ExampleMemory() {
	var m ratelimit.Memory
	specs := []portico.LimitSpec{
		{Key: "sub-1/rate", Limit: 2, Per: portico.Minute, Window: portico.Fixed},
		{Key: "sub-1/quota", Limit: 3, Per: portico.Day, Window: portico.Fixed},
	}
	start := time.Date(2028, 2, 29, 23, 58, 30, 0, time.UTC)
	for _, after := range []time.Duration{0, 10 * time.Second, 20 * time.Second, 30 * time.Second, 40 * time.Second, 90 * time.Second} {
		now := start.Add(after)
		d, err := m.Take(context.Background(), now, specs)
		if err != nil {
			fmt.Println(err)
			return
		}
		if d.Allowed {
			fmt.Printf("%s allowed, %d of %d left, reached %v\n", now.Format(time.TimeOnly), d.Remaining, d.Limit, d.Reached)
		} else {
			fmt.Printf("%s rejected by %s, retry after %v\n", now.Format(time.TimeOnly), d.Rejected, d.RetryAfter)
		}
	}
	// Output:
	// 23:58:30 allowed, 1 of 2 left, reached []
	// 23:58:40 allowed, 0 of 2 left, reached [sub-1/rate]
	// 23:58:50 rejected by sub-1/rate, retry after 10s
	// 23:59:00 allowed, 0 of 3 left, reached [sub-1/quota]
	// 23:59:10 rejected by sub-1/quota, retry after 50s
	// 00:00:00 allowed, 1 of 2 left, reached []
}

func ExampleWindowEnd() {
	t := time.Date(2028, 2, 29, 13, 45, 0, 0, time.UTC) // a Tuesday
	for _, per := range []portico.Period{portico.Hour, portico.Day, portico.Week, portico.Month} {
		fmt.Printf("%-5s [%s, %s)\n", per,
			ratelimit.WindowStart(per, t).Format(time.DateTime),
			ratelimit.WindowEnd(per, t).Format(time.DateTime))
	}
	// Output:
	// hour  [2028-02-29 13:00:00, 2028-02-29 14:00:00)
	// day   [2028-02-29 00:00:00, 2028-03-01 00:00:00)
	// week  [2028-02-28 00:00:00, 2028-03-06 00:00:00)
	// month [2028-02-01 00:00:00, 2028-03-01 00:00:00)
}
