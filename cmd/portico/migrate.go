package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/redisstore"
	"github.com/portico-gw/portico/sqlitestore"
)

// migrateChunk is how many entities one Apply copies: each Apply is one
// change set, logged and published whole.
const migrateChunk = 5000

// datastoreCmd runs `portico datastore migrate --to redis://… [flags]`:
// it copies the embedded store's configuration (plans, APIs, users,
// applications, keys, subscriptions) into a Redis data store, so that this
// node (and others) can join a cluster on it. It is idempotent: entities
// keep their IDs, and copying again with --force rewrites the same ones.
// A target that already holds a configuration is refused without --force.
func datastoreCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "migrate" {
		fmt.Fprintln(stderr, "usage: portico datastore migrate --to redis://host:port/db [--data-dir DIR] [--cluster-name NAME] [--force]")
		return 2
	}
	fs := flag.NewFlagSet("portico datastore migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	to := fs.String("to", "", "target data store: redis://[user:pass@]host:port/db, redis-sentinel://host:port[,host:port…]/master/db or redis-cluster://host:port[,host:port…]")
	dataDir := fs.String("data-dir", DefaultConfig().DataDir, "data dir of the embedded store to copy")
	clusterName := fs.String("cluster-name", DefaultConfig().ClusterName, "cluster name (key prefix) in the target")
	force := fs.Bool("force", false, "copy even if the target already holds a configuration")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *to == "" {
		fmt.Fprintln(stderr, "portico datastore migrate: --to is required")
		return 2
	}
	n, err := migrate(context.Background(), filepath.Join(*dataDir, "portico.db"), *to, *clusterName, *force, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "portico datastore migrate:", err)
		return 1
	}
	fmt.Fprintf(stdout, "copied %d entities to %s (cluster %q); start nodes with --datastore %s --cluster-name %s\n",
		n, redact(*to), *clusterName, redact(*to), *clusterName)
	return 0
}

func migrate(ctx context.Context, dbPath, to, clusterName string, force bool, out io.Writer) (int, error) {
	src, err := sqlitestore.Open(ctx, dbPath, sqlitestore.Existing())
	if err != nil {
		return 0, fmt.Errorf("embedded store %s: %w", dbPath, err)
	}
	defer src.Close()
	cfg, err := src.Load(ctx)
	if err != nil {
		return 0, err
	}
	dst, err := redisstore.Open(ctx, to, clusterName)
	if err != nil {
		return 0, fmt.Errorf("target %s: %w", redact(to), err)
	}
	defer dst.Close()
	cur, err := dst.Load(ctx)
	if err != nil {
		return 0, err
	}
	if n := entities(cur); (n > 0 || cur.Version > 0) && !force {
		return 0, fmt.Errorf("the target already holds a configuration (version %d, %d entities); use --force to copy over it", cur.Version, n)
	}
	var changes []portico.Change
	// Order matters for readers of the change log: what others refer to first.
	for _, p := range portico.Sorted(cfg.Users, func(x *portico.User) (int64, string) { return x.CreatedAt.UnixNano(), x.ID }) {
		changes = append(changes, portico.Put(p))
	}
	for _, p := range portico.Sorted(cfg.Groups, func(x *portico.Group) (int64, string) { return x.CreatedAt.UnixNano(), x.ID }) {
		changes = append(changes, portico.Put(p))
	}
	for _, p := range portico.Sorted(cfg.Plans, func(x *portico.Plan) (int64, string) { return x.CreatedAt.UnixNano(), x.ID }) {
		changes = append(changes, portico.Put(p))
	}
	for _, p := range portico.Sorted(cfg.APIs, func(x *portico.API) (int64, string) { return x.CreatedAt.UnixNano(), x.ID }) {
		changes = append(changes, portico.Put(p))
	}
	for _, p := range portico.Sorted(cfg.Applications, func(x *portico.Application) (int64, string) { return x.CreatedAt.UnixNano(), x.ID }) {
		changes = append(changes, portico.Put(p))
	}
	for _, p := range portico.Sorted(cfg.Keys, func(x *portico.Key) (int64, string) { return x.CreatedAt.UnixNano(), x.ID }) {
		changes = append(changes, portico.Put(p))
	}
	for _, p := range portico.Sorted(cfg.Subscriptions, func(x *portico.Subscription) (int64, string) { return x.CreatedAt.UnixNano(), x.ID }) {
		changes = append(changes, portico.Put(p))
	}
	version := cur.Version
	for i := 0; i < len(changes); i += migrateChunk {
		chunk := changes[i:min(i+migrateChunk, len(changes))]
		if version, err = dst.Apply(ctx, version, chunk); err != nil {
			return i, fmt.Errorf("copying (after %d of %d entities): %w", i, len(changes), err)
		}
		fmt.Fprintf(out, "copied %d of %d entities\n", i+len(chunk), len(changes))
	}
	return len(changes), nil
}

func entities(c *portico.Config) int { return c.Len() }
