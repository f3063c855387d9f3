package ajp_test

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"testing"

	"github.com/portico-gw/portico/ajp"
)

// browserFields are the fields of a typical API request through Apache.
var browserFields = [][2]string{
	{"Host", "api.example.com"},
	{"User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"},
	{"Accept", "application/json"},
	{"Accept-Language", "en-GB,en;q=0.5"},
	{"Accept-Encoding", "gzip, deflate, br"},
	{"Connection", "keep-alive"},
	{"X-Api-Key", "0123456789abcdef0123456789abcdef"},
	{"X-Request-Id", "4bf92f3577b34da6a3ce929d0e0e4736"},
}

// BenchmarkParseForwardRequest is the decoding of a Forward Request with
// eight fields and mod_jk's usual attributes into an *http.Request.
func BenchmarkParseForwardRequest(b *testing.B) {
	p := fwd{URI: "/api/v1/orders/12345", HasQuery: true, Query: "expand=items", RemotePort: "51234",
		Secret: "s3cr3t", Headers: browserFields,
		Attrs: append(reqAttr("AJP_LOCAL_ADDR", "127.0.0.1"), reqAttr("JK_LB_ACTIVATION", "ACT")...)}.payload()
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ajp.ParseForwardRequest(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkServe is a whole request on a kept connection over loopback:
// the Forward Request of BenchmarkParseForwardRequest, a handler that
// sets two fields and writes 100 bytes, and the response read back
// (client included).
func BenchmarkServe(b *testing.B) {
	for _, c := range []struct {
		name string
		body int
	}{{"GET", 0}, {"POST 4KiB", 4096}} {
		b.Run(c.name, func(b *testing.B) {
			out := bytes.Repeat([]byte("x"), 100)
			s := &ajp.Server{Secret: "s3cr3t", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("X-Request-Id", "4bf92f3577b34da6a3ce929d0e0e4736")
				w.Write(out)
			})}
			addr := startServer(b, s)
			ws := dialAJP(b, addr, 0)
			f := fwd{URI: "/api/v1/orders/12345", HasQuery: true, Query: "expand=items", RemotePort: "51234",
				Secret: "s3cr3t", Headers: browserFields}
			req := packet(f.payload())
			if c.body > 0 {
				f.Method = "POST"
				f.Headers = append(f.Headers[:len(f.Headers):len(f.Headers)], [2]string{"Content-Length", strconv.Itoa(c.body)})
				req = append(packet(f.payload()), bodyPacket(make([]byte, c.body))...)
			}
			// The response's length, from one round trip.
			ws.write(req)
			var n int
			for {
				p, err := ws.readPacket()
				if err != nil {
					b.Fatal(err)
				}
				n += 4 + len(p)
				if p[0] == 5 {
					break
				}
			}
			buf := make([]byte, n)
			b.ReportAllocs()
			for b.Loop() {
				ws.write(req)
				if _, err := io.ReadFull(ws.br, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
