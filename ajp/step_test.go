package ajp_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-gw/portico/ajp"
)

// Step tests: packets assembled byte by byte from AJP/1.3's layouts, and
// the exact bytes expected back.

// startServer serves s on a free loopback port until the test ends.
func startServer(t testing.TB, s *ajp.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	return ln.Addr().String()
}

// abPacket frames a payload to the web server.
func abPacket(payload string) string {
	return "AB" + string([]byte{byte(len(payload) >> 8), byte(len(payload))}) + payload
}

// readExactly reads n bytes, or what came before an error.
func readExactly(ws *webServer, n int) []byte {
	b := make([]byte, n)
	k, _ := io.ReadFull(ws.br, b)
	return b[:k]
}

// expectBytes reads len(want) bytes and compares them.
func expectBytes(t *testing.T, ws *webServer, want string) {
	t.Helper()
	got := readExactly(ws, len(want))
	if string(got) != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

// requests collects the requests a handler saw, with their bodies.
type requests struct {
	ch chan seenRequest
}

type seenRequest struct {
	r    *http.Request
	body []byte
	err  error
}

func newRequests() *requests { return &requests{ch: make(chan seenRequest, 100)} }

// handler records each request with its body, then answers with answer.
func (rq *requests) handler(answer http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		rq.ch <- seenRequest{r, b, err}
		if answer != nil {
			answer(w, r)
		}
	})
}

func (rq *requests) next(t *testing.T) seenRequest {
	t.Helper()
	select {
	case s := <-rq.ch:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no request reached the handler")
		return seenRequest{}
	}
}

func (rq *requests) none(t *testing.T) {
	t.Helper()
	select {
	case s := <-rq.ch:
		t.Fatalf("the handler was called: %s %s", s.r.Method, s.r.RequestURI)
	default:
	}
}

// getOrders is a Forward Request for GET /orders/42?a=1&b from
// 203.0.113.7:51234 with three fields: Host and Accept coded, X-Api-Key
// by name.
const getOrders = "\x02" + // Forward Request
	"\x02" + // GET
	"\x00\x08HTTP/1.1\x00" + // protocol
	"\x00\x0a/orders/42\x00" + // req_uri
	"\x00\x0b203.0.113.7\x00" + // remote_addr
	"\xff\xff" + // remote_host: null
	"\x00\x0bexample.com\x00" + // server_name
	"\x00\x50" + // server_port 80
	"\x00" + // is_ssl
	"\x00\x03" + // num_headers
	"\xa0\x0b\x00\x0fapi.example.com\x00" + // Host
	"\xa0\x01\x00\x10application/json\x00" + // Accept
	"\x00\x09X-Api-Key\x00\x00\x03k12\x00" + // X-Api-Key
	"\x05\x00\x05a=1&b\x00" + // query_string
	"\x0a\x00\x0fAJP_REMOTE_PORT\x00\x00\x0551234\x00" + // req_attribute
	"\xff" // end of attributes

func TestStepGET(t *testing.T) {
	rq := newRequests()
	s := &ajp.Server{Handler: rq.handler(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Trace", "t1")
		io.WriteString(w, `{"ok":true}`)
	})}
	ws := dialAJP(t, startServer(t, s), 0)
	ws.write(packet([]byte(getOrders)))

	got := rq.next(t)
	r := got.r
	for _, c := range []struct{ what, got, want string }{
		{"method", r.Method, "GET"},
		{"proto", r.Proto, "HTTP/1.1"},
		{"request URI", r.RequestURI, "/orders/42?a=1&b"},
		{"path", r.URL.Path, "/orders/42"},
		{"query", r.URL.RawQuery, "a=1&b"},
		{"host", r.Host, "api.example.com"},
		{"remote", r.RemoteAddr, "203.0.113.7:51234"},
		{"accept", r.Header.Get("Accept"), "application/json"},
		{"key", r.Header.Get("X-Api-Key"), "k12"},
		{"fields", fmt.Sprint(len(r.Header)), "2"},
		{"body", string(got.body), ""},
		{"content length", fmt.Sprint(r.ContentLength), "0"},
		{"tls", fmt.Sprint(r.TLS != nil), "false"},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.what, c.got, c.want)
		}
	}
	if r.Body != http.NoBody {
		t.Errorf("body %T, want http.NoBody", r.Body)
	}
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); !ok || a.String() != ws.nc.RemoteAddr().String() {
		t.Errorf("LocalAddrContextKey = %v", r.Context().Value(http.LocalAddrContextKey))
	}

	// One write: the fields (sorted, then the Content-Length of a body
	// that fit in a packet), the body, and END_RESPONSE with reuse.
	expectBytes(t, ws, abPacket("\x04"+ // SEND_HEADERS
		"\x00\xc8"+"\x00\x02OK\x00"+ // 200 OK
		"\x00\x03"+ // 3 fields
		"\xa0\x01\x00\x10application/json\x00"+ // Content-Type
		"\x00\x07X-Trace\x00\x00\x02t1\x00"+ // X-Trace by name
		"\xa0\x03\x00\x0211\x00")+ // Content-Length: 11
		abPacket("\x03\x00\x0b{\"ok\":true}\x00")+ // SEND_BODY_CHUNK
		abPacket("\x05\x01")) // END_RESPONSE, reuse

	// The connection carries the next message.
	ws.write([]byte("\x12\x34\x00\x01\x0a")) // CPing
	expectBytes(t, ws, "AB\x00\x01\x09")     // CPong
}

