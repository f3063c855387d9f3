package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	neturl "net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/portico-gw/portico"
)

var _ portico.Store = (*Store)(nil)

// Defaults of the options.
const (
	// DefaultLogCap is how many change sets the log keeps.
	DefaultLogCap = 10000
	// DefaultNodeExpiry is how long after its last heartbeat a node
	// leaves the member list.
	DefaultNodeExpiry = 3 * time.Second
	// DefaultNotificationCap is how many notifications are kept.
	DefaultNotificationCap = 10000
)

// forgetAfter is how long after its last heartbeat a node's record is
// deleted from Redis (it left the member list long before).
const forgetAfter = 60 * time.Second

// kinds lists the entity kinds in the order of the Apply script's KEYS
// (after the version and the log keys).
var kinds = []portico.Kind{
	portico.KindPlan, portico.KindAPI, portico.KindUser,
	portico.KindApplication, portico.KindKey, portico.KindSubscription,
	portico.KindGroup,
}

// Store is the Redis data store of one cluster: the configuration, the
// change log and feed, the membership and the notifications, all under the
// key prefix "portico:{<cluster>}:" (see the package documentation). It is
// safe for concurrent use. Create it with Open and release it with Close.
type Store struct {
	rdb     redis.UniversalClient // a *redis.Client, or a *redis.ClusterClient for a Redis Cluster
	fast    redis.UniversalClient // fails fast: for the request path
	cluster string
	k       keys

	logCap      int
	nodeExpiry  time.Duration
	notifyCap   int
	pingEvery   time.Duration
	pongTimeout time.Duration

	// replicated: Redis is reached through Sentinel or is a Redis
	// Cluster, whose masters have replicas to fail over to: a config
	// change waits for a replica (see applyReplicated) before Apply
	// returns.
	replicated bool
	noReplica  atomic.Int64 // Unix ns of the last "no replica" warning
	log        *slog.Logger
}

// Option configures a Store opened by Open.
type Option func(*Store)

// WithLogCap sets how many change sets the change log keeps (default
// DefaultLogCap). A node that falls further behind reloads in full. n < 1
// means the default.
func WithLogCap(n int) Option {
	return func(s *Store) {
		if n >= 1 {
			s.logCap = n
		}
	}
}

// WithNodeExpiry sets how long after its last heartbeat a node leaves the
// member list (default DefaultNodeExpiry); it is listed as down for the last
// third of that time. d <= 0 means the default.
func WithNodeExpiry(d time.Duration) Option {
	return func(s *Store) {
		if d > 0 {
			s.nodeExpiry = d
		}
	}
}

// WithLogger sets the logger of the store's rare warnings (a config
// change that no replica acknowledged in time). Nil, the default, logs
// nothing.
func WithLogger(l *slog.Logger) Option {
	return func(s *Store) { s.log = l }
}

// WithNotificationCap sets how many notifications are kept, newest first
// (default DefaultNotificationCap). n < 1 means the default.
func WithNotificationCap(n int) Option {
	return func(s *Store) {
		if n >= 1 {
			s.notifyCap = n
		}
	}
}

// keys are the names of a cluster's Redis keys; see doc.go.
type keys struct {
	prefix   string
	version  string
	epoch    string // changes when the store starts over: a Restore, or the first write into an empty store
	head     string // the ID of the change set that made the current version
	changes  string
	events   string // a pub/sub channel, not a key
	cfg      []string
	nodes    string
	alive    string
	notifyBy string // sorted set of all notification IDs by time
	notify   string // hash of notification ID → JSON
}

func newKeys(cluster string) keys {
	p := "portico:{" + cluster + "}:"
	k := keys{
		prefix:   p,
		version:  p + "version",
		epoch:    p + "epoch",
		head:     p + "head",
		changes:  p + "changes",
		events:   p + "events",
		nodes:    p + "nodes",
		alive:    p + "alive",
		notifyBy: p + "notify:time",
		notify:   p + "notify:body",
	}
	for _, kind := range kinds {
		k.cfg = append(k.cfg, p+"cfg:"+string(kind))
	}
	return k
}

