package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/admin"
	"github.com/portico-gw/portico/analytics"
	"github.com/portico-gw/portico/clickhouse"
	"github.com/portico-gw/portico/sqlitestore"
)

// settingsFile keeps the run-time analytics settings (PUT
// /api/v1/settings/analytics) of a node across restarts; when present it
// overrides --analytics.
const settingsFile = "analytics-settings.json"

// analyticsNode owns a node's analytics: the store (embedded or
// ClickHouse), the recorder that feeds it, and the run-time settings.
type analyticsNode struct {
	cfg    Config
	logger *slog.Logger

	recorder *analytics.Recorder

	mu       sync.Mutex // guards the fields below and settings changes
	embedded *sqlitestore.Analytics
	ch       *clickhouse.Store
	querier  portico.AnalyticsQuerier
	addrs    []string

	shared     sharedSettings // cluster-wide settings; nil on a single node
	lastShared string         // the cluster-wide settings last applied
}

// openAnalytics opens the analytics store that cfg (or the saved run-time
// settings) names and starts the recorder. It returns nil for
// --analytics none.
func openAnalytics(ctx context.Context, cfg Config, logger *slog.Logger) (*analyticsNode, error) {
	a := &analyticsNode{cfg: cfg, logger: logger}
	target := cfg.Analytics
	if saved, ok, err := a.loadSettings(); err != nil {
		return nil, err
	} else if ok {
		target = "embedded"
		if len(saved.Addresses) > 0 {
			target = "clickhouse://" + strings.Join(saved.Addresses, ",")
		}
		logger.Info("analytics: using the run-time settings saved in the data dir", "file", settingsFile, "analytics", target)
	}
	if target == "none" {
		return nil, nil
	}
	sink, err := a.open(ctx, target)
	if err != nil {
		return nil, err
	}
	a.recorder, err = analytics.New(analytics.Config{
		Sink:                 sink,
		SpoolDir:             cfg.DataDir,
		FlushInterval:        cfg.AnalyticsFlushInterval,
		BatchSize:            cfg.AnalyticsBatchSize,
		MaxConcurrentBatches: cfg.AnalyticsConcurrency,
		Logger:               logger.With("component", "analytics"),
	})
	if err != nil {
		a.closeStores()
		return nil, fmt.Errorf("analytics recorder: %w", err)
	}
	return a, nil
}

// open opens the store named by target and makes it the one queried.
func (a *analyticsNode) open(ctx context.Context, target string) (portico.AnalyticsStore, error) {
	if target == "embedded" {
		if a.embedded == nil {
			db, err := sqlitestore.OpenAnalytics(ctx, filepath.Join(a.cfg.DataDir, "analytics.db"))
			if err != nil {
				return nil, fmt.Errorf("embedded analytics store: %w", err)
			}
			a.embedded = db
		}
		a.querier, a.addrs = a.embedded, nil
		return a.embedded, nil
	}
	chc, err := clickhouse.ParseURL(target)
	if err != nil {
		return nil, err
	}
	if a.cfg.AnalyticsCluster != "" {
		chc.Cluster = a.cfg.AnalyticsCluster
	}
	if chc.RetentionDays == 0 {
		chc.RetentionDays = a.cfg.AnalyticsRetention
	}
	chc.Logger = a.logger.With("component", "clickhouse")
	if a.ch != nil {
		if err := a.ch.SetAddrs(chc.Addrs); err != nil {
			return nil, err
		}
	} else {
		st, err := clickhouse.New(chc)
		if err != nil {
			return nil, err
		}
		if err := st.Open(ctx); err != nil {
			// The recorder spools until ClickHouse answers; the schema is
			// created then.
			a.logger.Warn("analytics: ClickHouse is not reachable yet; records are spooled until it is", "err", err)
		}
		a.ch = st
	}
	a.querier, a.addrs = a.ch, slices.Clone(chc.Addrs)
	return a.ch, nil
}

// Record hands rec to the recorder; it never blocks.
func (a *analyticsNode) Record(rec *portico.Record) { a.recorder.Record(rec) }

// Query implements portico.AnalyticsQuerier on the current store.
func (a *analyticsNode) Query(ctx context.Context, q portico.AnalyticsQuery) ([]portico.AnalyticsRow, error) {
	a.mu.Lock()
	qr := a.querier
	a.mu.Unlock()
	return qr.Query(ctx, q)
}

// AnalyticsSettings implements admin.SettingsController.
func (a *analyticsNode) AnalyticsSettings() admin.AnalyticsSettings {
	a.mu.Lock()
	defer a.mu.Unlock()
	return admin.AnalyticsSettings{Addresses: append([]string{}, a.addrs...)}
}

