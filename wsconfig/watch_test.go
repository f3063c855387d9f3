package wsconfig_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-gw/portico/wsconfig"
)

// source is a member list the test changes while a Watcher polls it.
type source struct {
	mu   sync.Mutex
	m    wsconfig.Members
	err  error
	read atomic.Int64
}

func (s *source) set(m wsconfig.Members) { s.mu.Lock(); s.m = m; s.mu.Unlock() }
func (s *source) fail(err error)         { s.mu.Lock(); s.err = err; s.mu.Unlock() }

func (s *source) members(context.Context) (wsconfig.Members, error) {
	s.read.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m, s.err
}

// logBuffer is a slog destination safe for concurrent use.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *logBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// eventually polls cond every 10 ms until it holds or d passed.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// watcher is a Watcher of a test: fast polls, a switchable checker, a
// counted reload, and its log.
type watcher struct {
	*wsconfig.Watcher
	src       *source
	log       *logBuffer
	reloads   atomic.Int64
	refuse    atomic.Bool
	reloadErr atomic.Bool
	stop      func()
}

func startWatcher(t *testing.T, m wsconfig.Members, debounce time.Duration) *watcher {
	t.Helper()
	w := &watcher{src: &source{m: m}, log: &logBuffer{}}
	w.Watcher = &wsconfig.Watcher{
		Server:  wsconfig.Nginx,
		Options: wsconfig.Options{Dir: t.TempDir()},
		Members: w.src.members,
		Check: func(ctx context.Context, s wsconfig.Server, dir string) error {
			if w.refuse.Load() {
				return errors.New("the test refuses this one")
			}
			return nil
		},
		Reload: func(context.Context) error {
			w.reloads.Add(1)
			if w.reloadErr.Load() {
				return errors.New("reload failed in the test")
			}
			return nil
		},
		Interval:      10 * time.Millisecond,
		Debounce:      debounce,
		RetryInterval: 100 * time.Millisecond,
		Logger:        slog.New(slog.NewTextHandler(w.log, nil)),
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	w.stop = func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not return within 5s of its ctx ending")
		}
	}
	t.Cleanup(w.stop)
	return w
}

func (w *watcher) config(t *testing.T) string {
	data, _ := os.ReadFile(filepath.Join(w.Options.Dir, "portico.conf"))
	return string(data)
}

func withNode(m wsconfig.Members, n wsconfig.Member) wsconfig.Members {
	m.Nodes = append(append([]wsconfig.Member(nil), m.Nodes...), n)
	return m
}

func TestWatcherFollowsChanges(t *testing.T) {
	w := startWatcher(t, threeNodes(), 50*time.Millisecond)
	eventually(t, 5*time.Second, "first install and reload", func() bool { return w.reloads.Load() == 1 })
	if !strings.Contains(w.config(t), "server 10.0.0.1:8080 weight=1;") {
		t.Fatalf("first config:\n%s", w.config(t))
	}

	start := time.Now()
	w.src.set(withNode(threeNodes(), wsconfig.Member{Name: "web4:8080", Gateway: "10.0.0.4:8080", LBFactor: 3}))
	eventually(t, 5*time.Second, "the new node in the config", func() bool {
		return strings.Contains(w.config(t), "server 10.0.0.4:8080 weight=3;")
	})
	t.Logf("a change installed %v after it was made", time.Since(start).Round(time.Millisecond))
	eventually(t, time.Second, "second reload", func() bool { return w.reloads.Load() == 2 })

	// Polls that find the same list install nothing more.
	n := w.src.read.Load()
	eventually(t, 5*time.Second, "more polls", func() bool { return w.src.read.Load() > n+10 })
	if r := w.reloads.Load(); r != 2 {
		t.Errorf("%d reloads for two lists", r)
	}
}

