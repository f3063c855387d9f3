package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestWebhookAllowCIDRFlag: --webhook-allow-cidr takes CIDRs and
// addresses, comma-separated or repeated; a source of higher rank
// (file < environment < flags) replaces the list of a lower one rather
// than adding to it; a malformed range or one with bits set past its
// length is refused.
func TestWebhookAllowCIDRFlag(t *testing.T) {
	dir := testListFlag(t, "webhook_allow_cidr: [10.0.0.0/8, 127.0.0.1]\n", func(file string) []listFlagCase {
		return []listFlagCase{
			{"repeated and comma-separated", []string{"--webhook-allow-cidr", "10.0.0.0/8", "--webhook-allow-cidr", "192.168.1.7, fd00::/8"}, nil,
				[]string{"10.0.0.0/8", "192.168.1.7/32", "fd00::/8"}},
			{"file list", []string{"--config", file}, nil, []string{"10.0.0.0/8", "127.0.0.1/32"}},
			{"environment over file", []string{"--config", file}, map[string]string{"PORTICO_WEBHOOK_ALLOW_CIDR": "172.16.0.0/12"},
				[]string{"172.16.0.0/12"}},
			{"flag over environment", []string{"--webhook-allow-cidr", "::1"}, map[string]string{"PORTICO_WEBHOOK_ALLOW_CIDR": "172.16.0.0/12"},
				[]string{"::1/128"}},
			{"none", nil, nil, nil},
		}
	}, func(c Config) ([]string, error) {
		prefixes, err := c.webhookAllowCIDRs()
		var got []string
		for _, p := range prefixes {
			got = append(got, p.String())
		}
		return got, err
	})
	none := func(string) (string, bool) { return "", false }
	for _, tc := range []struct{ value, want string }{
		{"10.0.0.5/8", "did you mean 10.0.0.0/8"},
		{"example.com", "want a CIDR"},
		{"10.0.0.0/33", "want a CIDR"},
	} {
		_, err := LoadConfig([]string{"--data-dir", dir, "--webhook-allow-cidr", tc.value}, none)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v", tc.value, err)
		}
	}
}

// TestReadBodyTimeout: a client that stops sending its request body gets
// a 408 once --read-body-timeout has passed without a byte, over plain
// HTTP/1.1 (and its connection closed) as over TLS with HTTP/2 (the
// stream); one whose body keeps moving, though slower than the timeout
// in total, is served.
func TestReadBodyTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	backend := echoBackend(t)
	cert := newTestCert(t, 50)
	certFile, keyFile := cert.writeFiles(t, t.TempDir(), "gateway")
	plain := startNodeWith(t, t.TempDir(), func(c *Config) { c.ReadBodyTimeout = timeout })
	tlsNode := startNodeWith(t, t.TempDir(), func(c *Config) {
		c.ReadBodyTimeout = timeout
		c.GatewayTLSCert, c.GatewayTLSKey = certFile, keyFile
	})
	for _, m := range []*Main{plain, tlsNode} {
		publishOpen(t, client{t, "http://" + m.AdminAddr + "/api/v1", "admin", adminPassword}, "/up", backend.URL)
	}

	t.Run("HTTP/1.1 stalled", func(t *testing.T) {
		conn, err := net.DialTimeout("tcp", plain.GatewayAddr, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(30 * time.Second))
		start := time.Now()
		io.WriteString(conn, "POST /up/x HTTP/1.1\r\nHost: gw\r\nContent-Length: 100\r\n\r\n0123456789")
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		if resp.StatusCode != 408 || took < timeout {
			t.Fatalf("status %d after %v", resp.StatusCode, took)
		}
		if _, err := br.ReadByte(); err == nil {
			t.Fatal("the connection stays open after the 408")
		}
	})
	t.Run("HTTP/2 stalled", func(t *testing.T) {
		pr, pw := io.Pipe()
		defer pw.Close()
		go pw.Write([]byte("0123456789")) // then nothing, and no end
		req, _ := http.NewRequest("POST", "https://"+tlsNode.GatewayAddr+"/up/x", pr)
		start := time.Now()
		resp, err := tlsClient(cert).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if took := time.Since(start); resp.StatusCode != 408 || resp.Proto != "HTTP/2.0" || took < timeout {
			t.Fatalf("status %d over %s after %v", resp.StatusCode, resp.Proto, took)
		}
	})
	t.Run("slow but moving", func(t *testing.T) {
		for _, base := range []string{"http://" + plain.GatewayAddr, "https://" + tlsNode.GatewayAddr} {
			pr, pw := io.Pipe()
			go func() {
				for range 8 { // 8 × 100 ms: longer than the timeout in all
					pw.Write([]byte("0123456789"))
					time.Sleep(timeout / 3)
				}
				pw.Close()
			}()
			req, _ := http.NewRequest("POST", base+"/up/x", pr)
			resp, err := tlsClient(cert).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(b), `"len":80`) {
				t.Fatalf("%s: %d %s", base, resp.StatusCode, b)
			}
		}
	})
	none := func(string) (string, bool) { return "", false }
	if _, err := LoadConfig([]string{"--data-dir", t.TempDir(), "--read-body-timeout", "-1s"}, none); err == nil {
		t.Error("a negative read-body-timeout was accepted")
	}
	if c, err := LoadConfig([]string{"--data-dir", t.TempDir()}, none); err != nil || c.ReadBodyTimeout != 30*time.Second {
		t.Errorf("default read-body-timeout %v (%v)", c.ReadBodyTimeout, err)
	}
}

