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

// replicaWait is how long an admin write through Sentinel or to a Redis
// Cluster waits for a replica to acknowledge it (WAIT) before it answers anyway and logs that
// a failover now could lose it.
const replicaWait = 500 * time.Millisecond

// IsSentinelURL reports whether u names a Redis behind Sentinel.
func IsSentinelURL(u string) bool {
	return strings.HasPrefix(u, sentinelScheme+"://") || strings.HasPrefix(u, sentinelTLSScheme+"://")
}

// multiHostURL is a redis-sentinel:// or redis-cluster:// URL taken
// apart: its hosts (with defaultPort where none is given), its path, its
// query, Redis's credentials, and whether it asks for TLS.
type multiHostURL struct {
	hosts      []string
	path       string
	query      url.Values
	user, pass string
	tls        bool
}

// badURL returns the error maker of a parser of what's URLs of the form
// want: an EInvalid error on the datastore field.
func badURL(what, want string) func(format string, args ...any) error {
	return func(format string, args ...any) error {
		return portico.FieldErrorf(portico.EInvalid, "datastore", "bad "+what+" URL: "+format+" (want "+want+")", args...)
	}
}

// splitMultiHostURL takes raw apart; bad formats its errors.
func splitMultiHostURL(raw, defaultPort string, bad func(string, ...any) error) (*multiHostURL, error) {
	scheme, rest, _ := strings.Cut(raw, "://")
	rest, rawQuery, _ := strings.Cut(rest, "?")
	m := &multiHostURL{tls: strings.HasPrefix(scheme, "rediss-")}
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		var userinfo string
		userinfo, rest = rest[:i], rest[i+1:]
		user, pass, _ := strings.Cut(userinfo, ":")
		var err error
		if m.user, err = url.PathUnescape(user); err != nil {
			return nil, bad("user: %v", err)
		}
		if m.pass, err = url.PathUnescape(pass); err != nil {
			return nil, bad("password: %v", err)
		}
	}
	hostList, path, _ := strings.Cut(rest, "/")
	m.path = path
	for _, h := range strings.Split(hostList, ",") {
		if h == "" {
			return nil, bad("empty address in %q", hostList)
		}
		if _, _, err := net.SplitHostPort(h); err != nil {
			h = net.JoinHostPort(strings.Trim(h, "[]"), defaultPort)
		}
		m.hosts = append(m.hosts, h)
	}
	var err error
	if m.query, err = url.ParseQuery(rawQuery); err != nil {
		return nil, bad("%v", err)
	}
	return m, nil
}

// goRedisURL returns the go-redis URL of m's first host, with the others
// as addr options, the scheme redis or rediss, and path.
func (m *multiHostURL) goRedisURL(path string) url.URL {
	u := url.URL{Scheme: "redis", Host: m.hosts[0], Path: path}
	if m.tls {
		u.Scheme = "rediss"
	}
	m.query["addr"] = m.hosts[1:]
	return u
}

// parseSentinelURL returns the go-redis failover options of a
// redis-sentinel:// URL.
func parseSentinelURL(raw string) (*redis.FailoverOptions, error) {
	bad := badURL("Redis Sentinel", "redis-sentinel://[user:pass@]host:port[,host:port…]/master[/db]")
	m, err := splitMultiHostURL(raw, "26379", bad)
	if err != nil {
		return nil, err
	}
	master, db, _ := strings.Cut(m.path, "/")
	if master == "" {
		return nil, bad("no master name")
	}
	if db != "" && strings.Trim(db, "0123456789") != "" {
		return nil, bad("the database %q is not a number", db)
	}
	q := m.query
	u := m.goRedisURL("/" + db)
	// go-redis takes the Sentinels' credentials from the URL's user
	// info, Redis's from options.
	if su, sp := q.Get("sentinel_username"), q.Get("sentinel_password"); su != "" || sp != "" {
		u.User = url.UserPassword(su, sp)
	}
	q.Del("sentinel_username")
	q.Del("sentinel_password")
	if m.user != "" {
		q.Set("username", m.user)
	}
	if m.pass != "" {
		q.Set("password", m.pass)
	}
	q.Set("master_name", master)
	u.RawQuery = q.Encode()
	o, err := redis.ParseFailoverURL(u.String())
	if err != nil {
		// go-redis may quote the URL rebuilt here, secrets escaped
		// otherwise than in raw.
		return nil, bad("%s", strings.ReplaceAll(err.Error(), u.String(), "the URL"))
	}
	return o, nil
}

// failoverClients returns the store's two clients of the Redis behind
// Sentinel at url: one with url's settings, one that fails fast.
func failoverClients(url string) (rdb, fast redis.UniversalClient, err error) {
	o, err := parseSentinelURL(url)
	if err != nil {
		return nil, nil, err
	}
	// Failover clients never enable maintenance notifications.
	rdb, fast = clientPair(o, func(o *redis.FailoverOptions) knobs {
		return knobs{&o.DialerRetries, &o.MaxRetries, nil, []*time.Duration{&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout}}
	}, func(o *redis.FailoverOptions) redis.UniversalClient { return redis.NewFailoverClient(o) })
	return rdb, fast, nil
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

// noReplicaEvery spaces the warnings about a master without replicas.
const noReplicaEvery = 10 * time.Minute

// warnNoReplica logs, at most every noReplicaEvery, that config changes
// are written to a master that has no replica to fail over to.
func (s *Store) warnNoReplica(version int64) {
	now := time.Now().UnixNano()
	last := s.noReplica.Load()
	if s.log == nil || (last != 0 && now-last < int64(noReplicaEvery)) || !s.noReplica.CompareAndSwap(last, now) {
		return
	}
	s.log.Warn("config change not on a Redis replica: the master has none, so a failover now would lose it",
		"version", version)
}
