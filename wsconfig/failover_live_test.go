//go:build linux

package wsconfig

// Failover under load: three built Portico nodes on one Redis behind
// nginx, HAProxy and Apache mod_proxy_balancer, each front end kept in
// step by `portico wsconfig --watch --reload …` running as a child
// process, while clients send a steady stream of GETs through every front
// end. A node killed with -9, a node started later and a node stopped
// with SIGTERM must cost no client an error (but for Apache's requests in
// flight on the killed node: see apacheInFlight), and the configs must
// follow the membership within failoverBound.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const (
	// failoverRate is the steady load through each front end, in GETs per
	// second, sent by failoverClients clients with kept-alive connections.
	failoverRate    = 250
	failoverClients = 16
	// failoverBound is how long after a node died, or was started, the
	// rendered config may take to follow. A killed node is listed down
	// two thirds of redisstore.DefaultNodeExpiry (3 s) after its last
	// heartbeat (cluster.Heartbeat.Interval, 1 s), so 1 to 2 s after the
	// kill, and leaves the list 1 s later. The watcher sees the down
	// within its --interval (500 ms by default), installs it after the
	// debounce (200 ms) and a check, polls again an interval later, sees
	// the node gone and installs that after the debounce and a check: at
	// worst 2 + 0.5 + 0.2 + 0.5 + 0.2 s plus two checks, about 3.6 s
	// (4.6 s with --interval 1s, when 3.0 to 4.2 s were measured). A new
	// node is in the config within about 1 s of its start.
	failoverBound = 5 * time.Second
	// failoverSlow is how long the backend takes to answer GET
	// /slow/wait…: requests that keep a node draining after SIGTERM.
	failoverSlow = time.Second
	// failoverMaxTime bounds the whole load, failoverMaxRequests its count.
	failoverMaxTime     = 70 * time.Second
	failoverMaxRequests = failoverRate * 70
)

// failoverFront is one front end: the real server on a config that
// portico wsconfig --watch keeps in step, and the load through it.
type failoverFront struct {
	s      Server
	listen string
	file   string // the rendered config that names the gateways
	load   *failoverLoad
}

// failoverLoad sends GETs to base at failoverRate until stopped; it
// counts the answers by the request id prefix of the node that made them
// and keeps every failure.
type failoverLoad struct {
	base  string
	start time.Time
	stop  atomic.Bool
	seq   atomic.Int64
	wg    sync.WaitGroup

	mu       sync.Mutex
	sent     int
	byPrefix map[string]int
	first    map[string]time.Time // of the first answer by each prefix
	failures []failoverFailure
}

// failoverFailure is one request that failed: a transport error or an
// answer other than 2xx "ok".
type failoverFailure struct {
	i          int64
	sent, done time.Time
	status     int // 0 for a transport error
	msg        string
}

func (f failoverFailure) String() string {
	return fmt.Sprintf("request %d at %s: %s", f.i, f.done.Format("15:04:05.000"), f.msg)
}

func startFailoverLoad(base string) *failoverLoad {
	l := &failoverLoad{base: base, start: time.Now(), byPrefix: map[string]int{}, first: map[string]time.Time{}}
	tr := &http.Transport{MaxIdleConnsPerHost: failoverClients}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	period := time.Second / failoverRate
	for range failoverClients {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for !l.stop.Load() {
				i := l.seq.Add(1) - 1
				at := l.start.Add(time.Duration(i) * period)
				if i >= failoverMaxRequests || time.Since(l.start) > failoverMaxTime {
					return
				}
				time.Sleep(time.Until(at))
				l.get(client, fmt.Sprintf("/split/f%d", i), i)
			}
		}()
	}
	return l
}

