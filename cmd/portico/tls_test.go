package main

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testCert is a self-signed certificate for localhost and 127.0.0.1.
type testCert struct {
	cert    *x509.Certificate
	certPEM []byte
	keyPEM  []byte
}

// newTestCert makes a self-signed ECDSA certificate with the given serial
// number.
func newTestCert(t testing.TB, serial int64) testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: fmt.Sprintf("portico test %d", serial)},
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return testCert{
		cert:    cert,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
}

// writeFiles writes the certificate and key to name.crt and name.key in
// dir, replacing what they held, and returns their paths.
func (c testCert) writeFiles(t testing.TB, dir, name string) (certFile, keyFile string) {
	t.Helper()
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	for _, f := range []struct {
		path string
		b    []byte
	}{{certFile, c.certPEM}, {keyFile, c.keyPEM}} {
		tmp := f.path + ".tmp"
		if err := os.WriteFile(tmp, f.b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, f.path); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile
}

// tlsClient returns an HTTP client that trusts certs and offers HTTP/2.
func tlsClient(certs ...testCert) *http.Client {
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c.cert)
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true,
	}}
}

// echoBackend answers every request with what it received: protocol,
// X-Forwarded-Proto, body length and SHA-256.
func echoBackend(t *testing.T) *httptest.Server {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{
			"proto": r.Proto, "xfp": r.Header.Get("X-Forwarded-Proto"), "method": r.Method,
			"len": n, "sum": hex.EncodeToString(h.Sum(nil)),
		})
	}))
	t.Cleanup(backend.Close)
	return backend
}

// TestGatewayOverTLS: the gateway serves HTTPS with HTTP/2 to clients
// that offer it; requests reach the backend over HTTP/1.1 with their
// bodies whole (of a known length or streamed), X-Forwarded-Proto is
// https, and the requests are counted in /metrics and recorded in
// analytics.
func TestGatewayOverTLS(t *testing.T) {
	cert := newTestCert(t, 1)
	certFile, keyFile := cert.writeFiles(t, t.TempDir(), "gateway")
	backend := echoBackend(t)
	m := startNodeWith(t, t.TempDir(), func(c *Config) {
		c.GatewayTLSCert, c.GatewayTLSKey = certFile, keyFile
		c.MetricsToken = testMetricsToken
	})
	admin := client{t, "http://" + m.AdminAddr + "/api/v1", "admin", adminPassword}
	publishOpen(t, admin, "/tls", backend.URL)
	hc := tlsClient(cert)
	gw := "https://" + m.GatewayAddr

	large := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	sum := sha256.Sum256(large)
	for _, tc := range []struct {
		name string
		body func() io.Reader
	}{
		{"known length", func() io.Reader { return bytes.NewReader(large) }},
		{"streamed", func() io.Reader {
			pr, pw := io.Pipe()
			go func() {
				for i := 0; i < len(large); i += 100 << 10 {
					pw.Write(large[i:min(i+100<<10, len(large))])
				}
				pw.Close()
			}()
			return pr
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", gw+"/tls/upload", tc.body())
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var got map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
				t.Fatalf("%d: %v", resp.StatusCode, err)
			}
			if resp.StatusCode != 200 || resp.Proto != "HTTP/2.0" || resp.TLS == nil {
				t.Fatalf("status %d over %s", resp.StatusCode, resp.Proto)
			}
			if got["xfp"] != "https" || got["proto"] != "HTTP/1.1" || got["method"] != "POST" ||
				got["len"] != float64(len(large)) || got["sum"] != hex.EncodeToString(sum[:]) {
				t.Fatalf("the backend got %v", got)
			}
		})
	}
	// An HTTP/1.1 client is served too.
	h1 := tlsClient(cert)
	h1.Transport.(*http.Transport).ForceAttemptHTTP2 = false
	resp, err := h1.Get(gw + "/tls/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Proto != "HTTP/1.1" {
		t.Fatalf("HTTP/1.1 client: %d %s", resp.StatusCode, resp.Proto)
	}
	// A plain HTTP request to the TLS listener is not served.
	if resp, err := http.Get("http://" + m.GatewayAddr + "/tls/x"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Fatalf("plain HTTP to the TLS gateway: %d %s", resp.StatusCode, b)
		}
	}

	_, _, metrics := metricsAnswer(t, "http://"+m.AdminAddr+"/metrics", testMetricsToken)
	if want := `portico_requests_total{api="tls",class="2xx",version="v1"} 3`; !strings.Contains(metrics, want) {
		t.Errorf("/metrics lacks %s", want)
	}
	waitFor(t, "3 recorded requests", 30*time.Second, func() bool { return totalRequests(t, admin, "&api=tls") == 3 })
}

