package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/portico-gw/portico/internal/redistest"
)

// TestClusterBinaries runs three built portico processes on one real
// redis-server: they find each other with no other step; one killed with
// SIGKILL is marked down and leaves the member list within 3 s (plus the
// heartbeat interval) and every node's cluster.xml; a change made on one
// node reaches the others.
func TestClusterBinaries(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	rs := redistest.Start(t)
	bin := filepath.Join(t.TempDir(), "portico")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	type node struct {
		cmd       *exec.Cmd
		gw, admin string
		dir       string
		logs      *bytes.Buffer
	}
	var nodes []*node
	for _, name := range []string{"n1", "n2", "n3"} {
		n := &node{gw: freeAddr(t), admin: freeAddr(t), dir: t.TempDir(), logs: &bytes.Buffer{}}
		n.cmd = exec.Command(bin, "serve", "--datastore", rs.URL(), "--node-name", name, "--analytics", "none",
			"--gateway-addr", n.gw, "--admin-addr", n.admin, "--data-dir", n.dir, "--log-level", "warn")
		n.cmd.Env = append(os.Environ(), "PORTICO_ADMIN_PASSWORD="+adminPassword)
		n.cmd.Stderr = n.logs
		if err := n.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.cmd.Process.Kill(); n.cmd.Wait() })
		waitHTTP(t, "http://"+n.admin+"/healthz")
		nodes = append(nodes, n)
	}
	admin := func(n *node) client { return client{t, "http://" + n.admin + "/api/v1", "admin", adminPassword} }
	names := func(n *node, all bool) []string {
		var out []string
		for _, x := range admin(n).call("GET", "/cluster/nodes", nil, 200)["items"].([]any) {
			if all || x.(map[string]any)["status"] == "up" {
				out = append(out, x.(map[string]any)["name"].(string))
			}
		}
		sort.Strings(out)
		return out
	}
	waitFor(t, "three members", 15*time.Second, func() bool { return slices.Equal(names(nodes[0], true), []string{"n1", "n2", "n3"}) })

	api := admin(nodes[0]).call("POST", "/apis", map[string]any{"name": "x", "version": "v1", "context": "/x", "auth": "none",
		"endpoint": map[string]any{"type": "single", "targets": []any{map[string]any{"url": "http://" + nodes[0].admin + "/healthz"}}}}, 201)
	admin(nodes[0]).call("POST", "/apis/"+api["id"].(string)+"/publish", nil, 200)
	waitFor(t, "the API on n3's gateway", 10*time.Second, func() bool {
		code, _, _ := gatewayGet(t, "http://"+nodes[2].gw+"/x", "")
		return code == 200
	})

	nodes[1].cmd.Process.Kill() // SIGKILL: no chance to leave cleanly
	killed := time.Now()
	waitFor(t, "n2 marked down", 10*time.Second, func() bool { return slices.Equal(names(nodes[0], false), []string{"n1", "n3"}) })
	down := time.Since(killed)
	waitFor(t, "n2 to leave the list", 10*time.Second, func() bool { return slices.Equal(names(nodes[0], true), []string{"n1", "n3"}) })
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
