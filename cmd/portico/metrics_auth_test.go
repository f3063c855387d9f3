package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// testMetricsToken is the metrics token of the tests' nodes that need one.
const testMetricsToken = "metrics-token-of-the-tests-0123"

// startNodeWith is startNode with the configuration changed by set
// before the node starts.
func startNodeWith(t *testing.T, dataDir string, set func(*Config)) *Main {
	t.Helper()
	m := newTestNode(t, dataDir, set)
	if err := m.Run(context.Background()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// newTestNode returns the node that startNodeWith starts, not started.
func newTestNode(t *testing.T, dataDir string, set func(*Config)) *Main {
	t.Helper()
	t.Setenv("PORTICO_ADMIN_PASSWORD", adminPassword)
	c := DefaultConfig()
	c.DataDir = dataDir
	c.GatewayAddr = "127.0.0.1:0"
	c.AdminAddr = "127.0.0.1:0"
	c.LogLevel = "warn"
	c.ShutdownTimeout = 5 * time.Second
	if set != nil {
		set(&c)
	}
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
	return &Main{Config: c, Stdout: io.Discard, Stderr: testWriter{t}}
}

// getMetrics GETs url, with the bearer token unless it is empty.
func getMetrics(url, token string) (*http.Response, error) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return adminHTTP.Do(req)
}

// metricsAnswer is the status and body of getMetrics.
func metricsAnswer(t *testing.T, url, token string) (int, http.Header, string) {
	t.Helper()
	resp, err := getMetrics(url, token)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestMetricsNeedTokenOrListener: /metrics on the admin listener is never
// open. Without --metrics-token it answers 404 (no credential would open
// it) naming the two ways to serve it; with one, 401 without the token or
// with a wrong one, the metrics with the right one. --metrics-addr serves
// /metrics alone, without a token, on a listener of its own. Before, the
// admin listener served /metrics to anyone.
func TestMetricsNeedTokenOrListener(t *testing.T) {
	const series = "portico_config_version"
	t.Run("neither", func(t *testing.T) {
		m := startNodeWith(t, t.TempDir(), nil)
		code, _, body := metricsAnswer(t, "http://"+m.AdminAddr+"/metrics", "")
		if code != 404 || strings.Contains(body, series) || !strings.Contains(body, "--metrics-token") || !strings.Contains(body, "--metrics-addr") {
			t.Fatalf("admin /metrics: %d %s", code, body)
		}
		if code, _, body := metricsAnswer(t, "http://"+m.AdminAddr+"/metrics", "anything-at-all-really"); code != 404 || strings.Contains(body, series) {
			t.Fatalf("admin /metrics with a token nobody set: %d %s", code, body)
		}
	})
	t.Run("token", func(t *testing.T) {
		m := startNodeWith(t, t.TempDir(), func(c *Config) { c.MetricsToken = testMetricsToken })
		url := "http://" + m.AdminAddr + "/metrics"
		for _, token := range []string{"", "wrong-token-of-the-tests-0123", testMetricsToken[:len(testMetricsToken)-1], adminPassword} {
			code, h, body := metricsAnswer(t, url, token)
			if code != 401 || strings.Contains(body, series) || h.Get("WWW-Authenticate") != `Bearer realm="metrics"` {
				t.Fatalf("token %q: %d %v %s", token, code, h, body)
			}
		}
		// The admin user's password opens the admin API, not /metrics.
		req, _ := http.NewRequest("GET", url, nil)
		req.SetBasicAuth("admin", adminPassword)
		resp, err := adminHTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Fatalf("admin's Basic credentials: %d", resp.StatusCode)
		}
		if code, _, body := metricsAnswer(t, url, testMetricsToken); code != 200 || !strings.Contains(body, series) {
			t.Fatalf("right token: %d %.200s", code, body)
		}
	})
	t.Run("own listener", func(t *testing.T) {
		m := startNodeWith(t, t.TempDir(), func(c *Config) { c.MetricsAddr = "127.0.0.1:0" })
		if m.MetricsAddr == "" || m.MetricsAddr == m.AdminAddr {
			t.Fatalf("metrics listener %q", m.MetricsAddr)
		}
		if code, _, body := metricsAnswer(t, "http://"+m.MetricsAddr+"/metrics", ""); code != 200 || !strings.Contains(body, series) {
			t.Fatalf("metrics listener: %d %.200s", code, body)
		}
		for _, path := range []string{"/", "/api/v1/users", "/healthz"} {
			if code, _, _ := metricsAnswer(t, "http://"+m.MetricsAddr+path, ""); code != 404 {
				t.Errorf("metrics listener serves %s: %d", path, code)
			}
		}
		code, _, body := metricsAnswer(t, "http://"+m.AdminAddr+"/metrics", "")
		if code != 404 || strings.Contains(body, series) || !strings.Contains(body, "metrics listener") {
			t.Fatalf("admin /metrics: %d %s", code, body)
		}
		addr := m.MetricsAddr
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		if resp, err := http.Get("http://" + addr + "/metrics"); err == nil {
			resp.Body.Close()
			t.Fatal("the metrics listener still serves after Close")
		}
	})
}

// TestMetricsConfig: the token comes from PORTICO_METRICS_TOKEN like
// every setting, and a short one is refused.
func TestMetricsConfig(t *testing.T) {
	env := map[string]string{"PORTICO_METRICS_TOKEN": testMetricsToken, "PORTICO_METRICS_ADDR": "127.0.0.1:9100"}
	c, err := LoadConfig([]string{"--data-dir", t.TempDir()}, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil || c.MetricsToken != testMetricsToken || c.MetricsAddr != "127.0.0.1:9100" {
		t.Fatalf("%q %q %v", c.MetricsToken, c.MetricsAddr, err)
	}
	none := func(string) (string, bool) { return "", false }
	for _, token := range []string{"short", "has a space in it, 123456"} {
		if _, err := LoadConfig([]string{"--data-dir", t.TempDir(), "--metrics-token", token}, none); err == nil || !strings.Contains(err.Error(), "metrics-token") {
			t.Errorf("token %q: %v", token, err)
		}
	}
}
