package clickhouse_test

import (
	"net/url"
	"reflect"
	"testing"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/clickhouse"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		in   string
		want clickhouse.Config
	}{
		{"clickhouse://localhost", clickhouse.Config{Addrs: []string{"http://localhost:8123"}}},
		{"clickhouse://ch1:8123,ch2:9123", clickhouse.Config{Addrs: []string{"http://ch1:8123", "http://ch2:9123"}}},
		{"clickhouse://10.0.0.5,[::1]:8124,[2001:db8::7]", clickhouse.Config{Addrs: []string{"http://10.0.0.5:8123", "http://[::1]:8124", "http://[2001:db8::7]:8123"}}},
		{"clickhouse://ann:s%40cret%3A1@ch1:8123/analytics", clickhouse.Config{
			Addrs: []string{"http://ch1:8123"}, User: "ann", Password: "s@cret:1", Database: "analytics"}},
		{"clickhouse://ann@ch1/", clickhouse.Config{Addrs: []string{"http://ch1:8123"}, User: "ann"}},
		{"clickhouse://ch1,ch2/db?cluster=portico_cluster&table=reqs&retention_days=30", clickhouse.Config{
			Addrs: []string{"http://ch1:8123", "http://ch2:8123"}, Database: "db", Cluster: "portico_cluster", Table: "reqs", RetentionDays: 30}},
		{"clickhouse://ch1?secure=true", clickhouse.Config{Addrs: []string{"https://ch1:8443"}}},
		{"clickhouse://ch1?retention_days=-1", clickhouse.Config{Addrs: []string{"http://ch1:8123"}, RetentionDays: -1}},
		{"clickhouse://ch1?rollup=false", clickhouse.Config{Addrs: []string{"http://ch1:8123"}, NoRollup: true}},
		{"clickhouse://ch1?rollup=true", clickhouse.Config{Addrs: []string{"http://ch1:8123"}}},
	}
	for _, tt := range tests {
		got, err := clickhouse.ParseURL(tt.in)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseURL(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseURLErrors(t *testing.T) {
	for _, in := range []string{
		"", "ch1:8123", "http://ch1:8123", "redis://ch1", "clickhouse://", "clickhouse://ch1,", "clickhouse://,ch1",
		"clickhouse://ch1:", "clickhouse://ch1:0", "clickhouse://ch1:65536", "clickhouse://ch1:+80", "clickhouse://ch1:x",
		"clickhouse://::1", "clickhouse://[::1", "clickhouse://[::1]x", "clickhouse://[1.2.3.4]", "clickhouse://[nothost]:1",
		"clickhouse://ch 1", "clickhouse://ch1#frag", "clickhouse://ch1/a/b", "clickhouse://ch1/bad-db",
		"clickhouse://ch1?cluster=bad%20name", "clickhouse://ch1?table=x;y", "clickhouse://ch1?retention_days=x",
		"clickhouse://ch1?unknown=1", "clickhouse://ch1?cluster=a&cluster=b", "clickhouse://ch1?secure=maybe", "clickhouse://ch1?rollup=no-thanks",
		"clickhouse://@ch1", "clickhouse://u%zz@ch1", "clickhouse://ch1%2f@", "clickhouse://a/b@ch1",
	} {
		if cfg, err := clickhouse.ParseURL(in); portico.ErrorCodeOf(err) != portico.EInvalid {
			t.Errorf("ParseURL(%q) = %+v, %v; want an EInvalid error", in, cfg, err)
		}
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"clickhouse://localhost", "clickhouse://a:1,b:2/db?cluster=c&table=t&retention_days=9&secure=1",
		"clickhouse://u:p@[::1]:8123", "clickhouse://a,,b", "clickhouse://x?%zz",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cfg, err := clickhouse.ParseURL(s)
		if err != nil {
			if portico.ErrorCodeOf(err) != portico.EInvalid {
				t.Fatalf("ParseURL(%q): error %v is not EInvalid", s, err)
			}
			return
		}
		if len(cfg.Addrs) == 0 {
			t.Fatalf("ParseURL(%q) returned no address", s)
		}
		for _, a := range cfg.Addrs {
			u, err := url.Parse(a)
			if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.User != nil || u.Path != "" ||
				u.RawQuery != "" || u.Fragment != "" || u.Hostname() == "" || u.Port() == "" || u.String() != a {
				t.Fatalf("ParseURL(%q): odd address %q", s, a)
			}
		}
		// Whatever parses makes a valid Config.
		if _, err := clickhouse.New(cfg); err != nil {
			t.Fatalf("ParseURL(%q) = %+v, which New rejects: %v", s, cfg, err)
		}
	})
}

func TestNewValidates(t *testing.T) {
	bad := []clickhouse.Config{
		{},
		{Addrs: []string{"ftp://ch1"}},
		{Addrs: []string{"http://ch1:8123/path"}},
		{Addrs: []string{"ch1"}, Database: "a-b"},
		{Addrs: []string{"ch1"}, Table: "t; DROP TABLE x"},
		{Addrs: []string{"ch1"}, Cluster: "c'"},
	}
	for _, cfg := range bad {
		if _, err := clickhouse.New(cfg); portico.ErrorCodeOf(err) != portico.EInvalid {
			t.Errorf("New(%+v): %v, want EInvalid", cfg, err)
		}
	}
	s, err := clickhouse.New(clickhouse.Config{Addrs: []string{"ch1", "http://ch1:8123", "https://ch2", "[::1]:9"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Addrs(), []string{"http://ch1:8123", "https://ch2:8443", "http://[::1]:9"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Addrs() = %v, want %v", got, want)
	}
}
