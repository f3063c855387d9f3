package proxy

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

// TestWriteTimeout: a client that sends a request and never reads the
// answer has its connection ended by the write timeout — on the fast
// engine, on a connection it hands over to net/http, and on net/http
// behind WriteTimeoutListener —, and with it the backend's connection:
// the backend's write of a 64 MiB answer fails instead of blocking for
// ever.
func TestWriteTimeout(t *testing.T) {
	done := make(chan error, 1)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		chunk := []byte(strings.Repeat("x", 32<<10))
		var err error
		for i := 0; i < 2048 && err == nil; i++ {
			_, err = w.Write(chunk)
		}
		done <- err
	}))
	defer func() {
		backend.CloseClientConnections() // ends a write that still blocks
		backend.Close()
	}()
	gw := &Gateway{Limiter: admitAll{}}
	w := &world{cfg: portico.NewConfig(), gw: gw}
	w.api("api", "/api", portico.AuthAPIKey, backend.URL)
	key := w.subscribe("app", "api", portico.Approved)

	fastAddr, _, _ := startServer(t, gw, func(s *Server, _ *http.Server) { s.WriteTimeout = 200 * time.Millisecond })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	std := &http.Server{Handler: gw}
	go std.Serve(WriteTimeoutListener(ln, 200*time.Millisecond))
	t.Cleanup(func() { std.Close() })

	for _, tc := range []struct{ name, addr, req string }{
		{"fast engine", fastAddr, "GET /api/big HTTP/1.1\r\nHost: x\r\nX-API-Key: " + key + "\r\n\r\n"},
		{"handed over", fastAddr, "POST /api/big HTTP/1.1\r\nHost: x\r\nX-API-Key: " + key + "\r\nContent-Length: 2\r\n\r\nhi"},
		{"net/http", ln.Addr().String(), "GET /api/big HTTP/1.1\r\nHost: x\r\nX-API-Key: " + key + "\r\n\r\n"},
	} {
		c, err := net.Dial("tcp", tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.(*net.TCPConn).SetReadBuffer(4 << 10)
		io.WriteString(c, tc.req)
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("%s: the backend wrote 64 MiB for a client that reads nothing", tc.name)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: the backend's write for a client that reads nothing still blocks after 30 s", tc.name)
		}
		c.Close()
	}
}

// TestWriteProgress: writeProgress times out only when no byte is taken
// for its timeout: a reader that takes a little at a time, for longer
// than the timeout in all, gets everything; one that stops gets a timeout
// with what it took counted.
func TestWriteProgress(t *testing.T) {
	srv, cli := net.Pipe()
	defer srv.Close()
	defer cli.Close()
	p := []byte(strings.Repeat("y", 16<<10))
	go func() {
		buf := make([]byte, 1<<10)
		for range 16 {
			time.Sleep(100 * time.Millisecond)
			if _, err := io.ReadFull(cli, buf); err != nil {
				return
			}
		}
	}()
	if n, err := writeProgress(srv, p, time.Second); n != len(p) || err != nil {
		t.Fatalf("a slow reader: %d of %d written, %v", n, len(p), err)
	}
	go io.ReadFull(cli, make([]byte, 4<<10))
	n, err := writeProgress(srv, p, 300*time.Millisecond)
	var ne net.Error
	if n != 4<<10 || !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("a reader that stops: %d written, %v; want %d and a timeout", n, err, 4<<10)
	}
}
