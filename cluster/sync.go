package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-gw/portico"
)

// Defaults and bounds of Sync and Heartbeat.
const (
	defaultCheckInterval = time.Second
	minBackoff           = 100 * time.Millisecond
	maxBackoff           = 2 * time.Second
	callTimeout          = 5 * time.Second  // bound of each small data store call made while syncing
	loadTimeout          = 10 * time.Minute // bound of a full Load or Restore, which grow with the config
	defaultRestoreGrace  = 3 * time.Second  // see Sync.RestoreGrace
)

// Sync keeps a node's ConfigVar in step with a shared data store: it
// applies the change sets announced on Feed to Config, one version after
// the other, catches up with Feed.ChangesSince when it missed some, and
// loads the whole Config from Store when the store's log no longer holds
// what it missed. See the package documentation for the rules.
//
// Set the fields, then call Run once. Stats may be called at any time.
type Sync struct {
	// Store is read in full (Load) when catching up change by change is
	// not possible. Required.
	Store portico.Store

	// Feed announces change sets and answers catch-up queries. Required.
	Feed portico.ChangeFeed

	// Config is the node's current Config. It should hold the Config
	// loaded at start; if it holds nil, Run loads it in full once
	// subscribed. Sync only ever calls Set on it with a newer version
	// (except when the store's version went back, see the package doc),
	// so the admin API may Set its own writes concurrently. Required.
	Config *portico.ConfigVar

	// CheckInterval is how often Run compares Feed.Version with the
	// current version, to catch up on a change set that pub/sub lost. If
	// zero or negative, 1s is used.
	CheckInterval time.Duration

	// Logger receives outages (once each), recoveries and full reloads.
	// If nil, nothing is logged.
	Logger *slog.Logger

	// Node is this node's name and Members lists the cluster's nodes with
	// the config version each routes by. When the store comes back empty,
	// only the node with the highest version (then the lowest name) among
	// those up gives it the config back, so that a node that lagged
	// behind cannot restore an older config. Without Members, every node
	// tries (the first wins).
	Node    string
	Members portico.Membership

	// RestoreGrace is how long the store must have been seen empty before
	// this node restores it: time for the other nodes to register again
	// with their config versions. If zero or negative, 3s is used.
	RestoreGrace time.Duration

	mu         sync.Mutex   // serializes applying; held across catch-up calls, never needed by the request path
	emptySince atomic.Int64 // Unix ns when the store was first seen empty while this node holds a config; 0 once it holds one
	log        *slog.Logger
	watchDown  *outage      // the subscription's outages
	down       *outage      // the other calls' outages: version checks, catch-ups, loads
	subs       atomic.Int64 // subscriptions established

	// The last change set applied or seen at the node's version, guarded
	// by mu: what the periodic check compares with the store's head.
	headVersion int64
	headID      string

	applied, ignored, gaps, behind, catchUps, fullReloads, rewinds, restores, reconnects atomic.Int64
}

// SyncStats counts what a Sync did since Run began. The counters only grow.
type SyncStats struct {
	Applied     int64 // change sets applied one at a time (from the feed or a catch-up)
	Ignored     int64 // change sets at or below the current version (already applied), skipped
	Gaps        int64 // change sets that arrived ahead of the next version, starting a catch-up
	Behind      int64 // periodic checks that found this node behind the store
	CatchUps    int64 // ChangesSince calls
	FullReloads int64 // Store.Load calls
	Rewinds     int64 // full reloads forced because the store's version went back, or its head is another change set at the node's version
	Restores    int64 // empty stores this node wrote its Config back into
	Reconnects  int64 // subscriptions established after the first one
}

// Stats returns the counters; it is safe to call concurrently with Run.
func (s *Sync) Stats() SyncStats {
	return SyncStats{
		Applied:     s.applied.Load(),
		Ignored:     s.ignored.Load(),
		Gaps:        s.gaps.Load(),
		Behind:      s.behind.Load(),
		CatchUps:    s.catchUps.Load(),
		FullReloads: s.fullReloads.Load(),
		Rewinds:     s.rewinds.Load(),
		Restores:    s.restores.Load(),
		Reconnects:  s.reconnects.Load(),
	}
}

