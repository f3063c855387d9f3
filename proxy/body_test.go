package proxy

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

// rawExchange sends raw on a new connection to the gateway and reads one
// response; eof reports whether the gateway then closed the connection.
func rawExchange(t *testing.T, w *world, raw string, pause time.Duration, more ...string) (resp *http.Response, body string, eof bool) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(w.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(conn, raw)
	for _, m := range more {
		time.Sleep(pause) // a slow client, not a wait for sync
		io.WriteString(conn, m)
	}
	br := bufio.NewReader(conn)
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_, err = br.ReadByte()
	return resp, string(b), err == io.EOF
}

// TestClientBodyErrors: a malformed or cut-off chunked body is the
// client's fault (400, connection closed), not a 502 blamed on the
// backend.
func TestClientBodyErrors(t *testing.T) {
	w := newWorld(t)
	be := echo(t, "be")
	w.api("api", "/api", portico.AuthNone, be.URL)
	for _, body := range []string{
		"zz\r\nhello\r\n0\r\n\r\n",                 // not a chunk size
		"5\r\nhelloXX0\r\n\r\n",                    // no line end after the data
		"ffffffffffffffffff\r\nhello\r\n0\r\n\r\n", // a size that overflows
	} {
		resp, b, eof := rawExchange(t, w, "POST /api/x HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n"+body, 0)
		if resp.StatusCode != 400 || errorCode(t, b) != "invalid" || !eof {
			t.Errorf("%q: %d %s, closed %v", body, resp.StatusCode, b, eof)
		}
	}
	// A well-formed chunked body still goes through.
	resp, b, _ := rawExchange(t, w, "POST /api/x HTTP/1.1\r\nHost: gw\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 0)
	var e echoed
	json.Unmarshal([]byte(b), &e)
	if resp.StatusCode != 200 || e.Body != "hello" {
		t.Errorf("chunked body: %d %q", resp.StatusCode, b)
	}
}

// TestReadBodyTimeout: a client whose body stalls longer than
// ReadBodyTimeout gets a 408 and its connection closed; a slow body that
// keeps moving is not cut; the request after a body has no deadline
// left over.
func TestReadBodyTimeout(t *testing.T) {
	w := newWorld(t)
	w.gw.ReadBodyTimeout = 500 * time.Millisecond
	release := make(chan struct{})
	be := slowEcho(t, release)
	w.api("api", "/api", portico.AuthNone, be)

	start := time.Now()
	resp, b, eof := rawExchange(t, w, "POST /api/x HTTP/1.1\r\nHost: gw\r\nContent-Length: 100\r\n\r\n0123456789", 0)
	if resp.StatusCode != 408 || errorCode(t, b) != string(portico.ERequestTimeout) || !eof {
		t.Errorf("stalled body: %d %s, closed %v", resp.StatusCode, b, eof)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the stalled body was answered after %v", d)
	}

	pieces := make([]string, 6)
	for i := range pieces {
		pieces[i] = "x"
	}
	resp, b, _ = rawExchange(t, w, "POST /api/x HTTP/1.1\r\nHost: gw\r\nConnection: close\r\nContent-Length: 6\r\n\r\n", 50*time.Millisecond, pieces...)
	if resp.StatusCode != 200 || !strings.Contains(b, `"body":"xxxxxx"`) {
		t.Errorf("slow but moving body: %d %s", resp.StatusCode, b)
	}

	// The backend answers after longer than the timeout: the body was read
	// to its end, so no deadline cuts the client off meanwhile.
	go func() {
		time.Sleep(2 * w.gw.ReadBodyTimeout) // a slow backend, not a wait for sync
		close(release)
	}()
	resp, b, _ = rawExchange(t, w, "POST /api/slow HTTP/1.1\r\nHost: gw\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", 0)
	if resp.StatusCode != 200 {
		t.Errorf("slow backend after a complete body: %d %s", resp.StatusCode, b)
	}
}

// slowEcho is an echo backend whose /slow waits for release.
func slowEcho(t *testing.T, release chan struct{}) string {
	be := echo(t, "be")
	slow := newRawBackend(t, func(c net.Conn, req *http.Request, _ int) bool {
		if strings.HasSuffix(req.URL.Path, "/slow") {
			<-release
		}
		resp, err := http.Post(be.URL+req.URL.Path, "text/plain", req.Body)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		resp.Write(c)
		return true
	})
	return "http://" + slow.addr
}

// TestRequestID: a client's X-Request-Id is kept only when it is one
// field of 1 to 128 token characters; otherwise the gateway makes one.
func TestRequestID(t *testing.T) {
	w := newWorld(t)
	be := echo(t, "be")
	w.api("api", "/api", portico.AuthNone, be.URL)
	long := strings.Repeat("a", 128)
	for _, tt := range []struct {
		ids  []string
		keep bool
	}{
		{[]string{"abc-123_x.y~z"}, true},
		{[]string{long}, true},
		{[]string{long + "a"}, false},
		{[]string{"a", "b"}, false},
		{[]string{"a b"}, false},
		{[]string{"a,b"}, false},
		{[]string{`"quoted"`}, false},
		{[]string{"caf\xc3\xa9"}, false},
		{[]string{"a/b"}, false},
	} {
		raw := "GET /api/x HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n"
		for _, id := range tt.ids {
			raw += "X-Request-Id: " + id + "\r\n"
		}
		resp, body, _ := rawExchange(t, w, raw+"\r\n", 0)
		var e echoed
		json.Unmarshal([]byte(body), &e)
		got := resp.Header.Values("X-Request-Id")
		fwd := e.Header["X-Request-Id"]
		if len(got) != 1 || len(fwd) != 1 || got[0] != fwd[0] {
			t.Errorf("%q: answered %q, forwarded %q", tt.ids, got, fwd)
			continue
		}
		if kept := got[0] == tt.ids[0]; kept != tt.keep {
			t.Errorf("%q: kept %v, want %v (got %q)", tt.ids, kept, tt.keep, got[0])
		}
	}
}

// deadlineWriter is a ResponseWriter that records the read deadlines set
// through a ResponseController.
type deadlineWriter struct {
	http.ResponseWriter
	set []time.Time
}

func (d *deadlineWriter) SetReadDeadline(t time.Time) error { d.set = append(d.set, t); return nil }

// TestBodyEndStopsDeadlines: a body the transport reads after the handler
// returned sets no read deadline: the writer behind the controller may be
// another request's by then (the exchange is pooled) and the connection
// reading its next request. The race detector found the reuse in CI. The
// end itself, of a body not read to its end, sets one for the server's
// reads of the rest: the read-body timeout away, none away when the
// client waits for 100 Continue; of a body read to its end, none.
func TestBodyEndStopsDeadlines(t *testing.T) {
	dw := &deadlineWriter{}
	b := &requestBody{ReadCloser: io.NopCloser(strings.NewReader("abcdef")), ctl: http.NewResponseController(dw), timeout: time.Second}
	p := make([]byte, 3)
	if n, err := b.Read(p); n != 3 || err != nil || len(dw.set) != 1 {
		t.Fatalf("read before the end: %d %v, %d deadlines set", n, err, len(dw.set))
	}
	b.end()
	if len(dw.set) != 2 || dw.set[1].Sub(dw.set[0]) < 0 || dw.set[1].After(time.Now().Add(time.Second)) {
		t.Fatalf("the end of a body read in part set %v after %v, want one deadline a read-body timeout away", dw.set[1:], dw.set[0])
	}
	for range 3 {
		b.Read(p)
	}
	if len(dw.set) != 2 || b.n.Load() != 6 {
		t.Errorf("after the end: %d deadlines set (want 2), %d bytes counted", len(dw.set), b.n.Load())
	}

	dw = &deadlineWriter{}
	b = &requestBody{ReadCloser: io.NopCloser(strings.NewReader("abc")), ctl: http.NewResponseController(dw)}
	b.end()
	if len(dw.set) != 1 || dw.set[0].Before(time.Now().Add(unreadBodyWait-time.Second)) {
		t.Errorf("no read-body timeout: %v deadlines set, want one unreadBodyWait away", dw.set)
	}

	dw = &deadlineWriter{}
	b = &requestBody{ReadCloser: io.NopCloser(strings.NewReader("abc")), ctl: http.NewResponseController(dw), expect: true}
	b.end()
	if len(dw.set) != 1 || dw.set[0].After(time.Now()) {
		t.Errorf("a client waiting for 100 Continue: %v deadlines set, want one that has passed", dw.set)
	}

	dw = &deadlineWriter{}
	b = &requestBody{ReadCloser: io.NopCloser(strings.NewReader("abc")), ctl: http.NewResponseController(dw)}
	io.ReadAll(b)
	b.end()
	if len(dw.set) != 0 {
		t.Errorf("no timeout, a body read whole: %v deadlines set, want none", dw.set)
	}
}

// TestBodyOutlivesHandler: a backend that answers before reading the
// request body leaves the transport reading it after the handler
// returned, while the exchange goes on to other requests (run with
// -race: the late read once reached a reused exchange). Every request is
// answered.
func TestBodyOutlivesHandler(t *testing.T) {
	w := newWorld(t)
	w.gw.Recorder = &recorded{}
	w.gw.ReadBodyTimeout = 5 * time.Second
	early := newRawBackend(t, func(c net.Conn, req *http.Request, _ int) bool {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nearly")
		io.Copy(io.Discard, req.Body) // then the body, so that no reset loses the answer
		return false
	})
	w.api("early", "/early", portico.AuthNone, "http://"+early.addr)
	be := echo(t, "be")
	w.api("api", "/api", portico.AuthNone, be.URL)

	body := strings.Repeat("x", 64<<10)
	for i := range 20 {
		conn, err := net.Dial("tcp", strings.TrimPrefix(w.srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(30 * time.Second))
		br := bufio.NewReader(conn)
		io.WriteString(conn, "POST /early/x HTTP/1.1\r\nHost: gw\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(b) != "early" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, b)
		}
		// Others' requests take the pooled exchanges meanwhile.
		if r, err := http.Get(w.srv.URL + "/api/y"); err != nil || r.StatusCode != 200 {
			t.Fatalf("request %d beside: %v", i, err)
		} else {
			r.Body.Close()
		}
	}
}

// TestUnreadBody: an answer given while the request body is still unread
// — the gateway's refusal of a request whose upload stalls, a backend's
// early answer to a client that waits for 100 Continue — is sent and the
// connection closed: after the read-body timeout for a stalled upload
// (net/http reads the rest of a body, up to 256 KiB, before it answers:
// without a deadline it waited for ever, and a probe of the built binary
// held such connections 400 s), at once for a client waiting for a 100.
// A body read whole keeps its connection.
func TestUnreadBody(t *testing.T) {
	w := newWorld(t)
	w.gw.ReadBodyTimeout = 200 * time.Millisecond
	early := newRawBackend(t, func(c net.Conn, req *http.Request, _ int) bool {
		io.WriteString(c, "HTTP/1.1 413 Content Too Large\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbig")
		return false
	})
	w.api("early", "/early", portico.AuthNone, "http://"+early.addr)
	w.api("keyed", "/keyed", portico.AuthAPIKey, echo(t, "be").URL)
	for _, tc := range []struct {
		name, req string
		status    int
	}{
		{"refused, upload stalled", "POST /keyed/x HTTP/1.1\r\nHost: gw\r\nContent-Length: 1000\r\n\r\n0123456789", 401},
		{"no API, upload stalled", "POST /nowhere/x HTTP/1.1\r\nHost: gw\r\nContent-Length: 1000\r\n\r\n0123456789", 404},
		{"chunked upload stalled", "PUT /keyed/x HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", 401},
		{"waits for 100, backend answers", "PUT /early/x HTTP/1.1\r\nHost: gw\r\nExpect: 100-continue\r\nContent-Length: 1000\r\n\r\n", 413},
	} {
		resp, _, eof := rawExchange(t, w, tc.req, 0)
		if resp.StatusCode != tc.status || !eof {
			t.Errorf("%s: %d, closed %v; want %d and the connection closed", tc.name, resp.StatusCode, eof, tc.status)
		}
	}

	// A refused request whose body came whole keeps its connection.
	conn, err := net.Dial("tcp", strings.TrimPrefix(w.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	for i := range 2 {
		io.WriteString(conn, "POST /keyed/x HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\n\r\nhello")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("whole body, request %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != 401 || resp.Close {
			t.Errorf("whole body, request %d: %d, close %v; want 401 on a kept connection", i, resp.StatusCode, resp.Close)
		}
	}
}
