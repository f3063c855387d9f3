package cluster

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

// FuzzDecodeNodes checks that decoding any input neither panics nor
// accepts a file that does not survive a write and a read.
func FuzzDecodeNodes(f *testing.F) {
	if golden, err := os.ReadFile("testdata/cluster.xml"); err == nil {
		f.Add(golden)
	}
	f.Add([]byte(`<cluster name="x"><node name="a" gateway="h:1" lbfactor="2" status="down" started="2026-01-02T03:04:05+01:00"/></cluster>`))
	f.Add([]byte(`<cluster version="1"><node name="&lt;&#10;" gateway="&amp;"/></cluster>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		name, nodes, err := decodeNodes(bytes.NewReader(data))
		if err != nil {
			return
		}
		enc := encodeNodes(name, nodes, time.Time{})
		name2, nodes2, err := decodeNodes(bytes.NewReader(enc))
		if err != nil {
			t.Fatalf("re-reading what was written: %v\n%s", err, enc)
		}
		if name2 != name {
			t.Fatalf("cluster name %q became %q", name, name2)
		}
		want := sortedNodes(nodes)
		if len(nodes2) != len(want) {
			t.Fatalf("%d nodes became %d", len(want), len(nodes2))
		}
		for i := range want {
			if !sameNode(want[i], nodes2[i]) {
				t.Fatalf("node %+v became %+v", want[i], nodes2[i])
			}
		}
	})
}

func sameNode(a, b portico.Node) bool {
	return a.Name == b.Name && a.GatewayAddr == b.GatewayAddr && a.AdminAddr == b.AdminAddr &&
		a.LBFactor == b.LBFactor && a.Status == b.Status && a.Version == b.Version &&
		a.StartedAt.Equal(b.StartedAt)
}