// Run subscribes to Feed and applies change sets to Config until ctx
// ends, then returns nil once every goroutine it started has stopped.
// While the data store is unreachable it retries the subscription with
// backoff (100 ms doubling to 2 s), logging once per outage, and Config
// keeps the last Config it held. It returns an error at once only when a
// required field is missing.
func (s *Sync) Run(ctx context.Context) error {
	if s.Store == nil || s.Feed == nil || s.Config == nil {
		return errors.New("cluster: Sync needs Store, Feed and Config")
	}
	s.log = s.Logger
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.watchDown = &outage{log: s.log, what: "config feed"}
	s.down = &outage{log: s.log, what: "config sync"}
	interval := s.CheckInterval
	if interval <= 0 {
		interval = defaultCheckInterval
	}

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	wg.Go(func() { s.checkLoop(ctx, interval) })
	s.watchLoop(ctx)
	return nil
}

// watchLoop runs Feed.Watch until ctx ends, subscribing again with
// backoff whenever the subscription breaks.
func (s *Sync) watchLoop(ctx context.Context) {
	backoff := minBackoff
	for {
		var subscribed atomic.Bool
		err := s.Feed.Watch(ctx,
			func() {
				subscribed.Store(true)
				if s.subs.Add(1) > 1 {
					s.reconnects.Add(1)
				}
				s.watchDown.ok(time.Now())
				s.catchUp(ctx)
			},
			func(cs portico.ChangeSet) { s.receive(ctx, cs) })
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errors.New("subscription ended")
		}
		if subscribed.Load() {
			backoff = minBackoff
		}
		s.watchDown.fail(time.Now(), fmt.Errorf("watching config changes: %w", err))
		t := time.NewTimer(jitter(backoff))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// jitter returns d ± 20 %, so that the nodes of a cluster do not all
// reconnect in the same instant.
func jitter(d time.Duration) time.Duration {
	return d*4/5 + rand.N(d*2/5+1)
}

// checkLoop compares the store's version with the current one every
// interval until ctx ends.
func (s *Sync) checkLoop(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.check(ctx)
	}
}

// Header is a ChangeFeed that can also tell which change set made the
// store's version (redisstore.Store is one). With it, the periodic check
// notices a store that went back and was written again up to the node's
// version with other changes: same version, another head.
type Header interface {
	// Head returns the store's version and the ID of the change set that
	// made it, read together; "" when the store does not know it.
	Head(ctx context.Context) (int64, string, error)
}

// head returns the store's version, and its head ID when Feed is a Header.
func (s *Sync) head(ctx context.Context) (int64, string, error) {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if h, ok := s.Feed.(Header); ok {
		return h.Head(cctx)
	}
	v, err := s.Feed.Version(cctx)
	return v, "", err
}

// check catches up when the store's version differs from the current one,
// and reloads when the store holds another change set at the same version.
func (s *Sync) check(ctx context.Context) {
	v, id, err := s.head(ctx)
	if err != nil {
		s.failed(ctx, fmt.Errorf("checking the config version: %w", err))
		return
	}
	s.down.ok(time.Now())
	if v > 0 {
		s.emptySince.Store(0) // a later emptying starts a new grace
	}
	cur := s.Config.Load()
	if cur != nil && v == cur.Version && !s.diverged(v, id) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur = s.Config.Load()
	switch {
	case cur == nil:
		s.reloadLocked(ctx, false)
	case v > cur.Version:
		s.behind.Add(1)
		s.catchUpLocked(ctx)
	case v < cur.Version:
		// Change sets may have arrived since v was read: only a store
		// still behind after the lock went back.
		if v, _, err = s.head(ctx); err != nil {
			s.failed(ctx, fmt.Errorf("checking the config version: %w", err))
		} else if v < cur.Version {
			s.reloadLocked(ctx, false)
		}
	case s.otherHeadLocked(v, id):
		s.divergedLocked(ctx, portico.ChangeSet{Version: v, ID: id})
	}
}

// divergedLocked reloads in full after cs showed that the store holds
// other changes than this node up to its version: the store went back
// and was written again.
func (s *Sync) divergedLocked(ctx context.Context, cs portico.ChangeSet) {
	s.log.Warn("the data store holds other changes than this node at its config version (it went back and was written again); reloading in full",
		"version", s.Config.Load().Version, "change_set", cs.Version)
	s.reloadLocked(ctx, true)
}

