package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/portico-gw/portico/internal/redisinfo"
)

// startRedis starts a redis-server named name on a free loopback port,
// without persistence (--save "" --appendonly no), its working dir in the
// temp dir, and waits until it answers PING. It returns the process and
// its host:port.
func (e *env) startRedis(ctx context.Context, name string) (*proc, string, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, "", fmt.Errorf("redis-server not found in PATH (Debian: apt-get install -y redis-server; or leave out the target with -targets): %w", err)
	}
	addr, err := freePort()
	if err != nil {
		return nil, "", err
	}
	_, port, _ := net.SplitHostPort(addr)
	dir := filepath.Join(e.dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", err
	}
	cmd := exec.Command(bin,
		"--port", port,
		"--bind", "127.0.0.1",
		"--daemonize", "no",
		"--save", "",
		"--appendonly", "no",
		"--dir", dir,
		"--logfile", "")
	cmd.Dir = dir
	p, err := e.start(name, cmd)
	if err != nil {
		return nil, "", err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		reply, err := redisCommand(ctx, addr, "PING")
		if err == nil && reply == "PONG" {
			return p, addr, nil
		}
		if err == nil {
			err = fmt.Errorf("PING answered %q", reply)
		}
		if p.exited() {
			return p, "", errors.New(p.failure())
		}
		select {
		case <-ctx.Done():
			return p, "", fmt.Errorf("redis-server on %s not ready: %v", addr, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// redisCommand sends one command to the Redis server at addr on a
// connection of its own and returns the reply, which must be a simple
// string, an integer or a bulk string. It is all loadbench needs (PING and
// INFO), and it keeps the go-redis client out of the harness.
func redisCommand(ctx context.Context, addr string, args ...string) (string, error) {
	d := net.Dialer{Timeout: 2 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	deadline := time.Now().Add(5 * time.Second)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = conn.SetDeadline(deadline)
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(conn, b.String()); err != nil {
		return "", err
	}
	return readRESP(bufio.NewReader(conn))
}

// readRESP reads one reply of the kinds redisCommand accepts.
func readRESP(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return "", errors.New("redis: empty reply line")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", fmt.Errorf("redis: %s", line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 || n > 64<<20 {
			return "", fmt.Errorf("redis: bad bulk length %q", line)
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	default:
		return "", fmt.Errorf("redis: unexpected reply %q", clip([]byte(line), 100))
	}
}

// redisSample is one reading of a Redis server's counters.
type redisSample = redisinfo.Sample

// Each reading is one INFO on a connection of its own, which adds to the
// counters between two readings one connection and two reads: its INFO
// and the end of the previous reading's connection. Its INFO calls are
// left out by name.
const harnessReads, harnessConns = 2, 1

// readRedis reads the counters of the Redis server at addr.
func readRedis(ctx context.Context, addr string) (redisSample, error) {
	info, err := redisCommand(ctx, addr, "INFO", "stats", "commandstats")
	if err != nil {
		return redisSample{}, fmt.Errorf("INFO stats commandstats from %s: %w", addr, err)
	}
	return redisinfo.Parse(info)
}

// redisUse is what a target's Redis did during one run.
type redisUse struct {
	// Commands is the calls of all commands, those that Lua scripts made
	// included and INFO's left out: the sum of INFO commandstats.
	Commands   int64   `json:"commands"`
	PerRequest float64 `json:"commands_per_request"` // Commands / the requests wrk made
	// RoundTrips is the read events on client connections
	// (total_reads_processed), the harness's own left out: one per
	// request or pipeline a client sent, and one per connection closed.
	RoundTrips           int64            `json:"round_trips"`
	RoundTripsPerRequest float64          `json:"round_trips_per_request"`
	Connections          int64            `json:"connections"` // accepted during the run, the harness's left out
	ByCommand            map[string]int64 `json:"by_command"`  // the commands called during the run
}

// redisDelta is what changed between two readings, over requests
// requests.
func redisDelta(before, after redisSample, requests int64) *redisUse {
	u := &redisUse{ByCommand: map[string]int64{},
		RoundTrips:  max(0, after.Reads-before.Reads-harnessReads),
		Connections: max(0, after.Conns-before.Conns-harnessConns),
	}
	u.ByCommand, u.Commands = after.Since(before)
	if requests > 0 {
		u.PerRequest = float64(u.Commands) / float64(requests)
		u.RoundTripsPerRequest = float64(u.RoundTrips) / float64(requests)
	}
	return u
}

// fmtCommands lists commands by calls, most first: "evalsha 120, publish 2".
func fmtCommands(calls map[string]int64, requests int64) string {
	names := make([]string, 0, len(calls))
	for n := range calls {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if calls[names[i]] != calls[names[j]] {
			return calls[names[i]] > calls[names[j]]
		}
		return names[i] < names[j]
	})
	var parts []string
	for _, n := range names {
		s := fmt.Sprintf("%s %d", n, calls[n])
		if requests > 0 {
			s += fmt.Sprintf(" (%.4f/req)", float64(calls[n])/float64(requests))
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// redisVersion returns the server's version from INFO server, or "".
func redisVersion(ctx context.Context, addr string) string {
	info, err := redisCommand(ctx, addr, "INFO", "server")
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "redis_version:"); ok {
			return v
		}
	}
	return ""
}
