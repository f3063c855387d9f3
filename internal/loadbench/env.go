package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// env is what the targets share: the temp dir, the backend and the child
// processes, which close stops.
type env struct {
	opts   options
	dir    string // temp dir: configs, logs, data
	stderr io.Writer

	loadAvg    string // at the start
	backend    *proc
	backendURL string // http://127.0.0.1:PORT
	porticoBin string // built by the first Portico target that needs it

	mu    sync.Mutex
	procs []*proc
}

func newEnv(o options, stderr io.Writer) (*env, error) {
	dir, err := os.MkdirTemp("", "portico-bench-")
	if err != nil {
		return nil, err
	}
	// nginx workers run as an unprivileged user when nginx starts as root;
	// let them traverse to their temp paths.
	if err := os.Chmod(dir, 0o711); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	load := strings.Fields(readFile("/proc/loadavg"))
	load = load[:min(3, len(load))]
	return &env{opts: o, dir: dir, stderr: stderr, loadAvg: strings.Join(load, " ")}, nil
}

func (e *env) logf(format string, args ...any) {
	fmt.Fprintf(e.stderr, "loadbench: "+format+"\n", args...)
}

// close stops every child process still running and removes the temp dir
// unless -keep.
func (e *env) close() error {
	e.mu.Lock()
	ps := e.procs
	e.procs = nil
	e.mu.Unlock()
	var errs []error
	for i := len(ps) - 1; i >= 0; i-- {
		if err := ps[i].stop(syscall.SIGTERM, 5*time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	if e.opts.keep {
		e.logf("kept %s", e.dir)
	} else if err := os.RemoveAll(e.dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// checkTools reports a missing wrk, or a missing nginx, redis-server or
// Apache when a target needs one, before anything starts.
func checkTools(ts []*target) error {
	if _, err := exec.LookPath("wrk"); err != nil {
		return fmt.Errorf("wrk not found in PATH (Debian: apt-get install -y wrk): %w", err)
	}
	for _, t := range ts {
		if t.name != "nginx" && t.name != "portico-cluster" && t.name != "nginx-portico" {
			continue
		}
		if _, err := exec.LookPath("nginx"); err != nil {
			return fmt.Errorf("nginx not found in PATH, needed by %s (Debian: apt-get install -y nginx; or choose other -targets): %w", t.name, err)
		}
	}
	for _, t := range ts {
		if !strings.HasPrefix(t.name, "apache-") {
			continue
		}
		if _, err := apacheBinary(); err != nil {
			return fmt.Errorf("Apache needed by %s: %w; or choose other -targets", t.name, err)
		}
	}
	for _, t := range ts {
		if t.name != "portico-cluster" {
			continue
		}
		if _, err := exec.LookPath("redis-server"); err != nil {
			return fmt.Errorf("redis-server not found in PATH, needed by %s (Debian: apt-get install -y redis-server; or choose other -targets): %w", t.name, err)
		}
	}
	return nil
}

// A proc is a child process. Its output goes to a log file in the temp dir.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string // path of the log file

	done chan struct{} // closed when the process has exited
	err  error         // of Wait; read after done

	stopOnce sync.Once
	stopErr  error
}

// start starts cmd as a child named name (its log file is dir/name.log).
// The child gets a process group of its own, so that a ctrl-C in the
// terminal reaches only this program, which then stops its children in
// order; and it is sent SIGTERM if this program dies without doing so.
func (e *env) start(name string, cmd *exec.Cmd) (*proc, error) {
	logPath := filepath.Join(e.dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	e.mu.Lock()
	e.procs = append(e.procs, p)
	e.mu.Unlock()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends sig, waits up to grace for the process to exit, then kills its
// whole process group. It is safe to call more than once.
func (p *proc) stop(sig syscall.Signal, grace time.Duration) error {
	p.stopOnce.Do(func() {
		if p.exited() {
			return
		}
		_ = p.cmd.Process.Signal(sig)
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-p.done:
		case <-t.C:
			_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
			<-p.done
			p.stopErr = fmt.Errorf("%s did not stop within %s of %s; killed", p.name, grace, sig)
		}
		// Workers left behind by a master that exited (nginx).
		_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
	})
	return p.stopErr
}

// checkAlive returns an error describing a child process that has died;
// none may while the benchmark runs.
func (e *env) checkAlive() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range e.procs {
		if p.exited() {
			return errors.New(p.failure())
		}
	}
	return nil
}

// failure describes a process that has died: its exit status and the end
// of its log.
func (p *proc) failure() string {
	return fmt.Sprintf("%s exited (%v); last lines of %s:\n%s", p.name, p.err, p.log, tail(p.log, 20))
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "  (" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  | " + strings.Join(lines, "\n  | ")
}

// freePort returns a loopback address with a port that was free a moment
// ago.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// waitReady polls url until check accepts a response, p exits, ctx ends or
// timeout passes.
func waitReady(ctx context.Context, p *proc, url string, header http.Header, timeout time.Duration, check func(*http.Response, []byte) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		req.Header = header.Clone()
		resp, err := client.Do(req)
		if err == nil {
			body, rerr := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			if err = rerr; err == nil {
				if err = check(resp, body); err == nil {
					return nil
				}
			}
		}
		last = err
		if p != nil && p.exited() {
			return errors.New(p.failure())
		}
		select {
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded {
				return fmt.Errorf("%s not ready after %s: %v", url, timeout, last)
			}
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// status200 accepts a 200 response, and a body equal to want unless want
// is nil.
func status200(want []byte) func(*http.Response, []byte) error {
	return func(resp *http.Response, body []byte) error {
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %s, body %q", resp.Status, clip(body, 500))
		}
		if want != nil && !bytes.Equal(body, want) {
			return fmt.Errorf("body %q, want %q", clip(body, 500), want)
		}
		return nil
	}
}

// checkRequest sends one request of method to url with headers ("Name:
// value" lines, as wrk's -H) and body (nil: none) and returns what check
// says of the response.
func checkRequest(ctx context.Context, method, url string, headers []string, body []byte, check func(*http.Response, []byte) error) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return err
	}
	req.Header = headerOf(headers)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err == nil {
		err = check(resp, got)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	return nil
}

// headerOf returns the header of lines "Name: value", as wrk's -H takes
// them; a line without a colon is left out.
func headerOf(lines []string) http.Header {
	h := http.Header{}
	for _, l := range lines {
		if name, value, ok := strings.Cut(l, ":"); ok {
			h.Add(strings.TrimSpace(name), strings.TrimSpace(value))
		}
	}
	return h
}

func clip(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// startBackend starts this program again in backend mode on a free port
// and waits until it answers.
func (e *env) startBackend(ctx context.Context) error {
	p, base, err := e.startSelf(ctx, "backend", backendMode)
	if err != nil {
		return err
	}
	e.backend, e.backendURL = p, base
	return nil
}

// startSelf starts this program again as a child named name, in a hidden
// mode: `loadbench MODE ADDR ARGS…` with ADDR a free loopback port, and
// waits until GET /hello there answers 200 with backendBody. It returns
// the process and http://ADDR.
func (e *env) startSelf(ctx context.Context, name, mode string, args ...string) (*proc, string, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	addr, err := freePort()
	if err != nil {
		return nil, "", err
	}
	p, err := e.start(name, exec.Command(self, append([]string{mode, addr}, args...)...))
	if err != nil {
		return nil, "", err
	}
	base := "http://" + addr
	return p, base, waitReady(ctx, p, base+"/hello", nil, 10*time.Second, status200(backendBody))
}

// processTree returns pid and its descendants, from /proc.
func processTree(pid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return []int{pid}
	}
	children := map[int][]int{}
	for _, de := range ents {
		c, err := strconv.Atoi(de.Name())
		if err != nil {
			continue
		}
		st, err := readStat(c)
		if err != nil {
			continue
		}
		children[st.ppid] = append(children[st.ppid], c)
	}
	out := []int{pid}
	for i := 0; i < len(out) && i < 10000; i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}
