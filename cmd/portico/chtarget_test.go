package main

import "testing"

// TestClickhouseTarget: addresses set at run time replace those of
// --analytics and keep its user, database and parameters (a restart
// once wrote to the default database without the rollup=false it was
// given).
func TestClickhouseTarget(t *testing.T) {
	addrs := []string{"10.0.0.1:8123", "10.0.0.2:8123"}
	for _, c := range []struct{ flag, want string }{
		{"embedded", "clickhouse://10.0.0.1:8123,10.0.0.2:8123"},
		{"none", "clickhouse://10.0.0.1:8123,10.0.0.2:8123"},
		{"clickhouse://ch1", "clickhouse://10.0.0.1:8123,10.0.0.2:8123"},
		{"clickhouse://ch1:9000/dbr?rollup=false", "clickhouse://10.0.0.1:8123,10.0.0.2:8123/dbr?rollup=false"},
		{"clickhouse://ch1?secure=true&table=t", "clickhouse://10.0.0.1:8123,10.0.0.2:8123?secure=true&table=t"},
		{"clickhouse://u:p%40ss@ch1,ch2/db", "clickhouse://u:p%40ss@10.0.0.1:8123,10.0.0.2:8123/db"},
	} {
		if got := clickhouseTarget(c.flag, addrs); got != c.want {
			t.Errorf("clickhouseTarget(%q) = %q, want %q", c.flag, got, c.want)
		}
	}
}
