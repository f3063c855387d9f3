// Package clickhousetest starts real clickhouse-server processes for tests,
// the way net/http/httptest starts HTTP servers: each server gets free
// loopback ports, a generated minimal configuration and its own data
// directory under t.TempDir(), and is stopped when the test ends.
//
// The helper works with Debian's clickhouse-server (18.16) and with current
// ClickHouse releases. When no server binary is installed, Start fails the
// test with the command that installs one: the tests never skip.
//
// A Server can be stopped and started again on the same ports and data,
// for tests of what happens while ClickHouse is down.
package clickhousetest

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
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Timeouts of the server's life cycle.
const (
	// StartTimeout bounds how long Start waits for GET /ping to answer.
	StartTimeout = 30 * time.Second
	// StopTimeout bounds how long Stop waits after SIGTERM before it
	// sends SIGKILL.
	StopTimeout = 15 * time.Second
)

// portAttempts is how many times a first start is tried with fresh ports
// when another process took one of them between choosing and binding.
const portAttempts = 3

// Options configure a server started by StartWith.
type Options struct {
	// Timezone is the server's time zone (an IANA name such as
	// "Asia/Kolkata"). Empty means the machine's time zone.
	Timezone string
}

// Server is one running clickhouse-server process.
//
// Stop and Start may be called from the test's goroutine only (Start
// fails the test when the server does not come up); Query and URL may be
// used from any goroutine.
type Server struct {
	// URL is the base URL of the server's HTTP interface,
	// "http://127.0.0.1:<HTTPPort>".
	URL string
	// HTTPPort, TCPPort and InterserverPort are the loopback ports the
	// server listens on.
	HTTPPort, TCPPort, InterserverPort int
	// Dir holds the configuration, the data and the logs.
	Dir string

	t    testing.TB
	opts Options
	bin  []string // the server command: binary and leading arguments

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Start starts a clickhouse-server on free loopback ports and returns it
// once it answers GET /ping. The server is stopped when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith is Start with options.
func StartWith(t testing.TB, opts Options) *Server {
	t.Helper()
	return startGroup(t, 1, "", opts)[0]
}

// StartCluster starts n servers whose configurations declare the cluster
// clusterName in remote_servers, with one shard per server (in the order
// returned), so that Distributed tables on any of them span all n. All
// servers are stopped when t ends.
func StartCluster(t testing.TB, n int, clusterName string) []*Server {
	t.Helper()
	if n < 1 {
		t.Fatalf("clickhousetest: StartCluster needs at least one server, got %d", n)
	}
	if !clusterNameRE.MatchString(clusterName) {
		t.Fatalf("clickhousetest: bad cluster name %q", clusterName)
	}
	return startGroup(t, n, clusterName, Options{})
}

// clusterNameRE matches the cluster names StartCluster accepts: they
// become an XML element name in remote_servers.
var clusterNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// startGroup starts n servers that know each other as cluster (when
// cluster is not empty). If a server cannot bind a port that was free a
// moment before, the whole group is tried again on fresh ports.
func startGroup(t testing.TB, n int, cluster string, opts Options) []*Server {
	t.Helper()
	bin := serverCommand(t)
	var lastErr error
	for attempt := 0; attempt < portAttempts; attempt++ {
		ports, err := freePorts(3 * n)
		if err != nil {
			t.Fatalf("clickhousetest: %v", err)
		}
		servers := make([]*Server, n)
		for i := range servers {
			s := &Server{
				t:               t,
				opts:            opts,
				bin:             bin,
				HTTPPort:        ports[3*i],
				TCPPort:         ports[3*i+1],
				InterserverPort: ports[3*i+2],
				Dir:             t.TempDir(),
			}
			s.URL = fmt.Sprintf("http://127.0.0.1:%d", s.HTTPPort)
			servers[i] = s
		}
		for _, s := range servers {
			if err := s.writeConfig(cluster, servers); err != nil {
				t.Fatalf("clickhousetest: %v", err)
			}
		}
		lastErr = nil
		for _, s := range servers {
			if err := s.launch(); err != nil {
				lastErr = err
				break
			}
		}
		if lastErr == nil {
			for _, s := range servers {
				if err := s.waitReady(); err != nil {
					lastErr = err
					break
				}
			}
		}
		if lastErr == nil {
			for _, s := range servers {
				t.Cleanup(s.Stop)
			}
			return servers
		}
		for _, s := range servers {
			s.Stop()
		}
		if !errors.Is(lastErr, errPortTaken) {
			break
		}
	}
	t.Fatalf("clickhousetest: %v", lastErr)
	return nil
}

// Addr returns the host:port of the server's HTTP interface.
func (s *Server) Addr() string { return fmt.Sprintf("127.0.0.1:%d", s.HTTPPort) }

// Start starts the server again after Stop, on the same ports and data,
// and waits until it answers GET /ping. It fails the test if the server
// does not come up. Start on a running server does nothing.
func (s *Server) Start() {
	s.t.Helper()
	if s.running() {
		return
	}
	if err := s.launch(); err != nil {
		s.t.Fatalf("clickhousetest: %v", err)
	}
	if err := s.waitReady(); err != nil {
		s.Stop()
		s.t.Fatalf("clickhousetest: %v", err)
	}
}

// Stop stops the server: SIGTERM, then SIGKILL after StopTimeout. It
// keeps the data directory, so that Start brings the same server back.
// Stop on a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd, s.done = nil, nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	pgid := cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(StopTimeout):
		s.t.Logf("clickhousetest: server on port %d ignored SIGTERM for %v, killing it", s.HTTPPort, StopTimeout)
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
	}
	// Anything the server left in its process group goes too.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// Query runs sql on the server through its HTTP interface and returns the
