package redislimit

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// rekeyedMark is the key, under the Limiter's prefix, that records that
// Rekey went through every counter once. Spec keys never start with "!".
const rekeyedMark = "!rekeyed:application-api"

// renameLua renames KEYS[1] to KEYS[2] unless KEYS[2] exists (a node of
// the new release counts there already) or KEYS[1] is gone; it returns 1
// when it renamed. Both keys carry the prefix's hash tag, so it runs on
// one slot of a Redis Cluster.
var renameLua = redis.NewScript(`
if redis.call('EXISTS', KEYS[2]) == 1 or redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RENAME', KEYS[1], KEYS[2])
return 1`)

// Rekey renames the counters under prefix whose spec key rename maps to
// a new one (rename reports false for keys to keep), once per prefix: a
// mark under the prefix records that it ran through every counter, and
// later calls return at once. A counter whose new name exists already is
// left to expire. It returns the number of counters renamed. It reads
// Redis with SCAN, on every master of a Redis Cluster.
//
// Portico calls it at start to carry counters keyed by subscription over
// to their application and API (see portico.CounterSubject).
func Rekey(ctx context.Context, rdb redis.UniversalClient, prefix string, rename func(specKey string) (string, bool)) (int, error) {
	mark := prefix + rekeyedMark
	if n, err := rdb.Exists(ctx, mark).Result(); err != nil {
		return 0, fmt.Errorf("redislimit: rekey: %w", err)
	} else if n == 1 {
		return 0, nil
	}
	var (
		mu   sync.Mutex // ForEachMaster scans the masters in parallel
		keys []string
	)
	scan := func(ctx context.Context, c *redis.Client) error {
		var found []string
		iter := c.Scan(ctx, 0, escapeGlob(prefix)+"*", 1000).Iterator()
		for iter.Next(ctx) {
			found = append(found, iter.Val())
		}
		mu.Lock()
		keys = append(keys, found...)
		mu.Unlock()
		return iter.Err()
	}
	var err error
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, scan)
	case *redis.Client:
		err = scan(ctx, c)
	default:
		err = fmt.Errorf("unsupported client %T", rdb)
	}
	if err != nil {
		return 0, fmt.Errorf("redislimit: rekey: scanning counters: %w", err)
	}
	renamed := 0
	for _, k := range keys {
		spec, suffix := strings.TrimPrefix(k, prefix), ""
		if i := strings.Index(spec, "|r|"); i >= 0 {
			spec, suffix = spec[:i], spec[i:]
		}
		to, ok := rename(spec)
		if !ok || to == spec {
			continue
		}
		n, err := renameLua.Run(ctx, rdb, []string{k, prefix + to + suffix}).Int()
		if err != nil {
			return renamed, fmt.Errorf("redislimit: rekey: renaming a counter: %w", err)
		}
		renamed += n
	}
	if err := rdb.Set(ctx, mark, "1", 0).Err(); err != nil {
		return renamed, fmt.Errorf("redislimit: rekey: %w", err)
	}
	return renamed, nil
}

// escapeGlob escapes the characters of s that SCAN's MATCH pattern treats
// as special.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