// get sends GET path and records its answer as request i.
func (l *failoverLoad) get(client *http.Client, path string, i int64) {
	sent := time.Now()
	resp, err := client.Get(l.base + path)
	var fail, prefix string
	status := 0
	if err != nil {
		fail = err.Error()
	} else {
		status = resp.StatusCode
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		prefix = requestIDPrefix(resp.Header.Get("X-Request-Id"))
		if resp.StatusCode/100 != 2 || string(body) != "ok" {
			fail = fmt.Sprintf("status %d %q", resp.StatusCode, body)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent++
	if fail != "" {
		l.failures = append(l.failures, failoverFailure{i: i, sent: sent, done: time.Now(), status: status, msg: fail})
		return
	}
	l.byPrefix[prefix]++
	if _, ok := l.first[prefix]; !ok {
		l.first[prefix] = time.Now()
	}
}

// answered returns how many requests the node with the prefix answered.
func (l *failoverLoad) answered(prefix string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.byPrefix[prefix]
}

// firstAnswer returns when the node with the prefix first answered, or
// the zero time.
func (l *failoverLoad) firstAnswer(prefix string) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.first[prefix]
}

// end stops the load, waits for the requests in flight and returns the
// count sent, the rate and the failures.
func (l *failoverLoad) end() (sent int, rate float64, failures []failoverFailure) {
	l.stop.Store(true)
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sent, float64(l.sent) / time.Since(l.start).Seconds(), l.failures
}

// publishSlow publishes an open API at /slow in front of a backend that
// answers "ok", after failoverSlow for a path with "/wait", and waits
// until every node serves it.
func publishSlow(t *testing.T, c *splitCluster) {
	t.Helper()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/wait") {
			time.Sleep(failoverSlow)
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(backend.Close)
	c.publishOpen(t, "slow", backend.URL)
}

// childPID returns the pid of the test's child `portico serve` with the
// node name: startSplitCluster keeps no handle on its processes.
func childPID(t *testing.T, name string) int {
	t.Helper()
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		stat, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) < 2 || fields[1] != strconv.Itoa(os.Getpid()) {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join(d, "cmdline"))
		if bytes.Contains(cmdline, []byte("\x00--node-name\x00"+name+"\x00")) {
			pid, _ := strconv.Atoi(filepath.Base(d))
			return pid
		}
	}
	t.Fatalf("no child process of the test is node %s", name)
	return 0
}

// exited reports whether the child pid has ended (a zombie until its
// cleanup waits for it) or is gone.
func exited(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	return len(fields) == 0 || fields[0] == "Z" || fields[0] == "X"
}

// startNode starts one more `portico serve` on c's data store (how
// startSplitCluster starts its nodes too); it is killed when t ends.
func (c *splitCluster) startNode(t *testing.T, name string, lbFactor int) *splitNode {
	t.Helper()
	n := &splitNode{name: name, lbFactor: lbFactor, gateway: splitFreeAddr(t), admin: splitFreeAddr(t),
		ajp: splitFreeAddr(t), logs: &splitLog{}}
	cmd := exec.Command(c.bin, "serve", "--datastore", c.datastore, "--node-name", n.name, "--lb-factor", fmt.Sprint(lbFactor),
		"--gateway-addr", n.gateway, "--admin-addr", n.admin, "--ajp-addr", n.ajp, "--data-dir", t.TempDir(),
		"--analytics", "none", "--log-level", "warn")
	cmd.Env = append(os.Environ(), "PORTICO_ADMIN_PASSWORD="+splitAdminPassword, "PORTICO_AJP_SECRET="+splitAJPSecret)
	cmd.Stdout, cmd.Stderr = n.logs, n.logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("node %s log (end):\n%s", n.name, n.logs.String())
		}
	})
	c.nodes = append(c.nodes, n)
	return n
}

