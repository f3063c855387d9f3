package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"

	"github.com/redis/go-redis/v9"

	"github.com/portico-gw/portico"
)

var _ portico.ChangeFeed = (*Store)(nil)

// Watch subscribes to the cluster's events channel, calls subscribed once
// Redis has confirmed the subscription, then calls fn with each change set
// that any node applies, in publication order, on Watch's goroutine. It
// returns nil when ctx ends, and an error (EUnavailable when the
// connection broke) in every other case: Watch never reconnects by itself.
// go-redis's PubSub would silently resubscribe after a broken connection,
// losing what was published meanwhile; Watch returns instead, so that the
// caller calls Watch again and, once subscribed is called, catches up with
// ChangesSince.
//
// While nothing arrives Watch pings Redis every few seconds and returns an
// error when no answer comes, so a dead connection is noticed too. fn
// should be quick: Redis disconnects a subscriber that does not keep up
// (client-output-buffer-limit pubsub), which Watch reports as an error.
func (s *Store) Watch(ctx context.Context, subscribed func(), fn func(portico.ChangeSet)) error {
	if ctx.Err() != nil {
		return nil
	}
	ps := s.rdb.Subscribe(ctx, s.k.events)
	defer ps.Close()
	// Closing the PubSub is what interrupts a blocked Receive.
	stop := context.AfterFunc(ctx, func() { ps.Close() })
	defer stop()

	confirmed, pinged := false, false
	for {
		msg, err := ps.ReceiveTimeout(ctx, s.pingEvery)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			var ne net.Error
			if confirmed && !pinged && errors.As(err, &ne) && ne.Timeout() {
				// Quiet: make sure the connection is still alive.
				if err := ps.Ping(ctx); err != nil {
					return wrap("watch: ping", err)
				}
				pinged = true
				continue
			}
			return wrap("watch", err)
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" && m.Channel == s.k.events && !confirmed {
				confirmed = true
				if subscribed != nil {
					subscribed()
				}
			}
		case *redis.Message:
			var cs portico.ChangeSet
			if err := json.Unmarshal([]byte(m.Payload), &cs); err != nil {
				return fmt.Errorf("redisstore: watch: bad change set on %s: %w", s.k.events, err)
			}
			fn(cs)
		case *redis.Pong:
		}
	}
}

// changesSinceScript returns the log's change sets after ARGV[1], using
// the version that each set begins with ({"version":N,…}): consecutive
// sets have consecutive versions.
//
// KEYS: version, changes. Returns {current version, complete (0/1), sets}.
var changesSinceScript = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local since = tonumber(ARGV[1])
if since == cur then return {cur, 1, {}} end
if since > cur then return {cur, 0, {}} end
local first = redis.call('LINDEX', KEYS[2], 0)
if not first then return {cur, 0, {}} end
local fv = tonumber(string.match(first, '^{"version":(%d+)'))
if fv == nil or fv > since + 1 then return {cur, 0, {}} end
return {cur, 1, redis.call('LRANGE', KEYS[2], since + 1 - fv, -1)}
`)

// ChangesSince returns the change sets after version, oldest first, from
// the capped change log. complete is false when the log no longer holds
// all of them (the node fell more than the log's capacity behind) or when
// version is ahead of the store (Redis lost its data, e.g. a restart
// without persistence): the caller then reloads with Load.
func (s *Store) ChangesSince(ctx context.Context, version int64) ([]portico.ChangeSet, bool, error) {
	res, err := changesSinceScript.Run(ctx, s.rdb, []string{s.k.version, s.k.changes}, version).Slice()
	if err != nil {
		return nil, false, wrap("changes since", err)
	}
	if len(res) != 3 {
		return nil, false, fmt.Errorf("redisstore: changes since: unexpected script reply %v", res)
	}
	complete, _ := res[1].(int64)
	items, _ := res[2].([]any)
	sets := make([]portico.ChangeSet, 0, len(items))
	for _, it := range items {
		str, _ := it.(string)
		var cs portico.ChangeSet
		if err := json.Unmarshal([]byte(str), &cs); err != nil {
			return nil, false, fmt.Errorf("redisstore: changes since: bad change set: %w", err)
		}
		sets = append(sets, cs)
	}
	return sets, complete == 1, nil
}

// Version returns the cluster's current config version (0 for an empty
// store).
func (s *Store) Version(ctx context.Context) (int64, error) {
	v, err := s.rdb.Get(ctx, s.k.version).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, wrap("version", err)
	}
	return v, nil
}
