package proxy

import (
	"bytes"
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

	var fastTimeouts, stdTimeouts WriteTimeouts
	fastAddr, _, _ := startServer(t, gw, func(s *Server, _ *http.Server) {
		s.WriteTimeout, s.WriteTimeouts = 200*time.Millisecond, &fastTimeouts
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	std := &http.Server{Handler: gw}
	go std.Serve(WriteTimeoutListener(ln, 200*time.Millisecond, &stdTimeouts))
	t.Cleanup(func() { std.Close() })

	for _, tc := range []struct {
		name, addr, req string
		counted         *WriteTimeouts
	}{
		{"fast engine", fastAddr, "GET /api/big HTTP/1.1\r\nHost: x\r\nX-API-Key: " + key + "\r\n\r\n", &fastTimeouts},
		{"handed over", fastAddr, "POST /api/big HTTP/1.1\r\nHost: x\r\nX-API-Key: " + key + "\r\nContent-Length: 2\r\n\r\nhi", &fastTimeouts},
		{"net/http", ln.Addr().String(), "GET /api/big HTTP/1.1\r\nHost: x\r\nX-API-Key: " + key + "\r\n\r\n", &stdTimeouts},
	} {
		before := tc.counted.Count()
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
		if tc.counted.Count() == before {
			t.Errorf("%s: the timeout was not counted", tc.name)
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
	if n, err := writeProgress(srv, p, time.Second, nil); n != len(p) || err != nil {
		t.Fatalf("a slow reader: %d of %d written, %v", n, len(p), err)
	}
	go io.ReadFull(cli, make([]byte, 4<<10))
	n, err := writeProgress(srv, p, 300*time.Millisecond, nil)
	var ne net.Error
	if n != 4<<10 || !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("a reader that stops: %d written, %v; want %d and a timeout", n, err, 4<<10)
	}
}

// TestWriteProgressSlowReader: over TCP, a reader that takes a little at
// a time keeps a write with a short timeout going for several timeouts,
// though the blocked write wakes only when much of the socket's send
// buffer has drained; the whole of it arrives intact.
func TestWriteProgressSlowReader(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	p := make([]byte, 16<<20)
	for i := range p {
		p[i] = byte(i * 7)
	}
	wrote := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			wrote <- err
			return
		}
		defer c.Close()
		_, err = writeProgress(c, p, 300*time.Millisecond, nil)
		wrote <- err
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(60 * time.Second))
	got := make([]byte, 0, len(p))
	// 2 MiB over 3.2 s, ten timeouts' worth: over loopback the reader's
	// window opens 64 KiB (an MSS) at a time.
	buf := make([]byte, 32<<10)
	for range 64 {
		time.Sleep(50 * time.Millisecond)
		n, err := io.ReadFull(c, buf)
		got = append(got, buf[:n]...)
		if err != nil {
			t.Fatalf("after %d bytes: %v", len(got), err)
		}
	}
	rest, err := io.ReadAll(c)
	got = append(got, rest...)
	if werr := <-wrote; werr != nil || err != nil || !bytes.Equal(got, p) {
		t.Errorf("the write: %v; read %d of %d bytes (%v), intact %v", werr, len(got), len(p), err, bytes.Equal(got, p))
	}
}

// TestWriteProgressCountsAcks: a write that takes nothing for its timeout
// goes on while the client acknowledges what was queued before (its
// blocked write would not wake for that), and fails once it does not.
func TestWriteProgressCountsAcks(t *testing.T) {
	srv, cli := net.Pipe() // nobody reads cli: each write times out taking nothing
	defer srv.Close()
	defer cli.Close()
	queue := []int{5000, 4000, 3000, 3000}
	calls := 0
	unackedOf = func(any) int {
		q := queue[min(calls, len(queue)-1)]
		calls++
		return q
	}
	defer func() { unackedOf = unacked }()
	n, err := writeProgress(srv, []byte("x"), 20*time.Millisecond, nil)
	var ne net.Error
	if n != 0 || !errors.As(err, &ne) || !ne.Timeout() || calls != 4 {
		t.Errorf("wrote %d, %v after %d looks at the queue; want 0, a timeout, after 4 (two of progress, one without)", n, err, calls)
	}
}

// TestUnacked: the system counts unacknowledged bytes while a client
// reads nothing of a large write, and none once it read everything.
func TestUnacked(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cli, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	srv, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if q := unacked(srv); q < 0 {
		t.Skip("this system does not tell unacknowledged bytes: writeProgress counts writes only")
	}
	wrote := make(chan error, 1)
	go func() { _, err := srv.Write(make([]byte, 16<<20)); wrote <- err }()
	q0 := 0
	for i := 0; q0 <= 0; i++ {
		if i == 500 {
			t.Fatal("nothing unacknowledged while the client reads nothing of 16 MiB")
		}
		time.Sleep(10 * time.Millisecond)
		q0 = unacked(srv)
	}
	go io.Copy(io.Discard, cli)
	select {
	case err := <-wrote:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the client reads, yet the write does not end")
	}
	for i := 0; ; i++ {
		if q := unacked(srv); q == 0 {
			break
		} else if i == 500 {
			t.Fatalf("%d bytes still unacknowledged 5 s after the client read them", q)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