// notifyUser is the sorted set of the notification IDs of one user.
func (k keys) notifyUser(user string) string { return k.prefix + "notify:user:" + user }

// Open connects to the Redis at url, "redis://[user:pass@]host:port/db" or
// "rediss://…" for TLS (the forms of go-redis's ParseURL, including its
// query options such as dial_timeout), or through Sentinel with
// "redis-sentinel://[user:pass@]host:port[,host:port…]/master[/db]" (see
// sentinel.go), or a Redis Cluster with
// "redis-cluster://[user:pass@]host:port[,host:port…]" (see
// rediscluster.go), checks that it answers, and returns
// the Store of the cluster named cluster ("default" when empty). Two
// clusters on one Redis never see each other's data. A Redis that does not
// answer gives an EUnavailable error.
func Open(ctx context.Context, url string, cluster string, opts ...Option) (*Store, error) {
	if cluster == "" {
		cluster = "default"
	}
	if strings.ContainsAny(cluster, "{}") {
		return nil, portico.FieldErrorf(portico.EInvalid, "cluster_name", "a cluster name must not contain { or }")
	}
	var rdb, fast redis.UniversalClient
	replicated := IsSentinelURL(url) || IsClusterURL(url)
	switch {
	case IsSentinelURL(url):
		var err error
		if rdb, fast, err = failoverClients(url); err != nil {
			return nil, portico.FieldErrorf(portico.EInvalid, "datastore", "%v", redactURL(err, url))
		}
	case IsClusterURL(url):
		var err error
		if rdb, fast, err = clusterClients(url); err != nil {
			return nil, portico.FieldErrorf(portico.EInvalid, "datastore", "%v", redactURL(err, url))
		}
	default:
		o, err := redis.ParseURL(url)
		if err != nil {
			return nil, portico.FieldErrorf(portico.EInvalid, "datastore", "bad Redis URL: %v", redactURL(err, url))
		}
		rdb, fast = clientPair(o, func(o *redis.Options) knobs {
			return knobs{&o.DialerRetries, &o.MaxRetries, &o.MaintNotificationsConfig, []*time.Duration{&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout}}
		}, func(o *redis.Options) redis.UniversalClient { return redis.NewClient(o) })
	}
	s := &Store{
		rdb:         rdb,
		fast:        fast,
		replicated:  replicated,
		cluster:     cluster,
		k:           newKeys(cluster),
		logCap:      DefaultLogCap,
		nodeExpiry:  DefaultNodeExpiry,
		notifyCap:   DefaultNotificationCap,
		pingEvery:   5 * time.Second,
		pongTimeout: 5 * time.Second,
	}
	for _, opt := range opts {
		opt(s)
	}
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		s.Close()
		return nil, wrap("open", err)
	}
	return s, nil
}

// redactURL returns err's text without the secrets that url carries.
func redactURL(err error, url string) string {
	msg := err.Error()
	for _, secret := range urlSecrets(url) {
		for _, form := range []string{secret, neturl.QueryEscape(secret), neturl.PathEscape(secret)} {
			msg = strings.ReplaceAll(msg, form, "xxxxx")
		}
	}
	return msg
}

// RedactURL returns a data store URL with its secrets — the password of
// its user info and the values of query options whose name holds
// "password" (sentinel_password, …) — replaced by xxxxx, for logs and
// messages. It takes any form Open takes, host lists included.
func RedactURL(url string) string {
	for _, secret := range urlSecrets(url) {
		url = strings.ReplaceAll(url, secret, "xxxxx")
	}
	return url
}

