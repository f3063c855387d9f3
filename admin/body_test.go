package admin_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico/admin"
	"golang.org/x/crypto/bcrypt"
)

// TestBodyReadErrors: a request body that cannot be read is answered
// without the reason of the failed read (socket addresses, "i/o
// timeout"): 408 request_timeout for one that stalls (past
// Server.ReadBodyTimeout, or the http.Server's ReadTimeout), 400 for one
// whose framing is malformed, and the connection is closed. A body that
// keeps making progress within ReadBodyTimeout is read, within
// ReadRequestTimeout. Before, a stalled body was a 400 "invalid request body: read tcp
// 127.0.0.1:…->127.0.0.1:…: i/o timeout".
func TestBodyReadErrors(t *testing.T) {
	for _, tc := range []struct {
		name        string
		bodyTimeout time.Duration // Server.ReadBodyTimeout
		readTimeout time.Duration // http.Server.ReadTimeout
		wholeBody   time.Duration // Server.ReadRequestTimeout
		send        func(t *testing.T, c net.Conn)
		status      int
		want        string
	}{
		{"stalled past ReadBodyTimeout", 300 * time.Millisecond, 0, 0, stall, 408, `"request_timeout"`},
		{"stalled past ReadTimeout", 0, 500 * time.Millisecond, 0, stall, 408, `"request_timeout"`},
		{"drip-fed past ReadRequestTimeout", 300 * time.Millisecond, 0, 500 * time.Millisecond, func(t *testing.T, c net.Conn) {
			write(t, c, planRequest("Content-Length: 100"))
			for range 100 { // a byte every 150ms, each in time: 15s for the whole body
				time.Sleep(150 * time.Millisecond)
				if _, err := io.WriteString(c, " "); err != nil {
					return // the server gave up
				}
			}
		}, 408, `"request_timeout"`},
		{"malformed chunks", 300 * time.Millisecond, 0, 0, func(t *testing.T, c net.Conn) {
			write(t, c, planRequest("Transfer-Encoding: chunked")+"5\r\n{\"nam\r\nzz\r\n")
		}, 400, "the request body could not be read"},
		{"cut off", 0, 0, 0, func(t *testing.T, c net.Conn) {
			write(t, c, planRequest("Content-Length: 100")+`{"name":"gold"`)
			c.(*net.TCPConn).CloseWrite()
		}, 400, "the request body could not be read"},
		{"slow but steady", 300 * time.Millisecond, 0, 0, func(t *testing.T, c net.Conn) {
			body := `{"name":"gold","rate_limit":{"limit":10,"per":"second"}}`
			write(t, c, planRequest("Content-Length: "+strconv.Itoa(len(body))))
			// Four pieces 150ms apart: 600ms in all, no gap of 300ms.
			for i := 0; i < len(body); i += (len(body) + 3) / 4 {
				time.Sleep(150 * time.Millisecond)
				write(t, c, body[i:min(i+(len(body)+3)/4, len(body))])
			}
		}, 201, `"gold"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := &admin.Server{Store: newMemStore(), PasswordCost: bcrypt.MinCost, ReadBodyTimeout: tc.bodyTimeout, ReadRequestTimeout: tc.wholeBody}
			if _, _, err := srv.EnsureAdmin(context.Background(), adminPW); err != nil {
				t.Fatal(err)
			}
			ts := httptest.NewUnstartedServer(srv)
			ts.Config.ReadTimeout = tc.readTimeout
			ts.Start()
			defer ts.Close()

			c, err := net.Dial("tcp", ts.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			tc.send(t, c)
			br := bufio.NewReader(c)
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			t.Logf("%s %s", res.Status, b)
			if res.StatusCode != tc.status || !strings.Contains(string(b), tc.want) {
				t.Errorf("got %d %s, want %d with %s", res.StatusCode, b, tc.status, tc.want)
			}
			for _, internal := range []string{"127.0.0.1", "tcp", "i/o timeout", "deadline", "chunk", "EOF"} {
				if strings.Contains(string(b), internal) {
					t.Errorf("the answer shows %q: %s", internal, b)
				}
			}
			if tc.status >= 400 {
				if n, err := br.Read(make([]byte, 1)); err == nil || n > 0 {
					t.Errorf("the connection is open after the answer (read %d, %v)", n, err)
				}
			}
		})
	}
}

// planRequest is the head of a POST /api/v1/plans of the admin, with
// header added.
func planRequest(header string) string {
	auth := base64.StdEncoding.EncodeToString([]byte("admin:" + adminPW))
	return "POST /api/v1/plans HTTP/1.1\r\nHost: admin.test\r\nContent-Type: application/json\r\n" +
		"Authorization: Basic " + auth + "\r\n" + header + "\r\n\r\n"
}

// stall sends a request whose body stops after its first bytes.
func stall(t *testing.T, c net.Conn) {
	write(t, c, planRequest("Content-Length: 100")+`{"name":`)
}

func write(t *testing.T, c net.Conn, s string) {
	t.Helper()
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatal(err)
	}
}