// diverged reports whether the store's head at version v is another
// change set than the one this node applied at v.
func (s *Sync) diverged(v int64, id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.otherHeadLocked(v, id)
}

// otherHeadLocked reports whether change set id is known to differ from
// the one this node applied at version v (both IDs known). s.mu must be
// held.
func (s *Sync) otherHeadLocked(v int64, id string) bool {
	return s.headVersion == v && id != "" && s.headID != "" && s.headID != id
}

// receive handles one change set from the feed.
func (s *Sync) receive(ctx context.Context, cs portico.ChangeSet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.applyLocked(cs) {
	case applyGap:
	case applyDiverged:
		s.divergedLocked(ctx, cs)
		return
	default:
		return
	}
	s.gaps.Add(1)
	s.catchUpLocked(ctx)
	if cur := s.Config.Load(); cur != nil && cur.Version < cs.Version {
		// The log did not (yet) hold everything before cs; cs may now be
		// next. If not, the periodic check will catch up.
		s.applyLocked(cs)
	}
}

// catchUp applies what the store holds beyond the current version.
func (s *Sync) catchUp(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.catchUpLocked(ctx)
}

func (s *Sync) catchUpLocked(ctx context.Context) {
	cur := s.Config.Load()
	if cur == nil {
		s.reloadLocked(ctx, false)
		return
	}
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	s.catchUps.Add(1)
	sets, complete, err := s.Feed.ChangesSince(cctx, cur.Version)
	if err != nil {
		s.failed(ctx, fmt.Errorf("catching up on config changes: %w", err))
		return
	}
	if !complete {
		s.log.Info("config change log incomplete, reloading in full", "version", cur.Version)
		s.reloadLocked(ctx, false)
		return
	}
	for _, cs := range sets {
		switch s.applyLocked(cs) {
		case applyGap:
			s.log.Warn("config change log has a gap, reloading in full",
				"version", s.Config.Load().Version, "next", cs.Version)
			s.reloadLocked(ctx, false)
			return
		case applyDiverged:
			s.divergedLocked(ctx, cs)
			return
		}
	}
}

// reloadLocked loads the whole Config from the store and makes it current
// if it is newer, or, when diverged (the store holds other changes at the
// node's version), if it is at least as new. If the store's version went
// back below the node's, an empty store is given this node's Config back
// (see Restorer) and a non-empty one (replaced, or restored from an older
// backup) is taken as the truth: its Config is forced in.
func (s *Sync) reloadLocked(ctx context.Context, diverged bool) {
	lctx, cancel := context.WithTimeout(ctx, loadTimeout)
	defer cancel()
	c, err := s.Store.Load(lctx)
	if err != nil {
		s.failed(ctx, fmt.Errorf("loading the config: %w", err))
		return
	}
	s.fullReloads.Add(1)
	empty := c.Version == 0 && c.Len() == 0
	if !empty {
		s.emptySince.Store(0)
	}
	if s.Config.Set(c, false) {
		s.learnHeadLocked(ctx, c.Version)
		return
	}
	cur := s.Config.Load()
	if diverged && c.Version == cur.Version {
		s.rewinds.Add(1)
		s.Config.Set(c, true)
		s.learnHeadLocked(ctx, c.Version)
		return
	}
	if c.Version >= cur.Version {
		return
	}
	// Older than ours: a concurrent admin write of this node, or a store
	// that went back. Only the store's version tells them apart.
	vctx, vcancel := context.WithTimeout(ctx, callTimeout)
	v, err := s.Feed.Version(vctx)
	vcancel()
	if err != nil {
		s.failed(ctx, fmt.Errorf("checking the config version: %w", err))
		return
	}
	if v >= cur.Version {
		return
	}
	if r, ok := s.Store.(Restorer); ok && v == 0 && empty {
		s.restoreLocked(lctx, r, cur)
		return
	}
	s.log.Warn("the data store's config version went back (store replaced or restored from an older backup); taking the store's config",
		"store_version", c.Version, "node_version", cur.Version)
	s.rewinds.Add(1)
	s.Config.Set(c, true)
	s.learnHeadLocked(ctx, c.Version)
}

