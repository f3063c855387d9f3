package redislimit

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// TestRekeyCarriesCountsOver: counters kept under a subscription's id
// before counters followed the application and API are renamed once; a
// quota used up under the old name stays used up under the new one, a
// rolling window keeps its buckets, and a second Rekey changes nothing.
func TestRekeyCarriesCountsOver(t *testing.T) {
	rdb := client(t, redistest.Start(t))
	ctx := context.Background()
	const prefix = "test:{c}:lim:"
	clearOf(time.Hour, 10*time.Second)
	old := New(rdb, prefix)
	old.LeaseFor = -1
	quota := portico.LimitSpec{Key: "sub1/quota", Limit: 5, Per: portico.Hour}
	rate := portico.LimitSpec{Key: "sub1/rate", Limit: 5, Per: portico.Hour, Window: portico.Rolling}
	now := time.Now()
	for i := 0; i < 5; i++ {
		if d, err := old.Take(ctx, now, []portico.LimitSpec{quota}); err != nil || !d.Allowed {
			t.Fatalf("take %d: %+v %v", i, d, err)
		}
		if d, err := old.Take(ctx, now, []portico.LimitSpec{rate}); err != nil || !d.Allowed {
			t.Fatalf("take %d: %+v %v", i, d, err)
		}
	}
	if err := rdb.HSet(ctx, prefix+"other/quota", "s", 1, "n", 1).Err(); err != nil {
		t.Fatal(err)
	}
	rename := func(k string) (string, bool) {
		if rest, ok := strings.CutPrefix(k, "sub1/"); ok {
			return "app/api/" + rest, true
		}
		return "", false
	}
	n, err := Rekey(ctx, rdb, prefix, rename)
	if err != nil || n != 2 {
		t.Fatalf("Rekey renamed %d, err %v; want 2", n, err)
	}
	if ex, _ := rdb.Exists(ctx, prefix+"other/quota").Result(); ex != 1 {
		t.Error("a counter rename kept was renamed")
	}
	l := New(rdb, prefix)
	l.LeaseFor = -1
	for _, sp := range []portico.LimitSpec{quota, rate} {
		sp.Key = "app/api/" + strings.TrimPrefix(sp.Key, "sub1/")
		if d, err := l.Take(ctx, now, []portico.LimitSpec{sp}); err != nil || d.Allowed {
			t.Errorf("%s after the rename: %+v %v; its 5 were used under the old name", sp.Key, d, err)
		}
	}
	if err := rdb.HSet(ctx, prefix+"sub1/quota", "s", 1, "n", 1).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := Rekey(ctx, rdb, prefix, rename); err != nil || n != 0 {
		t.Errorf("second Rekey renamed %d, err %v; want 0", n, err)
	}
}

// TestRekeyOnRedisCluster: Rekey finds the counters on whichever master
// holds the prefix's slot.
func TestRekeyOnRedisCluster(t *testing.T) {
	nodes := redistest.StartCluster(t, 3)
	var addrs []string
	for _, n := range nodes {
		addrs = append(addrs, n.Addr)
	}
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { rdb.Close() })
	ctx := context.Background()
	const prefix = "test:{c}:lim:"
	if err := rdb.HSet(ctx, prefix+"sub1/quota", "s", 1, "n", 7).Err(); err != nil {
		t.Fatal(err)
	}
	n, err := Rekey(ctx, rdb, prefix, func(k string) (string, bool) { return "app/api/quota", k == "sub1/quota" })
	if err != nil || n != 1 {
		t.Fatalf("Rekey renamed %d, err %v; want 1", n, err)
	}
	if got, _ := rdb.HGet(ctx, prefix+"app/api/quota", "n").Int(); got != 7 {
		t.Errorf("renamed counter holds %d, want 7", got)
	}
}
