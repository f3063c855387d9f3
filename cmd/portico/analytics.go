package main

import (
	"cmp"
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
// overrides --analytics and, for the fields it holds, the
// --analytics-flush-interval, --analytics-batch-size,
// --analytics-max-concurrent-batches and --analytics-retention-days flags.
// A file written before those fields existed ({"addresses":[…]}) holds
// only the addresses; a file without "addresses" (only limits were ever
// set at run time) leaves the store to --analytics.
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
	limits   admin.AnalyticsSettings // the settings in force but the addresses (a.addrs)
	given    *[]string               // the addresses as last set at run time; nil: --analytics decides

	pruneNow chan struct{} // the retention changed (capacity 1)

	shared     sharedSettings // cluster-wide settings; nil on a single node
	lastShared string         // the cluster-wide settings last applied
}

// openAnalytics opens the analytics store that cfg (or the saved run-time
// settings) names and starts the recorder. It returns nil for
// --analytics none.
func openAnalytics(ctx context.Context, cfg Config, logger *slog.Logger) (*analyticsNode, error) {
	a := &analyticsNode{cfg: cfg, logger: logger, pruneNow: make(chan struct{}, 1)}
	a.limits = admin.AnalyticsSettings{
		FlushInterval:        portico.Duration(cfg.AnalyticsFlushInterval),
		BatchSize:            cfg.AnalyticsBatchSize,
		MaxConcurrentBatches: cfg.AnalyticsConcurrency,
		RetentionDays:        cfg.AnalyticsRetention,
	}
	target := cfg.Analytics
	if strings.HasPrefix(target, "clickhouse://") {
		// retention_days in the URL wins over the flag, as it always has.
		if chc, err := clickhouse.ParseURL(target); err == nil && chc.RetentionDays != 0 {
			a.limits.RetentionDays = chc.RetentionDays
		}
	}
	if saved, given, ok, err := a.loadSettings(); err != nil {
		return nil, err
	} else if ok {
		if given != nil {
			target = "embedded"
			if len(*given) > 0 {
				target = clickhouseTarget(cfg.Analytics, *given)
			}
		}
		a.limits, a.given = withCurrent(saved, a.limits), given
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
		FlushInterval:        time.Duration(a.limits.FlushInterval),
		BatchSize:            a.limits.BatchSize,
		MaxConcurrentBatches: a.limits.MaxConcurrentBatches,
		Logger:               logger.With("component", "analytics"),
	})
	if err != nil {
		a.closeStores()
		return nil, fmt.Errorf("analytics recorder: %w", err)
	}
	return a, nil
}

// clickhouseTarget returns the analytics URL of ClickHouse at addrs
// (host:port each, as the run-time settings hold them): flag, the
// --analytics URL, with its addresses replaced when it names ClickHouse,
// so that its user, database and parameters (table, secure, rollup…)
// still apply; else a URL of the addresses alone.
func clickhouseTarget(flag string, addrs []string) string {
	rest, ok := strings.CutPrefix(flag, "clickhouse://")
	if !ok {
		return "clickhouse://" + strings.Join(addrs, ",")
	}
	authority, tail := rest, ""
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority, tail = rest[:i], rest[i:]
	}
	user := ""
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		user = authority[:i+1]
	}
	return "clickhouse://" + user + strings.Join(addrs, ",") + tail
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
	chc.RetentionDays = a.limits.RetentionDays
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
	// The settings show each address as PUT takes it: host:port.
	a.addrs = make([]string, len(chc.Addrs))
	for i, u := range chc.Addrs {
		a.addrs[i] = strings.TrimPrefix(u, "http://")
	}
	a.querier = a.ch
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
	return a.current()
}

// current returns the settings in force; a.mu is held.
func (a *analyticsNode) current() admin.AnalyticsSettings {
	s := a.limits
	s.Addresses = append([]string{}, a.addrs...)
	return s
}