// SetAnalyticsSettings switches the store at run time: ClickHouse at the
// given addresses (added to or removed from the current ones), or the
// embedded store when there are none. Records in flight are not lost: the
// recorder writes its next batches to the new store. The settings are
// saved in the data dir and used again after a restart.
//
// In a cluster the settings are also written to the data store, and every
// node applies them within a second (pollShared).
func (a *analyticsNode) SetAnalyticsSettings(ctx context.Context, s admin.AnalyticsSettings) (admin.AnalyticsSettings, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.shared != nil {
		b, _ := json.Marshal(s)
		if err := a.shared.SetSetting(ctx, "analytics", string(b)); err != nil {
			return admin.AnalyticsSettings{}, err
		}
		a.lastShared = string(b)
	}
	return a.applyLocal(ctx, s)
}

// sharedSettings are cluster-wide run-time settings (the Redis store).
type sharedSettings interface {
	Setting(ctx context.Context, name string) (string, error)
	SetSetting(ctx context.Context, name, value string) error
}

// pollShared applies the cluster-wide analytics settings when another
// node changed them; it checks every second until ctx ends.
func (a *analyticsNode) pollShared(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		v, err := a.shared.Setting(ctx, "analytics")
		a.mu.Lock()
		if err == nil && v != "" && v != a.lastShared {
			var s admin.AnalyticsSettings
			if err := json.Unmarshal([]byte(v), &s); err != nil {
				a.logger.Error("analytics: bad cluster-wide settings", "err", err)
			} else if _, err := a.applyLocal(ctx, s); err != nil {
				a.logger.Error("analytics: applying the cluster-wide settings failed", "err", err)
			} else {
				a.logger.Info("analytics: applied the cluster-wide settings", "addresses", s.Addresses)
			}
			a.lastShared = v
		}
		a.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// applyLocal switches this node's store; a.mu is held.
func (a *analyticsNode) applyLocal(ctx context.Context, s admin.AnalyticsSettings) (admin.AnalyticsSettings, error) {
	target := "embedded"
	if len(s.Addresses) > 0 {
		target = "clickhouse://" + strings.Join(s.Addresses, ",")
	}
	sink, err := a.open(ctx, target)
	if err != nil {
		var pe *portico.Error
		if errors.As(err, &pe) && pe.Code == portico.EInvalid {
			pe.Field = "addresses"
		}
		return admin.AnalyticsSettings{}, err
	}
	a.recorder.SetSink(sink)
	if err := a.saveSettings(s); err != nil {
		return admin.AnalyticsSettings{}, &portico.Error{Code: portico.EInternal, Message: "saving the settings failed", Err: err}
	}
	a.logger.Info("analytics store changed at run time", "analytics", target)
	return admin.AnalyticsSettings{Addresses: append([]string{}, a.addrs...)}, nil
}

func (a *analyticsNode) loadSettings() (admin.AnalyticsSettings, bool, error) {
	var s admin.AnalyticsSettings
	b, err := os.ReadFile(filepath.Join(a.cfg.DataDir, settingsFile))
	if errors.Is(err, os.ErrNotExist) {
		return s, false, nil
	}
	if err == nil {
		err = json.Unmarshal(b, &s)
	}
	if err != nil {
		return s, false, fmt.Errorf("%s: %w", settingsFile, err)
	}
	return s, true, nil
}

// saveSettings writes the settings file atomically.
func (a *analyticsNode) saveSettings(s admin.AnalyticsSettings) error {
	b, _ := json.MarshalIndent(s, "", "  ")
	tmp := filepath.Join(a.cfg.DataDir, settingsFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(a.cfg.DataDir, settingsFile))
}

// pruneLoop drops embedded records older than the retention, daily.
// (ClickHouse drops old partitions itself.)
func (a *analyticsNode) pruneLoop(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	var last time.Time
	for {
		a.mu.Lock()
		db := a.embedded
		a.mu.Unlock()
		if now := time.Now(); db != nil && now.Sub(last) >= 24*time.Hour {
			last = now
			before := now.AddDate(0, 0, -a.cfg.AnalyticsRetention)
			if n, err := db.Prune(ctx, before); err != nil {
				a.logger.Error("analytics: pruning old records failed", "err", err)
			} else if n > 0 {
				a.logger.Info("analytics: pruned old records", "records", n, "before", before)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// close flushes the recorder (what cannot reach the store goes to the
// spool) and closes the stores.
func (a *analyticsNode) close(ctx context.Context) error {
	err := a.recorder.Close(ctx)
	a.mu.Lock()
	defer a.mu.Unlock()
	return errors.Join(err, a.closeStores())
}

func (a *analyticsNode) closeStores() error {
	var errs []error
	if a.embedded != nil {
		errs = append(errs, a.embedded.Close())
	}
	if a.ch != nil {
		errs = append(errs, a.ch.Close())
	}
	return errors.Join(errs...)
}
