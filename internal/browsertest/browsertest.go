// Package browsertest drives a real headless Chromium from Go tests, the
// way net/http/httptest starts HTTP servers: New starts a browser with its
// own profile under t.TempDir() and stops it when the test ends; NewTab
// opens a tab in a fresh browser context (cookies and storage of its own),
// so that two users can be signed in at once.
//
// Every step of a Tab (Go, Click, WaitText, …) is bounded by Tab.Timeout
// and fails the test with t.Fatalf when it does not finish in time. When a
// test has failed, each of its open tabs saves a full-page screenshot to
// ScreenshotDir() and logs the path. A Tab records the HTTP status of the
// last page it loaded (Status), the console errors of its pages
// (ConsoleErrors) and the Content Security Policy violations the browser
// reported (CSPViolations). CheckLabels and CheckKeyboard are accessibility
// checks of the page a tab shows.
//
// The browser is the Debian package chromium (apt-get install -y chromium);
// nothing here ever downloads a browser. When no Chromium is installed, New
// skips the test, except when the environment variable CI is "true": there
// it fails the test, so that a skipped browser test never counts as a pass.
//
// The browser runs in a process group of its own; its end kills the whole
// group and waits until no process of it is left. On Linux the kernel also
// kills the browser if the test binary dies first.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Timeouts of the browser's life cycle and of each step of a Tab.
const (
	// StartTimeout bounds how long New waits for the browser to answer.
	StartTimeout = 30 * time.Second
	// StopTimeout bounds how long the end of a test waits for every
	// process of the browser to be gone after it killed them.
	StopTimeout = 10 * time.Second
	// DefaultTimeout bounds each step of a Tab whose Timeout is zero.
	DefaultTimeout = 10 * time.Second
)

// Viewport is the size in CSS pixels of the window of every tab, so that
// screenshots and layout do not depend on the machine.
const (
	ViewportWidth  = 1280
	ViewportHeight = 800
)

// Browser is one headless Chromium process and its children. Its methods
// are for the test's goroutine.
type Browser struct {
	// UserDataDir is the browser's profile directory, under t.TempDir().
	UserDataDir string
	// ExecPath is the Chromium binary that runs.
	ExecPath string
	// StartDuration is how long the browser took to start and answer.
	StartDuration time.Duration

	t      testing.TB
	ctx    context.Context // the browser's chromedp context
	cancel []func()        // undone in reverse order by stop
	pgid   int
	output *tailBuffer

	mu    sync.Mutex
	tabs  int // tabs opened so far, to number them
	close sync.Once
}

// New starts a headless Chromium and returns it once it answers. The
// browser and every process it started are killed when t ends.
//
// New skips the test when no Chromium is installed, unless the environment
// variable CI is "true": then it fails the test.
func New(t testing.TB) *Browser {
	t.Helper()
	bin := execPath(t)
	b := &Browser{
		UserDataDir: t.TempDir(), // removed after stop, which is registered later
		ExecPath:    bin,
		t:           t,
		output:      &tailBuffer{max: 16 << 10},
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(b.UserDataDir),
		chromedp.CombinedOutput(b.output),
		chromedp.ModifyCmdFunc(func(cmd *exec.Cmd) { cmd.SysProcAttr = sysProcAttr() }),
	}
	for _, f := range flags() {
		opts = append(opts, chromedp.Flag(f.name, f.value))
	}
	if os.Getuid() == 0 {
		// Chromium refuses to start as root with its sandbox on.
		opts = append(opts, chromedp.NoSandbox)
	}

	root, cancelRoot := context.WithCancel(context.Background())
	alloc, cancelAlloc := chromedp.NewExecAllocator(root, opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	b.ctx = ctx
	b.cancel = []func(){cancelRoot, cancelAlloc, cancelCtx}

	// The first Run starts the browser and binds it to ctx, which must
	// not carry a deadline: a timer kills it instead if it hangs.
	start := time.Now()
	timer := time.AfterFunc(StartTimeout, cancelRoot)
	err := chromedp.Do(ctx)
	timer.Stop()
	b.StartDuration = time.Since(start)
	if c := chromedp.FromContext(ctx); c != nil && c.Browser != nil && c.Browser.Process() != nil {
		b.pgid = c.Browser.Process().Pid // the leader of its own group
	}
	t.Cleanup(b.stop)
	if err != nil {
		b.stop()
		t.Fatalf("browsertest: start %s (within %v): %v; output tail:\n%s", bin, StartTimeout, err, b.output.String())
	}
	return b
}

// stop kills the browser's process group and any process still using its
// profile, waits until they are gone and releases chromedp's resources.
func (b *Browser) stop() {
	b.close.Do(func() {
		left := kill(b.pgid, b.UserDataDir, StopTimeout)
		for i := len(b.cancel) - 1; i >= 0; i-- {
			b.cancel[i]()
		}
		if len(left) > 0 {
			b.t.Errorf("browsertest: processes %v of the browser still run %v after it was killed", left, StopTimeout)
		}
	})
}

// kill sends SIGKILL to the process group pgid (when pgid > 0) and to
// every process that uses dir as its --user-data-dir, and waits until none
// is alive, for up to timeout. It returns those still alive then.
func kill(pgid int, dir string, timeout time.Duration) []int {
	if pgid > 0 {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
	deadline := time.Now().Add(timeout)
	for {
		left := leftovers(pgid, dir)
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		for _, pid := range left {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// flag is one command-line switch of Chromium; a bool true is "--name".
type flag struct {
	name  string
	value any
}

// flags are the switches every browser gets besides its profile and
// sandbox: headless, quiet (no network of its own, no updates, no sync)
// and deterministic (window size, colour profile).
func flags() []flag {
	return []flag{
		{"headless", "new"},
		{"disable-gpu", true},
		{"no-first-run", true},
		{"no-default-browser-check", true},
		{"disable-extensions", true},
		{"disable-background-networking", true},
		{"disable-component-update", true},
		{"disable-sync", true},
		{"metrics-recording-only", true},
		{"disable-breakpad", true},
		{"disable-default-apps", true},
		{"disable-domain-reliability", true},
		{"disable-client-side-phishing-detection", true},
		{"safebrowsing-disable-auto-update", true},
		{"disable-features", "Translate,MediaRouter,OptimizationHints"},
		// /dev/shm is small in containers; Chromium crashes when it fills.
		{"disable-dev-shm-usage", true},
		{"hide-scrollbars", true},
		{"mute-audio", true},
		{"password-store", "basic"},
		{"use-mock-keychain", true},
		{"force-color-profile", "srgb"},
		{"window-size", fmt.Sprintf("%d,%d", ViewportWidth, ViewportHeight)},
	}
}

// execPath finds Chromium on $PATH. Without one it skips the test, or
// fails it when CI is "true".
func execPath(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "browsertest: chromium is not installed; install it with: apt-get install -y chromium"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: a browser test may not skip)")
	}
	t.Skip(msg)
	return ""
}

// tailBuffer keeps the last max bytes written to it: the browser's output,
// shown when it does not start.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s := strings.TrimSpace(string(b.buf)); s != "" {
		return s
	}
	return "(no output)"
}