// TestStepPOSTContentLength sends a 20,000-byte body in three packets of
// a default-size connection: the first unasked, after the Forward
// Request; the other two when asked for with GET_BODY_CHUNK (8186 bytes,
// the packet size less the body packet's 6 bytes of framing).
func TestStepPOSTContentLength(t *testing.T) {
	rq := newRequests()
	s := &ajp.Server{Handler: rq.handler(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	})}
	ws := dialAJP(t, startServer(t, s), 0)
	body := bytes.Repeat([]byte("0123456789abcdef"), 1250)
	ws.write(packet(fwd{Method: "POST", URI: "/upload", Headers: [][2]string{
		{"Content-Type", "application/octet-stream"}, {"Content-Length", "20000"}}}.payload()))
	ws.write(bodyPacket(body[:8186]))
	expectBytes(t, ws, "AB\x00\x03\x06\x1f\xfa") // GET_BODY_CHUNK 8186
	ws.write(bodyPacket(body[8186:16372]))
	expectBytes(t, ws, "AB\x00\x03\x06\x1f\xfa")
	ws.write(bodyPacket(body[16372:]))

	got := rq.next(t)
	if got.err != nil || !bytes.Equal(got.body, body) {
		t.Fatalf("body: %d bytes, err %v", len(got.body), got.err)
	}
	if got.r.ContentLength != 20000 || got.r.Method != "POST" {
		t.Errorf("%s with ContentLength %d", got.r.Method, got.r.ContentLength)
	}
	expectBytes(t, ws, abPacket("\x04\x00\xc9\x00\x07Created\x00\x00\x01\xa0\x03\x00\x010\x00")+abPacket("\x05\x01"))
}

// TestStepChunkedBody: a body without a Content-Length (chunked from the
// client) comes only when asked for, and ends with a packet without data.
func TestStepChunkedBody(t *testing.T) {
	rq := newRequests()
	s := &ajp.Server{Handler: rq.handler(nil)}
	ws := dialAJP(t, startServer(t, s), 0)
	ws.write(packet(fwd{Method: "PUT", URI: "/x", Headers: [][2]string{{"Transfer-Encoding", "chunked"}}}.payload()))
	expectBytes(t, ws, "AB\x00\x03\x06\x1f\xfa")
	ws.write(bodyPacket([]byte("hello, ")))
	expectBytes(t, ws, "AB\x00\x03\x06\x1f\xfa")
	ws.write(bodyPacket([]byte("world")))
	expectBytes(t, ws, "AB\x00\x03\x06\x1f\xfa")
	ws.write([]byte("\x12\x34\x00\x00")) // the end
	got := rq.next(t)
	if string(got.body) != "hello, world" || got.err != nil {
		t.Fatalf("body %q, err %v", got.body, got.err)
	}
	r := got.r
	if r.ContentLength != -1 || fmt.Sprint(r.TransferEncoding) != "[chunked]" || r.Header.Get("Transfer-Encoding") != "" {
		t.Errorf("ContentLength %d, TransferEncoding %v, field %q", r.ContentLength, r.TransferEncoding, r.Header.Get("Transfer-Encoding"))
	}
	expectBytes(t, ws, abPacket("\x04\x00\xc8\x00\x02OK\x00\x00\x01\xa0\x03\x00\x010\x00")+abPacket("\x05\x01"))
}

