package redisinfo

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testdata/redis-info.txt is the reply of redis-server 7.0.15 to INFO
// stats commandstats after two EVALs that each call HSET and TIME, a
// CLIENT SETNAME, a PING and a SET, each from a redis-cli of its own.
func TestParse(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "redis-info.txt"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Parse(string(b))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := map[string]int64{"client|setname": 1, "ping": 1, "hset": 2, "set": 1, "time": 2, "eval": 2}
	if !maps.Equal(s.Calls, want) || s.Reads != 11 || s.Conns != 6 {
		t.Errorf("Parse = %+v, want calls %v, 11 reads, 6 connections", s, want)
	}

	// INFO's own calls are left out.
	withInfo := strings.Replace(string(b), "# Commandstats\r\n",
		"# Commandstats\r\ncmdstat_info:calls=7,usec=700,usec_per_call=100.00,rejected_calls=0,failed_calls=0\r\n", 1)
	if s, err := Parse(withInfo); err != nil || s.Calls["info"] != 0 || len(s.Calls) != len(want) {
		t.Errorf("with cmdstat_info: %+v, %v; want INFO left out", s, err)
	}

	for name, in := range map[string]string{
		"no commandstats":  strings.Split(string(b), "# Commandstats")[0],
		"no reads":         strings.Replace(string(b), "total_reads_processed:", "x:", 1),
		"bad calls":        strings.Replace(string(b), "cmdstat_ping:calls=1", "cmdstat_ping:calls=x", 1),
		"no calls":         strings.Replace(string(b), "cmdstat_ping:calls=1", "cmdstat_ping:usec=1", 1),
		"bad reads":        strings.Replace(string(b), "total_reads_processed:11", "total_reads_processed:-1", 1),
		"an error instead": "ERR unknown section",
	} {
		if _, err := Parse(in); err == nil {
			t.Errorf("%s: Parse succeeded", name)
		}
	}
}
