// Package cluster keeps one node in step with its cluster: Sync applies
// the configuration changes that any node writes to the shared data store,
// Heartbeat keeps the node in the member list and writes that list to the
// nodes file, cluster.xml, and RequestRate measures the request rate that
// each heartbeat reports. The package knows the data store only through
// the root's interfaces (portico.Store, portico.ChangeFeed,
// portico.Registry); redisstore implements them.
//
// # Config sync
//
// Every admin write bumps the cluster's config version atomically with
// its changes and announces the resulting portico.ChangeSet on the
// ChangeFeed. Sync.Run applies them to the node's portico.ConfigVar:
//
//   - A change set of version current+1 is applied:
//     Config.Set(current.With(version, changes...), false). ConfigVar.Set
//     runs the watchers (the gateway rebuilds its snapshot there) before
//     it returns; requests keep reading the previous Config until then.
//   - A change set at or below the current version is ignored: it was
//     applied already, e.g. this node's own admin write, which the admin
//     API Set itself.
//   - A change set above current+1 is a gap: Sync catches up with
//     ChangesSince(current) and applies what it returns in order; when
//     the store's log no longer holds all of it (complete is false) or it
//     skips a version, Sync loads the whole Config with Store.Load.
//   - Each time the subscription is established (at start and after
//     every reconnect) Sync catches up the same way, since change sets
//     published while it was not subscribed are not delivered. If Config
//     held nil, it is loaded in full.
//   - Every CheckInterval (default 1 s) Sync compares Feed.Version with
//     the current version and catches up when behind, so that a change set
//     lost by pub/sub lands within about a second. A Feed that is a Header
//     also names the change set that made its version; when that is not
//     the change set this node applied at the same version (the store went
//     back and another node wrote it up to this version again), Sync
//     reloads in full and forces the store's Config in.
//   - When the store's version is below the node's, Sync tells two cases
//     apart. A store with no configuration at all lost its data (a Redis
//     restarted without persistence): the nodes still hold every accepted
//     change, so a Store that is a Restorer is given a Config back,
//     atomically and only while it is still empty. To keep a node that
//     lagged behind from restoring an older Config, Sync waits
//     RestoreGrace (3 s) after it first saw the store empty — time for
//     every node to register again with its config version — and then
//     only the node with the highest version among those listed (the
//     lowest name among equals) restores; the others load what it
//     restored, and take over if it has not after ten graces. A
//     node that starts meanwhile waits for the restore instead of
//     bootstrapping a new config (cmd/portico). A store with an older,
//     non-empty configuration was replaced or restored from a backup on
//     purpose: Sync loads it in full and forces it in. (To start a
//     cluster over from nothing, stop all nodes before emptying Redis.)
//   - Full loads and restores, which grow with the config, get 10
//     minutes; every other data store call 5 s.
//   - When the subscription breaks, Sync subscribes again with backoff
//     (100 ms doubling to 2 s, ±20 % jitter) until ctx ends. An outage is
//     logged once when it begins and once when it ends, never per attempt
//     (the subscription's outages apart from the other calls', which may
//     work while subscribing fails).
//     Config keeps the last Config meanwhile, so the gateway keeps serving.
//
// Applying is serialized by a mutex of the Sync that the request path
// never takes; data store calls (each bounded by 5 s) happen before
// ConfigVar.Set, never inside it. Sync.Stats counts applied and ignored
// change sets, gaps, catch-ups, full reloads and reconnects.
//
// # Membership
//
// Heartbeat.Run sends Registry.Heartbeat with Self() every Interval
// (default 1 s), then reads Registry.Nodes. Heartbeat.Nodes returns the
// last list read, which outlives an outage of the data store (the admin
// API's cluster/nodes falls back to it; the local limit policy divides by
// its live nodes). When the list changed, Run rewrites the nodes file and
// calls OnChange. When ctx ends, Run calls Registry.Leave so that the node
// leaves the list at once.
//
// # The nodes file
//
// Each node keeps the member list in DataDir/cluster.xml. It is what the
// front-end web server config generator (portico wsconfig) reads on a
// machine that cannot reach the data store: copy the file there. Example:
//
//	<?xml version="1.0" encoding="UTF-8"?>
//	<cluster name="default" version="1" updated="2026-11-25T21:00:00Z">
//	  <node name="web1:8080" gateway="10.0.0.1:8080" admin="10.0.0.1:9080" ajp="10.0.0.1:8009" lbfactor="1" status="up" version="0.4.0" started="2026-11-25T20:58:13Z"/>
//	  <node name="web2:8080" gateway="10.0.0.2:8080" admin="10.0.0.2:9080" lbfactor="3" status="down" version="0.4.0" started="2026-11-25T20:58:20Z"/>
//	</cluster>
//
// The root element is cluster, with attributes:
//
//   - name: the cluster's name (--cluster-name; "default").
//   - version: the file format's version, 1. Readers reject a newer one;
//     a missing one means 1.
//   - updated: when the file was written, RFC 3339 in UTC, to the second.
//
// It holds one empty node element per member, sorted by name, with the
// attributes below, always in this order when Portico writes them:
//
//   - name: the node's name (--node-name), unique in the cluster. Required.
//   - gateway: host:port of its gateway listener, where the front-end
//     sends API traffic. Required.
//   - admin: host:port of its admin API and console listener.
//   - ajp: host:port of its AJP/1.3 listener (--ajp-addr), for mod_jk.
//     Omitted when the node has none.
//   - lbfactor: its load-balancing weight, a positive integer
//     (--lb-factor). Missing means 1.
//   - status: "up", or "down" for a node that stopped heartbeating and
//     will soon leave the list (a generator should send it no traffic).
//     Missing means "up".
//   - version: the Portico version the node runs.
//   - started: when the node started, RFC 3339 in UTC, to the second.
//     Omitted when unknown.
//
// Attribute values are XML-escaped. Readers ignore unknown attributes and
// elements, so later versions may add some without a format version bump.
// The file is replaced atomically (written to a temporary file in the same
// directory, fsynced, renamed over cluster.xml, directory fsynced): a
// reader sees the old list or the new one, never a part. It is rewritten
// only when a member's name, addresses, lb factor, status, version or
// start time changed, not on every heartbeat, so its modification time
// tells when membership last changed. ReadNodesFile parses and checks it;
// WriteNodesFile writes it.
package cluster