// TestAdminOverTLS: the admin listener serves HTTPS and HTTP/2: reads,
// writes with a JSON body, /metrics with its token; its own origin is
// the https one.
func TestAdminOverTLS(t *testing.T) {
	cert := newTestCert(t, 2)
	certFile, keyFile := cert.writeFiles(t, t.TempDir(), "admin")
	m := startNodeWith(t, t.TempDir(), func(c *Config) {
		c.AdminTLSCert, c.AdminTLSKey = certFile, keyFile
		c.MetricsToken = testMetricsToken
	})
	hc := tlsClient(cert)
	base := "https://" + m.AdminAddr
	origin := ""
	call := func(method, path, token string, body any) (*http.Response, string) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, base+path, rd)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		} else {
			req.SetBasicAuth("admin", adminPassword)
		}
		req.Header.Set("Content-Type", "application/json")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.Proto != "HTTP/2.0" {
			t.Errorf("%s %s over %s", method, path, resp.Proto)
		}
		return resp, string(b)
	}
	if resp, body := call("GET", "/api/v1/users/me", "", nil); resp.StatusCode != 200 || !strings.Contains(body, `"admin"`) {
		t.Fatalf("GET /users/me: %d %s", resp.StatusCode, body)
	}
	if resp, body := call("POST", "/api/v1/users", "", map[string]any{"username": "pat", "password": "publisher-pw", "roles": []string{"publisher"}}); resp.StatusCode != 201 {
		t.Fatalf("POST /users: %d %s", resp.StatusCode, body)
	}
	if resp, body := call("GET", "/metrics", testMetricsToken, nil); resp.StatusCode != 200 || !strings.Contains(body, "portico_config_version") {
		t.Fatalf("GET /metrics: %d %.200s", resp.StatusCode, body)
	}
	// The listener's own origin is https: a page served by it may write;
	// the same host over http is another origin.
	origin = "https://" + m.AdminAddr
	if resp, body := call("POST", "/api/v1/users", "", map[string]any{"username": "sam", "password": "subscriber-pw", "roles": []string{"subscriber"}}); resp.StatusCode != 201 {
		t.Fatalf("POST /users from %s: %d %s", origin, resp.StatusCode, body)
	}
	origin = "http://" + m.AdminAddr
	if resp, body := call("POST", "/api/v1/users", "", map[string]any{"username": "eve", "password": "subscriber-pw", "roles": []string{"subscriber"}}); resp.StatusCode != 403 {
		t.Fatalf("POST /users from %s: %d %s", origin, resp.StatusCode, body)
	}
}

// TestTLSRefusesOldClients: TLS 1.0 and 1.1 clients, and TLS 1.2 clients
// that offer only CBC or RSA key exchange suites, get no connection; a
// TLS 1.2 client with an ECDHE AEAD suite and a TLS 1.3 client do.
func TestTLSRefusesOldClients(t *testing.T) {
	cert := newTestCert(t, 3)
	certFile, keyFile := cert.writeFiles(t, t.TempDir(), "gateway")
	m := startNodeWith(t, t.TempDir(), func(c *Config) { c.GatewayTLSCert, c.GatewayTLSKey = certFile, keyFile })
	pool := x509.NewCertPool()
	pool.AddCert(cert.cert)
	for _, tc := range []struct {
		name string
		cfg  *tls.Config
		ok   bool
	}{
		{"TLS 1.0", &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10}, false},
		{"TLS 1.1", &tls.Config{MinVersion: tls.VersionTLS11, MaxVersion: tls.VersionTLS11}, false},
		{"TLS 1.2 CBC", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}}, false},
		{"TLS 1.2 RSA key exchange", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256}}, false},
		{"TLS 1.2 ECDHE AES-GCM", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}, true},
		{"TLS 1.3", &tls.Config{MinVersion: tls.VersionTLS13}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.RootCAs = pool
			cfg.ServerName = "localhost"
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", m.GatewayAddr, cfg)
			if err == nil {
				conn.Close()
			}
			if (err == nil) != tc.ok {
				t.Fatalf("handshake: %v, want success %v", err, tc.ok)
			}
		})
	}
}

