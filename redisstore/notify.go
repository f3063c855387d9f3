package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/portico-gw/portico"
)

var _ portico.NotificationStore = (*Store)(nil)

// defaultNotificationLimit is how many notifications a filter without a
// Limit returns.
const defaultNotificationLimit = 100

// addNotificationScript stores a notification unless its ID is known,
// indexes it by time overall and per user, and trims every index to the
// cap, deleting the bodies that fall out of the overall index.
//
// KEYS: body hash, overall index, then the per-user indexes (0 to 2).
// ARGV: id, score (µs), JSON, cap.
var addNotificationScript = redis.NewScript(`
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[3]) == 0 then return 0 end
local cap = tonumber(ARGV[4])
for i = 2, #KEYS do
  redis.call('ZADD', KEYS[i], ARGV[2], ARGV[1])
end
for i = 3, #KEYS do
  redis.call('ZREMRANGEBYRANK', KEYS[i], 0, -cap - 1)
end
local n = redis.call('ZCARD', KEYS[2])
if n > cap then
  local old = redis.call('ZRANGE', KEYS[2], 0, n - cap - 1)
  for _, id in ipairs(old) do redis.call('HDEL', KEYS[1], id) end
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, n - cap - 1)
end
return 1
`)

// AddNotification stores n; n.ID and n.Time must be set. Adding a
// notification whose ID is already stored does nothing, so a retry after an
// uncertain failure is safe. Only the newest notifications are kept
// (WithNotificationCap), overall and per user.
func (s *Store) AddNotification(ctx context.Context, n *portico.Notification) error {
	if n.ID == "" || n.Time.IsZero() {
		return errors.New("redisstore: add notification: ID and Time must be set")
	}
	body, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("redisstore: add notification %q: %w", n.ID, err)
	}
	keys := []string{s.k.notify, s.k.notifyBy}
	if n.Publisher != "" {
		keys = append(keys, s.k.notifyUser(n.Publisher))
	}
	if n.Subscriber != "" && n.Subscriber != n.Publisher {
		keys = append(keys, s.k.notifyUser(n.Subscriber))
	}
	err = addNotificationScript.Run(ctx, s.rdb, keys, n.ID, n.Time.UnixMicro(), body, s.notifyCap).Err()
	if err != nil {
		return wrap(fmt.Sprintf("add notification %q", n.ID), err)
	}
	return nil
}

// Notifications lists the notifications matching f, newest first (ties
// broken by ID, descending). A Limit of 0 or less means 100. Times are
// ordered and compared with Before to the microsecond.
func (s *Store) Notifications(ctx context.Context, f portico.NotificationFilter) ([]*portico.Notification, error) {
	index := s.k.notifyBy
	if f.User != "" {
		index = s.k.notifyUser(f.User)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultNotificationLimit
	}
	maxScore := "+inf"
	if !f.Before.IsZero() {
		maxScore = "(" + strconv.FormatInt(f.Before.UnixMicro(), 10)
	}
	ids, err := s.rdb.ZRevRangeByScore(ctx, index, &redis.ZRangeBy{
		Min: "-inf", Max: maxScore, Count: int64(limit),
	}).Result()
	if err != nil {
		return nil, wrap("list notifications", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	bodies, err := s.rdb.HMGet(ctx, s.k.notify, ids...).Result()
	if err != nil {
		return nil, wrap("list notifications", err)
	}
	out := make([]*portico.Notification, 0, len(bodies))
	for _, b := range bodies {
		str, ok := b.(string)
		if !ok {
			continue // trimmed meanwhile
		}
		n := new(portico.Notification)
		if err := json.Unmarshal([]byte(str), n); err != nil {
			return nil, fmt.Errorf("redisstore: list notifications: %w", err)
		}
		out = append(out, n)
	}
	return out, nil
}
