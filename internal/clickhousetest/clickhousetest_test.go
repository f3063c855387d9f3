package clickhousetest_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico/internal/clickhousetest"
)

func TestStartQueryRestart(t *testing.T) {
	s := clickhousetest.Start(t)
	if got := s.Query(t, "SELECT 1"); got != "1" {
		t.Fatalf("SELECT 1 = %q", got)
	}
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") || s.Addr() != strings.TrimPrefix(s.URL, "http://") {
		t.Fatalf("URL %q, Addr %q", s.URL, s.Addr())
	}
	ports := map[int]bool{s.HTTPPort: true, s.TCPPort: true, s.InterserverPort: true}
	if len(ports) != 3 {
		t.Fatalf("ports not distinct: %d %d %d", s.HTTPPort, s.TCPPort, s.InterserverPort)
	}
	s.Query(t, "CREATE TABLE default.t (x UInt32) ENGINE = MergeTree() ORDER BY x")
	s.Query(t, "INSERT INTO default.t VALUES (1), (2), (3)")

	s.Stop()
	if c, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		c.Close()
		t.Fatal("server still accepts connections after Stop")
	}
	s.Stop() // idempotent

	s.Start()
	if got := s.Query(t, "SELECT sum(x) FROM default.t"); got != "6" {
		t.Fatalf("after restart sum = %q, want 6", got)
	}
}

func TestStartWithTimezone(t *testing.T) {
	s := clickhousetest.StartWith(t, clickhousetest.Options{Timezone: "Asia/Kolkata"})
	if got := s.Query(t, "SELECT timezone()"); got != "Asia/Kolkata" {
		t.Fatalf("timezone() = %q", got)
	}
}

func TestStartCluster(t *testing.T) {
	servers := clickhousetest.StartCluster(t, 2, "portico_test")
	for i, s := range servers {
		s.Query(t, "CREATE TABLE default.l (x UInt32) ENGINE = MergeTree() ORDER BY x")
		s.Query(t, "CREATE TABLE default.d AS default.l ENGINE = Distributed('portico_test', 'default', 'l', rand())")
		s.Query(t, "INSERT INTO default.l VALUES ("+string(rune('1'+i))+")")
	}
	for _, s := range servers {
		if got := s.Query(t, "SELECT sum(x) FROM default.d"); got != "3" {
			t.Fatalf("%s: distributed sum = %q, want 3", s.URL, got)
		}
	}
}