// learnHeadLocked records the store's head after a full load at version
// v, if the store is still at v (else it is left unknown until the next
// change set).
func (s *Sync) learnHeadLocked(ctx context.Context, v int64) {
	s.headVersion, s.headID = 0, ""
	if hv, id, err := s.head(ctx); err == nil && hv == v {
		s.headVersion, s.headID = v, id
	}
}

// Restorer is a Store that can be given back a whole Config after it lost
// its data (redisstore.Store is one).
type Restorer interface {
	// Restore writes cfg at its version into the store if the store holds
	// no configuration at all, and reports whether it did.
	Restore(ctx context.Context, cfg *portico.Config) (bool, error)
}

// restoreLocked writes cur back into a store that came back empty (a
// Redis restarted without persistence): the nodes still hold every
// accepted change, so the cluster loses nothing. It waits RestoreGrace
// after it first saw the store empty, then leaves the restore to any node
// listed (up or down: a node that missed a heartbeat still counts) with a
// newer config, or the same version and a lower name. If the store is
// still empty after ten graces, that node failed to restore and this one
// does. The periodic check calls it again every second until the store
// holds a config.
func (s *Sync) restoreLocked(ctx context.Context, r Restorer, cur *portico.Config) {
	now := time.Now()
	since := s.emptySince.Load()
	if since == 0 {
		since = now.UnixNano()
		s.emptySince.Store(since)
		s.log.Warn("the data store is empty but this node holds a config (Redis restarted without persistence?); the node with the newest config will restore it",
			"version", cur.Version)
	}
	grace := s.RestoreGrace
	if grace <= 0 {
		grace = defaultRestoreGrace
	}
	waited := time.Duration(now.UnixNano() - since)
	if waited < grace {
		return
	}
	if s.Members != nil && waited < 10*grace {
		mctx, cancel := context.WithTimeout(ctx, callTimeout)
		nodes, err := s.Members.Nodes(mctx)
		cancel()
		if err != nil {
			s.failed(ctx, fmt.Errorf("listing the nodes before restoring: %w", err))
			return
		}
		for _, n := range nodes {
			if n.Name != s.Node && (n.ConfigVersion > cur.Version || n.ConfigVersion == cur.Version && n.Name < s.Node) {
				return // that node restores
			}
		}
	}
	s.log.Warn("restoring the empty data store from this node", "version", cur.Version, "entities", cur.Len())
	ok, err := r.Restore(ctx, cur)
	if err != nil {
		s.failed(ctx, fmt.Errorf("restoring the config into the empty data store: %w", err))
		return
	}
	if ok {
		s.restores.Add(1)
		s.emptySince.Store(0)
		s.log.Info("restored the data store's config from this node", "version", cur.Version, "entities", cur.Len())
	}
}

type applyResult int

const (
	applyNext     applyResult = iota
	applyOld                  // at or below the current version: skipped
	applyGap                  // above the next version: catch up first
	applyDiverged             // does not follow the change set this node holds at its version
)

// applyLocked applies cs if it is the next version, and remembers its ID
// if it is the node's version (now or already: the node's own admin write
// is Set by the admin API before its change set arrives). A change set
// that shows the store holds other changes than the node — another ID at
// the node's version, or a next version applied on another head — is not
// applied (applyDiverged).
func (s *Sync) applyLocked(cs portico.ChangeSet) applyResult {
	cur := s.Config.Load()
	if cur == nil {
		return applyGap
	}
	switch {
	case s.otherHeadLocked(cur.Version, cs.ID) && cs.Version == cur.Version:
		return applyDiverged
	case cs.Version <= cur.Version:
		s.ignored.Add(1)
		if cs.Version == cur.Version && s.headVersion != cs.Version {
			s.headVersion, s.headID = cs.Version, cs.ID
		}
		return applyOld
	case s.otherHeadLocked(cur.Version, cs.Prev) && cs.Version == cur.Version+1:
		return applyDiverged
	case cs.Version == cur.Version+1:
		if s.Config.Set(cur.With(cs.Version, cs.Changes...), false) {
			s.applied.Add(1)
		} else {
			s.ignored.Add(1) // the admin API set it meanwhile
		}
		s.headVersion, s.headID = cs.Version, cs.ID
		return applyNext
	}
	return applyGap
}

// failed records a failed data store call, unless ctx ended (shutdown).
func (s *Sync) failed(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	s.down.fail(time.Now(), err)
}