// response body without its trailing newline. It fails the test on any
// error, with the server's message.
func (s *Server) Query(t testing.TB, sql string) string {
	t.Helper()
	body, err := s.query(context.Background(), sql)
	if err != nil {
		t.Fatalf("clickhousetest: %s: %v", sql, err)
	}
	return strings.TrimRight(body, "\n")
}

func (s *Server) query(ctx context.Context, sql string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/", strings.NewReader(sql))
	if err != nil {
		return "", err
	}
	resp, err := helperClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	return string(b), nil
}

func (s *Server) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil
}

// launch starts the server process.
func (s *Server) launch() error {
	out, err := os.OpenFile(filepath.Join(s.Dir, "log", "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	args := append(append([]string(nil), s.bin[1:]...), "--config-file="+filepath.Join(s.Dir, "config.xml"))
	cmd := exec.Command(s.bin[0], args...)
	cmd.Dir = s.Dir
	cmd.Stdout, cmd.Stderr = out, out
	// No watchdog process in front of the server (current releases start
	// one by default): SIGTERM goes straight to the server.
	cmd.Env = append(os.Environ(), "CLICKHOUSE_WATCHDOG_ENABLE=0")
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin[0], err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	return nil
}

// The helper's own requests do not keep connections open: the server
// waits for open connections before it exits.
var (
	helperClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	pingClient   = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Second}
)

// errPortTaken marks a start that failed because a port was taken.
var errPortTaken = errors.New("port already in use")

// waitReady waits until the server answers GET /ping with "Ok.", fails
// fast when the process exits, and reports the log tail on failure.
func (s *Server) waitReady() error {
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	deadline := time.Now().Add(StartTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			tail := s.logTail()
			err := fmt.Errorf("clickhouse-server on port %d exited during start-up; log tail:\n%s", s.HTTPPort, tail)
			if strings.Contains(tail, "Address already in use") {
				err = fmt.Errorf("%w: %w", errPortTaken, err)
			}
			return err
		default:
		}
		resp, err := pingClient.Get(s.URL + "/ping")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.TrimSpace(string(b)) == "Ok." {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("clickhouse-server on port %d did not answer /ping within %v; log tail:\n%s", s.HTTPPort, StartTimeout, s.logTail())
}

// logTail returns the last lines of the server's logs.
func (s *Server) logTail() string {
	var b strings.Builder
	for _, name := range []string{"stdout.log", "clickhouse-server.err.log", "clickhouse-server.log"} {
		data, err := os.ReadFile(filepath.Join(s.Dir, "log", name))
		if err != nil || len(bytes.TrimSpace(data)) == 0 {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > 30 {
			lines = lines[len(lines)-30:]
		}
		fmt.Fprintf(&b, "==> %s <==\n%s\n", name, strings.Join(lines, "\n"))
	}
	if b.Len() == 0 {
		return "(no log output)"
	}
	return b.String()
}

// serverCommand finds the clickhouse-server binary, or the clickhouse
// multi-tool binary with its "server" subcommand, and fails the test with
// the install command when there is neither.
func serverCommand(t testing.TB) []string {
	t.Helper()
	if p, err := exec.LookPath("clickhouse-server"); err == nil {
		return []string{p}
	}
	for _, p := range []string{"/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server"} {
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return []string{p}
		}
	}
	if p, err := exec.LookPath("clickhouse"); err == nil {
		return []string{p, "server"}
	}
	t.Fatal("clickhousetest: clickhouse-server is not installed; install it with: apt-get install -y clickhouse-server")
	return nil
}

// freePorts returns n distinct loopback TCP ports that were free a moment
// ago: all listeners are held open together, so the ports differ.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
