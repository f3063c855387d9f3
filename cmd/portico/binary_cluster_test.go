package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico/internal/redistest"
)

// buildPortico builds this command into a temporary directory and returns
// the binary's path. The binary is built without the race detector, even
// when the tests run with it. In -short mode the test is skipped instead.
func buildPortico(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "portico")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// binNode is one portico process started by startBinNode.
type binNode struct {
	name      string
	gw, admin string // listener addresses, 127.0.0.1:port
	dir       string // data dir
	cmd       *exec.Cmd
	logs      *tailBuffer // the process's stderr
}

// startBinNode starts `bin serve` as the node name on datastore, on free
// loopback ports, with analytics off and the admin password set, and
// returns once its admin listener answers. The process is killed with
// SIGKILL when the test ends; if the test failed, the end of its log is
// logged first.
func startBinNode(t testing.TB, bin, datastore, name string) *binNode {
	t.Helper()
	n := &binNode{name: name, gw: freeAddr(t), admin: freeAddr(t), dir: t.TempDir(), logs: &tailBuffer{}}
	n.cmd = exec.Command(bin, "serve", "--datastore", datastore, "--node-name", name, "--analytics", "none",
		"--gateway-addr", n.gw, "--admin-addr", n.admin, "--data-dir", n.dir, "--log-level", "warn")
	n.cmd.Env = append(os.Environ(), "PORTICO_ADMIN_PASSWORD="+adminPassword)
	n.cmd.Stderr = n.logs
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.cmd.Process.Kill(); n.cmd.Wait() })
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log of node %s (end):\n%s", n.name, n.logs.String())
		}
	})
	waitHTTP(t, "http://"+n.admin+"/healthz")
	return n
}

// startBinCluster starts a node of bin for each name on the Redis rs and
// returns once every node lists all of them up.
func startBinCluster(t testing.TB, bin string, rs *redistest.Server, names ...string) []*binNode {
	t.Helper()
	var nodes []*binNode
	for _, name := range names {
		nodes = append(nodes, startBinNode(t, bin, rs.URL(), name))
	}
	want := slices.Sorted(slices.Values(names))
	for _, n := range nodes {
		waitFor(t, n.name+" to list every node up", 15*time.Second, func() bool {
			return slices.Equal(memberNames(n.client(t), false), want)
		})
	}
	return nodes
}

// client returns an admin API client of n for the admin user.
func (n *binNode) client(t testing.TB) client {
	return client{t, "http://" + n.admin + "/api/v1", "admin", adminPassword}
}

// gateway returns the base URL of n's gateway.
func (n *binNode) gateway() string { return "http://" + n.gw }

// memberNames returns the sorted names of the cluster's members as c's
// node lists them: all of them, or only those up. It returns nil when the
// node does not answer the list.
func memberNames(c client, all bool) []string {
	code, res, _, err := c.do("GET", "/cluster/nodes", nil)
	items, _ := res["items"].([]any)
	if err != nil || code != 200 || items == nil {
		return nil
	}
	out := []string{}
	for _, x := range items {
		if all || x.(map[string]any)["status"] == "up" {
			out = append(out, x.(map[string]any)["name"].(string))
		}
	}
	sort.Strings(out)
	return out
}

// tailBuffer is an io.Writer that keeps the last 64 KiB written to it. It
// is safe for concurrent use.
type tailBuffer struct {
	mu sync.Mutex
	b  []byte
}

const tailBufferSize = 64 << 10

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b = append(b.b, p...)
	if over := len(b.b) - tailBufferSize; over > 0 {
		b.b = append(b.b[:0], b.b[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.b)
}

// TestClusterBinaries runs three built portico processes on one real
// redis-server: they find each other with no other step; one killed with
// SIGKILL is marked down and leaves the member list within 3 s (plus the
// heartbeat interval) and every node's cluster.xml; a change made on one
// node reaches the others.
func TestClusterBinaries(t *testing.T) {
	bin := buildPortico(t)
	rs := redistest.Start(t)
	nodes := startBinCluster(t, bin, rs, "n1", "n2", "n3")
	admin := nodes[0].client(t)

	api := admin.call("POST", "/apis", map[string]any{"name": "x", "version": "v1", "context": "/x", "auth": "none",
		"endpoint": map[string]any{"type": "single", "targets": []any{map[string]any{"url": "http://" + nodes[0].admin + "/healthz"}}}}, 201)
	admin.call("POST", "/apis/"+api["id"].(string)+"/publish", nil, 200)
	waitFor(t, "the API on n3's gateway", 10*time.Second, func() bool {
		code, _, _ := gatewayGet(t, nodes[2].gateway()+"/x", "")
		return code == 200
	})

	nodes[1].cmd.Process.Kill() // SIGKILL: no chance to leave cleanly
	killed := time.Now()
	waitFor(t, "n2 marked down", 10*time.Second, func() bool { return slices.Equal(memberNames(admin, false), []string{"n1", "n3"}) })
	down := time.Since(killed)
	waitFor(t, "n2 to leave the list", 10*time.Second, func() bool { return slices.Equal(memberNames(admin, true), []string{"n1", "n3"}) })
	gone := time.Since(killed)
	t.Logf("a node killed with SIGKILL was marked down after %v and left the member list after %v", down, gone)
	if gone > 5*time.Second { // 3 s after the last heartbeat, ≤ 1 s before the kill, plus slack for a loaded machine
		t.Errorf("n2 left the list %v after it was killed, want within 3 s of its last heartbeat (≤ 1 s before the kill)", gone)
	}
	waitFor(t, "cluster.xml of n3 without n2", 10*time.Second, func() bool {
		b, err := os.ReadFile(filepath.Join(nodes[2].dir, "cluster.xml"))
		return err == nil && !bytes.Contains(b, []byte(`name="n2"`)) && bytes.Contains(b, []byte(`name="n1"`))
	})
}
