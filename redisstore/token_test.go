package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/portico-gw/portico/internal/redistest"
	"github.com/portico-gw/portico/internal/storetest"
)

// TestTokenKeyExpires checks that a token is one key under the cluster's
// prefix, named by its hash, that Redis deletes at the token's expiry, and
// that a token deleted on one node's store is gone for another's.
func TestTokenKeyExpires(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	a, b := open(t, srv, "blue"), open(t, srv, "blue")
	rdb := srv.Client(t)

	long := storetest.NewToken("long", time.Now(), time.Hour)
	storetest.PutToken(t, a, long)
	key := "portico:{blue}:token:" + long.Hash
	ttl, err := rdb.PTTL(ctx, key).Result()
	if err != nil || ttl <= 59*time.Minute || ttl > time.Hour {
		t.Fatalf("PTTL %s = %v, %v; want just under an hour", key, ttl, err)
	}
	storetest.WantToken(t, b, long.Hash, long)

	short := storetest.NewToken("short", time.Now(), 300*time.Millisecond)
	storetest.PutToken(t, a, short)
	storetest.WantToken(t, b, short.Hash, short)
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := rdb.Exists(ctx, "portico:{blue}:token:"+short.Hash).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Redis kept the token 5 s past its expiry")
		}
		time.Sleep(20 * time.Millisecond)
	}
	storetest.WantToken(t, b, short.Hash, nil)

	if err := b.DeleteToken(ctx, long.Hash); err != nil {
		t.Fatal(err)
	}
	storetest.WantToken(t, a, long.Hash, nil)
}
