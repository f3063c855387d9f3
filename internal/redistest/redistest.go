// Package redistest starts real redis-server processes for tests, the way
// net/http/httptest starts HTTP servers: each server listens on a free
// loopback port, keeps its files under t.TempDir(), and is stopped when the
// test ends.
//
// A Server can be killed with Stop and started again with Start on the
// same port, for tests of what happens while Redis is down. By default the
// server persists nothing, so a restarted server is empty; a server started
// with Options.AppendOnly keeps its data across Stop and Start.
//
// When redis-server is not installed, Start fails the test with the command
// that installs it: the tests never skip.
package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// StartTimeout bounds how long Start waits for the server to answer PING.
const StartTimeout = 10 * time.Second

// portAttempts is how many times a first start is tried on a fresh port
// when another process took the chosen one between choosing and binding.
const portAttempts = 3

// Options configure a server started by StartWith. The zero value is what
// Start uses: no persistence at all.
type Options struct {
	// AppendOnly turns on the append-only file with an fsync after every
	// write, so that the data survives Stop (even though Stop kills the
	// process) and is there again after Start.
	AppendOnly bool

	// ReplicaOf makes the server a replica of that one; StartWith waits
	// until it has synchronised with it.
	ReplicaOf *Server

	// ClusterEnabled starts the server in Redis Cluster mode, with no
	// slots yet (StartCluster assigns them).
	ClusterEnabled bool

	// sentinel, set by StartSentinel: the server is a Sentinel monitoring
	// the master sentinel.master under sentinel.name.
	sentinel *sentinelOptions
}

type sentinelOptions struct {
	name   string
	master *Server
}

// Server is one redis-server process on 127.0.0.1.
//
// Stop and Start may be called from the test's goroutine only (Start fails
// the test when the server does not come up); Addr, URL and Client may be
// used from any goroutine.
type Server struct {
	// Addr is the server's address, "127.0.0.1:<Port>".
	Addr string
	// Port is the loopback TCP port the server listens on.
	Port int
	// Dir is the server's working directory: its log and, with
	// AppendOnly, its data.
	Dir string

	t    testing.TB
	bin  string
	opts Options

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Start starts a redis-server on a free loopback port and returns it once
// it answers PING. The server is stopped when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith is Start with options.
func StartWith(t testing.TB, opts Options) *Server {
	t.Helper()
	bin := serverBinary(t)
	var lastErr error
	for attempt := 0; attempt < portAttempts; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("redistest: %v", err)
		}
		s := &Server{
			Addr: fmt.Sprintf("127.0.0.1:%d", port),
			Port: port,
			Dir:  t.TempDir(),
			t:    t,
			bin:  bin,
			opts: opts,
		}
		if lastErr = s.launch(); lastErr == nil {
			if lastErr = s.waitReady(); lastErr == nil {
				t.Cleanup(s.Stop)
				if opts.ReplicaOf != nil {
					s.waitInSync(t)
				}
				return s
			}
		}
		s.Stop()
		if !errors.Is(lastErr, errPortTaken) {
			break
		}
	}
	t.Fatalf("redistest: %v", lastErr)
	return nil
}