// urlSecrets returns the secrets of a data store URL as they appear in it
// (escaped as typed).
func urlSecrets(url string) []string {
	var secrets []string
	i := strings.Index(url, "://")
	if i < 0 {
		return nil
	}
	rest, query, _ := strings.Cut(url[i+3:], "?")
	if j := strings.LastIndex(rest, "@"); j >= 0 {
		if _, pw, ok := strings.Cut(rest[:j], ":"); ok && pw != "" {
			secrets = append(secrets, pw)
			if u, err := neturl.PathUnescape(pw); err == nil && u != pw {
				secrets = append(secrets, u)
			}
		}
	}
	for _, kv := range strings.Split(query, "&") {
		if k, v, ok := strings.Cut(kv, "="); ok && v != "" && strings.Contains(strings.ToLower(k), "password") {
			secrets = append(secrets, v)
			if u, err := neturl.QueryUnescape(v); err == nil && u != v {
				secrets = append(secrets, u)
			}
		}
	}
	return secrets
}

// Cluster returns the name of the Store's cluster.
func (s *Store) Cluster() string { return s.cluster }

// Close closes the connections to Redis. A Watch in progress returns.
func (s *Store) Close() error { return errors.Join(s.rdb.Close(), s.fast.Close()) }

// applyScript checks the version, writes the changes, bumps the version,
// appends the change set to the capped log and publishes it: all in one
// atomic step. Redis does not roll a script back, so everything that can
// fail is checked before the script runs.
//
// The first write into an empty store also starts a new epoch (see Load).
//
// Every change set carries a random ID, kept as the store's head: a
// retry of a script that ran (go-redis resends a command whose reply was
// lost) finds its own ID in the log entry of version base+1, and answers
// as the first run did instead of reporting a conflict; and a
// node can tell another change set at its own version (the store went
// back and was written again) from its own (see Head); each change set
// also names the head it was applied on ("prev"), so that a node applying
// it sees whether it follows what the node holds. Redis does not roll a
// script back, so what may refuse comes first: the first write (a store
// out of memory refuses it) rewrites the head unchanged, then PUBLISH (a
// Redis ACL may refuse the channel), then the writes that change the
// store.
//
// KEYS: version, changes, the hash of each kind in the order of kinds,
// epoch, head (the last two found from the end, so that a new kind only
// adds a hash). ARGV: base, log cap, channel, changes JSON array, change
// set ID, then a triple per change: kind index (1-based), id, entity JSON
// ("" for a delete). Returns {1, new version} or {0, stored version} on a
// conflict.
var applyScript = redis.NewScript(`
local v = tonumber(redis.call('GET', KEYS[1]) or '0')
local base = tonumber(ARGV[1])
local prev = redis.call('GET', KEYS[#KEYS]) or ''
if v ~= base then
  -- A run that found its own change set applied (a resent script) answers
  -- as the first run did, even if other change sets followed it.
  if v > base then
    local entry = redis.call('LINDEX', KEYS[2], base - v)
    if entry and string.find(entry, '"id":"' .. ARGV[5] .. '"', 1, true) then
      redis.call('SET', KEYS[#KEYS], prev) -- changes nothing; a write for a WAIT on this connection to cover
      return {1, base + 1}
    end
  end
  return {0, v}
end
-- Changes nothing, but Redis checks memory at a script's first write: a
-- store out of memory refuses the script here, before PUBLISH.
redis.call('SET', KEYS[#KEYS], prev)
v = v + 1
local set = '{"version":' .. string.format('%d', v) .. ',"id":"' .. ARGV[5] .. '","prev":"' .. prev .. '","changes":' .. ARGV[4] .. '}'
redis.call('PUBLISH', ARGV[3], set)
if base == 0 and redis.call('EXISTS', KEYS[1]) == 0 then
  local t = redis.call('TIME')
  redis.call('SET', KEYS[#KEYS - 1], t[1] .. '.' .. t[2])
end
for i = 6, #ARGV, 3 do
  local h = KEYS[2 + tonumber(ARGV[i])]
  if ARGV[i+2] == '' then
    redis.call('HDEL', h, ARGV[i+1])
  else
    redis.call('HSET', h, ARGV[i+1], ARGV[i+2])
  end
end
redis.call('SET', KEYS[1], v)
redis.call('SET', KEYS[#KEYS], ARGV[5])
redis.call('RPUSH', KEYS[2], set)
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
return {1, v}
`)