// peerSerial returns the serial number of the certificate the server
// showed on the connection of resp.
func peerSerial(resp *http.Response) int64 {
	if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 {
		return 0
	}
	return resp.TLS.PeerCertificates[0].SerialNumber.Int64()
}

// getOn GETs url with hc and reports the serial number of the server's
// certificate and whether the request went over a connection used before.
func getOn(t *testing.T, hc *http.Client, url string) (serial int64, reused bool) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused },
	}))
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 { // no API: the gateway's own answer
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	return peerSerial(resp), reused
}

// TestTLSCertificateReload: ReloadCertificates (what SIGHUP calls) serves
// the new pair to new connections while a keep-alive connection made
// before goes on working; a pair that does not match keeps the current
// one in place, with an error in the log.
func TestTLSCertificateReload(t *testing.T) {
	a, b, c := newTestCert(t, 10), newTestCert(t, 11), newTestCert(t, 12)
	dir := t.TempDir()
	certFile, keyFile := a.writeFiles(t, dir, "gateway")
	logs := &tailBuffer{}
	m := newTestNode(t, t.TempDir(), func(c *Config) { c.GatewayTLSCert, c.GatewayTLSKey = certFile, keyFile })
	m.Stderr = logs
	if err := m.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	url := "https://" + m.GatewayAddr + "/none"
	old := tlsClient(a, b, c)
	if serial, _ := getOn(t, old, url); serial != 10 {
		t.Fatalf("first certificate: serial %d", serial)
	}

	b.writeFiles(t, dir, "gateway")
	if err := m.ReloadCertificates(); err != nil {
		t.Fatal(err)
	}
	if serial, _ := getOn(t, tlsClient(a, b, c), url); serial != 11 {
		t.Fatalf("a new connection after the reload got serial %d, want 11", serial)
	}
	if serial, reused := getOn(t, old, url); serial != 10 || !reused {
		t.Fatalf("the connection made before the reload: serial %d, reused %v", serial, reused)
	}

	// c's certificate with b's key: refused, b stays.
	os.WriteFile(certFile, c.certPEM, 0o600)
	err := m.ReloadCertificates()
	if err == nil || !strings.Contains(err.Error(), "private key does not match public key") || !strings.Contains(err.Error(), certFile) {
		t.Fatalf("mismatched pair: %v", err)
	}
	if !strings.Contains(logs.String(), "TLS certificate not reloaded") {
		t.Errorf("no error logged:\n%s", logs.String())
	}
	if serial, _ := getOn(t, tlsClient(a, b, c), url); serial != 11 {
		t.Fatalf("after a bad pair a new connection got serial %d, want 11", serial)
	}
	os.WriteFile(certFile, []byte("not PEM"), 0o600)
	if err := m.ReloadCertificates(); err == nil {
		t.Fatal("a certificate file that is not PEM was reloaded")
	}
	if serial, reused := getOn(t, old, url); serial != 10 || !reused {
		t.Fatalf("the first connection after two reloads: serial %d, reused %v", serial, reused)
	}
}

// TestTLSReloadOnSIGHUP runs the built binary with a TLS gateway, replaces
// the certificate files and sends SIGHUP: new connections get the new
// certificate, one opened before keeps working, and the process runs on
// until SIGTERM.
func TestTLSReloadOnSIGHUP(t *testing.T) {
	bin := buildPortico(t)
	a, b := newTestCert(t, 20), newTestCert(t, 21)
	dir := t.TempDir()
	certFile, keyFile := a.writeFiles(t, dir, "gateway")
	gwAddr, adminAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(bin, "serve", "--data-dir", t.TempDir(), "--gateway-addr", gwAddr, "--admin-addr", adminAddr,
		"--gateway-tls-cert", certFile, "--gateway-tls-key", keyFile, "--analytics", "none")
	cmd.Env = append(os.Environ(), "PORTICO_ADMIN_PASSWORD="+adminPassword)
	logs := &tailBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitHTTP(t, "http://"+adminAddr+"/healthz")
	url := "https://" + gwAddr + "/none"
	old := tlsClient(a, b)
	if serial, _ := getOn(t, old, url); serial != 20 {
		t.Fatalf("first certificate: serial %d", serial)
	}
	b.writeFiles(t, dir, "gateway")
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the new certificate on new connections", 10*time.Second, func() bool {
		serial, _ := getOn(t, tlsClient(a, b), url)
		return serial == 21
	})
	if serial, reused := getOn(t, old, url); serial != 20 || !reused {
		t.Fatalf("the connection made before SIGHUP: serial %d, reused %v", serial, reused)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGHUP and SIGTERM: %v\n%s", err, logs.String())
	}
	if !strings.Contains(logs.String(), "TLS certificate reloaded") {
		t.Errorf("no reload in the log:\n%s", logs.String())
	}
}

