package ajp_test

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico/ajp"
)

// forwardSeeds are Forward Request payloads of every shape the tests use.
func forwardSeeds() [][]byte {
	tlsAttrs := append(attrString(0x08, "TLS_AES_128_GCM_SHA256"), reqAttr("AJP_SSL_PROTOCOL", "TLSv1.2")...)
	return [][]byte{
		[]byte(getOrders),
		fwd{}.payload(),
		fwd{Method: "POST", URI: "/a/b", Headers: [][2]string{{"Content-Length", "20000"}, {"Content-Type", "text/plain"}}}.payload(),
		fwd{Method: "PUT", Headers: [][2]string{{"Transfer-Encoding", "chunked"}, {"Upgrade", "websocket"}}}.payload(),
		fwd{Method: "PATCH", HasQuery: true, Query: "x=%20&y", Secret: "s"}.payload(),
		fwd{SSL: true, ServerPort: 8443, RemoteAddr: "::ffff:10.1.2.3", RemotePort: "9", Attrs: tlsAttrs}.payload(),
		fwd{Attrs: reqAttr("javax.servlet.include.path_info", "/WEB-INF/web.xml")}.payload(),
		fwd{Headers: [][2]string{{"Host", "a"}, {"X-Long", strings.Repeat("v", 300)}}}.payload(),
	}
}

// FuzzForwardRequest feeds the decoder of what web servers send: it must
// not panic, and a request it builds must be one net/http could have
// read, which encoded again decodes to the same request.
func FuzzForwardRequest(f *testing.F) {
	for _, p := range forwardSeeds() {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		r, err := ajp.ParseForwardRequest(p)
		if err != nil {
			return
		}
		checkRequest(t, r)
		again, err := ajp.ParseForwardRequest(encodeRequest(r).payload())
		if err != nil {
			t.Fatalf("re-encoded: %v", err)
		}
		for _, c := range [][2]any{
			{r.Method, again.Method}, {r.RequestURI, again.RequestURI}, {r.Proto, again.Proto},
			{r.Host, again.Host}, {r.RemoteAddr, again.RemoteAddr}, {r.ContentLength, again.ContentLength},
			{r.TLS != nil, again.TLS != nil}, {len(r.Header), len(again.Header)},
		} {
			if c[0] != c[1] {
				t.Fatalf("%v, then %v", c[0], c[1])
			}
		}
		for name, vs := range r.Header {
			if !slices.Equal(vs, again.Header[name]) {
				t.Fatalf("%s: %q, then %q", name, vs, again.Header[name])
			}
		}
	})
}

// checkRequest fails unless r is a request net/http could have read.
func checkRequest(t *testing.T, r *http.Request) {
	t.Helper()
	if !isToken(r.Method) || r.URL == nil || !strings.HasPrefix(r.RequestURI, "/") {
		t.Fatalf("method %q, URI %q", r.Method, r.RequestURI)
	}
	if _, err := netip.ParseAddrPort(r.RemoteAddr); err != nil {
		t.Fatalf("RemoteAddr %q: %v", r.RemoteAddr, err)
	}
	if r.ContentLength < -1 || (r.ContentLength == -1) != (len(r.TransferEncoding) == 1) {
		t.Fatalf("ContentLength %d, TransferEncoding %q", r.ContentLength, r.TransferEncoding)
	}
	for name, vs := range r.Header {
		if !isToken(name) || http.CanonicalHeaderKey(name) != name || name == "Host" || name == "Transfer-Encoding" || name == "Upgrade" {
			t.Fatalf("field name %q", name)
		}
		for _, v := range vs {
			if strings.ContainsFunc(v, func(c rune) bool { return c < ' ' && c != '\t' || c == 0x7f }) {
				t.Fatalf("%s: %q", name, v)
			}
		}
	}
	if strings.ContainsAny(r.Host, " \t\r\n/\\@") {
		t.Fatalf("Host %q", r.Host)
	}
}

