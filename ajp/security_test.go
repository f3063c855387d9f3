package ajp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico/ajp"
)

// logBuffer collects a Server's log.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// expectRefused reads a refusal with status, END_RESPONSE without reuse,
// and the connection's close.
func expectRefused(t *testing.T, ws *webServer, r *reply, err error, status int) {
	t.Helper()
	if err != nil {
		t.Fatalf("reply %+v: %v", r, err)
	}
	if r.Status != status || !r.Ended || r.Reuse {
		t.Fatalf("status %d, ended %v, reuse %v; want %d without reuse", r.Status, r.Ended, r.Reuse, status)
	}
	if err := ws.expectClosed(); err != nil {
		t.Fatal(err)
	}
}

func TestSecret(t *testing.T) {
	const secret = "s3cr3t-shared-with-mod_jk"
	for _, c := range []struct {
		name   string
		secret string
		attrs  []byte
		status int
	}{
		{"right", secret, nil, 200},
		{"wrong", "s3cr3t-shared-with-mod_jK", nil, 403},
		{"prefix", secret[:10], nil, 403},
		{"longer", secret + "x", nil, 403},
		{"missing", "", nil, 403},
		{"empty", "", attrString(0x0C, ""), 403},
		{"null", "", []byte{0x0C, 0xFF, 0xFF}, 403},
		{"twice, right then wrong", secret, attrString(0x0C, "nope"), 403},
		{"twice, right twice", secret, attrString(0x0C, secret), 403},
	} {
		t.Run(c.name, func(t *testing.T) {
			rq := newRequests()
			var log logBuffer
			s := &ajp.Server{Handler: rq.handler(nil), Secret: secret, Logger: log.logger()}
			ws := dialAJP(t, startServer(t, s), 0)
			body := strings.Repeat("b", 100)
			r, err := ws.do(fwd{Method: "POST", Secret: c.secret, Attrs: c.attrs,
				Headers: [][2]string{{"Content-Length", "100"}}}, strings.NewReader(body), 100)
			if c.status == 200 {
				if err != nil || r.Status != 200 || !r.Reuse {
					t.Fatalf("%+v %v", r, err)
				}
				if got := rq.next(t); string(got.body) != body {
					t.Fatalf("body %q", got.body)
				}
				return
			}
			expectRefused(t, ws, r, err, c.status)
			rq.none(t)
			if strings.Contains(log.String(), secret) {
				t.Errorf("the log shows the secret: %s", log.String())
			}
			if !strings.Contains(log.String(), "refused") {
				t.Errorf("nothing logged: %q", log.String())
			}
		})
	}
}

// TestSecretIgnoredWhenNoneSet: without a Secret (a loopback listener), a
// secret sent is taken and not checked, as Tomcat does.
func TestSecretIgnoredWhenNoneSet(t *testing.T) {
	ws := dialAJP(t, startServer(t, &ajp.Server{Handler: http.NotFoundHandler()}), 0)
	r, err := ws.do(fwd{Secret: "anything"}, nil, 0)
	if err != nil || r.Status != 404 || !r.Reuse {
		t.Fatalf("%+v %v", r, err)
	}
}