// TestTLSConfigErrors: a certificate without its key (or the reverse) is
// a configuration error; a pair that does not match, or a file that is
// missing, stops the start with a message naming the files, before
// anything listens.
func TestTLSConfigErrors(t *testing.T) {
	none := func(string) (string, bool) { return "", false }
	for _, args := range [][]string{
		{"--gateway-tls-cert", "x.crt"},
		{"--gateway-tls-key", "x.key"},
		{"--admin-tls-cert", "x.crt"},
		{"--admin-tls-key", "x.key"},
	} {
		_, err := LoadConfig(append(args, "--data-dir", t.TempDir()), none)
		if err == nil || !strings.Contains(err.Error(), "go together") {
			t.Errorf("%v: %v", args, err)
		}
	}

	dir := t.TempDir()
	aCert, _ := newTestCert(t, 30).writeFiles(t, dir, "a")
	_, bKey := newTestCert(t, 31).writeFiles(t, dir, "b")
	for _, tc := range []struct {
		name      string
		set       func(*Config)
		wantParts []string
	}{
		{"gateway pair mismatched", func(c *Config) { c.GatewayTLSCert, c.GatewayTLSKey = aCert, bKey },
			[]string{"gateway TLS certificate", aCert, bKey, "private key does not match public key"}},
		{"admin key missing", func(c *Config) { c.AdminTLSCert, c.AdminTLSKey = aCert, filepath.Join(dir, "none.key") },
			[]string{"admin TLS certificate", "none.key", "no such file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newTestNode(t, t.TempDir(), tc.set)
			err := m.Run(t.Context())
			m.Close()
			if err == nil {
				t.Fatal("the node started")
			}
			for _, want := range tc.wantParts {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%v lacks %q", err, want)
				}
			}
			if m.GatewayAddr != "" || m.AdminAddr != "" {
				t.Errorf("listeners opened: %q %q", m.GatewayAddr, m.AdminAddr)
			}
		})
	}
}

// TestWebSocketOverTLS: a WebSocket client (HTTP/1.1 over TLS, as
// clients use while the server does not offer RFC 8441 over HTTP/2)
// reaches a backend through a TLS gateway and exchanges bytes both ways.
func TestWebSocketOverTLS(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "want an upgrade", 400)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Forwarded-Proto-Seen: " +
			r.Header.Get("X-Forwarded-Proto") + "\r\n\r\n")
		brw.Flush()
		io.Copy(conn, brw) // echo
	}))
	defer backend.Close()
	cert := newTestCert(t, 40)
	certFile, keyFile := cert.writeFiles(t, t.TempDir(), "gateway")
	m := startNodeWith(t, t.TempDir(), func(c *Config) { c.GatewayTLSCert, c.GatewayTLSKey = certFile, keyFile })
	admin := client{t, "http://" + m.AdminAddr + "/api/v1", "admin", adminPassword}
	api := admin.call("POST", "/apis", map[string]any{"name": "ws", "version": "v1", "context": "/ws", "auth": "none", "websocket": true,
		"endpoint": map[string]any{"type": "single", "targets": []any{map[string]any{"url": backend.URL}}}}, 201)
	admin.call("POST", "/apis/"+api["id"].(string)+"/publish", nil, 200)

	pool := x509.NewCertPool()
	pool.AddCert(cert.cert)
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", m.GatewayAddr,
		&tls.Config{RootCAs: pool, ServerName: "localhost", NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	io.WriteString(conn, "GET /ws/chat HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || resp.Header.Get("X-Forwarded-Proto-Seen") != "https" {
		t.Fatalf("upgrade: %d %v", resp.StatusCode, resp.Header)
	}
	io.WriteString(conn, "ping over TLS")
	got := make([]byte, len("ping over TLS"))
	if _, err := io.ReadFull(br, got); err != nil || string(got) != "ping over TLS" {
		t.Fatalf("echo %q: %v", got, err)
	}
}