// TestStepChunkedBodyEndsWithEmptyData: mod_jk ends a chunked body with a
// packet of no payload; a payload of a zero length ends it too.
func TestStepChunkedBodyEndsWithEmptyData(t *testing.T) {
	rq := newRequests()
	ws := dialAJP(t, startServer(t, &ajp.Server{Handler: rq.handler(nil)}), 0)
	ws.write(packet(fwd{Method: "POST", Headers: [][2]string{{"Transfer-Encoding", "Chunked"}}}.payload()))
	expectBytes(t, ws, "AB\x00\x03\x06\x1f\xfa")
	ws.write([]byte("\x12\x34\x00\x02\x00\x00"))
	if got := rq.next(t); len(got.body) != 0 || got.err != nil {
		t.Fatalf("body %q, err %v", got.body, got.err)
	}
	expectBytes(t, ws, abPacket("\x04\x00\xc8\x00\x02OK\x00\x00\x01\xa0\x03\x00\x010\x00")+abPacket("\x05\x01"))
}

// TestStepUnreadBody: the body packet that came unasked is dropped when
// the handler reads none of it, and the connection serves the next
// request; the rest of the body is never asked for.
func TestStepUnreadBody(t *testing.T) {
	var calls atomic.Int32
	s := &ajp.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) })}
	ws := dialAJP(t, startServer(t, s), 0)
	ws.write(packet(fwd{Method: "POST", Headers: [][2]string{{"Content-Length", "10000"}}}.payload()))
	ws.write(bodyPacket(make([]byte, 8186)))
	expectBytes(t, ws, abPacket("\x04\x00\xc8\x00\x02OK\x00\x00\x01\xa0\x03\x00\x010\x00")+abPacket("\x05\x01"))
	r, err := ws.do(fwd{URI: "/second"}, nil, 0)
	if err != nil || r.Status != 200 || !r.Reuse {
		t.Fatalf("second request: %+v, %v", r, err)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d calls", n)
	}
}

func TestStepCPing(t *testing.T) {
	ws := dialAJP(t, startServer(t, &ajp.Server{Handler: http.NotFoundHandler()}), 0)
	for range 3 {
		ws.write([]byte{0x12, 0x34, 0x00, 0x01, 0x0a})
		expectBytes(t, ws, "AB\x00\x01\x09")
	}
	// Two at once, as a pipelining web server would.
	ws.write([]byte("\x12\x34\x00\x01\x0a\x12\x34\x00\x01\x0a"))
	expectBytes(t, ws, "AB\x00\x01\x09AB\x00\x01\x09")
	r, err := ws.do(fwd{URI: "/nope"}, nil, 0)
	if err != nil || r.Status != 404 {
		t.Fatalf("%+v %v", r, err)
	}
}

// TestStepStoredMethod: a method without a code (PATCH) comes as 0xFF and
// the stored_method attribute.
func TestStepStoredMethod(t *testing.T) {
	rq := newRequests()
	ws := dialAJP(t, startServer(t, &ajp.Server{Handler: rq.handler(nil)}), 0)
	ws.write(packet([]byte("\x02\xff\x00\x08HTTP/1.1\x00\x00\x01/\x00\x00\x09127.0.0.1\x00\xff\xff" +
		"\x00\x09localhost\x00\x1f\x90\x00\x00\x00" + "\x0d\x00\x05PATCH\x00" + "\xff")))
	got := rq.next(t)
	if got.r.Method != "PATCH" || got.r.Host != "localhost:8080" || got.r.RemoteAddr != "127.0.0.1:0" {
		t.Errorf("%s, host %q, remote %q", got.r.Method, got.r.Host, got.r.RemoteAddr)
	}
}

