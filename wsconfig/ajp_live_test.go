//go:build linux

package wsconfig

// Three built Portico nodes with lb factors 1, 1 and 2 on one Redis, their
// front door rendered by the binary (portico wsconfig --datastore …) and
// served by the real web server: 4,000 requests split 25/25/50 %, counted
// by the node that answered each (the per-process prefix of the gateway's
// X-Request-Id).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/portico-gw/portico/internal/redistest"
)

const (
	splitAdminPassword = "split-admin-pw-1"
	splitAJPSecret     = "split-ajp-secret-1"
	splitRequests      = 4000
	splitTolerance     = 0.05 // of each node's expected share
)

// splitNode is one `portico serve` process.
type splitNode struct {
	name                string
	lbFactor            int
	gateway, admin, ajp string // loopback addresses
	prefix              string // of the X-Request-Ids its gateway makes
	logs                *splitLog
}

// splitCluster is three nodes on one Redis, serving GET /split/… from one
// backend.
type splitCluster struct {
	bin       string // the built portico
	datastore string
	nodes     []*splitNode
}

// splitLog keeps the end of a process's output; it is safe for concurrent
// use.
type splitLog struct {
	mu sync.Mutex
	b  []byte
}

func (l *splitLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	if len(l.b) > 32<<10 {
		l.b = l.b[len(l.b)-32<<10:]
	}
	return len(p), nil
}

func (l *splitLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}

// splitDir returns a new directory that Apache's process, which is nobody
// when the test runs as root, can read and write; removed when t ends.
func splitDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "portico-split-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	if os.Geteuid() == 0 {
		os.Chown(dir, 65534, 65534)
	}
	return dir
}

// splitWait polls cond every 50 ms until it holds, failing t after limit.
func splitWait(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// adminCall calls n's admin API as admin and decodes the JSON answer.
func (n *splitNode) adminCall(method, path string, body any) (int, map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+n.admin+"/api/v1"+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.SetBasicAuth("admin", splitAdminPassword)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var m map[string]any
	err = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m, err
}

// startSplitCluster builds portico, starts a Redis and three nodes on it
// with lb factors 1, 1 and 2 and an AJP listener each (with the AJP
// secret), publishes an open API at /split in front of a backend that
// answers "ok", and learns each node's request id prefix from one direct
// request to its gateway.
func startSplitCluster(t *testing.T) *splitCluster {
	t.Helper()
	if testing.Short() {
		t.Skip("builds portico and runs three nodes")
	}
	c := &splitCluster{bin: filepath.Join(t.TempDir(), "portico")}
	build := exec.Command("go", "build", "-o", c.bin, "github.com/portico-gw/portico/cmd/portico")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	rs := redistest.Start(t)
	c.datastore = rs.URL()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	t.Cleanup(backend.Close)

	for i, f := range []int{1, 1, 2} {
		c.startNode(t, fmt.Sprintf("n%d", i+1), f)
	}
	for _, n := range c.nodes {
		splitWait(t, n.name+"'s admin listener", 20*time.Second, func() bool {
			resp, err := http.Get("http://" + n.admin + HealthPath)
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == 200
		})
	}
	first := c.nodes[0]
	splitWait(t, "the three nodes up in the registry", 20*time.Second, func() bool {
		code, res, err := first.adminCall("GET", "/cluster/nodes", nil)
		items, _ := res["items"].([]any)
		up := 0
		for _, it := range items {
			if m, _ := it.(map[string]any); m["status"] == "up" {
				up++
			}
		}
		return err == nil && code == 200 && up == 3
	})
	c.publishOpen(t, "split", backend.URL)
	for i, n := range c.nodes {
		for _, m := range c.nodes[:i] {
			if n.prefix == m.prefix {
				t.Fatalf("nodes %s and %s make request ids with the same prefix %q", m.name, n.name, n.prefix)
			}
		}
	}
	return c
}

// requestIDPrefix returns the per-process part of a gateway's request id,
// "<prefix>-<counter>", or "".
func requestIDPrefix(id string) string {
	i := strings.LastIndexByte(id, '-')
	if i <= 0 {
		return ""
	}
	return id[:i]
}

// render runs portico wsconfig --ws s over the cluster's data store into
// a new directory, the front end listening on listen, and returns the
// directory.
func (c *splitCluster) render(t *testing.T, s Server, listen string) string {
	t.Helper()
	dir := splitDir(t)
	cmd := exec.Command(c.bin, "wsconfig", "--ws", string(s), "--datastore", c.datastore, "--out", dir, "--listen", listen)
	cmd.Env = append(os.Environ(), "PORTICO_AJP_SECRET="+splitAJPSecret)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("portico wsconfig --ws %s: %v\n%s", s, err, out)
	}
	t.Logf("portico wsconfig --ws %s: %s", s, bytes.TrimSpace(out))
	return dir
}

