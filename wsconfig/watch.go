package wsconfig

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// MaxDebounce bounds how long Watcher holds a change back to take the
// changes arriving with it.
const MaxDebounce = time.Second

// reloadTimeout bounds Watcher.Reload, which runs to its end after ctx
// ended, so that installed files are always followed by their reload.
const reloadTimeout = 30 * time.Second

// Watcher keeps a front end's config in step with the cluster's
// membership: it polls Members, and when the list changed it installs the
// new config (Install: render, check, rename into place) and runs Reload.
//
// Changes arriving together are rendered once: after a change is seen,
// Watcher polls again every Debounce until the list holds still, and
// installs no later than MaxDebounce after the first change. A list with
// no member up is never rendered: it is logged and the last good config
// stays. A check that fails keeps the last good config too; it is logged
// with its reason, and the same list is tried again after RetryInterval.
//
// Set the fields, then call Run once.
type Watcher struct {
	// Server is the front end the config is for. Required.
	Server Server

	// Options are the render's options; Options.Dir is required. Its Time
	// is ignored: each render is stamped with the time of its install.
	Options Options

	// Members returns the current member list. Required. An error is
	// logged once per outage; the last good config stays meanwhile.
	Members func(ctx context.Context) (Members, error)

	// Check tests each candidate. If nil, Check (the server's own test) is
	// used.
	Check Checker

	// Reload, if not nil, is called after an install rewrote a file, to
	// make the front end load it (nginx -s reload, apachectl graceful…).
	// It runs to its end (within 30 s) even when Run's ctx ends meanwhile.
	Reload func(ctx context.Context) error

	// Interval is the time between polls. If zero or negative, 1s is used.
	Interval time.Duration

	// Debounce is how long the list must hold still before it is
	// installed. If zero or negative, 200ms is used; it is at most
	// MaxDebounce.
	Debounce time.Duration

	// RetryInterval is how long after a failed install the same list is
	// tried again. If zero or negative, 30s is used.
	RetryInterval time.Duration

	// Logger receives each install, refusal and failure. If nil, nothing
	// is logged.
	Logger *slog.Logger
}

// Run installs the config for the current list at once, then follows the
// membership until ctx ends, when it returns nil. A check or reload that
// runs when ctx ends is stopped (a check's candidate is not installed).
// It returns an error at once only when a required field is missing.
func (w *Watcher) Run(ctx context.Context) error {
	if w.Members == nil || w.Server == "" || w.Options.Dir == "" {
		return errors.New("wsconfig: Watcher needs Server, Options.Dir and Members")
	}
	log := w.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	interval := w.Interval
	if interval <= 0 {
		interval = time.Second
	}
	debounce := w.Debounce
	if debounce <= 0 {
		debounce = 200 * time.Millisecond
	}
	debounce = min(debounce, MaxDebounce)
	retry := w.RetryInterval
	if retry <= 0 {
		retry = 30 * time.Second
	}

	var (
		seen       string    // key of the list last polled
		firstSeen  time.Time // when the pending change was first seen; zero: none pending
		done       string    // key of the list last installed or refused
		failedAt   time.Time // when installing done failed; zero: it did not
		outage     bool
		first      = true
		lastRefuse string
		owed       bool // files were installed but their reload failed
	)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		next := interval
		m, err := w.poll(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if !outage {
				log.Error("reading the member list; the last good config stays", "err", err)
			}
			outage = true
			timer.Reset(next)
			continue
		}
		if outage {
			log.Info("member list read again")
			outage = false
		}
		now := time.Now()
		k := key(m)
		if k != seen {
			seen = k
			if firstSeen.IsZero() {
				firstSeen = now
			}
			if deadline := firstSeen.Add(MaxDebounce); !first && now.Before(deadline) {
				// Wait for the list to hold still, at most MaxDebounce.
				timer.Reset(min(debounce, deadline.Sub(now)))
				continue
			}
		}
		first = false
		due := k != done || (!failedAt.IsZero() && now.Sub(failedAt) >= retry)
		if !due {
			firstSeen = time.Time{}
			timer.Reset(next)
			continue
		}
		firstSeen, done, failedAt = time.Time{}, k, time.Time{}
		if err := m.Validate(); errors.Is(err, ErrNoMembers) {
			if lastRefuse != k {
				log.Warn("not rendered: no member is up; the last good config stays", "members", len(m.Nodes), "source", m.Source)
			}
			lastRefuse = k
			timer.Reset(next)
			continue
		}
		lastRefuse = ""
		if err := w.apply(ctx, m, now, log, &owed); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			failedAt = now
			if owed {
				log.Error("the config is installed, but its reload failed: the front end still runs the one before", "err", err, "retry_in", retry)
			} else {
				log.Error("config not installed; the last good config stays", "err", err, "retry_in", retry)
			}
		}
		timer.Reset(next)
	}
}

// poll reads the member list, bounded by 10 s.
func (w *Watcher) poll(ctx context.Context) (Members, error) {
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return w.Members(pctx)
}

// apply installs the config for m and reloads the front end if a file
// changed or an earlier reload failed (*owed).
func (w *Watcher) apply(ctx context.Context, m Members, now time.Time, log *slog.Logger, owed *bool) error {
	o := w.Options
	o.Time = now
	c, err := Install(ctx, w.Server, m, o, w.Check)
	if err != nil {
		return err
	}
	if c.Empty() {
		log.Info("config unchanged", "dir", o.Dir)
	} else {
		log.Info("config installed", "dir", o.Dir, "change", c.String())
		*owed = true
	}
	if w.Reload == nil || !*owed {
		*owed = false
		return nil
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reloadTimeout)
	defer cancel()
	if err := w.Reload(rctx); err != nil {
		appendLog(o.Dir, stamp(now)+" reload failed: "+strings.ReplaceAll(err.Error(), "\n", " "))
		return fmt.Errorf("reload after installing the config: %w", err)
	}
	*owed = false
	log.Info("front end reloaded")
	return nil
}

// key identifies a member list for change detection: the cluster and the
// members sorted by name, without the source.
func key(m Members) string {
	var b strings.Builder
	b.WriteString(m.Cluster)
	nodes := slices.Clone(m.Nodes)
	slices.SortFunc(nodes, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	for _, n := range nodes {
		fmt.Fprintf(&b, "\n%q %q %q %q %d %t", n.Name, n.Gateway, n.Admin, n.AJP, n.LBFactor, n.Down)
	}
	return b.String()
}
