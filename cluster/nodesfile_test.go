package cluster_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/cluster"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var goldenNodes = []portico.Node{
	{Name: "web2:8080", GatewayAddr: "10.0.0.2:8080", AdminAddr: "10.0.0.2:9080", LBFactor: 3,
		Status: "down", Version: "0.4.0", StartedAt: time.Date(2026, 11, 25, 20, 58, 20, 0, time.UTC)},
	{Name: "web1:8080", GatewayAddr: "10.0.0.1:8080", AdminAddr: "10.0.0.1:9080", LBFactor: 1,
		Status: "up", Version: "0.4.0", StartedAt: time.Date(2026, 11, 25, 20, 58, 13, 0, time.UTC),
		RequestRate: 12.5, LastSeen: time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC)},
}

var goldenUpdated = time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC)

func TestNodesFileGolden(t *testing.T) {
	path := filepath.Join(t.TempDir(), cluster.NodesFileName)
	if err := cluster.WriteNodesFile(path, "default", goldenNodes, goldenUpdated); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "cluster.xml")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("nodes file differs from %s (go test -update rewrites it):\n%s", golden, got)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
		t.Errorf("mode = %v, want 0644", st.Mode().Perm())
	}
}

func TestNodesFileRoundTrip(t *testing.T) {
	in := []portico.Node{
		{Name: `odd <"&'> name`, GatewayAddr: "[::1]:8080", AdminAddr: "", AJPAddr: "[::1]:8009", Version: "1.0\n",
			StartedAt: time.Date(2026, 1, 2, 3, 4, 5, 999, time.FixedZone("CET", 3600))},
		goldenNodes[0],
		goldenNodes[1],
	}
	path := filepath.Join(t.TempDir(), "sub", "dir", cluster.NodesFileName)
	if err := cluster.WriteNodesFile(path, `a "b"`, in, goldenUpdated); err != nil {
		t.Fatal(err)
	}
	name, got, err := cluster.ReadNodesFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if name != `a "b"` {
		t.Errorf("cluster name = %q", name)
	}
	want := []portico.Node{ // sorted by name, times in UTC to the second, defaults filled in
		{Name: `odd <"&'> name`, GatewayAddr: "[::1]:8080", AJPAddr: "[::1]:8009", Version: "1.0\n", LBFactor: 1, Status: "up",
			StartedAt: time.Date(2026, 1, 2, 2, 4, 5, 0, time.UTC)},
		{Name: "web1:8080", GatewayAddr: "10.0.0.1:8080", AdminAddr: "10.0.0.1:9080", LBFactor: 1,
			Status: "up", Version: "0.4.0", StartedAt: time.Date(2026, 11, 25, 20, 58, 13, 0, time.UTC)},
		goldenNodes[0],
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back\n%+v\nwant\n%+v", got, want)
	}
}

func TestReadNodesFile(t *testing.T) {
	const head = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"
	tests := []struct {
		name, file string
		want       []portico.Node // nil: an error is expected
	}{
		{"minimal", `<cluster name="x"><node name="a" gateway="h:1"/></cluster>`,
			[]portico.Node{{Name: "a", GatewayAddr: "h:1", LBFactor: 1, Status: "up"}}},
		{"empty", head + `<cluster name="x" version="1" updated="2026-11-25T21:00:00Z"></cluster>`, []portico.Node{}},
		{"unknown parts ignored", `<cluster name="x" zone="eu"><meta/><node name="a" gateway="h:1" weight="9"><x/></node></cluster>`,
			[]portico.Node{{Name: "a", GatewayAddr: "h:1", LBFactor: 1, Status: "up"}}},
		{"file order kept", `<cluster><node name="b" gateway="h:2"/><node name="a" gateway="h:1" lbfactor="2"/></cluster>`,
			[]portico.Node{{Name: "b", GatewayAddr: "h:2", LBFactor: 1, Status: "up"}, {Name: "a", GatewayAddr: "h:1", LBFactor: 2, Status: "up"}}},
		{"not xml", `name=a`, nil},
		{"truncated", head + `<cluster name="x"><node name="a" gateway="h:1"/>`, nil},
		{"other root", `<nodes><node name="a" gateway="h:1"/></nodes>`, nil},
		{"newer format", `<cluster version="2"></cluster>`, nil},
		{"bad format", `<cluster version="one"></cluster>`, nil},
		{"bad updated", `<cluster updated="yesterday"></cluster>`, nil},
		{"no name", `<cluster><node gateway="h:1"/></cluster>`, nil},
		{"no gateway", `<cluster><node name="a"/></cluster>`, nil},
		{"zero lbfactor", `<cluster><node name="a" gateway="h:1" lbfactor="0"/></cluster>`, nil},
		{"bad lbfactor", `<cluster><node name="a" gateway="h:1" lbfactor="x"/></cluster>`, nil},
		{"bad status", `<cluster><node name="a" gateway="h:1" status="maybe"/></cluster>`, nil},
		{"bad started", `<cluster><node name="a" gateway="h:1" started="2026-11-25"/></cluster>`, nil},
		{"duplicate", `<cluster><node name="a" gateway="h:1"/><node name="a" gateway="h:2"/></cluster>`, nil},
	}
	dir := t.TempDir()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprint(i))
			if err := os.WriteFile(path, []byte(tt.file), 0o644); err != nil {
				t.Fatal(err)
			}
			_, got, err := cluster.ReadNodesFile(path)
			switch {
			case tt.want == nil && err == nil:
				t.Errorf("read %+v, want an error", got)
			case tt.want != nil && err != nil:
				t.Errorf("error %v", err)
			case tt.want != nil && !reflect.DeepEqual(got, tt.want):
				t.Errorf("read %+v, want %+v", got, tt.want)
			}
		})
	}
	if _, _, err := cluster.ReadNodesFile(filepath.Join(dir, "missing")); !os.IsNotExist(err) {
		t.Errorf("missing file: %v, want a not-exist error", err)
	}
}

// TestWriteNodesFileAtomic rewrites the file while readers read it: every
// read must see a whole file, and no temporary file may be left behind.
func TestWriteNodesFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, cluster.NodesFileName)
	lists := [][]portico.Node{goldenNodes[:1], nil}
	for i := range 200 {
		lists[1] = append(lists[1], portico.Node{Name: fmt.Sprintf("node-%03d", i), GatewayAddr: "10.0.1.1:8080"})
	}
	if err := cluster.WriteNodesFile(path, "default", lists[0], goldenUpdated); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var reads [2]int
	for r := range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, nodes, err := cluster.ReadNodesFile(path)
				if err != nil {
					t.Errorf("partial file seen: %v", err)
					return
				}
				if n := len(nodes); n != 1 && n != 200 {
					t.Errorf("read %d nodes, want 1 or 200", n)
					return
				}
				reads[r]++
			}
		})
	}
	for i := range 100 {
		if err := cluster.WriteNodesFile(path, "default", lists[i%2], goldenUpdated); err != nil {
			t.Error(err)
			break
		}
	}
	close(stop)
	wg.Wait()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != cluster.NodesFileName {
		t.Errorf("dir holds %v, want only %s", names, cluster.NodesFileName)
	}
	t.Logf("reads: %v", reads)
}