// withCurrent returns s with the fields it lacks (zero: a settings file
// or cluster-wide value written before they existed) taken from cur.
func withCurrent(s, cur admin.AnalyticsSettings) admin.AnalyticsSettings {
	if s.FlushInterval == 0 {
		s.FlushInterval = cur.FlushInterval
	}
	for _, f := range []struct{ v, cur *int }{
		{&s.BatchSize, &cur.BatchSize},
		{&s.MaxConcurrentBatches, &cur.MaxConcurrentBatches},
		{&s.RetentionDays, &cur.RetentionDays},
	} {
		if *f.v == 0 {
			*f.v = *f.cur
		}
	}
	return s
}

// SetAnalyticsSettings applies c to the settings in force, at run time:
// the store (ClickHouse at the given addresses, added to or removed from
// the current ones, or the embedded store when there are none; left as it
// is when c leaves the addresses out), the recorder's flush interval,
// batch size and write slots (from its next flush on), and the retention
// (the embedded store prunes at once, and ClickHouse drops the expired
// day partitions at once). Records in flight are not lost: the recorder
// writes its next batches to the new store. The settings are saved in the
// data dir and used again after a restart.
//
// In a cluster the settings are also written to the data store, and every
// node applies them within a second (pollShared). c applies to the
// cluster-wide settings as last written by any node.
func (a *analyticsNode) SetAnalyticsSettings(ctx context.Context, c admin.AnalyticsSettingsChange) (admin.AnalyticsSettings, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	lim, given := a.limits, a.given
	if a.shared != nil {
		// Another node may have changed them in the last second.
		if v, err := a.shared.Setting(ctx, "analytics"); err == nil && v != "" && v != a.lastShared {
			if s, g, err := decodeSettings([]byte(v)); err == nil {
				lim = withCurrent(s, lim)
				if g != nil {
					given = g
				}
			}
		}
	}
	lim = c.Apply(lim)
	lim.Addresses = nil
	if c.Addresses != nil {
		given = c.Addresses
	}
	if a.shared != nil {
		b := encodeSettings(lim, given)
		if err := a.shared.SetSetting(ctx, "analytics", string(b)); err != nil {
			return admin.AnalyticsSettings{}, err
		}
		a.lastShared = string(b)
	}
	return a.applyLocal(ctx, lim, given)
}

// encodeSettings is the JSON of the settings file and of the cluster-wide
// value: the limits, and the addresses when set at run time.
func encodeSettings(lim admin.AnalyticsSettings, given *[]string) []byte {
	var v struct {
		Addresses *[]string `json:"addresses,omitempty"`
		admin.AnalyticsSettings
	}
	v.AnalyticsSettings = lim
	if given != nil {
		v.Addresses = new(append([]string{}, *given...))
	}
	b, _ := json.MarshalIndent(v, "", "  ")
	return b
}

// decodeSettings reads what encodeSettings wrote, or an older version's
// {"addresses":[…]} (addresses null: the embedded store). Fields left out
// are zero in lim; given is nil when the addresses are left out.
func decodeSettings(b []byte) (lim admin.AnalyticsSettings, given *[]string, err error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return lim, nil, err
	}
	if err := json.Unmarshal(b, &lim); err != nil {
		return lim, nil, err
	}
	if _, ok := raw["addresses"]; ok {
		given = new(append([]string{}, lim.Addresses...))
	}
	lim.Addresses = nil
	return lim, given, nil
}

// sharedSettings are cluster-wide run-time settings (the Redis store).
type sharedSettings interface {
	Setting(ctx context.Context, name string) (string, error)
	SetSetting(ctx context.Context, name, value string) error
}

