package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portico-gw/portico"
)

var _ portico.Registry = (*Store)(nil)

// Node statuses.
const (
	statusUp   = "up"
	statusDown = "down"
)

// heartbeatScript stores a node's facts and its last-seen time on Redis's
// clock, in milliseconds. KEYS: nodes, alive. ARGV: name, node JSON.
var heartbeatScript = redis.NewScript(`
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ms, ARGV[1])
return ms
`)

// Heartbeat records that n is alive, with its current facts; the time it
// was seen is Redis's clock, so that the clocks of the nodes do not
// matter. n.LastSeen and n.Status are ignored.
func (s *Store) Heartbeat(ctx context.Context, n portico.Node) error {
	if n.Name == "" {
		return fmt.Errorf("redisstore: heartbeat: node without a name")
	}
	n.LastSeen, n.Status = time.Time{}, ""
	body, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("redisstore: heartbeat %q: %w", n.Name, err)
	}
	if err := heartbeatScript.Run(ctx, s.rdb, []string{s.k.nodes, s.k.alive}, n.Name, body).Err(); err != nil {
		return wrap("heartbeat", err)
	}
	return nil
}

// nodesScript drops the records of nodes not seen for ARGV[2] ms and
// returns Redis's time in ms and, for every node seen within ARGV[1] ms,
// its name, last-seen time and JSON. KEYS: nodes, alive.
var nodesScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. string.format('%d', now - tonumber(ARGV[2])))
for _, name in ipairs(old) do
  redis.call('HDEL', KEYS[1], name)
  redis.call('ZREM', KEYS[2], name)
end
local live = redis.call('ZRANGEBYSCORE', KEYS[2], string.format('%d', now - tonumber(ARGV[1])), '+inf', 'WITHSCORES')
local out = {string.format('%d', now)}
for i = 1, #live, 2 do
  local body = redis.call('HGET', KEYS[1], live[i])
  if body then
    table.insert(out, live[i + 1])
    table.insert(out, body)
  end
end
return out
`)

// Nodes lists the nodes of the cluster that heartbeated within the node
// expiry (WithNodeExpiry, 3 s by default), ordered by name, with LastSeen
// on Redis's clock. A node is "up" while its last heartbeat is at most two
// thirds of the expiry old (2 s by default: it missed at most one
// heartbeat of a 1 s interval), then "down" until the expiry, after which
// it is no longer listed. Records of nodes not seen for a minute are
// deleted.
func (s *Store) Nodes(ctx context.Context) ([]portico.Node, error) {
	res, err := nodesScript.Run(ctx, s.rdb, []string{s.k.nodes, s.k.alive},
		s.nodeExpiry.Milliseconds(), max(forgetAfter, s.nodeExpiry).Milliseconds()).StringSlice()
	if err != nil {
		return nil, wrap("nodes", err)
	}
	if len(res) == 0 || len(res)%2 != 1 {
		return nil, fmt.Errorf("redisstore: nodes: unexpected script reply %v", res)
	}
	var now int64
	fmt.Sscan(res[0], &now)
	downAfter := (s.nodeExpiry * 2 / 3).Milliseconds()
	nodes := make([]portico.Node, 0, len(res)/2)
	for i := 1; i < len(res); i += 2 {
		var seen int64
		fmt.Sscan(res[i], &seen)
		var n portico.Node
		if err := json.Unmarshal([]byte(res[i+1]), &n); err != nil {
			return nil, fmt.Errorf("redisstore: nodes: bad node record: %w", err)
		}
		n.LastSeen = time.UnixMilli(seen).UTC()
		n.Status = statusUp
		if now-seen > downAfter {
			n.Status = statusDown
		}
		nodes = append(nodes, n)
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	return nodes, nil
}

// Leave removes the node named name from the cluster at once (clean
// shutdown).
func (s *Store) Leave(ctx context.Context, name string) error {
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HDel(ctx, s.k.nodes, name)
		p.ZRem(ctx, s.k.alive, name)
		return nil
	})
	if err != nil {
		return wrap("leave", err)
	}
	return nil
}
