package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/portico-gw/portico/analytics"
	"github.com/portico-gw/portico/cluster"
	"github.com/portico-gw/portico/sqlitestore"
)

// StoreFile is the embedded data store in the data dir.
const StoreFile = "portico.db"

// StoreMarker is written in the data dir once the embedded store exists in
// it, so that a later start can tell a store that was removed or emptied
// from a data dir that never held one.
const StoreMarker = "store.created"

// openEmbedded opens the embedded store of dataDir. A damaged file is
// refused. A missing or empty file is a new store only in a data dir
// that shows no sign of an earlier one (storeTraces), or with force: a
// node that came up with an empty configuration there would serve 404s
// for every API and bootstrap a new admin over a config that was lost.
func openEmbedded(ctx context.Context, dataDir string, force bool, logger *slog.Logger) (*sqlitestore.DB, error) {
	path := filepath.Join(dataDir, StoreFile)
	checking := time.Now()
	db, err := sqlitestore.Open(ctx, path, sqlitestore.Existing())
	switch {
	case err == nil:
		logger.Info("embedded store checked", "file", path, "took", time.Since(checking).Round(time.Millisecond))
		if force {
			logger.Warn("--force-new-store is set but the store exists: unset it, or a lost store will go unnoticed at a later start")
		}
		return db, writeStoreMarker(dataDir)
	case errors.Is(err, sqlitestore.ErrCorrupt):
		return nil, damagedStore(err, path)
	case !errors.Is(err, sqlitestore.ErrNoStore):
		return nil, err
	}
	traces := storeTraces(dataDir)
	if len(traces) > 0 && !force {
		return nil, fmt.Errorf("%w\n\nThe data dir %s shows it held an embedded store (it holds %s) but %s is missing or empty: "+
			"it was removed or emptied, or --data-dir or --datastore is not the intended one. Portico does not start "+
			"an empty configuration over one that was lost. Restore %s from a backup, or start with the right "+
			"--data-dir and --datastore, or start once with --force-new-store to begin with an empty configuration",
			err, dataDir, strings.Join(traces, ", "), StoreFile, StoreFile)
	}
	if len(traces) > 0 {
		if err := setAsideLog(path, logger); err != nil {
			return nil, err
		}
		logger.Warn("starting a new, empty embedded store (--force-new-store)", "file", path, "traces", traces)
	}
	if db, err = sqlitestore.Open(ctx, path); err != nil {
		return nil, err
	}
	return db, writeStoreMarker(dataDir)
}

// damagedStore is the error of a start on the damaged embedded store at
// path: err, found by PRAGMA quick_check at Open or by a row that did not
// decode at Load (it wraps sqlitestore.ErrCorrupt), and the way out.
func damagedStore(err error, path string) error {
	return fmt.Errorf("%w\n\nPortico does not start on a damaged store: it could load only part of the configuration. "+
		"Keep a copy of %s, then either restore it from a backup, or recover what SQLite can still read "+
		"(sqlite3 %s .recover | sqlite3 recovered.db, then put recovered.db in its place), or move it away and "+
		"start once with --force-new-store to begin with an empty configuration", err, path, path)
}

// storeTraces lists the files of dataDir that show it was used by a node:
// the marker, the store's write-ahead log and its index, the node file,
// the cluster's member list, the analytics store, its settings and spool.
func storeTraces(dataDir string) []string {
	var found []string
	for _, name := range []string{StoreMarker, StoreFile + "-wal", StoreFile + "-shm", NodeFile,
		cluster.NodesFileName, sqlitestore.AnalyticsFile, settingsFile, analytics.SpoolFile} {
		if _, err := os.Lstat(filepath.Join(dataDir, name)); err == nil {
			found = append(found, name)
		}
	}
	return found
}

// setAsideLog renames the write-ahead log of the store at path out of the
// way of a new store (SQLite would read its pages into the new file), and
// removes the log's index. The log keeps what it held, for whoever wants
// to look.
func setAsideLog(path string, logger *slog.Logger) error {
	wal := path + "-wal"
	if fi, err := os.Stat(wal); err == nil && fi.Size() > 0 {
		aside := fmt.Sprintf("%s.orphaned-%s", wal, time.Now().UTC().Format("20060102T150405Z"))
		if err := os.Rename(wal, aside); err != nil {
			return fmt.Errorf("setting the old store's log aside: %w", err)
		}
		logger.Warn("the old store's write-ahead log was set aside", "file", aside)
	} else if err == nil {
		os.Remove(wal)
	}
	if err := os.Remove(path + "-shm"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing the old store's log index: %w", err)
	}
	return nil
}

// writeStoreMarker records in dataDir that it holds the embedded store,
// unless it already does.
func writeStoreMarker(dataDir string) error {
	path := filepath.Join(dataDir, StoreMarker)
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	text := fmt.Sprintf("This directory holds the embedded store %s (seen by Portico %s at %s).\n"+
		"While this file is here, portico serve refuses to start without %s unless given --force-new-store.\n",
		StoreFile, Version(), time.Now().UTC().Format(time.RFC3339), StoreFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", StoreMarker, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing %s: %w", StoreMarker, err)
	}
	return nil
}
