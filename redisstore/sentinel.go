package redisstore

import (
	"context"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/portico-gw/portico"
	"github.com/redis/go-redis/v9"
)

// A Redis behind Sentinel is named by
//
//	redis-sentinel://[user:pass@]host:port[,host:port…]/master[/db][?options]
//
// (rediss-sentinel:// for TLS): the hosts are Sentinels (port 26379 when
// left out), master is the name they monitor, user and pass are Redis's
// own credentials, and the options are go-redis's failover URL options
// (dial_timeout=…, …) plus sentinel_username and sentinel_password for
// Sentinels that require them. The client asks the Sentinels for the
// master and follows it through a failover.

// Sentinel URL schemes.
const (
	sentinelScheme    = "redis-sentinel"
	sentinelTLSScheme = "rediss-sentinel"
)

// replicaWait is how long an admin write through Sentinel waits for a
// replica to acknowledge it (WAIT) before it answers anyway and logs that
// a failover now could lose it.
const replicaWait = 500 * time.Millisecond

// IsSentinelURL reports whether u names a Redis behind Sentinel.
func IsSentinelURL(u string) bool {
	return strings.HasPrefix(u, sentinelScheme+"://") || strings.HasPrefix(u, sentinelTLSScheme+"://")
}

// parseSentinelURL returns the go-redis failover options of a
// redis-sentinel:// URL.
func parseSentinelURL(raw string) (*redis.FailoverOptions, error) {
	bad := func(format string, args ...any) error {
		return portico.FieldErrorf(portico.EInvalid, "datastore", "bad Redis Sentinel URL: "+format+
			" (want redis-sentinel://[user:pass@]host:port[,host:port…]/master[/db])", args...)
	}
	scheme, rest, _ := strings.Cut(raw, "://")
	rest, rawQuery, _ := strings.Cut(rest, "?")
	var userinfo string
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		userinfo, rest = rest[:i], rest[i+1:]
	}
	hostList, path, _ := strings.Cut(rest, "/")
	var hosts []string
	for _, h := range strings.Split(hostList, ",") {
		if h == "" {
			return nil, bad("empty Sentinel address in %q", hostList)
		}
		if _, _, err := net.SplitHostPort(h); err != nil {
			h = net.JoinHostPort(strings.Trim(h, "[]"), "26379")
		}
		hosts = append(hosts, h)
	}
	master, db, _ := strings.Cut(path, "/")
	if master == "" {
		return nil, bad("no master name")
	}
	if db != "" && strings.Trim(db, "0123456789") != "" {
		return nil, bad("the database %q is not a number", db)
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, bad("%v", err)
	}
	u := url.URL{Scheme: "redis", Host: hosts[0], Path: "/" + db}
	if scheme == sentinelTLSScheme {
		u.Scheme = "rediss"
	}
	if su, sp := q.Get("sentinel_username"), q.Get("sentinel_password"); su != "" || sp != "" {
		u.User = url.UserPassword(su, sp)
	}
	q.Del("sentinel_username")
	q.Del("sentinel_password")
	if userinfo != "" {
		user, pass, _ := strings.Cut(userinfo, ":")
		if user, err = url.PathUnescape(user); err != nil {
			return nil, bad("user: %v", err)
		}
		if pass, err = url.PathUnescape(pass); err != nil {
			return nil, bad("password: %v", err)
		}
		if user != "" {
			q.Set("username", user)
		}
		if pass != "" {
			q.Set("password", pass)
		}
	}
	q.Set("master_name", master)
	q["addr"] = hosts[1:]
	u.RawQuery = q.Encode()
	o, err := redis.ParseFailoverURL(u.String())
	if err != nil {
		return nil, bad("%v", err)
	}
	return o, nil
}

// failoverClients returns the store's two clients of the Redis behind
// Sentinel at url: one with url's settings, one that fails fast.
func failoverClients(url string) (rdb, fast *redis.Client, err error) {
	o, err := parseSentinelURL(url)
	if err != nil {
		return nil, nil, err
	}
	if o.DialerRetries == 0 {
		o.DialerRetries = 1 // as in Open
	}
	f := *o
	f.MaxRetries = -1
	fastTimeouts(&f.DialTimeout, &f.ReadTimeout, &f.WriteTimeout, &f.PoolTimeout)
	return redis.NewFailoverClient(o), redis.NewFailoverClient(&f), nil
}

// fastTimeouts sets the timeouts left at zero to fastTimeout.
func fastTimeouts(ds ...*time.Duration) {
	for _, d := range ds {
		if *d == 0 {
			*d = fastTimeout
		}
	}
}

// awaitReplica waits up to replicaWait for a replica to acknowledge the
// writes made on conn (WAIT counts the writes of its own connection), and
// logs a write that no replica took in time.
func (s *Store) awaitReplica(ctx context.Context, conn *redis.Conn, version int64) {
	n, err := conn.Do(ctx, "WAIT", 1, replicaWait.Milliseconds()).Int64()
	if err == nil && n >= 1 {
		return
	}
	if s.log != nil {
		s.log.Warn("config change not yet on a Redis replica: a failover now would lose it",
			"version", version, "wait", replicaWait, "replicas", n, "err", err)
	}
}