// TestAttributesRefused: attributes Portico does not take are refused
// with a 403 — Ghostcat's javax.servlet.include.* first — before the
// handler, and the connection is closed.
func TestAttributesRefused(t *testing.T) {
	for _, c := range []struct {
		name  string
		attrs []byte
	}{
		{"include request_uri", reqAttr("javax.servlet.include.request_uri", "/")},
		{"include path_info", reqAttr("javax.servlet.include.path_info", "/WEB-INF/web.xml")},
		{"include servlet_path", reqAttr("javax.servlet.include.servlet_path", "/index.jsp")},
		{"jakarta", reqAttr("jakarta.servlet.include.path_info", "x")},
		{"JkEnvVar", reqAttr("SSL_CLIENT_S_DN", "CN=me")},
		{"empty name", reqAttr("", "x")},
		{"context", attrString(0x01, "/app")},
		{"servlet_path", attrString(0x02, "/s")},
		{"remote_user", attrString(0x03, "admin")},
		{"auth_type", attrString(0x04, "Basic")},
		{"query_string twice", append(attrString(0x05, "a=1"), attrString(0x05, "a=2")...)},
		{"stored_method twice", append(attrString(0x0D, "PATCH"), attrString(0x0D, "PATCH")...)},
		{"unknown code", []byte{0x0E, 0x00, 0x01, 'x', 0x00}},
		{"unknown code 0x80", []byte{0x80}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rq := newRequests()
			var log logBuffer
			ws := dialAJP(t, startServer(t, &ajp.Server{Handler: rq.handler(nil), Logger: log.logger()}), 0)
			r, err := ws.do(fwd{Attrs: c.attrs}, nil, 0)
			expectRefused(t, ws, r, err, 403)
			rq.none(t)
			if !strings.Contains(log.String(), "attribute not taken") {
				t.Errorf("log: %q", log.String())
			}
		})
	}
}

// TestShutdownMessage: AJP's shutdown message (code 7) closes the
// connection; the server goes on serving others.
func TestShutdownMessage(t *testing.T) {
	var log logBuffer
	addr := startServer(t, &ajp.Server{Handler: http.NotFoundHandler(), Logger: log.logger()})
	ws := dialAJP(t, addr, 0)
	ws.write([]byte{0x12, 0x34, 0x00, 0x01, 0x07})
	if err := ws.expectClosed(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "shutdown message refused") {
		t.Errorf("log: %q", log.String())
	}
	r, err := dialAJP(t, addr, 0).do(fwd{}, nil, 0)
	if err != nil || r.Status != 404 {
		t.Fatalf("after the shutdown message: %+v %v", r, err)
	}
}

// TestClosedWithoutAnswer: packets that break the layout close the
// connection without an answer, before the handler.
func TestClosedWithoutAnswer(t *testing.T) {
	valid := packet(fwd{Headers: [][2]string{{"X-A", "1"}}, HasQuery: true, Query: "q=1"}.payload())
	// A field whose name is the code 0xA00F, past the table.
	badCode := bytes.Replace(fwd{Headers: [][2]string{{"X-A", "1"}}}.payload(), []byte("\x00\x03X-A\x00"), []byte("\xa0\x0f"), 1)
	cases := []struct {
		name string
		p    []byte
		size int
	}{
		{"oversized", []byte{0x12, 0x34, 0x1f, 0xfd}, 0},                   // 8189 + 4 > 8192
		{"oversized at 64 KiB", []byte{0x12, 0x34, 0xff, 0xfd}, 65536},     // 65533 + 4
		{"oversized length only", []byte{0x12, 0x34, 0xff, 0xff, 0x02}, 0}, //
		{"bad signature", []byte{0x12, 0x35, 0x00, 0x01, 0x0a}, 0},
		{"HTTP on the AJP port", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 0},
		{"empty message", []byte{0x12, 0x34, 0x00, 0x00}, 0},
		{"body packet between requests", bodyPacket([]byte("xx")), 0},
		{"ping request (8)", []byte{0x12, 0x34, 0x00, 0x01, 0x08}, 0},
		{"send headers from the web server", packet([]byte{0x04, 0x00, 0xc8}), 0},
		{"method code 0", packet(append([]byte{0x02, 0x00}, fwd{}.payload()[2:]...)), 0},
		{"method code 28", packet(append([]byte{0x02, 28}, fwd{}.payload()[2:]...)), 0},
		{"field code 0xA00F", packet(badCode), 0},
		{"bytes after the terminator", packet(append(fwd{}.payload(), 0x00)), 0},
		{"no NUL after a string", packet(bytes.Replace(fwd{}.payload(), []byte("HTTP/1.1\x00"), []byte("HTTP/1.1x"), 1)), 0},
		{"string past the end", packet([]byte{0x02, 0x02, 0x00, 0x40, 'H'}), 0},
	}
	// The valid packet cut at every length: each one framed as complete.
	for n := 1; n < len(valid)-4; n++ {
		cases = append(cases, struct {
			name string
			p    []byte
			size int
		}{fmt.Sprint("cut at ", n), packet(valid[4 : 4+n]), 0})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rq := newRequests()
			var log logBuffer
			addr := startServer(t, &ajp.Server{Handler: rq.handler(nil), Logger: log.logger(), PacketSize: c.size})
			ws := dialAJP(t, addr, c.size)
			ws.write(c.p)
			if err := ws.expectClosed(); err != nil {
				t.Fatal(err)
			}
			rq.none(t)
		})
	}
}