// TestWatcherDebounces: changes that arrive together are installed once,
// as the last of them, within MaxDebounce.
func TestWatcherDebounces(t *testing.T) {
	w := startWatcher(t, threeNodes(), 300*time.Millisecond)
	eventually(t, 5*time.Second, "first install", func() bool { return w.reloads.Load() == 1 })
	m := threeNodes()
	start := time.Now()
	for i := range 3 { // three changes 50 ms apart
		m = withNode(m, wsconfig.Member{Name: "new" + string(rune('a'+i)), Gateway: "10.0.1." + string(rune('1'+i)) + ":8080"})
		w.src.set(m)
		time.Sleep(50 * time.Millisecond)
	}
	eventually(t, 5*time.Second, "the burst installed", func() bool { return w.reloads.Load() >= 2 })
	took := time.Since(start)
	time.Sleep(400 * time.Millisecond) // more than a debounce: no second install comes
	if r := w.reloads.Load(); r != 2 {
		t.Errorf("%d installs after a burst of 3 changes, want 1", r-1)
	}
	if !strings.Contains(w.config(t), "10.0.1.3:8080") {
		t.Errorf("the last list of the burst is not installed:\n%s", w.config(t))
	}
	if took > wsconfig.MaxDebounce+500*time.Millisecond {
		t.Errorf("the burst took %v to install", took)
	}

	// A list that keeps changing is installed within MaxDebounce anyway.
	stop := time.Now().Add(2 * wsconfig.MaxDebounce)
	start = time.Now()
	for i := 0; time.Now().Before(stop) && w.reloads.Load() == 2; i++ {
		m.Nodes = slices.Clone(m.Nodes) // the Watcher may be reading the last one
		m.Nodes[0].LBFactor = 2 + i     // never the installed 1 again
		w.src.set(m)
		time.Sleep(20 * time.Millisecond)
	}
	if w.reloads.Load() == 2 {
		t.Fatalf("a list changing every 20 ms was not installed within %v:\n%s", 2*wsconfig.MaxDebounce, w.log)
	}
	t.Logf("a list changing every 20 ms installed after %v", time.Since(start).Round(time.Millisecond))
}

// TestWatcherKeepsLastGood: an empty list, a list with no member up, a
// refused check and a failing source keep the last good config; the
// refused list is tried again; a failed reload is done again.
func TestWatcherKeepsLastGood(t *testing.T) {
	w := startWatcher(t, threeNodes(), 20*time.Millisecond)
	eventually(t, 5*time.Second, "first install", func() bool { return w.reloads.Load() == 1 })
	good := w.config(t)

	w.src.set(wsconfig.Members{Cluster: "default", Source: "test"})
	eventually(t, 5*time.Second, "the empty list logged", func() bool { return strings.Contains(w.log.String(), "not rendered: no member is up") })
	down := threeNodes()
	for i := range down.Nodes {
		down.Nodes[i].Down = true
	}
	w.src.set(down)
	eventually(t, 5*time.Second, "the all-down list logged", func() bool { return strings.Count(w.log.String(), "not rendered: no member is up") == 2 })

	w.src.fail(errors.New("data store unreachable"))
	eventually(t, 5*time.Second, "the outage logged", func() bool { return strings.Contains(w.log.String(), "data store unreachable") })
	w.src.fail(nil)

	w.refuse.Store(true)
	w.src.set(withNode(threeNodes(), wsconfig.Member{Name: "web4:8080", Gateway: "10.0.0.4:8080"}))
	eventually(t, 5*time.Second, "the refusal logged", func() bool { return strings.Contains(w.log.String(), "the test refuses this one") })
	if w.config(t) != good || w.reloads.Load() != 1 {
		t.Fatal("the config changed or was reloaded while nothing good came")
	}
	if n := strings.Count(w.log.String(), "reading the member list"); n != 1 {
		t.Errorf("one outage logged %d times", n)
	}

	// Retried after RetryInterval: the check passes now, but the reload
	// fails, and is done again at the next retry.
	w.reloadErr.Store(true)
	w.refuse.Store(false)
	eventually(t, 5*time.Second, "the retried list installed", func() bool { return strings.Contains(w.config(t), "10.0.0.4:8080") })
	eventually(t, 5*time.Second, "the failed reload logged", func() bool { return strings.Contains(w.log.String(), "reload failed in the test") })
	w.reloadErr.Store(false)
	eventually(t, 5*time.Second, "the reload done again", func() bool { return strings.Contains(w.log.String(), "front end reloaded") && w.reloads.Load() >= 3 })
}

func TestWatcherNeedsFields(t *testing.T) {
	if err := (&wsconfig.Watcher{Server: wsconfig.Nginx}).Run(context.Background()); err == nil {
		t.Error("Run without Members and Dir started")
	}
}