// StartSentinel starts a Redis Sentinel (redis-server --sentinel) on a free
// loopback port that monitors master under name, with a quorum of 1: it
// declares the master down 500 ms after it stops answering and promotes
// one of its replicas. It is stopped when t ends.
// StartSentinel returns once the Sentinel knows every replica connected
// to master, so that a failover has somewhere to go.
func StartSentinel(t testing.TB, name string, master *Server) *Server {
	t.Helper()
	s := StartWith(t, Options{sentinel: &sentinelOptions{name: name, master: master}})
	ctx := context.Background()
	mc := redis.NewClient(&redis.Options{Addr: master.Addr, MaxRetries: -1, PoolSize: 1})
	defer mc.Close()
	info, err := mc.Info(ctx, "replication").Result()
	if err != nil {
		t.Fatalf("redistest: master of the Sentinel: %v", err)
	}
	want := 0
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "connected_slaves:"); ok {
			want, _ = strconv.Atoi(v)
		}
	}
	sc := redis.NewSentinelClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, PoolSize: 1})
	defer sc.Close()
	deadline := time.Now().Add(StartTimeout)
	for {
		replicas, err := sc.Replicas(ctx, name).Result()
		if err == nil && len(replicas) >= want {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("redistest: Sentinel on port %d knows %d of %d replicas of %s after %v (%v); log tail:\n%s",
				s.Port, len(replicas), want, name, StartTimeout, err, s.LogTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// StartCluster starts n redis-servers (n ≥ 1) in Redis Cluster mode and
// joins them into one cluster, the 16,384 slots split evenly among them as
// masters, and returns once every node reports the cluster ok. They are
// stopped when t ends.
func StartCluster(t testing.TB, n int) []*Server {
	t.Helper()
	ctx := context.Background()
	var nodes []*Server
	for range n {
		nodes = append(nodes, StartWith(t, Options{ClusterEnabled: true}))
	}
	for i, s := range nodes {
		c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, PoolSize: 1})
		from, to := i*16384/n, (i+1)*16384/n-1
		if err := c.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", from, to).Err(); err != nil {
			c.Close()
			t.Fatalf("redistest: slots %d-%d on port %d: %v", from, to, s.Port, err)
		}
		if i > 0 {
			if err := c.Do(ctx, "CLUSTER", "MEET", "127.0.0.1", nodes[0].Port).Err(); err != nil {
				c.Close()
				t.Fatalf("redistest: CLUSTER MEET from port %d: %v", s.Port, err)
			}
		}
		c.Close()
	}
	deadline := time.Now().Add(2 * StartTimeout)
	for _, s := range nodes {
		c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, PoolSize: 1})
		for {
			info, err := c.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d", n)) {
				break
			}
			if time.Now().After(deadline) {
				c.Close()
				t.Fatalf("redistest: Redis Cluster node on port %d not ok after %v: %v\n%s", s.Port, 2*StartTimeout, err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
		c.Close()
	}
	return nodes
}

// ClusterURL returns the URL of Portico's --datastore flag for a Redis
// Cluster made of nodes: redis-cluster://host:port,host:port,…
func ClusterURL(nodes []*Server) string {
	addrs := make([]string, len(nodes))
	for i, s := range nodes {
		addrs[i] = s.Addr
	}
	return "redis-cluster://" + strings.Join(addrs, ",")
}

// SentinelURL returns the URL of Portico's --datastore flag for the
// master that the Sentinel s monitors as name, database 0.
func (s *Server) SentinelURL(name string) string {
	return "redis-sentinel://" + s.Addr + "/" + name + "/0"
}

// Pause stops the server's process (SIGSTOP) without closing its
// connections, as a server that hangs; Resume continues it.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume continues a server stopped by Pause.
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, sig)
	}
}

// Role returns the server's replication role, "master" or "slave", or
// "" when it does not answer.
func (s *Server) Role(ctx context.Context) string {
	c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond, PoolSize: 1})
	defer c.Close()
	v, err := c.Do(ctx, "ROLE").Slice()
	if err != nil || len(v) == 0 {
		return ""
	}
	role, _ := v[0].(string)
	return role
}

// waitInSync waits until the replica s has loaded its master's data.
func (s *Server) waitInSync(t testing.TB) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, PoolSize: 1})
	defer c.Close()
	deadline := time.Now().Add(StartTimeout)
	for time.Now().Before(deadline) {
		info, _ := c.Info(context.Background(), "replication").Result()
		if strings.Contains(info, "master_link_status:up") {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("redistest: replica on port %d not in sync with its master within %v; log tail:\n%s", s.Port, StartTimeout, s.LogTail())
}

// URL returns the server's URL for database 0, "redis://127.0.0.1:<Port>/0",
// the form of Portico's --datastore flag.
func (s *Server) URL() string { return "redis://" + s.Addr + "/0" }

// Client returns a go-redis client of database 0 for assertions. It is
// closed when t ends.
func (s *Server) Client(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	t.Cleanup(func() { c.Close() })
	return c
}

// Start starts the server again after Stop, on the same port (and, with
// AppendOnly, the same data), and waits until it answers PING. It fails
// the test if the server does not come up. Start on a running server does
// nothing.
func (s *Server) Start() {
	s.t.Helper()
	if s.running() {
		return
	}
	// The port was ours a moment ago; a client reconnecting in a tight
	// loop does not hold it, but retry briefly in case the kernel does.
	var err error
	for i := 0; i < 20; i++ {
		if err = s.launch(); err == nil {
			if err = s.waitReady(); err == nil {
				return
			}
		}
		s.Stop()
		if !errors.Is(err, errPortTaken) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("redistest: %v", err)
}

// Stop kills the server (SIGKILL: an outage, not a clean shutdown) and
// waits for it to exit. Connected clients see their connections break.
// Stop on a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd, s.done = nil, nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-done
}

func (s *Server) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil
}

