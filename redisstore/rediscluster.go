package redisstore

import (
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// A Redis Cluster is named by
//
//	redis-cluster://[user:pass@]host:port[,host:port…][?options]
//
// (rediss-cluster:// for TLS): the hosts are some of its nodes (port 6379
// when left out), from which the client learns the rest, and the options
// are go-redis's cluster URL options. All of a Portico cluster's keys
// carry the hash tag {<cluster>}, so they live in one slot: the Lua
// scripts run unchanged, and pub/sub reaches every node. Redis Cluster
// gives Portico failover (a replica takes over its master's slots), not
// more capacity.

// Redis Cluster URL schemes.
const (
	clusterScheme    = "redis-cluster"
	clusterTLSScheme = "rediss-cluster"
)

// IsClusterURL reports whether u names a Redis Cluster.
func IsClusterURL(u string) bool {
	return strings.HasPrefix(u, clusterScheme+"://") || strings.HasPrefix(u, clusterTLSScheme+"://")
}

// parseClusterURL returns the go-redis cluster options of a
// redis-cluster:// URL.
func parseClusterURL(raw string) (*redis.ClusterOptions, error) {
	bad := badURL("Redis Cluster", "redis-cluster://[user:pass@]host:port[,host:port…]")
	m, err := splitMultiHostURL(raw, "6379", bad)
	if err != nil {
		return nil, err
	}
	if m.path != "" && m.path != "0" {
		return nil, bad("Redis Cluster has only database 0, not %q", m.path)
	}
	u := m.goRedisURL("")
	if m.user != "" || m.pass != "" {
		u.User = url.UserPassword(m.user, m.pass)
	}
	u.RawQuery = m.query.Encode()
	o, err := redis.ParseClusterURL(u.String())
	if err != nil {
		// go-redis may quote the URL rebuilt here, secrets escaped
		// otherwise than in raw.
		return nil, bad("%s", strings.ReplaceAll(err.Error(), u.String(), "the URL"))
	}
	return o, nil
}

// clusterClients returns the store's two clients of the Redis Cluster at
// url: one with url's settings, one that fails fast.
func clusterClients(url string) (rdb, fast redis.UniversalClient, err error) {
	o, err := parseClusterURL(url)
	if err != nil {
		return nil, nil, err
	}
	rdb, fast = clientPair(o, func(o *redis.ClusterOptions) knobs {
		return knobs{&o.DialerRetries, &o.MaxRetries, &o.MaintNotificationsConfig, []*time.Duration{&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout}}
	}, func(o *redis.ClusterOptions) redis.UniversalClient { return redis.NewClusterClient(o) })
	return rdb, fast, nil
}
