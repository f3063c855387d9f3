// Package redisstore is Portico's Redis data store, shared by the nodes of
// a cluster: the configuration (portico.Store), the change feed that
// propagates every configuration change to every node (portico.ChangeFeed),
// the membership (portico.Registry), the notifications
// (portico.NotificationStore), the bearer tokens of the admin API and of
// the gateway's OAuth2 (portico.TokenStore) and the run-time settings
// (portico.SettingStore).
//
// # Keys
//
// Every key of a cluster starts with the prefix "portico:{<cluster>}:". The
// braces are a Redis Cluster hash tag: all keys of one cluster hash to one
// slot, so that the Lua scripts, which touch several keys, run on Redis
// Cluster too. Two Portico clusters with different names share one Redis
// without seeing each other's data.
//
//	portico:{c}:version            string  the config version, incremented by every Apply (absent = 0)
//	portico:{c}:head               string  the random ID of the change set that made the version (absent after a Restore)
//	portico:{c}:epoch              string  Redis time when the store last started over (first write, Restore)
//	portico:{c}:cfg:plan           hash    plan ID → JSON of the portico.Plan
//	portico:{c}:cfg:api            hash    API ID → JSON of the portico.API
//	portico:{c}:cfg:user           hash    user ID → JSON of the portico.User
//	portico:{c}:cfg:application    hash    application ID → JSON of the portico.Application
//	portico:{c}:cfg:key            hash    key ID → JSON of the portico.Key (hash of the key only)
//	portico:{c}:cfg:subscription   hash    subscription ID → JSON of the portico.Subscription
//	portico:{c}:cfg:group          hash    group ID → JSON of the portico.Group
//	portico:{c}:changes            list    the last change sets (WithLogCap, default 10,000), oldest
//	                                       first, each the JSON of a portico.ChangeSet:
//	                                       {"version":N,"id":"…","prev":"…","changes":[…]}
//	portico:{c}:events             channel (pub/sub, not a key) every change set, as it is applied
//	portico:{c}:nodes              hash    node name → JSON of the portico.Node (its last heartbeat)
//	portico:{c}:alive              zset    node name scored by its last heartbeat, in ms of Redis's clock
//	portico:{c}:notify:body        hash    notification ID → JSON of the portico.Notification
//	portico:{c}:notify:time        zset    notification IDs scored by time in µs (the newest
//	                                       WithNotificationCap, default 10,000, are kept)
//	portico:{c}:notify:user:<id>   zset    the same, of the notifications of one user
//	                                       (as publisher or subscriber), capped alike
//	portico:{c}:setting:<name>     string  a cluster-wide run-time setting (portico.SettingStore): analytics (its JSON,
//	                                       polled by every node), signup ({"mode":…}, read at each sign-up)
//	portico:{c}:token:<hash>       string  JSON of a portico.Token, an admin API bearer token by the hex
//	                                       SHA-256 of its text, an OAuth2 access token by "oauth2:" and
//	                                       that hash; Redis deletes it at its expiry (PEXPIREAT)
//
// The entity JSON is the same as the embedded store's (sqlitestore), so a
// migration copies it as is.
//
// # Writes and the change feed
//
// Apply is one Lua script (EVALSHA; go-redis loads it again after a
// restart): it compares the version with the caller's base, writes each
// change with HSET or HDEL, INCRs the version, appends the change set to
// the log, trims the log, and PUBLISHes the change set on the events
// channel. Redis runs a script atomically, so every node either sees all of
// it or none, and the feed's order is the version order.
//
// A node watches the channel (Watch) and applies each change set to its
// in-memory config. Pub/sub delivers nothing that was published while a
// node was not subscribed, so Watch returns on any broken connection
// instead of letting go-redis resubscribe silently; the caller subscribes
// again and, once subscribed, asks ChangesSince for what it missed. When
// the log no longer goes back far enough, or Redis lost its data (the
// version went back), ChangesSince says so and the node reloads with Load.
//
// # Reads
//
// Load reads the version v, scans every hash with HSCAN (5,000 entries a
// call, so Redis is never blocked by a huge reply and no read times out),
// then replays the change sets after v from the log: entities read during
// the scan may be newer than v, and replaying every later change in order
// over them gives exactly the latest version. A million keys load in
// about 7 s on two cores, while the cluster keeps changing.
//
// # Membership
//
// Heartbeat stores a node's facts and scores it in the alive set with
// Redis's TIME inside a script, so the nodes' clocks do not matter. Nodes
// lists the nodes seen within the expiry (WithNodeExpiry, 3 s by default):
// "up" within two thirds of it, "down" for the last third, then not at all;
// records older than a minute are deleted. Leave deletes a node at once.
//
// # Errors
//
// When Redis cannot be reached (or cannot serve: loading, read-only,
// cluster down) every method returns a *portico.Error with code
// EUnavailable, "the data store is unreachable"; a write is never lost
// silently. Open makes go-redis dial once per attempt, so an outage shows
// within about 100 ms; go-redis reconnects within about a second once
// Redis is back.
//
// # Sentinel
//
// Open also takes redis-sentinel://[user:pass@]host:port[,…]/master[/db]
// (sentinel.go): go-redis's failover client asks the Sentinels for the
// master and follows a failover; until the promotion, calls fail with
// EUnavailable as in an outage. Apply then runs its script and a WAIT for
// one replica on one connection, so an acknowledged config change is on a
// replica too (or, after replicaWait, logged as not replicated).
//
// # Redis Cluster
//
// Open takes redis-cluster://[user:pass@]host:port[,…] (rediscluster.go)
// and uses go-redis's cluster client. Every key carries the hash tag
// {<cluster>}, so all of them hash to one slot: scripts, MGET and
// transactions work as on one Redis, and PUBLISH reaches every node.
package redisstore