// TestStepTLS: is_ssl gives a TLS state with the version of
// AJP_SSL_PROTOCOL; the TLS details mod_jk sends are taken.
func TestStepTLS(t *testing.T) {
	rq := newRequests()
	ws := dialAJP(t, startServer(t, &ajp.Server{Handler: rq.handler(nil)}), 0)
	var attrs []byte
	attrs = append(attrs, attrString(0x07, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")...)
	attrs = append(attrs, attrString(0x08, "TLS_AES_128_GCM_SHA256")...)
	attrs = append(attrs, attrString(0x09, "5e55")...)
	attrs = append(attrs, 0x0b, 0x00, 0x80) // ssl_key_size 128
	attrs = append(attrs, attrString(0x06, "node1")...)
	attrs = append(attrs, reqAttr("AJP_SSL_PROTOCOL", "TLSv1.3")...)
	attrs = append(attrs, reqAttr("AJP_LOCAL_ADDR", "10.0.0.1")...)
	attrs = append(attrs, reqAttr("JK_LB_ACTIVATION", "ACT")...)
	r, err := ws.do(fwd{SSL: true, ServerName: "shop.example", ServerPort: 443, RemoteAddr: "2001:db8::7", RemotePort: "443", Attrs: attrs}, nil, 0)
	if err != nil || r.Status != 200 {
		t.Fatalf("%+v %v", r, err)
	}
	got := rq.next(t).r
	if got.TLS == nil || got.TLS.Version != tls.VersionTLS13 || !got.TLS.HandshakeComplete {
		t.Errorf("TLS %+v", got.TLS)
	}
	if got.Host != "shop.example" || got.RemoteAddr != "[2001:db8::7]:443" {
		t.Errorf("host %q, remote %q", got.Host, got.RemoteAddr)
	}
}

func TestStepStatusWithoutText(t *testing.T) {
	ws := dialAJP(t, startServer(t, &ajp.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Www-Authenticate"] = []string{"Basic"}
		w.Header()["X-Bad\r\nName"] = []string{"dropped"}
		w.Header().Set("X-Split", "a\r\nSet-Cookie: evil=1")
		w.Header().Set("Transfer-Encoding", "chunked")
		w.Header().Set("Connection", "keep-alive")
		w.WriteHeader(599)
	})}), 0)
	ws.write(packet(fwd{}.payload()))
	expectBytes(t, ws, abPacket("\x04\x02\x57\x00\x03599\x00\x00\x03"+
		"\xa0\x0b\x00\x05Basic\x00"+
		"\x00\x07X-Split\x00\x00\x15a  Set-Cookie: evil=1\x00"+
		"\xa0\x03\x00\x010\x00")+abPacket("\x05\x01"))
}

// TestStepFlushPacket: Flush sends the fields, the body held and an empty
// SEND_BODY_CHUNK (4 bytes: code, zero length, NUL).
func TestStepFlushPacket(t *testing.T) {
	release := make(chan struct{})
	ws := dialAJP(t, startServer(t, &ajp.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "tick")
		w.(http.Flusher).Flush()
		<-release
	})}), 0)
	ws.write(packet(fwd{}.payload()))
	expectBytes(t, ws, abPacket("\x04\x00\xc8\x00\x02OK\x00\x00\x00")+
		abPacket("\x03\x00\x04tick\x00")+abPacket("\x03\x00\x00\x00"))
	close(release)
	expectBytes(t, ws, abPacket("\x05\x01"))
}

func TestStepRequestHeaderCodes(t *testing.T) {
	rq := newRequests()
	ws := dialAJP(t, startServer(t, &ajp.Server{Handler: rq.handler(nil)}), 0)
	var fields [][2]string
	names := []string{"Accept", "Accept-Charset", "Accept-Encoding", "Accept-Language", "Authorization",
		"Connection", "Content-Type", "Content-Length", "Cookie", "Cookie2", "Host", "Pragma", "Referer", "User-Agent"}
	for i, n := range names {
		v := fmt.Sprint("v", i)
		if n == "Content-Length" {
			v = "0"
		}
		fields = append(fields, [2]string{n, v})
	}
	p := fwd{Headers: fields}.payload()
	if c := bytes.Count(p, []byte{0xa0}); c != len(names) {
		t.Fatalf("%d coded names in %q", c, p)
	}
	ws.write(packet(p))
	r := rq.next(t).r
	for i, n := range names {
		got := r.Header.Get(n)
		if n == "Host" {
			got = r.Host
		}
		if want := fmt.Sprint("v", i); n != "Content-Length" && got != want {
			t.Errorf("%s: %q, want %q", n, got, want)
		}
	}
	if strings.Contains(fmt.Sprint(r.Header), "Host") {
		t.Errorf("Host left in the fields: %v", r.Header)
	}
}
