package main

import (
	"bufio"
	"maps"
	"strings"
	"testing"
)

func TestRedisDelta(t *testing.T) {
	before := redisSample{Calls: map[string]int64{"evalsha": 100, "time": 100, "ping": 3}, Reads: 1000, Conns: 10}
	after := redisSample{Calls: map[string]int64{"evalsha": 110, "time": 110, "ping": 3, "hello": 2}, Reads: 1000 + 12 + harnessReads, Conns: 12 + harnessConns}
	u := redisDelta(before, after, 1000)
	if u.Commands != 22 || u.PerRequest != 0.022 || u.RoundTrips != 12 || u.RoundTripsPerRequest != 0.012 || u.Connections != 2 {
		t.Errorf("redisDelta = %+v, want 22 commands (0.022/req), 12 round trips (0.012/req), 2 connections", u)
	}
	if want := map[string]int64{"evalsha": 10, "time": 10, "hello": 2}; !maps.Equal(u.ByCommand, want) {
		t.Errorf("by command = %v, want %v", u.ByCommand, want)
	}
	if got := fmtCommands(u.ByCommand, 1000); got != "evalsha 10 (0.0100/req), time 10 (0.0100/req), hello 2 (0.0020/req)" {
		t.Errorf("fmtCommands = %q", got)
	}
	// No requests, and nothing but the harness: zeros, not NaN.
	if u := redisDelta(before, before, 0); u.PerRequest != 0 || u.RoundTrips != 0 || u.Connections != 0 {
		t.Errorf("redisDelta with nothing = %+v, want zeros", u)
	}
}

func TestReadRESP(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{"+PONG\r\n", "PONG", ""},
		{":42\r\n", "42", ""},
		{"$5\r\nab\r\nc\r\n", "ab\r\nc", ""},
		{"-ERR unknown command\r\n", "", "ERR unknown command"},
		{"$-1\r\n", "", "bad bulk length"},
		{"$9\r\nshort\r\n", "", "EOF"},
		{"*1\r\n$1\r\na\r\n", "", "unexpected reply"},
	}
	for _, tt := range tests {
		got, err := readRESP(bufio.NewReader(strings.NewReader(tt.in)))
		if got != tt.want || (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("readRESP(%q) = %q, %v; want %q, error containing %q", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestSummarizeRedis(t *testing.T) {
	ts := []*target{{name: "nginx"}, {name: "portico-cluster"}}
	rr := func(target string, round int, rps float64, redis *redisUse) runResult {
		return runResult{Target: target, Round: round, wrkResult: wrkResult{Requests: 1000, ReqPerSec: rps}, Redis: redis}
	}
	ru := func(cmds, trips int64) *redisUse {
		return &redisUse{Commands: cmds, PerRequest: float64(cmds) / 1000, RoundTrips: trips,
			RoundTripsPerRequest: float64(trips) / 1000, ByCommand: map[string]int64{"evalsha": trips}}
	}
	r := &results{
		Options: optionsOut{Rounds: 3},
		Runs: []runResult{
			rr("nginx", 1, 100, nil), rr("portico-cluster", 1, 50, ru(60, 10)),
			rr("portico-cluster", 2, 60, ru(30, 5)), rr("nginx", 2, 100, nil),
			rr("nginx", 3, 100, nil), rr("portico-cluster", 3, 70, ru(90, 15)),
		},
	}
	r.summarize(ts)
	if r.Targets[0].Redis != nil {
		t.Errorf("nginx has Redis figures: %+v", r.Targets[0].Redis)
	}
	rs := r.Targets[1].Redis
	if rs == nil || rs.PerRequest != 0.06 || rs.RoundTripsPerRequest != 0.01 || rs.Commands != 180 || rs.RoundTrips != 30 ||
		rs.Requests != 3000 || rs.ByCommand["evalsha"] != 30 {
		t.Errorf("portico-cluster Redis = %+v, want medians 0.06 commands and 0.01 round trips per request, sums 180, 30, 3000", rs)
	}
	if len(r.Ratios) != 1 || r.Ratios[0].Target != "portico-cluster" || r.Ratios[0].Median != 0.6 {
		t.Errorf("ratios = %+v, want portico-cluster / nginx 0.6", r.Ratios)
	}
	var out strings.Builder
	r.print(&out)
	for _, want := range []string{"redis cmd/req", "redis trips/req", "0.0600", "0.0100", "portico-cluster / nginx",
		"Redis of portico-cluster", "evalsha 30 (0.0100/req)", "Redis round trips/req"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}
