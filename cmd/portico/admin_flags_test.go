package main

import (
	"bufio"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAdminReadBodyTimeout: --read-body-timeout holds on the admin
// listener too: a client that stops sending its request body gets a 408
// request_timeout that shows nothing of the socket, and its connection
// closed. Before, it got a 400 with "read tcp …: i/o timeout" after the
// admin server's 30 s ReadTimeout.
func TestAdminReadBodyTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	m := startNodeWith(t, t.TempDir(), func(c *Config) { c.ReadBodyTimeout = timeout })
	conn, err := net.DialTimeout("tcp", m.AdminAddr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	auth := base64.StdEncoding.EncodeToString([]byte("admin:" + adminPassword))
	io.WriteString(conn, "POST /api/v1/plans HTTP/1.1\r\nHost: "+m.AdminAddr+"\r\nContent-Type: application/json\r\n"+
		"Authorization: Basic "+auth+"\r\nContent-Length: 100\r\n\r\n{\"name\":")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	t.Logf("%s after %v: %s", resp.Status, took, b)
	if resp.StatusCode != 408 || !strings.Contains(string(b), `"request_timeout"`) || took < timeout {
		t.Fatalf("status %d after %v: %s", resp.StatusCode, took, b)
	}
	if strings.Contains(string(b), "127.0.0.1") || strings.Contains(string(b), "i/o timeout") {
		t.Errorf("the answer shows the socket's error: %s", b)
	}
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("the connection stays open after the 408")
	}
}

// TestAdminAllowedOriginFlag: --admin-allowed-origin takes origins,
// comma-separated or repeated, from the flags, PORTICO_ADMIN_ALLOWED_ORIGIN
// or a YAML list, a higher source replacing a lower one's list; anything
// but scheme://host[:port] is refused. The admin listener serves browser
// requests of a listed origin and names the flag when it refuses one.
func TestAdminAllowedOriginFlag(t *testing.T) {
	dir := testListFlag(t, "admin_allowed_origin: [https://a.example, 'http://10.0.0.5:9080']\n", func(file string) []listFlagCase {
		return []listFlagCase{
			{"repeated and comma-separated", []string{"--admin-allowed-origin", "https://Console.Example.com", "--admin-allowed-origin", "http://b.example:8080, https://[::1]:9443"}, nil,
				[]string{"https://console.example.com", "http://b.example:8080", "https://[::1]:9443"}},
			{"file list", []string{"--config", file}, nil, []string{"https://a.example", "http://10.0.0.5:9080"}},
			{"environment over file", []string{"--config", file}, map[string]string{"PORTICO_ADMIN_ALLOWED_ORIGIN": "https://env.example"},
				[]string{"https://env.example"}},
			{"flag over environment", []string{"--admin-allowed-origin", "https://flag.example"}, map[string]string{"PORTICO_ADMIN_ALLOWED_ORIGIN": "https://env.example"},
				[]string{"https://flag.example"}},
			{"none", nil, nil, nil},
		}
	}, Config.adminAllowedOrigins)
	none := func(string) (string, bool) { return "", false }
	for _, tc := range []struct{ value, want string }{
		{"https://console.example.com/", "did you mean https://console.example.com?"},
		{"https://console.example.com/admin", "did you mean https://console.example.com?"},
		{"https://console.example.com?x=1", "did you mean https://console.example.com?"},
		{"https://console.example.com#top", "did you mean https://console.example.com?"},
		{"https://console.example.com:", "did you mean https://console.example.com?"},
		{"https://user:secret@console.example.com", "with a user name"},
		{"console.example.com", "want an origin"},
		{"ftp://console.example.com", "want an origin"},
		{"https://", "want an origin"},
		{"null", "want an origin"},
		{"https://console.example.com:99999", "want 1 to 65535"},
	} {
		_, err := LoadConfig([]string{"--data-dir", dir, "--admin-allowed-origin", tc.value}, none)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want it to say %q", tc.value, err, tc.want)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("%q: the error shows the password: %v", tc.value, err)
		}
	}

	m := startNodeWith(t, t.TempDir(), func(c *Config) { c.AdminAllowedOrigin = "https://console.example.com" })
	for _, tc := range []struct {
		origin string
		status int
	}{
		{"https://console.example.com", 200},
		{"https://evil.example", 403},
	} {
		req, _ := http.NewRequest("GET", "http://"+m.AdminAddr+"/api/v1/users/me", nil)
		req.SetBasicAuth("admin", adminPassword)
		req.Header.Set("Origin", tc.origin)
		resp, err := adminHTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("Origin %s: %d %s, want %d", tc.origin, resp.StatusCode, b, tc.status)
		}
		if tc.status == 403 && (!strings.Contains(string(b), "--admin-allowed-origin") || strings.Contains(string(b), "Server.AllowedOrigins")) {
			t.Errorf("the 403 does not name the flag: %s", b)
		}
	}
}
