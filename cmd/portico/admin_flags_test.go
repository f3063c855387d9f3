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