// Apply writes changes atomically, in order, if the stored version is
// still base, and returns base+1; the change set is appended to the log and
// published to every Watch in the same atomic step. When the stored version
// differs it writes nothing and returns an EConflict error. A change of an
// unknown kind, with an empty ID, or a put without an entity or whose
// entity has another ID is a bug of the caller and fails the whole Apply
// with an internal error, writing nothing.
//
// When Redis is unreachable Apply returns an EUnavailable error. If the
// connection broke after Redis ran the script, go-redis runs it again and
// the second run recognises the change set's ID (see applyScript): Apply
// answers success once, never a conflict for its own change. If every
// attempt failed the change may still have been applied: a reload shows
// it. Large imports should be split into several Applies:
// every change set is published and logged whole.
func (s *Store) Apply(ctx context.Context, base int64, changes []portico.Change) (int64, error) {
	keys := make([]string, 0, 4+len(kinds))
	keys = append(keys, s.k.version, s.k.changes)
	keys = append(keys, s.k.cfg...)
	keys = append(keys, s.k.epoch, s.k.head)
	args := make([]any, 0, 5+3*len(changes))
	set := changes
	if set == nil {
		set = []portico.Change{}
	}
	setJSON, err := json.Marshal(set)
	if err != nil {
		return 0, fmt.Errorf("redisstore: apply: encode changes: %w", err)
	}
	args = append(args, base, s.logCap, s.k.events, setJSON, newChangeSetID())
	for i := range changes {
		ch := &changes[i]
		if ch.ID == "" {
			return 0, fmt.Errorf("redisstore: apply: change %d of kind %q has no ID", i, ch.Kind)
		}
		idx := kindIndex(ch.Kind)
		if idx == 0 {
			return 0, fmt.Errorf("redisstore: apply: unknown entity kind %q", ch.Kind)
		}
		if ch.Delete {
			args = append(args, idx, ch.ID, "")
			continue
		}
		e, id, err := entity(ch)
		if err != nil {
			return 0, err
		}
		if id != ch.ID {
			return 0, fmt.Errorf("redisstore: apply: put %s %q carries an entity with ID %q", ch.Kind, ch.ID, id)
		}
		body, err := json.Marshal(e)
		if err != nil {
			return 0, fmt.Errorf("redisstore: apply: encode %s %q: %w", ch.Kind, ch.ID, err)
		}
		args = append(args, idx, ch.ID, body)
	}

	var res []int64
	if s.replicated {
		res, err = s.applyReplicated(ctx, keys, args)
	} else {
		res, err = applyScript.Run(ctx, s.rdb, keys, args...).Int64Slice()
	}
	if err != nil {
		return 0, wrap("apply", err)
	}
	if len(res) != 2 {
		return 0, fmt.Errorf("redisstore: apply: unexpected script reply %v", res)
	}
	if res[0] == 0 {
		return 0, portico.Errorf(portico.EConflict,
			"the configuration changed meanwhile (version %d, expected %d); reload and retry", res[1], base)
	}
	return res[1], nil
}

// applyAttempts bounds the runs of Apply's script on a pinned
// connection, where go-redis cannot retry by itself.
const applyAttempts = 3

