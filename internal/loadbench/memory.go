package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// readMem reads Portico's memory (pid) and, from its Prometheus
// metricsURL, its goroutines and Go heap and stacks in use; those are -1
// when the metrics cannot be read.
func readMem(ctx context.Context, pid int, metricsURL string) (memSample, error) {
	m := memSample{Goroutines: -1, GoInUse: -1}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m, err
	}
	if m.RSS, m.Threads, err = parseStatus(string(status)); err != nil {
		return m, fmt.Errorf("/proc/%d/status: %w", pid, err)
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return m, err
	}
	m.FDs = int64(len(fds))
	if metricsURL == "" {
		return m, nil
	}
	v, err := scrape(ctx, metricsURL, "go_goroutines", "go_memstats_heap_inuse_bytes", "go_memstats_stack_inuse_bytes")
	if err == nil {
		m.Goroutines = int64(v[0])
		m.GoInUse = int64(v[1] + v[2])
	}
	return m, nil
}

// settledMem reads Portico's memory once its RSS has stopped moving: two
// readings a second apart within 1 % of each other, or after 10 seconds.
func settledMem(ctx context.Context, pid int, metricsURL string) (memSample, error) {
	deadline := time.Now().Add(10 * time.Second)
	last, err := readMem(ctx, pid, "")
	if err != nil {
		return last, err
	}
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-time.After(time.Second):
		}
		m, err := readMem(ctx, pid, "")
		if err != nil {
			return m, err
		}
		steady := math.Abs(float64(m.RSS-last.RSS)) <= 0.01*float64(last.RSS)
		last = m
		if steady {
			break
		}
	}
	return readMem(ctx, pid, metricsURL)
}

// parseStatus returns VmRSS in bytes and Threads from the text of
// /proc/PID/status.
func parseStatus(s string) (rss, threads int64, err error) {
	var seen struct{ rss, threads bool }
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		switch k {
		case "VmRSS":
			// VmRSS:	   12345 kB
			if len(f) != 2 || f[1] != "kB" {
				return 0, 0, fmt.Errorf("VmRSS line %q: unexpected shape", line)
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil || kb < 0 {
				return 0, 0, fmt.Errorf("VmRSS line %q: bad number", line)
			}
			rss, seen.rss = kb*1024, true
		case "Threads":
			if len(f) != 1 {
				return 0, 0, fmt.Errorf("Threads line %q: unexpected shape", line)
			}
			if threads, err = strconv.ParseInt(f[0], 10, 64); err != nil || threads < 0 {
				return 0, 0, fmt.Errorf("Threads line %q: bad number", line)
			}
			seen.threads = true
		}
	}
	if !seen.rss || !seen.threads {
		return 0, 0, fmt.Errorf("no VmRSS or no Threads line")
	}
	return rss, threads, nil
}

// scrape reads the Prometheus text exposition at url and returns the
// values of the unlabelled samples names, in their order.
func scrape(ctx context.Context, url string, names ...string) ([]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return parseMetrics(io.LimitReader(resp.Body, 16<<20), names...)
}

// parseMetrics returns the values of the unlabelled samples names in a
// Prometheus text exposition, in their order; a name not there is an
// error.
func parseMetrics(r io.Reader, names ...string) ([]float64, error) {
	want := make(map[string]int, len(names))
	for i, n := range names {
		want[n] = i
	}
	vals := make([]float64, len(names))
	found := make([]bool, len(names))
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		// name value [timestamp]
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		i, ok := want[f[0]]
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("metric line %q: bad value", line)
		}
		vals[i], found[i] = v, true
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for i, ok := range found {
		if !ok {
			return nil, fmt.Errorf("no metric %s", names[i])
		}
	}
	return vals, nil
}
