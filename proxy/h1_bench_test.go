package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

// cannedBackend is a raw TCP backend that answers every request it reads
// on a connection with resp, as fast as it can: it measures the client,
// not a server.
func cannedBackend(tb testing.TB, resp string) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					for {
						line, err := br.ReadSlice('\n')
						if err != nil {
							return
						}
						if len(line) <= 2 {
							break
						}
					}
					if _, err := io.WriteString(c, resp); err != nil {
						return
					}
				}
			}()
		}
	}()
	return l.Addr().String()
}

// BenchmarkH1RoundTrip measures the lean client alone (write the request,
// read the response, return the connection) over one keep-alive
// connection to a backend that answers at once: the cost of its framing
// and reuse checks.
func BenchmarkH1RoundTrip(b *testing.B) {
	addr := cannedBackend(b, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok")
	t := &h1Transport{dialer: net.Dialer{Timeout: time.Second}, responseTimeout: 5 * time.Second, idleTimeout: time.Minute, maxIdle: 4}
	defer t.closeIdle()
	req, _ := http.NewRequest("GET", "http://"+addr+"/x", nil)
	buf := make([]byte, 64)
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		resp, err := t.RoundTrip(req)
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := resp.Body.Read(buf); err != nil {
				break
			}
		}
		resp.Body.Close()
	}
}

// BenchmarkIdlePeek measures the reuse check of an idle connection
// (idlePeek.quiet: one non-blocking MSG_PEEK recvfrom).
func BenchmarkIdlePeek(b *testing.B) {
	addr := cannedBackend(b, "")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	var p idlePeek
	p.init(c)
	b.ReportAllocs()
	for b.Loop() {
		if !p.quiet() {
			b.Fatal("not quiet")
		}
	}
}

// BenchmarkServeHTTPPost measures the request path of a request with a
// body, which goes through the API's http.Transport (guardedConn).
func BenchmarkServeHTTPPost(b *testing.B) {
	be := newRawBackend(b, func(c net.Conn, req *http.Request, _ int) bool {
		io.Copy(io.Discard, req.Body)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		return true
	})
	w := &world{cfg: portico.NewConfig(), gw: &Gateway{}}
	w.api("api", "/api", portico.AuthNone, "http://"+be.addr)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		w.gw.ServeHTTP(rec, httptest.NewRequest("POST", "/api/x", strings.NewReader("body")))
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}