// listFlagCase is a case of testListFlag: LoadConfig of args with the
// environment env gives the list want.
type listFlagCase struct {
	name string
	args []string
	env  map[string]string
	want []string
}

// testListFlag writes yaml to portico.yaml in a new data dir, runs each
// case of cases(that file) with --data-dir that dir, and checks what
// parse gives of the Config loaded. It returns the dir.
func testListFlag(t *testing.T, yaml string, cases func(file string) []listFlagCase, parse func(Config) ([]string, error)) string {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "portico.yaml")
	os.WriteFile(file, []byte(yaml), 0o600)
	for _, tc := range cases(file) {
		t.Run(tc.name, func(t *testing.T) {
			c, err := LoadConfig(append(tc.args, "--data-dir", dir), func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if err != nil {
				t.Fatal(err)
			}
			got, err := parse(c)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	return dir
}

// TestEngineFlagsRefused: a bad engine name, a timeout that is not
// positive or an AJP packet size out of range is refused at start with
// the flag named; the defaults are the fast engine and net/http's
// timeouts.
func TestEngineFlagsRefused(t *testing.T) {
	none := func(string) (string, bool) { return "", false }
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--gateway-engine", "fasthttp"}, "gateway-engine"},
		{[]string{"--gateway-engine", ""}, "gateway-engine"},
		{[]string{"--read-header-timeout", "0s"}, "read-header-timeout"},
		{[]string{"--idle-timeout", "-1s"}, "idle-timeout"},
		{[]string{"--ajp-packet-size", "1024"}, "ajp-packet-size"},
		{[]string{"--ajp-packet-size", "65537"}, "ajp-packet-size"},
	} {
		_, err := LoadConfig(append(c.args, "--data-dir", t.TempDir()), none)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("LoadConfig(%q): %v, want an error naming %s", c.args, err, c.want)
		}
	}
	c, err := LoadConfig([]string{"--data-dir", t.TempDir()}, none)
	if err != nil || c.GatewayEngine != "fast" || c.ReadHeaderTimeout != 10*time.Second || c.IdleTimeout != 120*time.Second {
		t.Errorf("defaults: %q %v %v (%v)", c.GatewayEngine, c.ReadHeaderTimeout, c.IdleTimeout, err)
	}
}

// TestServeWriteTimeout: --write-timeout reaches both gateway engines: a
// client that never reads its answer has its connection closed, and the
// backend's write of a 64 MiB answer fails instead of blocking.
func TestServeWriteTimeout(t *testing.T) {
	done := make(chan error, 1)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat("x", 32<<10))
		var err error
		for i := 0; i < 2048 && err == nil; i++ {
			_, err = w.Write(chunk)
		}
		done <- err
	}))
	defer func() {
		backend.CloseClientConnections()
		backend.Close()
	}()
	for _, engine := range []string{"fast", "std"} {
		m := startNodeWith(t, t.TempDir(), func(c *Config) {
			c.GatewayEngine = engine
			c.WriteTimeout = 300 * time.Millisecond
			c.MetricsToken = testMetricsToken
		})
		admin := client{t, "http://" + m.AdminAddr + "/api/v1", "admin", adminPassword}
		publishOpen(t, admin, "/open", backend.URL)
		c, err := net.Dial("tcp", m.GatewayAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.(*net.TCPConn).SetReadBuffer(4 << 10)
		io.WriteString(c, "GET /open/big HTTP/1.1\r\nHost: x\r\n\r\n")
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("%s: the backend wrote 64 MiB for a client that reads nothing", engine)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: the backend's write for a client that reads nothing still blocks after 30 s", engine)
		}
		// The close is counted for the operator, by listener.
		_, _, metrics := metricsAnswer(t, "http://"+m.AdminAddr+"/metrics", testMetricsToken)
		for _, want := range []string{`portico_write_timeouts_total{listener="gateway"} 1`, `portico_write_timeouts_total{listener="admin"} 0`} {
			if !strings.Contains(metrics, want) {
				t.Errorf("%s: /metrics lacks %s", engine, want)
			}
		}
	}
	none := func(string) (string, bool) { return "", false }
	if _, err := LoadConfig([]string{"--data-dir", t.TempDir(), "--write-timeout", "-1s"}, none); err == nil || !strings.Contains(err.Error(), "write-timeout") {
		t.Errorf("a negative write-timeout: %v, want an error naming it", err)
	}
	if c, err := LoadConfig([]string{"--data-dir", t.TempDir()}, none); err != nil || c.WriteTimeout != time.Minute {
		t.Errorf("default write-timeout %v (%v), want 1m", c.WriteTimeout, err)
	}
}
