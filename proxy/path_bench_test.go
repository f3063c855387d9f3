package proxy

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/balance"
	"github.com/portico-gw/portico/ratelimit"
)

// BenchmarkFastPath measures the fast engine's own work for one request
// of the `make bench` portico target — parsing, key auth, the
// subscription, a rate limit and a quota (ratelimit.Memory), the
// analytics record, the forwarded request, the backend's response and
// the answer — without sockets: the client and the backend are
// in-memory connections (memConn), so that no system call, wait or
// scheduler cost is in it. Its ns/op is CPU time of one goroutine, steady
// on a busy machine; BenchmarkEngines and `make bench` measure the rest.
func BenchmarkFastPath(b *testing.B) {
	const backend = "127.0.0.1:9"
	gw := &Gateway{Limiter: &ratelimit.Memory{}, Recorder: &copyRecorder{},
		NewBalancer: func(ep portico.Endpoint) Balancer { return balance.New(ep) }}
	key := "pk_bench_0123456789abcdefghijklmnopqrstuv"
	api := &portico.API{ID: "api", Name: "bench", Version: "v1", Context: "/bench", State: portico.Published,
		Auth: portico.AuthMethods{portico.AuthAPIKey}, Plans: []string{"plan"}, Owner: "pub",
		Endpoint: portico.Endpoint{Type: portico.Single, Targets: []portico.Target{{URL: "http://" + backend}}}}
	cfg := portico.NewConfig().With(1,
		portico.Put(&portico.Plan{ID: "plan", Name: "bench",
			RateLimit: &portico.RateLimit{Limit: 1_000_000_000, Per: portico.Second, Window: portico.Fixed},
			Quota:     &portico.Quota{Limit: 1_000_000_000_000, Per: portico.Month, Mode: portico.Hard}}),
		portico.Put(api),
		portico.Put(&portico.Application{ID: "app", Name: "bench-app", Owner: "sub"}),
		portico.Put(&portico.Key{ID: "k", ApplicationID: "app", Hash: portico.HashKey(key)}),
		portico.Put(&portico.Subscription{ID: "s", ApplicationID: "app", APIID: "api", PlanID: "plan", Status: portico.Approved}),
	)
	gw.Update(cfg)
	// The backend: a pooled connection of the API's lean client that
	// answers each request as the loadbench backend (Go's net/http) does.
	be := &memConn{answer: []byte("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Type: text/plain\r\nDate: Thu, 03 Dec 2026 16:19:23 GMT\r\n\r\n" +
		strings.Repeat("0123456789", 9) + "abcdefghi\n")}
	up := gw.snap.Load().routes["/bench"].up
	hc := newH1Conn(be, backend)
	hc.lastUsed = time.Now()
	up.h1.idle = map[string][]*h1Conn{backend: {hc}}
	// The client: a connection of the fast engine whose every read
	// returns the request wrk sends.
	cl := &memConn{request: []byte("GET /bench/hello HTTP/1.1\r\nHost: 127.0.0.1:18003\r\nX-API-Key: " + key + "\r\n\r\n")}
	s := &Server{Handler: gw, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	c := &conn{s: s, nc: cl}
	c.init()
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		cl.wrote.Reset()
		if st := c.serveNext(); st != headReady {
			b.Fatalf("serveNext: %d", st)
		}
		if !bytes.HasPrefix(cl.wrote.Bytes(), []byte("HTTP/1.1 200 OK\r\n")) || up.h1.idle[backend] == nil {
			b.Fatalf("answer %q; backend connection pooled: %v", cl.wrote.Bytes(), up.h1.idle[backend] != nil)
		}
	}
	c.release()
}

// memConn is an in-memory connection: a client's (each Read returns
// request) or a backend's (each Read after a Write returns answer).
type memConn struct {
	request, answer []byte
	asked           bool // a request was written to the backend
	wrote           bytes.Buffer
}

func (c *memConn) Read(p []byte) (int, error) {
	if c.answer == nil {
		return copy(p, c.request), nil
	}
	if !c.asked {
		return 0, net.ErrClosed // the lean client reads only after it wrote
	}
	c.asked = false
	return copy(p, c.answer), nil
}

func (c *memConn) Write(p []byte) (int, error) {
	if c.answer != nil {
		c.asked = true
		return len(p), nil
	}
	return c.wrote.Write(p)
}

func (c *memConn) Close() error                     { return nil }
func (c *memConn) LocalAddr() net.Addr              { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 18003} }
func (c *memConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000} }
func (c *memConn) SetDeadline(time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(time.Time) error { return nil }

// copyRecorder keeps the records it gets as the analytics recorder does:
// copied into a batch.
type copyRecorder struct{ batch []portico.Record }

func (r *copyRecorder) Record(rec *portico.Record) {
	if len(r.batch) == 1024 {
		r.batch = r.batch[:0]
	}
	r.batch = append(r.batch, *rec)
}