// startReloadable runs the real server s on the config in dir, as the
// test's own process but with its master process (nginx, Apache) or in
// master-worker mode (HAProxy), so that a reload is the graceful one of
// production. It returns the shell command that reloads it, once it
// answers on listen. It skips t when the server is not installed.
func startReloadable(t *testing.T, s Server, dir, listen string) string {
	t.Helper()
	tmp := splitDir(t)
	var bin, reload string
	var args []string
	var err error
	switch s {
	case Nginx:
		if bin, err = findBinary("nginx", "apt-get install -y nginx", "nginx"); err != nil {
			t.Skip(err)
		}
		if args, err = nginxMain(tmp, filepath.Join(dir, FileNames(s)[0])); err == nil {
			err = splitPrepend(args[len(args)-1], "daemon off;\n")
			args = args[2:] // without -t -q
			reload = fmt.Sprintf("%q -s reload %s", bin, strings.Join(quoteAll(args), " "))
		}
	case HAProxy:
		if bin, err = findBinary("HAProxy", "apt-get install -y haproxy", "haproxy"); err != nil {
			t.Skip(err)
		}
		args, err = haproxyMain(tmp, filepath.Join(dir, FileNames(s)[0]))
		args = append([]string{"-W", "-db"}, args[1:]...) // master-worker, in the foreground
	case Apache:
		if bin, err = findBinary("Apache", "apt-get install -y apache2", "apache2", "httpd"); err != nil {
			t.Skip(err)
		}
		if args, err = apacheMain(context.Background(), bin, tmp, s, dir); err != nil && strings.Contains(err.Error(), "not installed") {
			t.Skip(err)
		}
		if err == nil && os.Geteuid() == 0 {
			err = splitPrepend(args[len(args)-1], "User #65534\nGroup #65534\n")
		}
		args = args[1:] // without -t
		reload = fmt.Sprintf("%q %s -k graceful", bin, strings.Join(quoteAll(args), " "))
		args = append([]string{"-D", "FOREGROUND"}, args...)
	default:
		t.Fatalf("no reloadable server for %s", s)
	}
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = tmp
	out := &splitLog{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if s == HAProxy {
		// The master re-executes itself on SIGUSR2, reading the files
		// again; the old worker finishes its requests (as -sf).
		reload = fmt.Sprintf("kill -USR2 %d", cmd.Process.Pid)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(tmp, "error.log")); err == nil {
				t.Logf("%s error.log (end):\n%s", s, b[max(0, len(b)-4000):])
			}
			t.Logf("%s output:\n%s", s, out.String())
		}
	})
	splitWait(t, string(s)+" listening on "+listen, 15*time.Second, func() bool {
		select {
		case <-done:
			t.Fatalf("%s %s exited:\n%s", bin, strings.Join(args, " "), out.String())
		default:
		}
		resp, err := http.Get("http://" + listen + "/split/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return reload
}

func quoteAll(args []string) []string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = strconv.Quote(a)
	}
	return q
}

// watch runs portico wsconfig --watch for s into dir with the reload
// command, until t ends (SIGTERM, as systemd stops it).
func (c *splitCluster) watch(t *testing.T, s Server, dir, listen, reload string) {
	t.Helper()
	logs := &splitLog{}
	cmd := exec.Command(c.bin, "wsconfig", "--ws", string(s), "--datastore", c.datastore, "--out", dir, "--listen", listen,
		"--watch", "--reload", reload)
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("portico wsconfig --watch --ws %s after SIGTERM: %v", s, err)
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Errorf("portico wsconfig --watch --ws %s still runs 10 s after SIGTERM", s)
		}
		if t.Failed() {
			t.Logf("portico wsconfig --watch --ws %s log:\n%s", s, logs.String())
		}
	})
}

// inConfig reports whether the front end's config routes traffic to the
// gateway: a line that is not a comment names it and does not mark it
// down.
func (f *failoverFront) inConfig(gateway string) bool {
	return f.lineWith(gateway, func(line string) bool {
		return !strings.Contains(line, " down") && !strings.Contains(line, " disabled") && !strings.Contains(line, "status=+D")
	})
}

// named reports whether a line of the front end's config that is not a
// comment names the gateway (also marked down).
func (f *failoverFront) named(gateway string) bool {
	return f.lineWith(gateway, func(string) bool { return true })
}

func (f *failoverFront) lineWith(gateway string, ok func(line string) bool) bool {
	data, err := os.ReadFile(f.file)
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if l := strings.TrimSpace(line); !strings.HasPrefix(l, "#") && addrIn(l, gateway) && ok(l) {
			return true
		}
	}
	return false
}

// addrIn reports whether line names addr: nginx and HAProxy write it
// between spaces, Apache after http://.
func addrIn(line, addr string) bool {
	return strings.Contains(line, " "+addr+" ") || strings.Contains(line, "//"+addr+`"`)
}