// serveRendered runs the real server s on the config rendered in dir, in
// the foreground, and returns once it accepts connections on listen. The
// server is killed when t ends. It skips t when the server is not
// installed.
func serveRendered(t *testing.T, s Server, dir, listen string) {
	t.Helper()
	tmp := splitDir(t)
	var bin string
	var args []string
	var err error
	switch s {
	case Nginx:
		if bin, err = findBinary("nginx", "apt-get install -y nginx", "nginx"); err != nil {
			t.Skip(err)
		}
		if args, err = nginxMain(tmp, filepath.Join(dir, FileNames(s)[0])); err == nil {
			err = splitPrepend(args[len(args)-1], "daemon off;\nmaster_process off;\n")
			args = args[2:] // without -t -q
		}
	case Apache, ApacheJK:
		if bin, err = findBinary("Apache", "apt-get install -y apache2 libapache2-mod-jk", "apache2", "httpd"); err != nil {
			t.Skip(err)
		}
		if args, err = apacheMain(context.Background(), bin, tmp, s, dir); err != nil && strings.Contains(err.Error(), "not installed") {
			t.Skip(err)
		}
		if err == nil && os.Geteuid() == 0 {
			// Apache does not serve as root: its process becomes nobody.
			err = splitPrepend(args[len(args)-1], "User #65534\nGroup #65534\n")
		}
		args = append([]string{"-X"}, args[1:]...) // one process, in the foreground
	case HAProxy:
		if bin, err = findBinary("HAProxy", "apt-get install -y haproxy", "haproxy"); err != nil {
			t.Skip(err)
		}
		args, err = haproxyMain(tmp, filepath.Join(dir, FileNames(s)[0]))
		args = append([]string{"-db"}, args[1:]...) // in the foreground
	default:
		t.Fatalf("no live server for %s", s)
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
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			for _, f := range []string{filepath.Join(tmp, "error.log"), filepath.Join(dir, "mod_jk.log")} {
				if b, err := os.ReadFile(f); err == nil {
					t.Logf("%s (end):\n%s", f, b[max(0, len(b)-4000):])
				}
			}
			t.Logf("%s output:\n%s", s, out.String())
		}
	})
	for deadline := time.Now().Add(15 * time.Second); ; {
		if c, err := net.DialTimeout("tcp", listen, time.Second); err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			t.Fatalf("%s %s exited:\n%s", bin, strings.Join(args, " "), out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not listen on %s after 15s", s, listen)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func splitPrepend(path, text string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path, append([]byte(text), data...), 0o644)
}

// split sends splitRequests GETs to base from 8 clients with kept-alive
// connections (each request bounded by 10 s, all by 60 s) and returns how
// many each node answered, by name; any other answer fails t.
func (c *splitCluster) split(t *testing.T, base string) map[string]int {
	t.Helper()
	byPrefix := map[string]string{}
	for _, n := range c.nodes {
		byPrefix[n.prefix] = n.name
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 8}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	var mu sync.Mutex
	counts := map[string]int{}
	var failures []string
	next := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				resp, err := client.Get(fmt.Sprintf("%s/split/r%d", base, i))
				var fail string
				if err != nil {
					fail = err.Error()
				} else {
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					id := resp.Header.Get("X-Request-Id")
					name, ok := byPrefix[requestIDPrefix(id)]
					switch {
					case resp.StatusCode != 200 || string(body) != "ok":
						fail = fmt.Sprintf("status %d %q", resp.StatusCode, body)
					case !ok:
						fail = fmt.Sprintf("X-Request-Id %q of no node", id)
					}
					if fail == "" {
						mu.Lock()
						counts[name]++
						mu.Unlock()
					}
				}
				if fail != "" {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("request %d: %s", i, fail))
					mu.Unlock()
				}
			}
		}()
	}
	sent := 0
	for ; sent < splitRequests && time.Now().Before(deadline); sent++ {
		next <- sent
	}
	close(next)
	wg.Wait()
	if sent < splitRequests {
		t.Errorf("only %d of %d requests sent within 60 s", sent, splitRequests)
	}
	if len(failures) > 0 {
		t.Errorf("%d requests failed; the first: %s", len(failures), strings.Join(failures[:min(5, len(failures))], "; "))
	}
	return counts
}