// applyReplicated runs Apply's script on the master behind Sentinel or of
// the config's slot in a Redis Cluster, and then, if that master has
// replicas (ROLE), WAITs for one on the same connection (WAIT counts its
// own connection's writes; a run that finds its change set already
// applied still writes, so the WAIT covers it). A run whose connection
// failed is tried again on a new one with the same change set ID: the
// script recognises a change set that did get applied.
func (s *Store) applyReplicated(ctx context.Context, keys []string, args []any) ([]int64, error) {
	var err error
	for attempt := 1; ; attempt++ {
		var res []int64
		if res, err = s.applyOnMaster(ctx, keys, args); err == nil {
			return res, nil
		}
		if attempt == applyAttempts || !unavailable(err) || ctx.Err() != nil {
			return nil, err
		}
		t := time.NewTimer(time.Duration(attempt) * 100 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
	}
}

// applyOnMaster is one run of applyReplicated.
func (s *Store) applyOnMaster(ctx context.Context, keys []string, args []any) ([]int64, error) {
	var master *redis.Client
	switch c := s.rdb.(type) {
	case *redis.ClusterClient:
		var err error
		if master, err = c.MasterForKey(ctx, s.k.version); err != nil {
			return nil, err
		}
	case *redis.Client:
		master = c
	}
	conn := master.Conn()
	defer conn.Close()
	replicas := -1 // not known: wait
	if role, err := conn.Do(ctx, "ROLE").Slice(); err == nil && len(role) == 3 {
		if list, ok := role[2].([]any); ok {
			replicas = len(list)
		}
	}
	res, err := applyScript.Run(ctx, conn, keys, args...).Int64Slice()
	if err != nil || len(res) != 2 || res[0] != 1 {
		return res, err
	}
	if replicas == 0 {
		s.warnNoReplica(res[1])
	} else {
		s.awaitReplica(ctx, conn, res[1])
	}
	return res, nil
}

// newChangeSetID returns a random change set ID: 16 hex digits.
func newChangeSetID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Head returns the store's version and the ID of the change set that made
// it ("" when unknown: an empty or restored store, or one written by a
// Portico without IDs), read together.
func (s *Store) Head(ctx context.Context) (int64, string, error) {
	vals, err := s.rdb.MGet(ctx, s.k.version, s.k.head).Result()
	if err != nil {
		return 0, "", wrap("head", err)
	}
	var v int64
	if str, ok := vals[0].(string); ok {
		if v, err = strconv.ParseInt(str, 10, 64); err != nil {
			return 0, "", fmt.Errorf("redisstore: head: version %q: %w", str, err)
		}
	}
	id, _ := vals[1].(string)
	return v, id, nil
}

// kindIndex returns the 1-based position of k in kinds, or 0.
func kindIndex(k portico.Kind) int {
	for i, x := range kinds {
		if x == k {
			return i + 1
		}
	}
	return 0
}

// entity returns the entity that the put ch carries and its ID.
func entity(ch *portico.Change) (any, string, error) {
	switch ch.Kind {
	case portico.KindPlan:
		if v := ch.Plan; v != nil {
			return v, v.ID, nil
		}
	case portico.KindAPI:
		if v := ch.API; v != nil {
			return v, v.ID, nil
		}
	case portico.KindUser:
		if v := ch.User; v != nil {
			return v, v.ID, nil
		}
	case portico.KindApplication:
		if v := ch.Application; v != nil {
			return v, v.ID, nil
		}
	case portico.KindKey:
		if v := ch.Key; v != nil {
			return v, v.ID, nil
		}
	case portico.KindSubscription:
		if v := ch.Subscription; v != nil {
			return v, v.ID, nil
		}
	case portico.KindGroup:
		if v := ch.Group; v != nil {
			return v, v.ID, nil
		}
	}
	return nil, "", fmt.Errorf("redisstore: apply: put %s %q carries no %s", ch.Kind, ch.ID, ch.Kind)
}

// Load reads the whole configuration and its version without blocking
// Redis for longer than one small command: it reads the version v, scans
// each kind's hash with HSCAN (kinds in parallel, 5,000 entries a call), then
// replays the change sets after v from the log. Entities that changed
// during the scan may have been read at any version after v; replaying
// every change after v, in order, over them gives exactly the latest
// version. If the log no longer reaches back to v (more than its capacity
// of changes during the scan) or the store went back, it tries again. An
// empty Redis loads as an empty Config at version 0. A store that started
// over during the scan (its epoch changed: restored, or emptied and written
// again, where HSCAN's cursor means nothing) is scanned again too.
func (s *Store) Load(ctx context.Context) (*portico.Config, error) {
	var err error
	for range loadAttempts {
		var c *portico.Config
		var epoch string
		if c, epoch, err = s.scan(ctx); err != nil {
			return nil, err
		}
		sets, complete, cerr := s.ChangesSince(ctx, c.Version)
		if cerr != nil {
			return nil, cerr
		}
		if !complete {
			err = fmt.Errorf("redisstore: load: the change log does not reach back to version %d", c.Version)
			continue
		}
		after, eerr := s.epoch(ctx)
		if eerr != nil {
			return nil, eerr
		}
		if after == "" && epoch == "" && c.Version > 0 {
			// A store from before epochs: give it one (a no-op if it has
			// one by now) and scan again. One that refuses writes keeps
			// this scan, as before epochs.
			if s.rdb.SetNX(ctx, s.k.epoch, "v"+strconv.FormatInt(c.Version, 10)+"-"+portico.NewID(), 0).Err() != nil {
				return replay(c, sets), nil
			}
			err = errors.New("redisstore: load: the store had no epoch")
			continue
		}
		if after != epoch || epoch == "" && c.Len() > 0 {
			// The store started over during the scan: restored, or
			// emptied and written again, where HSCAN's cursor means
			// nothing.
			err = errors.New("redisstore: load: the store started over (restored or emptied) during the scan")
			continue
		}
		return replay(c, sets), nil
	}
	return nil, err
}

// replay applies the change sets in order to c.
func replay(c *portico.Config, sets []portico.ChangeSet) *portico.Config {
	for _, cs := range sets {
		c = c.With(cs.Version, cs.Changes...)
	}
	return c
}

// loadAttempts bounds how often Load scans again when the config changed
// too much while it scanned.
const loadAttempts = 3

// scanCount is the COUNT hint of Load's HSCAN calls.
const scanCount = 5000

// scan reads the version and the epoch, then every entity with HSCAN.
func (s *Store) scan(ctx context.Context) (*portico.Config, string, error) {
	c := portico.NewConfig()
	vals, err := s.rdb.MGet(ctx, s.k.version, s.k.epoch).Result()
	if err != nil {
		return nil, "", wrap("load version", err)
	}
	if v, ok := vals[0].(string); ok {
		if c.Version, err = strconv.ParseInt(v, 10, 64); err != nil {
			return nil, "", fmt.Errorf("redisstore: load: bad version %q", v)
		}
	}
	epoch, _ := vals[1].(string)
	errs := make([]error, len(kinds))
	var wg sync.WaitGroup
	wg.Go(func() { errs[0] = scanKind(ctx, s, 0, &c.Plans) })
	wg.Go(func() { errs[1] = scanKind(ctx, s, 1, &c.APIs) })
	wg.Go(func() { errs[2] = scanKind(ctx, s, 2, &c.Users) })
	wg.Go(func() { errs[3] = scanKind(ctx, s, 3, &c.Applications) })
	wg.Go(func() { errs[4] = scanKind(ctx, s, 4, &c.Keys) })
	wg.Go(func() { errs[5] = scanKind(ctx, s, 5, &c.Subscriptions) })
	wg.Go(func() { errs[6] = scanKind(ctx, s, 6, &c.Groups) })
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, "", err
	}
	return c, epoch, nil
}