func isToken(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(c rune) bool {
		return c <= ' ' || c >= 0x7f || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", c)
	})
}

// encodeRequest is the Forward Request a web server sends for r.
func encodeRequest(r *http.Request) fwd {
	path, query, hasQuery := strings.Cut(r.RequestURI, "?")
	ap := netip.MustParseAddrPort(r.RemoteAddr)
	f := fwd{Method: r.Method, Protocol: r.Proto, URI: path, Query: query, HasQuery: hasQuery,
		RemoteAddr: ap.Addr().String(), RemotePort: strconv.Itoa(int(ap.Port())), SSL: r.TLS != nil}
	if f.SSL && r.TLS.Version == tls.VersionTLS12 {
		f.Attrs = reqAttr("AJP_SSL_PROTOCOL", "TLSv1.2")
	}
	names := make([]string, 0, len(r.Header))
	for name := range r.Header {
		names = append(names, name)
	}
	slices.Sort(names)
	f.Headers = append(f.Headers, [2]string{"Host", r.Host})
	for _, name := range names {
		for _, v := range r.Header[name] {
			f.Headers = append(f.Headers, [2]string{name, v})
		}
	}
	if r.ContentLength < 0 {
		f.Headers = append(f.Headers, [2]string{"Transfer-Encoding", "chunked"})
	}
	return f
}

// FuzzServe feeds a connection's loop whatever a web server might send —
// Forward Requests, body packets, CPings, garbage — over a net.Pipe: it
// must not panic or hang, and must close the connection when the bytes
// end.
func FuzzServe(f *testing.F) {
	get := packet(fwd{}.payload())
	post := packet(fwd{Method: "POST", Headers: [][2]string{{"Content-Length", "5"}}}.payload())
	chunked := packet(fwd{Method: "POST", Headers: [][2]string{{"Transfer-Encoding", "chunked"}}}.payload())
	cping := []byte{0x12, 0x34, 0x00, 0x01, 0x0a}
	for _, seed := range [][]byte{
		get,
		slices.Concat(cping, get, get),
		slices.Concat(post, bodyPacket([]byte("hello")), cping),
		slices.Concat(chunked, bodyPacket([]byte("ab")), bodyPacket(nil), get),
		slices.Concat(post, bodyPacket(nil)),
		slices.Concat(packet(fwd{URI: "/panic"}.payload()), get),
		slices.Concat(packet(fwd{URI: "/stream"}.payload()), get),
		{0x12, 0x34, 0x00, 0x01, 0x07},
		{0x12, 0x34, 0xff, 0xff},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, stream []byte) {
		s := &ajp.Server{ReadTimeout: time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			switch r.URL.Path {
			case "/panic":
				panic(http.ErrAbortHandler)
			case "/stream":
				w.Write(b)
				w.(http.Flusher).Flush()
			}
			w.Write(b)
		})}
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			ajp.ServeConn(s, server)
		}()
		go io.Copy(io.Discard, client)
		client.SetWriteDeadline(time.Now().Add(5 * time.Second))
		client.Write(stream)
		client.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("the connection's loop did not end")
		}
	})
}

// TestParseErrors: what the decoder returns is a malformed packet (closed
// without an answer) or a refusal, nothing else.
func TestParseErrors(t *testing.T) {
	if _, err := ajp.ParseForwardRequest([]byte{0x02, 0x02, 0x00}); !ajp.IsMalformed(err) {
		t.Errorf("cut off: %v", err)
	}
	_, err := ajp.ParseForwardRequest(fwd{URI: "x"}.payload())
	if err == nil || ajp.IsMalformed(err) {
		t.Errorf("relative URI: %v", err)
	}
	if _, err := ajp.ParseForwardRequest(bytes.Repeat([]byte{0x02}, 3)); err == nil || errors.Is(err, io.EOF) {
		t.Errorf("%v", err)
	}
}