// checkSplit fails t unless each node got its lb factor's share of the
// requests, within splitTolerance of that share.
func (c *splitCluster) checkSplit(t *testing.T, s Server, counts map[string]int) {
	t.Helper()
	total := 0
	for _, n := range c.nodes {
		total += n.lbFactor
	}
	var report []string
	for _, n := range c.nodes {
		want := float64(splitRequests) * float64(n.lbFactor) / float64(total)
		got := counts[n.name]
		report = append(report, fmt.Sprintf("%s (lb factor %d) %d = %.1f %%", n.name, n.lbFactor, got, 100*float64(got)/splitRequests))
		if math.Abs(float64(got)-want) > splitTolerance*want {
			t.Errorf("%s: node %s (lb factor %d) answered %d of %d requests, want %.0f ± %.0f", s, n.name, n.lbFactor, got, splitRequests, want, splitTolerance*want)
		}
	}
	t.Logf("%s: %d requests: %s", s, splitRequests, strings.Join(report, ", "))
}

// TestAJPLiveSplit: Apache with mod_jk, configured by portico wsconfig
// --ws apache-jk from the data store (the nodes' AJP addresses, their lb
// factors and the AJP secret), spreads 4,000 requests over the nodes'
// AJP listeners 25/25/50 %.
func TestAJPLiveSplit(t *testing.T) {
	for _, m := range []string{"mod_jk.so", "mod_mpm_event.so"} {
		if !apacheModuleInstalled(m) {
			t.Skipf("Apache's %s is not installed: apt-get install -y apache2 libapache2-mod-jk", m)
		}
	}
	c := startSplitCluster(t)
	listen := splitFreeAddr(t)
	dir := c.render(t, ApacheJK, listen)
	workers, err := os.ReadFile(filepath.Join(dir, "workers.properties"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range c.nodes {
		_, port, _ := net.SplitHostPort(n.ajp)
		if !bytes.Contains(workers, []byte("port="+port+"\n")) {
			t.Fatalf("workers.properties lacks %s's AJP port %s:\n%s", n.name, port, workers)
		}
	}
	if !bytes.Contains(workers, []byte("secret="+splitAJPSecret+"\n")) {
		t.Fatalf("workers.properties lacks the AJP secret:\n%s", workers)
	}
	serveRendered(t, ApacheJK, dir, listen)
	c.checkSplit(t, ApacheJK, c.split(t, "http://"+listen))
}

// TestLiveSplit: the same over HTTP, behind nginx, Apache
// mod_proxy_balancer and HAProxy, each configured by portico wsconfig.
func TestLiveSplit(t *testing.T) {
	c := startSplitCluster(t)
	for _, s := range []Server{Nginx, Apache, HAProxy} {
		t.Run(string(s), func(t *testing.T) {
			listen := splitFreeAddr(t)
			dir := c.render(t, s, listen)
			serveRendered(t, s, dir, listen)
			c.checkSplit(t, s, c.split(t, "http://"+listen))
		})
	}
}

// apacheModuleInstalled reports whether one of Apache's module
// directories has the module file name.
func apacheModuleInstalled(name string) bool {
	for _, d := range apacheModuleDirs {
		if _, err := os.Stat(filepath.Join(d, name)); err == nil {
			return true
		}
	}
	return false
}

// publishOpen publishes an open API at /name in front of backend through
// the first node's admin API, waits until every node's gateway serves it,
// and learns each node's request-id prefix from its answer.
func (c *splitCluster) publishOpen(t *testing.T, name, backend string) {
	t.Helper()
	first := c.nodes[0]
	code, api, err := first.adminCall("POST", "/apis", map[string]any{"name": name, "version": "v1", "context": "/" + name, "auth": "none",
		"endpoint": map[string]any{"type": "single", "targets": []any{map[string]any{"url": backend}}}})
	if err != nil || code != 201 {
		t.Fatalf("POST /apis: %d %v %v", code, api, err)
	}
	if code, res, err := first.adminCall("POST", "/apis/"+api["id"].(string)+"/publish", nil); err != nil || code != 200 {
		t.Fatalf("publish: %d %v %v", code, res, err)
	}
	for _, n := range c.nodes {
		splitWait(t, "the API /"+name+" on "+n.name+"'s gateway", 15*time.Second, func() bool {
			resp, err := http.Get("http://" + n.gateway + "/" + name + "/hello")
			if err != nil {
				return false
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			n.prefix = requestIDPrefix(resp.Header.Get("X-Request-Id"))
			return resp.StatusCode == 200 && n.prefix != ""
		})
	}
}