// epoch returns the store's epoch, "" when it has none.
func (s *Store) epoch(ctx context.Context) (string, error) {
	e, err := s.rdb.Get(ctx, s.k.epoch).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", wrap("load epoch", err)
	}
	return e, nil
}

// scanKind reads the hash of kinds[i] into t.
func scanKind[T any](ctx context.Context, s *Store, i int, t *portico.Table[T]) error {
	k := kinds[i]
	var ids []string
	var vals []*T
	var cursor uint64
	for {
		fields, next, err := s.rdb.HScan(ctx, s.k.cfg[i], cursor, "", scanCount).Result()
		if err != nil {
			return wrap("load "+string(k), err)
		}
		for j := 0; j+1 < len(fields); j += 2 {
			v := new(T)
			if err := json.Unmarshal([]byte(fields[j+1]), v); err != nil {
				return fmt.Errorf("redisstore: load %s %q: %w", k, fields[j], err)
			}
			ids, vals = append(ids, fields[j]), append(vals, v)
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	*t = portico.TableFrom(ids, vals) // HSCAN may return an entry twice: either value will do, the log's replay follows
	return nil
}

// wrap returns err with the operation's name, as an EUnavailable error
// when Redis could not be reached or cannot serve (loading, read-only
// replica, cluster down), and as a plain (internal) error when Redis
// rejected the command.
func wrap(op string, err error) error {
	err = fmt.Errorf("redisstore: %s: %w", op, err)
	if unavailable(err) {
		return &portico.Error{Code: portico.EUnavailable, Message: "the data store is unreachable", Err: err}
	}
	return err
}

// unavailable reports whether err means that Redis cannot serve now, as
// opposed to a reply that rejects the command.
func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false // the caller gave up
	}
	var re redis.Error
	if errors.As(err, &re) {
		msg := re.Error()
		for _, p := range []string{"LOADING", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "BUSY ", "NOREPLICAS", "MISCONF", "OOM", "NOAUTH", "WRONGPASS", "ERR max number of clients"} {
			if strings.HasPrefix(msg, p) {
				return true
			}
		}
		return false
	}
	return true // network errors, timeouts, a closed pool: no answer
}