// launch starts the server process.
func (s *Server) launch() error {
	log, err := os.OpenFile(s.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	if s.opts.sentinel != nil {
		return s.launchSentinel(log)
	}
	args := []string{
		"--port", strconv.Itoa(s.Port),
		"--bind", "127.0.0.1",
		"--daemonize", "no",
		"--save", "",
		"--dir", s.Dir,
		"--logfile", "",
	}
	if s.opts.ClusterEnabled {
		args = append(args, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000")
	}
	if m := s.opts.ReplicaOf; m != nil {
		args = append(args, "--replicaof", "127.0.0.1", strconv.Itoa(m.Port))
	}
	if s.opts.AppendOnly {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		args = append(args, "--appendonly", "no")
	}
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.Dir
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = sysProcAttr()
	return s.started(cmd)
}

// started starts cmd as the server's process.
func (s *Server) started(cmd *exec.Cmd) error {
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
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

// launchSentinel starts the server as a Sentinel. Its configuration file
// is written once: Sentinel rewrites it with what it learns (replicas,
// the current master), which a restart keeps.
func (s *Server) launchSentinel(log *os.File) error {
	conf := filepath.Join(s.Dir, "sentinel.conf")
	if _, err := os.Stat(conf); err != nil {
		o := s.opts.sentinel
		text := fmt.Sprintf(`port %d
bind 127.0.0.1
daemonize no
logfile ""
dir %s
sentinel monitor %s 127.0.0.1 %d 1
sentinel down-after-milliseconds %[3]s 500
sentinel failover-timeout %[3]s 5000
sentinel parallel-syncs %[3]s 1
`, s.Port, s.Dir, o.name, o.master.Port)
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			return err
		}
	}
	cmd := exec.Command(s.bin, conf, "--sentinel")
	cmd.Dir = s.Dir
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = sysProcAttr()
	return s.started(cmd)
}

// errPortTaken marks a start that failed because the port was taken.
var errPortTaken = errors.New("port already in use")

// waitReady waits until the server answers PING, fails fast when the
// process exits, and reports the log tail on failure.
func (s *Server) waitReady() error {
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, DialTimeout: time.Second, PoolSize: 1})
	defer c.Close()
	deadline := time.Now().Add(StartTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			tail := s.LogTail()
			err := fmt.Errorf("redis-server on port %d exited during start-up; log tail:\n%s", s.Port, tail)
			if strings.Contains(tail, "Address already in use") {
				err = fmt.Errorf("%w: %w", errPortTaken, err)
			}
			return err
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("redis-server on port %d did not answer PING within %v; log tail:\n%s", s.Port, StartTimeout, s.LogTail())
}

func (s *Server) logPath() string { return filepath.Join(s.Dir, "redis.log") }

// LogTail returns the last lines of the server's log.
func (s *Server) LogTail() string {
	data, err := os.ReadFile(s.logPath())
	if err != nil || len(strings.TrimSpace(string(data))) == 0 {
		return "(no log output)"
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}

// serverBinary finds redis-server and fails the test with the install
// command when there is none.
func serverBinary(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/bin/redis-server", "/usr/local/bin/redis-server", "/usr/sbin/redis-server"} {
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	t.Fatal("redistest: redis-server is not installed; install it with: apt-get install -y redis-server")
	return ""
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