// measure polls every condition every 20 ms from since, for at most 15 s,
// and returns how long after since each first held, or -1.
func measure(since time.Time, conds ...func() bool) []time.Duration {
	took := make([]time.Duration, len(conds))
	left := len(conds)
	for i := range took {
		took[i] = -1
	}
	for left > 0 && time.Since(since) < 15*time.Second {
		for i, cond := range conds {
			if took[i] < 0 && cond() {
				took[i] = time.Since(since)
				left--
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return took
}

// TestLiveFailover: under a steady load of GETs through nginx, HAProxy
// and (when installed) Apache mod_proxy_balancer, each configured by
// portico wsconfig --watch,
//
//   - a node killed with -9 costs no client an error (the front end sends
//     the GET to the next node) and is gone from every config within
//     failoverBound;
//   - a node started later is in every config and answers requests
//     through every front end within failoverBound of its start;
//   - a node stopped with SIGTERM while slow requests are in flight (it
//     drains: its gateway stops accepting, its /healthz answers 503, it
//     answers the requests it has, then leaves the member list) costs no
//     client an error either.
func TestLiveFailover(t *testing.T) {
	servers := []Server{Nginx, HAProxy}
	for _, s := range servers {
		if _, err := findBinary(string(s), "apt-get install -y nginx haproxy", string(s)); err != nil {
			t.Skip(err)
		}
	}
	if _, err := findBinary("Apache", "", "apache2", "httpd"); err == nil && apacheModuleInstalled("mod_proxy_balancer.so") {
		servers = append(servers, Apache)
	} else {
		t.Log("Apache with mod_proxy_balancer is not installed (apt-get install -y apache2): nginx and HAProxy only")
	}
	c := startSplitCluster(t)
	publishSlow(t, c)
	var fronts []*failoverFront
	for _, s := range servers {
		f := &failoverFront{s: s, listen: splitFreeAddr(t)}
		dir := c.render(t, s, f.listen)
		f.file = filepath.Join(dir, FileNames(s)[0])
		reload := startReloadable(t, s, dir, f.listen)
		c.watch(t, s, dir, f.listen, reload)
		fronts = append(fronts, f)
	}
	for _, f := range fronts {
		f.load = startFailoverLoad("http://" + f.listen)
	}
	t.Cleanup(func() {
		for _, f := range fronts {
			f.load.end()
		}
	})
	time.Sleep(time.Second) // the load runs on every node first

	// kill -9 n1.
	killed := c.nodes[0]
	pid := childPID(t, killed.name)
	kill := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var conds []func() bool
	for _, f := range fronts {
		conds = append(conds, func() bool { return !f.inConfig(killed.gateway) }, func() bool { return !f.named(killed.gateway) })
	}
	took := measure(kill, conds...)
	for i, f := range fronts {
		out, gone := took[2*i], took[2*i+1]
		t.Logf("%s: killed node %s out of rotation after %v, gone from the config after %v", f.s, killed.name, out.Round(time.Millisecond), gone.Round(time.Millisecond))
		if gone < 0 || gone > failoverBound {
			t.Errorf("%s: the killed node left the config after %v, want within %v", f.s, gone, failoverBound)
		}
	}

	// A fourth node.
	start := time.Now()
	added := c.startNode(t, "n4", 1)
	conds = nil
	for _, f := range fronts {
		conds = append(conds, func() bool { return f.inConfig(added.gateway) })
	}
	for i, in := range measure(start, conds...) {
		t.Logf("%s: new node %s in the config %v after its start", fronts[i].s, added.name, in.Round(time.Millisecond))
		if in < 0 || in > failoverBound {
			t.Errorf("%s: the new node entered the config after %v, want within %v", fronts[i].s, in, failoverBound)
		}
	}
	splitWait(t, "n4's gateway", 10*time.Second, func() bool {
		resp, err := http.Get("http://" + added.gateway + "/split/hello")
		if err != nil {
			return false
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		added.prefix = requestIDPrefix(resp.Header.Get("X-Request-Id"))
		return resp.StatusCode == 200 && added.prefix != ""
	})
	for _, f := range fronts {
		splitWait(t, added.name+"'s first answer through "+string(f.s), 15*time.Second, func() bool { return !f.load.firstAnswer(added.prefix).IsZero() })
		took := f.load.firstAnswer(added.prefix).Sub(start)
		t.Logf("%s: new node %s answered its first request through the front end %v after its start", f.s, added.name, took.Round(time.Millisecond))
		if took > failoverBound {
			t.Errorf("%s: the new node took traffic after %v, want within %v", f.s, took, failoverBound)
		}
	}

	// SIGTERM n3, the node with lb factor 2, while slow requests are in
	// flight on every node: n3 drains until its own have been answered.
	stopped := c.nodes[2]
	pid = childPID(t, stopped.name)
	var slow sync.WaitGroup
	for _, f := range fronts {
		client := &http.Client{Timeout: 10 * time.Second}
		for i := range failoverClients {
			slow.Add(1)
			go func() {
				defer slow.Done()
				f.load.get(client, fmt.Sprintf("/slow/wait%d", i), -1-int64(i))
			}()
		}
	}
	time.Sleep(failoverSlow / 3) // the slow requests reach the nodes
	term := time.Now()
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	splitWait(t, stopped.name+"'s exit after SIGTERM", 15*time.Second, func() bool { return exited(pid) })
	drained := time.Since(term)
	t.Logf("node %s exited %v after SIGTERM", stopped.name, drained.Round(time.Millisecond))
	if drained < failoverSlow/3 {
		t.Errorf("node %s exited %v after SIGTERM, before its slow requests were answered", stopped.name, drained)
	}
	conds = nil
	for _, f := range fronts {
		conds = append(conds, func() bool { return !f.named(stopped.gateway) })
	}
	for i, gone := range measure(term, conds...) {
		t.Logf("%s: stopped node %s gone from the config %v after SIGTERM", fronts[i].s, stopped.name, gone.Round(time.Millisecond))
		if gone < 0 || gone > failoverBound {
			t.Errorf("%s: the stopped node left the config after %v, want within %v", fronts[i].s, gone, failoverBound)
		}
	}
	slow.Wait()
	time.Sleep(time.Second) // load on the nodes left

	for _, f := range fronts {
		sent, rate, failures := f.load.end()
		var counts []string
		for _, n := range c.nodes {
			counts = append(counts, fmt.Sprintf("%s %d", n.name, f.load.answered(n.prefix)))
		}
		t.Logf("%s: %d GETs at %.0f/s, %d failed; answered by %s", f.s, sent, rate, len(failures), strings.Join(counts, ", "))
		// The load must be real for "0 failed" to mean something; its rate
		// depends on what else the 2-core machine runs (172/s through
		// Apache was seen beside the console's browser tests).
		if rate < 150 {
			t.Errorf("%s: the load ran at %.0f requests/s, want ≥ 150", f.s, rate)
		}
		if f.s == Apache {
			failures = apacheInFlight(t, failures, kill)
		}
		if len(failures) > 0 {
			var first []string
			for _, x := range failures[:min(5, len(failures))] {
				first = append(first, x.String())
			}
			t.Errorf("%s: %d of %d GETs failed; the first: %s", f.s, len(failures), sent, strings.Join(first, "; "))
		}
	}
}

// apacheInFlight logs and removes from failures the GETs that Apache's
// mod_proxy answered 502 because the node they were sent to was killed
// while it handled them: unlike nginx (proxy_next_upstream error) and
// HAProxy (retry-on empty-response), mod_proxy_balancer sends no request
// again once it was written to a node (see TestLiveFrontEnds), so a kill
// -9 costs Apache's clients the requests in flight on that node. Those
// were sent before the kill and failed within a second of it; there are
// at most failoverClients.
func apacheInFlight(t *testing.T, failures []failoverFailure, kill time.Time) []failoverFailure {
	t.Helper()
	var rest []failoverFailure
	n := 0
	for _, f := range failures {
		if f.status == http.StatusBadGateway && f.sent.Before(kill) && f.done.Sub(kill) < time.Second && n < failoverClients {
			t.Logf("apache: in flight on the killed node, answered 502 (mod_proxy does not resend it): %s", f)
			n++
			continue
		}
		rest = append(rest, f)
	}
	return rest
}
