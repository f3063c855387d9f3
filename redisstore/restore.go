package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portico-gw/portico"
)

// restoreChunk is how many entities one HSET of a restore carries.
const restoreChunk = 1000

// stagingTTL bounds how long the staging hashes of a restore that died
// half way stay in Redis.
const stagingTTL = 10 * time.Minute

// Restore writes cfg, at its version, into a store that holds no
// configuration at all — what a Redis restarted without persistence looks
// like — and reports whether it did. A store that holds any configuration
// is left alone (false, nil): only an empty store is taken to have lost
// its data.
//
// One restore runs at a time (a lock key, refreshed as it goes; another
// caller meanwhile gets false, nil). The entities go first into staging
// hashes under this call's own names, in chunks; then one script checks
// that the store is still empty and that every staging hash is complete,
// and renames them into place together with the version and a new epoch.
// Other nodes thus see either the empty store or the whole configuration,
// never a part, and of several nodes restoring at once at most one wins.
func (s *Store) Restore(ctx context.Context, cfg *portico.Config) (bool, error) {
	id := portico.NewID()
	lock := s.k.prefix + "restore:lock"
	got, err := s.rdb.SetNX(ctx, lock, id, restoreLockTTL).Result()
	if err != nil {
		return false, wrap("restore", err)
	}
	if !got {
		return false, nil // another node is restoring
	}
	defer unlockScript.Run(context.WithoutCancel(ctx), s.rdb, []string{lock}, id)
	tag := s.k.prefix + "restore:" + id + ":"
	staging := make([]string, len(kinds))
	for i, kind := range kinds {
		staging[i] = tag + string(kind)
	}
	defer s.rdb.Del(context.WithoutCancel(ctx), staging...) // after a failure; a no-op after the renames

	write := func(i int, all iter.Seq2[string, any]) error {
		args := make([]any, 0, 2*restoreChunk)
		flush := func() error {
			if len(args) == 0 {
				return nil
			}
			_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
				p.HSet(ctx, staging[i], args...)
				p.PExpire(ctx, staging[i], stagingTTL)
				p.PExpire(ctx, lock, restoreLockTTL)
				return nil
			})
			args = args[:0]
			return err
		}
		for id, e := range all {
			body, err := json.Marshal(e)
			if err != nil {
				return fmt.Errorf("redisstore: restore: encode %s %q: %w", kinds[i], id, err)
			}
			args = append(args, id, body)
			if len(args) == 2*restoreChunk {
				if err := flush(); err != nil {
					return wrap("restore", err)
				}
			}
		}
		if err := flush(); err != nil {
			return wrap("restore", err)
		}
		return nil
	}
	for i, all := range []iter.Seq2[string, any]{
		anyOf(cfg.Plans), anyOf(cfg.APIs), anyOf(cfg.Users),
		anyOf(cfg.Applications), anyOf(cfg.Keys), anyOf(cfg.Subscriptions), anyOf(cfg.Groups),
	} {
		if err := write(i, all); err != nil {
			return false, err
		}
	}
	keys := append([]string{s.k.version, s.k.changes}, s.k.cfg...)
	keys = append(keys, staging...)
	keys = append(keys, s.k.epoch, s.k.head)
	args := []any{cfg.Version, len(kinds), cfg.Plans.Len(), cfg.APIs.Len(), cfg.Users.Len(),
		cfg.Applications.Len(), cfg.Keys.Len(), cfg.Subscriptions.Len(), cfg.Groups.Len()}
	done, err := restoreScript.Run(ctx, s.rdb, keys, args...).Int()
	if err != nil {
		return false, wrap("restore", err)
	}
	if done == -1 {
		return false, errors.New("redisstore: restore: a staging hash is incomplete (expired while writing?); nothing was restored")
	}
	return done == 1, nil
}

// restoreLockTTL is how long the restore lock outlives its last refresh:
// a node that dies while restoring blocks others that long at most.
const restoreLockTTL = 30 * time.Second

// unlockScript deletes the lock KEYS[1] if it still holds ARGV[1].
var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`)

// anyOf yields the entries of t with their values as any (in kinds order,
// kinds[i] matches the i-th Table of Config).
func anyOf[T any](t portico.Table[T]) iter.Seq2[string, any] {
	return func(yield func(string, any) bool) {
		for id, v := range t.All() {
			if !yield(id, v) {
				return
			}
		}
	}
}

// restoreScript renames the staging hashes into place and sets the
// version and a new epoch, if the store holds no version and no entities
// and every staging hash holds its expected count (else -1).
//
// The restored version's change set ID is not known: the head is
// cleared.
//
// KEYS: version, changes, the hash of each kind, then its staging hash,
// epoch, head. ARGV: the version, the number of kinds, then each kind's count.
var restoreScript = redis.NewScript(`
local n = tonumber(ARGV[2])
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 1, n do
  if redis.call('EXISTS', KEYS[2 + i]) == 1 then return 0 end
end
for i = 1, n do
  if redis.call('HLEN', KEYS[2 + n + i]) ~= tonumber(ARGV[2 + i]) then return -1 end
end
for i = 1, n do
  local staged = KEYS[2 + n + i]
  if redis.call('EXISTS', staged) == 1 then
    redis.call('RENAME', staged, KEYS[2 + i])
    redis.call('PERSIST', KEYS[2 + i])
  end
end
redis.call('DEL', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1])
local t = redis.call('TIME')
redis.call('SET', KEYS[3 + 2 * n], t[1] .. '.' .. t[2])
redis.call('DEL', KEYS[4 + 2 * n])
return 1
`)
