package ajptest_test

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico/internal/ajptest"
)

// TestPayload checks a Forward Request against its byte layout, field by
// field.
func TestPayload(t *testing.T) {
	s := func(v string) string { return string([]byte{byte(len(v) >> 8), byte(len(v))}) + v + "\x00" }
	for _, c := range []struct {
		name string
		r    ajptest.Request
		want string
	}{
		{"zero value", ajptest.Request{},
			"\x02\x02" + s("HTTP/1.1") + s("/") + s("127.0.0.1") + "\xff\xff" + s("localhost") + "\x00\x50" + "\x00" + "\x00\x00" + "\xff"},
		{"every field", ajptest.Request{Method: "POST", Protocol: "HTTP/1.0", URI: "/a", Query: "q=1", HasQuery: true,
			RemoteAddr: "203.0.113.7", RemotePort: "1234", RemoteHost: "client", ServerName: "api.example", ServerPort: 443, SSL: true,
			Headers: [][2]string{{"Content-Length", "3"}, {"X-A", "b"}}, Secret: "pw", Attrs: ajptest.AttrString(0x01, "ctx")},
			"\x02\x04" + s("HTTP/1.0") + s("/a") + s("203.0.113.7") + s("client") + s("api.example") + "\x01\xbb" + "\x01" +
				"\x00\x02" + "\xa0\x08" + s("3") + s("X-A") + s("b") +
				"\x0c" + s("pw") + "\x05" + s("q=1") + "\x0a" + s("AJP_REMOTE_PORT") + s("1234") + "\x01" + s("ctx") + "\xff"},
		{"a method without a code", ajptest.Request{Method: "PURGE"},
			"\x02\xff" + s("HTTP/1.1") + s("/") + s("127.0.0.1") + "\xff\xff" + s("localhost") + "\x00\x50" + "\x00" + "\x00\x00" + "\x0d" + s("PURGE") + "\xff"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.r.Payload(); string(got) != c.want {
				t.Errorf("payload\n got %q\nwant %q", got, c.want)
			}
		})
	}
	if got := ajptest.Packet([]byte{10}); string(got) != "\x12\x34\x00\x01\x0a" {
		t.Errorf("Packet(CPing) = %q", got)
	}
	if got := ajptest.BodyPacket([]byte("ab")); string(got) != "\x12\x34\x00\x04\x00\x02ab" {
		t.Errorf("BodyPacket(ab) = %q", got)
	}
	if got := ajptest.BodyPacket(nil); string(got) != "\x12\x34\x00\x00" {
		t.Errorf("BodyPacket(nil) = %q", got)
	}
}

// container is the other end of a net.Pipe: it reads what the Conn sends
// and writes a script of packets.
type container struct {
	nc net.Conn
}

func (c container) read(n int) string {
	b := make([]byte, n)
	if _, err := io.ReadFull(c.nc, b); err != nil {
		return "error: " + err.Error()
	}
	return string(b)
}

func (c container) send(payload string) {
	c.nc.Write(append([]byte{'A', 'B', byte(len(payload) >> 8), byte(len(payload))}, payload...))
}

func pipe(t *testing.T, packetSize int) (*ajptest.Conn, container) {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	b.SetDeadline(time.Now().Add(10 * time.Second))
	return ajptest.NewConn(a, packetSize), container{b}
}

