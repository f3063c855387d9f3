package framing

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
)

// getHead is a typical browser-like GET head of about 300 bytes.
var getHead = crlf("GET /api/v1/orders/12345?expand=items HTTP/1.1|" +
	"Host: api.example.com|" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0|" +
	"Accept: application/json|" +
	"Accept-Language: en-GB,en;q=0.5|" +
	"Accept-Encoding: gzip, deflate, br|" +
	"Connection: keep-alive|" +
	"Cache-Control: no-cache|" +
	"X-Api-Key: 0123456789abcdef0123456789abcdef||")

// BenchmarkSniff is the sniffer's cost per request on a keep-alive
// connection: one 300-byte GET head per read. It justifies the
// IndexByte fast path in sniffer.feed.
func BenchmarkSniff(b *testing.B) {
	p := []byte(getHead)
	benchSniff(b, p)
}

// BenchmarkSniffChunked is a small chunked POST with a Content-Type and
// two chunks, one read per request.
func BenchmarkSniffChunked(b *testing.B) {
	p := []byte(crlf("POST /api/v1/orders HTTP/1.1|Host: api.example.com|Content-Type: application/json|Transfer-Encoding: chunked||" +
		"10|{\"item\":\"abcdef\"|2|}\n|0||"))
	benchSniff(b, p)
}

// benchSniff feeds p, one whole request, to a sniffer once per iteration.
func benchSniff(b *testing.B, p []byte) {
	s := &sniffer{maxHdr: hdrLimit}
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		s.feed(p)
		s.pending.pop()
	}
	if s.why != noReason {
		b.Fatal(s.why)
	}
}

// repeatConn returns the same bytes on every Read.
type repeatConn struct {
	net.Conn
	p []byte
}

func (c *repeatConn) Read(p []byte) (int, error) { return copy(p, c.p), nil }

// BenchmarkReadAndAdmit is everything framing adds to a request on a
// plain listener: the wrapped Read (lock, sniff) and Handler's verdict
// (fingerprint, lock, pop).
func BenchmarkReadAndAdmit(b *testing.B) {
	c := &conn{Conn: &repeatConn{p: []byte(getHead)}}
	c.s.maxHdr = hdrLimit
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(getHead)))
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 4096)
	b.SetBytes(int64(len(getHead)))
	b.ReportAllocs()
	for b.Loop() {
		c.Read(buf)
		if why := c.admit(r); why != noReason {
			b.Fatal(why)
		}
	}
}
