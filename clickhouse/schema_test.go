package clickhouse

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestSchemaGolden keeps the schema statements, which doc.go quotes, in
// testdata: a change to the schema shows in review as a change there.
func TestSchemaGolden(t *testing.T) {
	for name, cfg := range map[string]Config{
		"schema.sql":                {Addrs: []string{"ch1"}},
		"schema_cluster.sql":        {Addrs: []string{"ch1"}, Cluster: "NAME"},
		"schema_cluster_buffer.sql": {Addrs: []string{"ch1"}, Cluster: "NAME", BufferFlush: 5 * time.Second},
	} {
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Join(s.schemaDDL(), ";\n\n") + ";\n"
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -run TestSchemaGolden -update)", err)
		}
		if got != string(want) {
			t.Errorf("%s changed:\n%s\nwant:\n%s", name, got, want)
		}
	}
}