// TestDo runs a request with a body one packet and 4 bytes long: the
// first packet unasked, the rest on a GET_BODY_CHUNK; then a response of
// coded and named fields, two chunks and a flush, ended with reuse; then a
// CPing.
func TestDo(t *testing.T) {
	c, ct := pipe(t, 0)
	body := strings.Repeat("x", ajptest.DefaultPacketSize-6) + "tail"
	req := ajptest.Request{Method: "PUT", Headers: [][2]string{{"Content-Length", fmt.Sprint(len(body))}}}
	got := make(chan []string, 1)
	go func() {
		fr := ct.read(4 + len(req.Payload()))
		first := ct.read(4 + 2 + ajptest.DefaultPacketSize - 6)
		ct.send("\x06\x1f\xfa")
		second := ct.read(4 + 2 + 4)
		ct.send("\x04\x00\xc9\x00\x07Created\x00" + "\x00\x02" + "\xa0\x01\x00\x0atext/plain\x00" + "\x00\x03X-A\x00\x00\x01b\x00")
		ct.send("\x03\x00\x02hi\x00")
		ct.send("\x03\x00\x00\x00")
		ct.send("\x03\x00\x01!\x00")
		ct.send("\x05\x01")
		ping := ct.read(5)
		ct.send("\x09")
		got <- []string{fr, first, second, ping}
	}()
	var seen []string
	c.OnChunk = func(data []byte) { seen = append(seen, string(data)) }
	r, err := c.Do(req, strings.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != 201 || r.Message != "Created" || r.Header.Get("Content-Type") != "text/plain" || r.Header.Get("X-A") != "b" ||
		string(r.Body) != "hi!" || fmt.Sprint(r.Chunks) != "[2 0 1]" || fmt.Sprint(r.Asks) != "[8186]" || !r.Ended || !r.Reuse {
		t.Errorf("response %+v", r)
	}
	if fmt.Sprint(seen) != "[hi  !]" {
		t.Errorf("OnChunk saw %q", seen)
	}
	if err := c.CPing(); err != nil {
		t.Fatal(err)
	}
	sent := <-got
	if want := string(ajptest.Packet(req.Payload())); sent[0] != want {
		t.Errorf("Forward Request %q, want %q", sent[0], want)
	}
	if sent[1] != "\x12\x34\x1f\xfc\x1f\xfa"+body[:8186] || sent[2] != "\x12\x34\x00\x06\x00\x04tail" || sent[3] != "\x12\x34\x00\x01\x0a" {
		t.Errorf("body packets and CPing: %q…, %q, %q", sent[1][:8], sent[2], sent[3])
	}
}

// TestDoChunked: a body without a Content-Length goes only when asked,
// and ends with a packet without data.
func TestDoChunked(t *testing.T) {
	c, ct := pipe(t, 0)
	req := ajptest.Request{Method: "POST", Headers: [][2]string{{"Transfer-Encoding", "chunked"}}}
	got := make(chan []string, 1)
	go func() {
		ct.read(4 + len(req.Payload()))
		ct.send("\x06\x1f\xfa")
		data := ct.read(4 + 2 + 3)
		ct.send("\x06\x1f\xfa")
		end := ct.read(4)
		ct.send("\x04\x00\xc8\x00\x02OK\x00\x00\x00")
		ct.send("\x05\x00")
		got <- []string{data, end}
	}()
	r, err := c.Do(req, strings.NewReader("abc"), -1)
	if err != nil || r.Status != 200 || r.Reuse || len(r.Body) != 0 {
		t.Fatalf("%+v, %v", r, err)
	}
	if sent := <-got; sent[0] != "\x12\x34\x00\x05\x00\x03abc" || sent[1] != "\x12\x34\x00\x00" {
		t.Errorf("body packets %q", sent)
	}
}

// TestDoRefusesWhatMod_jkWouldNot: a container's answers that break the
// protocol are errors, with the response as far as it came.
func TestDoRefusesWhatMod_jkWouldNot(t *testing.T) {
	headers := "\x04\x00\xc8\x00\x02OK\x00\x00\x00"
	for _, c := range []struct {
		name    string
		script  []string
		wantErr string
	}{
		{"body before headers", []string{"\x03\x00\x01x\x00"}, "before SEND_HEADERS"},
		{"end before headers", []string{"\x05\x01"}, "before SEND_HEADERS"},
		{"headers twice", []string{headers, headers}, "twice"},
		{"a chunk without its NUL", []string{headers, "\x03\x00\x01xy"}, "SEND_BODY_CHUNK of 1 bytes"},
		{"an unknown field code", []string{"\x04\x00\xc8\x00\x02OK\x00\x00\x01\xa0\x0c\x00\x01x\x00"}, "field code"},
		{"a field past the end", []string{"\x04\x00\xc8\x00\x02OK\x00\x00\x01\x00\x09X"}, "SEND_HEADERS"},
		{"an unknown message", []string{"\x07"}, "message code 7"},
		{"more body asked than there is", []string{"\x06\x00\x10"}, "after its end"},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, ct := pipe(t, 0)
			go func() {
				ct.read(4 + len(ajptest.Request{}.Payload()))
				for _, p := range c.script {
					ct.send(p)
				}
			}()
			r, err := conn.Do(ajptest.Request{}, nil, 0)
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("got %+v, %v; want an error with %q", r, err, c.wantErr)
			}
		})
	}
}

// TestReadPacket: the signature and the packet size are checked before
// the payload is read.
func TestReadPacket(t *testing.T) {
	for _, c := range []struct {
		name, raw, wantErr string
	}{
		{"the web server's signature", "\x12\x34\x00\x01\x09", "signature"},
		{"larger than the packet size", "AB\x20\x00", "larger than 8192"},
		{"empty", "AB\x00\x00", "empty packet"},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, ct := pipe(t, 0)
			go ct.nc.Write([]byte(c.raw))
			if _, err := conn.ReadPacket(); err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("ReadPacket: %v, want an error with %q", err, c.wantErr)
			}
		})
	}
}

func TestExpectClosed(t *testing.T) {
	conn, ct := pipe(t, 0)
	ct.nc.Close()
	if err := conn.ExpectClosed(); err != nil {
		t.Errorf("closed: %v", err)
	}
	conn, ct = pipe(t, 0)
	go ct.nc.Write([]byte("A"))
	if err := conn.ExpectClosed(); err == nil {
		t.Error("a byte came, ExpectClosed returned nil")
	}
}