// TestTruncatedPacket: a packet whose bytes stop short (the web server
// closes) ends the connection without a call.
func TestTruncatedPacket(t *testing.T) {
	rq := newRequests()
	addr := startServer(t, &ajp.Server{Handler: rq.handler(nil)})
	valid := packet(fwd{}.payload())
	for _, n := range []int{1, 3, 4, 10, len(valid) - 1} {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		nc.Write(valid[:n])
		nc.(*net.TCPConn).CloseWrite()
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		if b, err := io.ReadAll(nc); err != nil || len(b) != 0 {
			t.Errorf("cut at %d: got %q, %v", n, b, err)
		}
		nc.Close()
	}
	rq.none(t)
}

// TestBadRequests: requests net/http would refuse get a 400 (a transfer
// coding other than chunked a 501), and the connection is closed.
func TestBadRequests(t *testing.T) {
	for _, c := range []struct {
		name   string
		f      fwd
		status int
	}{
		{"stored method not a token", fwd{Method: "PA TCH"}, 400},
		{"empty stored method", fwd{Attrs: attrString(0x0D, "")}, 400},
		{"stored method with a code", fwd{Method: "GET", Attrs: attrString(0x0D, "PATCH")}, 400},
		{"protocol", fwd{Protocol: "HTTP/x"}, 400},
		{"relative URI", fwd{URI: "orders"}, 400},
		{"space in URI", fwd{URI: "/a b"}, 400},
		{"? in URI", fwd{URI: "/a?b=1"}, 400},
		{"CR in URI", fwd{URI: "/a\rb"}, 400},
		{"# in query", fwd{HasQuery: true, Query: "a#b"}, 400},
		{"space in query", fwd{HasQuery: true, Query: "a b"}, 400},
		{"field name", fwd{Headers: [][2]string{{"X Y", "1"}}}, 400},
		{"empty field name", fwd{Headers: [][2]string{{"", "1"}}}, 400},
		{"CRLF in a value", fwd{Headers: [][2]string{{"X-A", "1\r\nX-B: 2"}}}, 400},
		{"NUL in a value", fwd{Headers: [][2]string{{"X-A", "1\x002"}}}, 400},
		{"two Hosts", fwd{Headers: [][2]string{{"Host", "a"}, {"host", "b"}}}, 400},
		{"bad Host", fwd{Headers: [][2]string{{"Host", "a b"}}}, 400},
		{"two Content-Lengths", fwd{Headers: [][2]string{{"Content-Length", "1"}, {"Content-Length", "1"}}}, 400},
		{"signed Content-Length", fwd{Headers: [][2]string{{"Content-Length", "+1"}}}, 400},
		{"huge Content-Length", fwd{Headers: [][2]string{{"Content-Length", "99999999999999999999"}}}, 400},
		{"CL and TE", fwd{Headers: [][2]string{{"Content-Length", "1"}, {"Transfer-Encoding", "chunked"}}}, 400},
		{"TE gzip", fwd{Headers: [][2]string{{"Transfer-Encoding", "gzip, chunked"}}}, 501},
		{"two TEs", fwd{Headers: [][2]string{{"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "chunked"}}}, 501},
		{"remote_addr a name", fwd{RemoteAddr: "client.example"}, 400},
		{"remote_addr with a port", fwd{RemoteAddr: "10.0.0.1:80"}, 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			rq := newRequests()
			ws := dialAJP(t, startServer(t, &ajp.Server{Handler: rq.handler(nil)}), 0)
			r, err := ws.do(c.f, nil, 0)
			expectRefused(t, ws, r, err, c.status)
			rq.none(t)
		})
	}
}

// TestMalformedBodyPacket: a body packet that does not hold the length it
// states, or more than the Content-Length, fails the handler's read and
// closes the connection after the response.
func TestMalformedBodyPacket(t *testing.T) {
	for _, c := range []struct {
		name string
		p    []byte
	}{
		{"length larger than the data", []byte{0x12, 0x34, 0x00, 0x04, 0x00, 0x05, 'a', 'b'}},
		{"length smaller than the data", []byte{0x12, 0x34, 0x00, 0x04, 0x00, 0x01, 'a', 'b'}},
		{"one byte", []byte{0x12, 0x34, 0x00, 0x01, 0x00}},
		{"more than the Content-Length", bodyPacket([]byte("abcdef"))},
		{"cut off", bodyPacket(nil)},
		{"bad signature", []byte{'A', 'B', 0x00, 0x00}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rq := newRequests()
			ws := dialAJP(t, startServer(t, &ajp.Server{Handler: rq.handler(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(400)
			})}), 0)
			ws.write(packet(fwd{Method: "POST", Headers: [][2]string{{"Content-Length", "5"}}}.payload()))
			ws.write(c.p)
			got := rq.next(t)
			if got.err == nil {
				t.Fatalf("the body read %q without an error", got.body)
			}
			// The response still goes out; the connection closes after it.
			p, err := ws.readPacket()
			if err != nil || p[0] != 4 {
				t.Fatalf("%q %v", p, err)
			}
			if p, err := ws.readPacket(); err != nil || string(p) != "\x05\x00" {
				t.Fatalf("END_RESPONSE %q %v", p, err)
			}
			if err := ws.expectClosed(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestSecretRequiredOffLoopback: without a Secret, Serve refuses a
// listener that is not on loopback.
func TestSecretRequiredOffLoopback(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	wide := addrListener{ln, &net.TCPAddr{IP: net.IPv4zero, Port: 8009}}
	s0 := &ajp.Server{Handler: http.NotFoundHandler()}
	for _, c := range []struct {
		addr net.Addr
		ok   bool
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8009}, true},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 8009}, true},
		{&net.UnixAddr{Name: "/run/portico/ajp.sock", Net: "unix"}, true},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 8009}, false},
		{&net.TCPAddr{Port: 8009}, false},
		{&net.TCPAddr{IP: net.IPv4(10, 0, 0, 5), Port: 8009}, false},
	} {
		if err := s0.Check(c.addr); (err == nil) != c.ok || (err != nil && !errors.Is(err, ajp.ErrSecretRequired)) {
			t.Errorf("Check(%v) = %v", c.addr, err)
		}
	}
	err = s0.Serve(wide)
	if !errors.Is(err, ajp.ErrSecretRequired) {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := ln.Accept(); err == nil {
		t.Error("the listener was left open")
	}

	ln2, _ := net.Listen("tcp", "127.0.0.1:0")
	s := &ajp.Server{Handler: http.NotFoundHandler(), Secret: "x"}
	done := make(chan error, 1)
	go func() { done <- s.Serve(addrListener{ln2, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 8009}}) }()
	s.Shutdown(context.Background())
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("with a secret: %v", err)
	}
}

type addrListener struct {
	net.Listener
	addr net.Addr
}

func (l addrListener) Addr() net.Addr { return l.addr }

func TestServerFields(t *testing.T) {
	for _, c := range []struct {
		name string
		s    *ajp.Server
	}{
		{"no handler", &ajp.Server{}},
		{"packet size too small", &ajp.Server{Handler: http.NotFoundHandler(), PacketSize: 4096}},
		{"packet size too large", &ajp.Server{Handler: http.NotFoundHandler(), PacketSize: 65537}},
	} {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		if err := c.s.Serve(ln); err == nil || errors.Is(err, http.ErrServerClosed) {
			t.Errorf("%s: Serve returned %v", c.name, err)
		}
	}
}