// pollShared applies the cluster-wide analytics settings when another
// node changed them; it checks every second until ctx ends. Fields the
// value lacks (written by an older version) keep their current values.
func (a *analyticsNode) pollShared(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		v, err := a.shared.Setting(ctx, "analytics")
		a.mu.Lock()
		if err == nil && v != "" && v != a.lastShared {
			if s, given, err := decodeSettings([]byte(v)); err != nil {
				a.logger.Error("analytics: bad cluster-wide settings", "err", err)
			} else if s, err = a.applyLocal(ctx, withCurrent(s, a.limits), cmp.Or(given, a.given)); err != nil {
				a.logger.Error("analytics: applying the cluster-wide settings failed", "err", err)
			} else {
				a.logger.Info("analytics: applied the cluster-wide settings", "addresses", s.Addresses,
					"flush_interval", s.FlushInterval, "batch_size", s.BatchSize,
					"max_concurrent_batches", s.MaxConcurrentBatches, "retention_days", s.RetentionDays)
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

// applyLocal makes s (its limits) and given (the addresses; nil: those of
// --analytics) this node's settings; a.mu is held. The store changes only
// when the addresses do. Nothing changes when it fails.
func (a *analyticsNode) applyLocal(ctx context.Context, s admin.AnalyticsSettings, given *[]string) (admin.AnalyticsSettings, error) {
	old := a.limits
	if err := a.recorder.SetLimits(time.Duration(s.FlushInterval), s.BatchSize, s.MaxConcurrentBatches); err != nil {
		return admin.AnalyticsSettings{}, err
	}
	target := "unchanged"
	if given != nil && (a.given == nil || !slices.Equal(*given, *a.given)) {
		target = "embedded"
		if len(*given) > 0 {
			target = clickhouseTarget(a.cfg.Analytics, *given)
		}
		a.limits.RetentionDays = s.RetentionDays // a new ClickHouse store opens with it
		sink, err := a.open(ctx, target)
		if err != nil {
			a.limits = old
			a.recorder.SetLimits(time.Duration(old.FlushInterval), old.BatchSize, old.MaxConcurrentBatches)
			var pe *portico.Error
			if errors.As(err, &pe) && pe.Code == portico.EInvalid {
				pe.Field = "addresses"
			}
			return admin.AnalyticsSettings{}, err
		}
		a.recorder.SetSink(sink)
	}
	a.limits, a.given = s, given
	a.limits.Addresses = nil
	if s.RetentionDays != old.RetentionDays {
		if a.ch != nil {
			a.ch.SetRetentionDays(s.RetentionDays)
		}
		select {
		case a.pruneNow <- struct{}{}:
		default:
		}
	}
	cur := a.current()
	if err := a.saveSettings(encodeSettings(a.limits, a.given)); err != nil {
		return admin.AnalyticsSettings{}, &portico.Error{Code: portico.EInternal, Message: "saving the settings failed", Err: err}
	}
	a.logger.Info("analytics settings changed at run time", "analytics", target,
		"flush_interval", cur.FlushInterval, "batch_size", cur.BatchSize,
		"max_concurrent_batches", cur.MaxConcurrentBatches, "retention_days", cur.RetentionDays)
	return cur, nil
}

// loadSettings reads the settings file (see decodeSettings); ok is false
// when there is none.
func (a *analyticsNode) loadSettings() (lim admin.AnalyticsSettings, given *[]string, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(a.cfg.DataDir, settingsFile))
	if errors.Is(err, os.ErrNotExist) {
		return lim, nil, false, nil
	}
	if err == nil {
		lim, given, err = decodeSettings(b)
	}
	if err != nil {
		return lim, nil, false, fmt.Errorf("%s: %w", settingsFile, err)
	}
	return lim, given, true, nil
}

// saveSettings writes the settings file atomically.
func (a *analyticsNode) saveSettings(b []byte) error {
	tmp := filepath.Join(a.cfg.DataDir, settingsFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(a.cfg.DataDir, settingsFile))
}

// pruneLoop drops embedded records older than the retention, daily and
// at once when the retention changes. (ClickHouse drops old partitions
// itself.) A retention below one day (retention_days=-1 in a ClickHouse
// URL: forever) keeps everything.
func (a *analyticsNode) pruneLoop(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	var last time.Time
	for {
		a.mu.Lock()
		db, days := a.embedded, a.limits.RetentionDays
		a.mu.Unlock()
		if now := time.Now(); db != nil && days > 0 && now.Sub(last) >= 24*time.Hour {
			last = now
			before := now.AddDate(0, 0, -days)
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
		case <-a.pruneNow:
			last = time.Time{}
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
