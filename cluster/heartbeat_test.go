package cluster_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/cluster"
)

var started = time.Date(2026, 11, 25, 20, 58, 13, 0, time.UTC)

// selfNode returns a Self func whose request rate changes on every call,
// as a live node's does.
func selfNode() func() portico.Node {
	var calls atomic.Int64
	return func() portico.Node {
		return portico.Node{
			Name: "web1:8080", GatewayAddr: "10.0.0.1:8080", AdminAddr: "10.0.0.1:9080",
			Version: "0.4.0", StartedAt: started, LBFactor: 1,
			RequestRate: float64(calls.Add(1)),
		}
	}
}

type changes struct {
	mu    sync.Mutex
	lists [][]portico.Node
}

func (c *changes) add(n []portico.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lists = append(c.lists, n)
}

func (c *changes) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.lists)
}

func startHeartbeat(t *testing.T, reg *fakeRegistry, dir string) (*cluster.Heartbeat, *changes, *logBuffer, func() error) {
	t.Helper()
	log, lb := newLogger()
	ch := &changes{}
	h := &cluster.Heartbeat{
		Registry: reg, Self: selfNode(), Interval: 5 * time.Millisecond,
		DataDir: dir, Cluster: "east", Logger: log, OnChange: ch.add,
	}
	return h, ch, lb, run(t, h.Run)
}

// waitBeats waits for n more heartbeat attempts.
func waitBeats(t *testing.T, reg *fakeRegistry, n int) {
	t.Helper()
	target := reg.attemptsSoFar() + n
	eventually(t, "heartbeats", func() bool { return reg.attemptsSoFar() >= target })
}

func TestHeartbeatRewritesFileOnChangesOnly(t *testing.T) {
	reg := newFakeRegistry()
	dir := t.TempDir()
	path := filepath.Join(dir, cluster.NodesFileName)
	h, ch, _, _ := startHeartbeat(t, reg, dir)

	eventually(t, "nodes file", func() bool { _, err := os.Stat(path); return err == nil })
	st1, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	data1, _ := os.ReadFile(path)
	waitBeats(t, reg, 10) // request rate and last seen change, membership does not
	st2, _ := os.Stat(path)
	data2, _ := os.ReadFile(path)
	if !os.SameFile(st1, st2) || string(data1) != string(data2) {
		t.Errorf("nodes file rewritten without a membership change:\n%s\n%s", data1, data2)
	}
	if n := ch.count(); n != 1 {
		t.Errorf("OnChange called %d times, want 1", n)
	}

	web2 := portico.Node{Name: "web2:8080", GatewayAddr: "10.0.0.2:8080", LBFactor: 3, Status: "up"}
	reg.put(web2)
	eventually(t, "web2 in the file", func() bool {
		_, nodes, err := cluster.ReadNodesFile(path)
		return err == nil && len(nodes) == 2
	})
	st3, _ := os.Stat(path)
	if os.SameFile(st2, st3) {
		t.Error("nodes file changed in place, not replaced")
	}
	web2.Status = "down"
	reg.put(web2)
	eventually(t, "web2 down in the file", func() bool {
		data, _ := os.ReadFile(path)
		return strings.Contains(string(data), `lbfactor="3" status="down"`)
	})
	eventually(t, "third OnChange", func() bool { return ch.count() == 3 }) // called after the write
	waitBeats(t, reg, 3)
	if n := ch.count(); n != 3 {
		t.Errorf("OnChange called %d times, want 3", n)
	}
	nodes := h.Nodes()
	if len(nodes) != 2 || nodes[0].Name != "web1:8080" || nodes[1].Status != "down" {
		t.Errorf("Nodes = %+v", nodes)
	}
	name, _, err := cluster.ReadNodesFile(path)
	if err != nil || name != "east" {
		t.Errorf("cluster name %q, %v; want east", name, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("data dir holds %d files, want only %s", len(ents), cluster.NodesFileName)
	}
}

func TestHeartbeatLeavesOnStop(t *testing.T) {
	reg := newFakeRegistry()
	_, _, _, stop := startHeartbeat(t, reg, t.TempDir())
	waitBeats(t, reg, 2)
	if err := stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	if len(reg.left) != 1 || reg.left[0] != "web1:8080" {
		t.Errorf("Leave calls = %q, want [web1:8080]", reg.left)
	}
	if reg.leaveErr != nil {
		t.Errorf("Leave got an ended context: %v", reg.leaveErr)
	}
	if len(reg.nodes) != 0 {
		t.Errorf("still registered: %v", reg.nodes)
	}
}

func TestHeartbeatKeepsListDuringOutage(t *testing.T) {
	reg := newFakeRegistry()
	reg.put(portico.Node{Name: "web2:8080", GatewayAddr: "10.0.0.2:8080", Status: "up"})
	h, _, lb, _ := startHeartbeat(t, reg, t.TempDir())
	eventually(t, "two nodes", func() bool { return len(h.Nodes()) == 2 })

	reg.setDown(true)
	waitBeats(t, reg, 10)
	if n := len(h.Nodes()); n != 2 {
		t.Errorf("during the outage Nodes has %d nodes, want the last 2", n)
	}
	if n := lb.count("unreachable"); n != 1 {
		t.Errorf("outage logged %d times, want once:\n%s", n, lb)
	}
	reg.setDown(false)
	eventually(t, "recovery logged", func() bool { return lb.count("reachable again") == 1 })
}

func TestHeartbeatStartsFromNodesFile(t *testing.T) {
	dir := t.TempDir()
	old := []portico.Node{
		{Name: "a", GatewayAddr: "h:1", LBFactor: 1, Status: "up"},
		{Name: "b", GatewayAddr: "h:2", LBFactor: 1, Status: "up"},
	}
	if err := cluster.WriteNodesFile(filepath.Join(dir, cluster.NodesFileName), "east", old, started); err != nil {
		t.Fatal(err)
	}
	reg := newFakeRegistry()
	reg.setDown(true)
	h, _, _, _ := startHeartbeat(t, reg, dir)
	waitBeats(t, reg, 1)
	if n := len(h.Nodes()); n != 2 {
		t.Errorf("Nodes before the first read = %d nodes, want the file's 2", n)
	}
}

func TestHeartbeatNoDataDir(t *testing.T) {
	reg := newFakeRegistry()
	h, ch, _, _ := startHeartbeat(t, reg, "")
	eventually(t, "a change", func() bool { return ch.count() == 1 })
	if n := len(h.Nodes()); n != 1 {
		t.Errorf("Nodes = %d nodes, want 1", n)
	}
}

func TestHeartbeatNeedsFields(t *testing.T) {
	if err := (&cluster.Heartbeat{}).Run(context.Background()); err == nil {
		t.Error("Run of an empty Heartbeat succeeded")
	}
}