// Client returns the store's Redis client, for parts that share the
// connection pool. Do not close it.
func (s *Store) Client() redis.UniversalClient { return s.rdb }

// FastClient returns a client of the same Redis that fails fast — no
// retries, dial, read, write and pool timeouts of 250 ms unless the URL
// sets them — for calls on a request's path (the cluster limiter), where a
// Redis outage must cost a request a fraction of a second at most. Do not
// close it.
func (s *Store) FastClient() redis.UniversalClient { return s.fast }

// knobs points at the fields of a go-redis options struct (Options,
// FailoverOptions, ClusterOptions) that clientPair sets; maint is nil for
// a struct without maintenance notifications.
type knobs struct {
	dialerRetries, maxRetries *int
	maint                     **maintnotifications.Config
	timeouts                  []*time.Duration // dial, read, write, pool
}

// clientPair returns the store's two clients, made by newClient: one
// from o, the URL's options, and one from a copy of o that fails fast (no
// retries; timeouts the URL left at zero set to fastTimeout). Both dial
// once per attempt unless the URL says otherwise — go-redis dials 5 times
// per attempt and retries a command 3 times, 2 s before an outage shows;
// one dial makes a refused connection fail in about 100 ms — and have
// maintenance notifications off.
func clientPair[O any](o *O, k func(*O) knobs, newClient func(*O) redis.UniversalClient) (rdb, fast redis.UniversalClient) {
	ko := k(o)
	if *ko.dialerRetries == 0 {
		*ko.dialerRetries = 1
	}
	if ko.maint != nil {
		*ko.maint = noMaintNotifications()
	}
	f := *o
	kf := k(&f)
	*kf.maxRetries = -1
	if kf.maint != nil {
		*kf.maint = noMaintNotifications() // its own: go-redis may write to it
	}
	for _, d := range kf.timeouts {
		if *d == 0 {
			*d = fastTimeout
		}
	}
	return newClient(o), newClient(&f)
}

// noMaintNotifications turns off go-redis's maintenance notifications (a
// Redis Enterprise feature): in their default auto mode, a server that
// refuses the handshake makes go-redis rewrite its options on the first
// connections, a data race between a client and its pinned connections.
func noMaintNotifications() *maintnotifications.Config {
	return &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
}

// fastTimeout is FastClient's dial, read, write and pool timeout (the
// wait for a free connection, by default the read timeout + 1 s).
const fastTimeout = 250 * time.Millisecond
