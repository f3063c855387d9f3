package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

// TestUpgradeOnlyAsAsked: only a WebSocket upgrade on an API that allows
// it reaches the backend; any other Upgrade (h2c, a list, another method,
// an API without WebSocket) is stripped with its Connection token, and a
// backend that switches protocols anyway gets the client a 502, no
// tunnel.
func TestUpgradeOnlyAsAsked(t *testing.T) {
	var mu sync.Mutex
	var seen http.Header
	// The backend answers 101 to every request, asked or not, then echoes
	// lines; /plain gets a 200 unless an upgrade reached it.
	be := newRawBackend(t, func(c net.Conn, req *http.Request, _ int) bool {
		mu.Lock()
		seen = req.Header.Clone()
		mu.Unlock()
		up := req.Header.Get("Upgrade")
		if strings.HasSuffix(req.URL.Path, "/plain") && up == "" {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nplain")
			return true
		}
		if up == "" {
			up = "websocket"
		}
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: "+up+"\r\nConnection: Upgrade\r\n\r\n")
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return false
			}
			io.WriteString(c, "echo "+line)
		}
	})
	w := newWorld(t)
	w.websocket(w.api("ws", "/ws", portico.AuthNone, "http://"+be.addr))
	w.api("plain", "/plain", portico.AuthNone, "http://"+be.addr)

	tests := []struct {
		name, method, path string
		proto              string // "" is HTTP/1.1
		headers            []string
		status             int
		upgradeSeen        bool // the backend saw an Upgrade field
	}{
		{"websocket allowed", "GET", "/ws/chat", "", []string{"Upgrade: websocket"}, 101, true},
		{"websocket in another case", "GET", "/ws/chat", "", []string{"Upgrade: WebSocket"}, 101, true},
		{"h2c stripped", "GET", "/ws/plain", "", []string{"Upgrade: h2c", "HTTP2-Settings: AAMAAABkAAQAAP__"}, 200, false},
		{"a list stripped", "GET", "/ws/plain", "", []string{"Upgrade: websocket, h2c"}, 200, false},
		{"two fields stripped", "GET", "/ws/plain", "", []string{"Upgrade: websocket", "Upgrade: h2c"}, 200, false},
		{"websocket by POST stripped", "POST", "/ws/plain", "", []string{"Upgrade: websocket", "Content-Length: 0"}, 200, false},
		{"websocket on an API without it", "GET", "/plain/plain", "", []string{"Upgrade: websocket"}, 200, false},
		{"101 unasked", "GET", "/plain/x", "", nil, 502, false},
		{"101 to a stripped h2c", "GET", "/ws/x", "", []string{"Upgrade: h2c"}, 502, false},
		{"101 to websocket on an API without it", "GET", "/plain/x", "", []string{"Upgrade: websocket"}, 502, false},
		{"websocket in HTTP/1.0 stripped", "GET", "/ws/plain", "HTTP/1.0", []string{"Upgrade: websocket"}, 200, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", strings.TrimPrefix(w.srv.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			hdr := "Connection: Upgrade, HTTP2-Settings\r\n"
			for _, h := range tt.headers {
				hdr += h + "\r\n"
			}
			proto := tt.proto
			if proto == "" {
				proto = "HTTP/1.1"
			}
			fmt.Fprintf(conn, "%s %s %s\r\nHost: gw\r\n%s\r\n", tt.method, tt.path, proto, hdr)
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			mu.Lock()
			_, up := seen["Upgrade"]
			conns := seen.Values("Connection")
			_, settings := seen["Http2-Settings"]
			mu.Unlock()
			if up != tt.upgradeSeen {
				t.Errorf("backend saw Upgrade %v, want %v (headers %v)", up, tt.upgradeSeen, seen)
			}
			if !tt.upgradeSeen && (len(conns) > 0 || settings) {
				t.Errorf("backend saw Connection %q, HTTP2-Settings %v", conns, settings)
			}
			if resp.StatusCode == 101 {
				fmt.Fprintf(conn, "hello\n")
				if line, err := br.ReadString('\n'); err != nil || line != "echo hello\n" {
					t.Fatalf("tunnel: %q, %v", line, err)
				}
				return
			}
			io.Copy(io.Discard, resp.Body)
			if resp.StatusCode == 502 {
				// No tunnel: the connection still speaks HTTP (or is closed).
				fmt.Fprintf(conn, "GET /plain/plain HTTP/1.1\r\nHost: gw\r\n\r\n")
				if resp, err := http.ReadResponse(br, nil); err == nil && resp.StatusCode != 200 {
					t.Errorf("after the 502: %d", resp.StatusCode)
				}
			}
		})
	}
}
