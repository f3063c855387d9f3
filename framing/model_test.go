package framing

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
)

// goRequest is a request as net/http reads it from a stream: its request
// line and where its head ended.
type goRequest struct {
	line    string
	headEnd int64
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// goModel reads data with net/http's own request parser and body readers,
// as http.Server does (4096-byte bufio.Reader, up to four CR or LF bytes
// skipped after a POST), and returns the requests in order. It stops at
// the first head net/http cannot parse or body it cannot read, and
// reports which ("head", "body" or "eof"). It goes on where the server
// would close the connection for other reasons (Connection: close, a
// missing Host): the sniffer must agree with it there too, and the server
// test compares the prefix the server serves.
func goModel(data []byte) (reqs []goRequest, stop string) {
	cr := &countReader{r: bytes.NewReader(data)}
	br := bufio.NewReaderSize(cr, 4096)
	pos := func() int64 { return cr.n - int64(br.Buffered()) }
	last := ""
	for {
		if last == "POST" {
			peek, _ := br.Peek(4)
			n := 0
			for n < len(peek) && (peek[n] == '\r' || peek[n] == '\n') {
				n++
			}
			br.Discard(n)
		}
		if _, err := br.Peek(1); err != nil {
			return reqs, "eof"
		}
		req, err := http.ReadRequest(br)
		if err != nil {
			return reqs, "head"
		}
		reqs = append(reqs, goRequest{req.Method + " " + req.RequestURI + " " + req.Proto, pos()})
		if _, err := io.Copy(io.Discard, req.Body); err != nil {
			return reqs, "body"
		}
		last = req.Method
	}
}

// checkAgainstModel checks that every head the sniffer follows is the head
// net/http reads at the same place in the stream, and that the sniffer
// follows nothing after a body net/http could not read.
func checkAgainstModel(t *testing.T, data []byte) sniffed {
	t.Helper()
	sn := sniffBytewise(data, hdrLimit)
	model, stop := goModel(data)
	for i := range sn.fps {
		if i >= len(model) {
			break // net/http refused this head: the server closes the connection
		}
		m := model[i]
		if sn.ends[i] != m.headEnd {
			t.Fatalf("head %d: the sniffer ends it at %d, net/http at %d (%q)\nstream %q", i, sn.ends[i], m.headEnd, m.line, data)
		}
		method, rest, _ := strings.Cut(m.line, " ")
		target, proto, _ := strings.Cut(rest, " ")
		if sn.fps[i] != fingerprint(method, target, proto) {
			t.Fatalf("head %d: fingerprint differs from %q\nstream %q", i, m.line, data)
		}
	}
	if stop == "body" && len(sn.fps) > len(model) {
		t.Fatalf("the sniffer followed %d heads; net/http failed to read the body of head %d\nstream %q", len(sn.fps), len(model)-1, data)
	}
	return sn
}

// legitStream returns a stream of well-formed requests of the kinds real
// clients send, and their number.
func legitStream(r *rand.Rand) ([]byte, int) {
	var b bytes.Buffer
	n := 1 + r.IntN(6)
	methods := []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND"}
	targets := []string{"/", "/api/v1/orders?id=7&x=%20y", "/a;b=c/d", "*", "http://example.com/x", "/" + strings.Repeat("p", 300)}
	names := []string{"Host", "User-Agent", "Accept", "Cookie", "Content-Type", "Connection", "Cache-Control", "X-Request-Id", "Authorization", "TE", "Trailer", "Transfer", "Content-Lengths", "X-Transfer-Encoding", "Upgrade-Insecure-Requests"}
	for range n {
		m := methods[r.IntN(len(methods))]
		target := targets[r.IntN(len(targets))]
		if target == "*" && m != "OPTIONS" {
			target = "/"
		}
		proto := "HTTP/1.1"
		if r.IntN(8) == 0 {
			proto = "HTTP/1.0"
		}
		fmt.Fprintf(&b, "%s %s %s\r\n", m, target, proto)
		for range r.IntN(8) {
			name := names[r.IntN(len(names))]
			if r.IntN(2) == 0 {
				name = strings.ToLower(name)
			}
			sep := []string{":", ": ", ":\t", ":  "}[r.IntN(4)]
			fmt.Fprintf(&b, "%s%sv%d%s\r\n", name, sep, r.IntN(1000), []string{"", " ", "\t"}[r.IntN(3)])
		}
		body := strings.Repeat("b", r.IntN(3)*r.IntN(600))
		chunked := proto == "HTTP/1.1" && r.IntN(3) == 0
		switch {
		case chunked:
			te := []string{"chunked", "Chunked", "CHUNKED"}[r.IntN(3)]
			fmt.Fprintf(&b, "%s: %s\r\n\r\n", []string{"Transfer-Encoding", "transfer-encoding"}[r.IntN(2)], te)
			for rest := body; ; {
				k := min(len(rest), r.IntN(200))
				if len(rest) == 0 {
					k = 0
				}
				ext := []string{"", ";a=b", `;n="q;x"`, ";x"}[r.IntN(4)]
				size := fmt.Sprintf([]string{"%x", "%X", "%04x"}[r.IntN(3)], k)
				fmt.Fprintf(&b, "%s%s\r\n", size, ext)
				if k == 0 {
					break
				}
				fmt.Fprintf(&b, "%s\r\n", rest[:k])
				rest = rest[k:]
			}
			if r.IntN(3) == 0 {
				b.WriteString("Checksum: 1\r\nX-T:\tv\r\n")
			}
			b.WriteString("\r\n")
		case len(body) > 0 || r.IntN(3) == 0:
			fmt.Fprintf(&b, "%s: %d\r\n\r\n%s", []string{"Content-Length", "content-length"}[r.IntN(2)], len(body), body)
		default:
			b.WriteString("\r\n")
		}
		if m == "POST" && r.IntN(4) == 0 {
			b.WriteString("\r\n") // old clients' CRLF after a POST body
		}
	}
	return b.Bytes(), n
}

// TestSnifferAgreesWithNetHTTP compares the sniffer with net/http on
// well-formed streams (all followed), and on the same streams with bytes
// changed (followed exactly as net/http reads them, or not at all).
func TestSnifferAgreesWithNetHTTP(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for range 3000 {
		data, n := legitStream(r)
		sn := checkAgainstModel(t, data)
		if len(sn.fps) != n || sn.why != noReason {
			t.Fatalf("followed %d of %d heads, stopped for %q\nstream %q", len(sn.fps), n, sn.why, data)
		}
		for range 5 {
			checkAgainstModel(t, mutate(r, data))
		}
	}
}

// mutate changes a few bytes of data, toward the bytes framing hangs on.
func mutate(r *rand.Rand, data []byte) []byte {
	d := bytes.Clone(data)
	for range 1 + r.IntN(3) {
		if len(d) == 0 {
			break
		}
		i := r.IntN(len(d))
		switch r.IntN(4) {
		case 0:
			d[i] = "\r\n :;\t0a-_"[r.IntN(10)]
		case 1:
			d = append(d[:i], d[i+1:]...)
		case 2:
			ins := []string{"\r\n", "\n", "Transfer-Encoding: chunked\r\n", "Content-Length: 3\r\n", "0\r\n\r\n", " ", "\r"}[r.IntN(7)]
			d = append(d[:i], append([]byte(ins), d[i:]...)...)
		default:
			d[i] = byte(r.IntN(256))
		}
	}
	return d
}
