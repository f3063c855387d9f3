package balance_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/balance"
)

func ExampleBalancer() {
	b := balance.New(portico.Endpoint{
		Type:      portico.LoadBalancer,
		Algorithm: portico.WeightedRoundRobin,
		Targets: []portico.Target{
			{URL: "http://10.0.0.5:7001", Weight: 5},
			{URL: "http://10.0.0.6:7001/base", Weight: 1},
			{URL: "http://10.0.0.7:7001", Weight: 1},
		},
	})
	now := time.Date(2028, 2, 29, 12, 0, 0, 0, time.UTC)
	picks := func(n int) string {
		var hosts []string
		for range n {
			i, ok := b.Pick(now, 0)
			if !ok {
				return "none"
			}
			hosts = append(hosts, b.URL(i).Host)
		}
		return strings.Join(hosts, " ")
	}

	fmt.Println(picks(7))

	// 10.0.0.5 fails: the others share the traffic until its cool-down
	// has passed.
	fmt.Println("newly down:", b.MarkDown(0, now))
	fmt.Println(picks(4))
	// Output:
	// 10.0.0.5:7001 10.0.0.5:7001 10.0.0.6:7001 10.0.0.5:7001 10.0.0.7:7001 10.0.0.5:7001 10.0.0.5:7001
	// newly down: true
	// 10.0.0.6:7001 10.0.0.7:7001 10.0.0.6:7001 10.0.0.7:7001
}
