package ajp_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// This file is the web server's side of AJP/1.3 for the tests — what
// mod_jk does — written from the protocol's byte layouts, apart from
// package ajp's code: it encodes Forward Requests and request body
// packets, answers GET_BODY_CHUNKs and decodes responses.

// fwd is a Forward Request to encode.
type fwd struct {
	Method     string // coded when the table has it, else sent as stored_method
	Protocol   string // "" is HTTP/1.1
	URI        string // "" is /
	Query      string // sent as query_string when HasQuery
	HasQuery   bool
	RemoteAddr string // "" is 127.0.0.1
	RemotePort string // sent as AJP_REMOTE_PORT unless ""
	RemoteHost string
	ServerName string // "" is localhost
	ServerPort int    // 0 is 80
	SSL        bool
	Headers    [][2]string // coded names when the table has them
	Secret     string      // sent unless ""
	Attrs      []byte      // appended as they are before the terminator
}

var methodCodes = map[string]byte{"OPTIONS": 1, "GET": 2, "HEAD": 3, "POST": 4, "PUT": 5, "DELETE": 6,
	"TRACE": 7, "PROPFIND": 8, "PROPPATCH": 9, "MKCOL": 10, "COPY": 11, "MOVE": 12, "LOCK": 13,
	"UNLOCK": 14, "ACL": 15, "REPORT": 16, "VERSION-CONTROL": 17, "CHECKIN": 18, "CHECKOUT": 19,
	"UNCHECKOUT": 20, "SEARCH": 21, "MKWORKSPACE": 22, "UPDATE": 23, "LABEL": 24, "MERGE": 25,
	"BASELINE-CONTROL": 26, "MKACTIVITY": 27}

var requestHeaderCodes = map[string]int{"accept": 0xA001, "accept-charset": 0xA002,
	"accept-encoding": 0xA003, "accept-language": 0xA004, "authorization": 0xA005,
	"connection": 0xA006, "content-type": 0xA007, "content-length": 0xA008, "cookie": 0xA009,
	"cookie2": 0xA00A, "host": 0xA00B, "pragma": 0xA00C, "referer": 0xA00D, "user-agent": 0xA00E}

var responseHeaderNames = map[int]string{0xA001: "Content-Type", 0xA002: "Content-Language",
	0xA003: "Content-Length", 0xA004: "Date", 0xA005: "Last-Modified", 0xA006: "Location",
	0xA007: "Set-Cookie", 0xA008: "Set-Cookie2", 0xA009: "Servlet-Engine", 0xA00A: "Status",
	0xA00B: "WWW-Authenticate"}

// enc builds a payload field by field.
type enc []byte

func (e enc) b(v byte) enc     { return append(e, v) }
func (e enc) u16(v int) enc    { return append(e, byte(v>>8), byte(v)) }
func (e enc) s(v string) enc   { return append(e.u16(len(v)), append([]byte(v), 0)...) }
func (e enc) null() enc        { return e.u16(0xFFFF) }
func (e enc) raw(p []byte) enc { return append(e, p...) }

// attribute encoders, for fwd.Attrs
func attrString(code byte, v string) []byte { return enc{}.b(code).s(v) }
func reqAttr(name, v string) []byte         { return enc{}.b(0x0A).s(name).s(v) }

// packet frames a payload from the web server.
func packet(payload []byte) []byte {
	return append([]byte{0x12, 0x34, byte(len(payload) >> 8), byte(len(payload))}, payload...)
}

// bodyPacket frames request body data (an empty packet without data).
func bodyPacket(data []byte) []byte {
	if len(data) == 0 {
		return packet(nil)
	}
	return packet(enc{}.u16(len(data)).raw(data))
}

// payload encodes f's Forward Request payload.
func (f fwd) payload() []byte {
	code, ok := methodCodes[f.Method]
	if f.Method == "" {
		code, ok = 2, true
	}
	if !ok {
		code = 0xFF
	}
	e := enc{}.b(2).b(code)
	e = e.s(or(f.Protocol, "HTTP/1.1")).s(or(f.URI, "/")).s(or(f.RemoteAddr, "127.0.0.1"))
	if f.RemoteHost == "" {
		e = e.null()
	} else {
		e = e.s(f.RemoteHost)
	}
	port := f.ServerPort
	if port == 0 {
		port = 80
	}
	ssl := byte(0)
	if f.SSL {
		ssl = 1
	}
	e = e.s(or(f.ServerName, "localhost")).u16(port).b(ssl).u16(len(f.Headers))
	for _, h := range f.Headers {
		if c, ok := requestHeaderCodes[strings.ToLower(h[0])]; ok {
			e = e.u16(c)
		} else {
			e = e.s(h[0])
		}
		e = e.s(h[1])
	}
	if f.Secret != "" {
		e = e.b(0x0C).s(f.Secret)
	}
	if f.HasQuery {
		e = e.b(0x05).s(f.Query)
	}
	if !ok {
		e = e.b(0x0D).s(f.Method)
	}
	if f.RemotePort != "" {
		e = e.raw(reqAttr("AJP_REMOTE_PORT", f.RemotePort))
	}
	return e.raw(f.Attrs).b(0xFF)
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// reply is a response as the web server got it.
type reply struct {
	Status  int
	Message string
	Header  http.Header
	Body    []byte
	Chunks  []int // each SEND_BODY_CHUNK's data length; 0 for a flush
	Asks    []int // each GET_BODY_CHUNK's size
	Ended   bool  // END_RESPONSE came
	Reuse   bool  // its flag
}

// webServer is one connection of the web server to an ajp.Server.
type webServer struct {
	t          testing.TB
	nc         net.Conn
	br         *bufio.Reader
	packetSize int
	// onChunk, when set, sees each SEND_BODY_CHUNK's data as it arrives.
	onChunk func(data []byte)
}

func dialAJP(t testing.TB, addr string, packetSize int) *webServer {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return newWebServer(t, nc, packetSize)
}

func newWebServer(t testing.TB, nc net.Conn, packetSize int) *webServer {
	if packetSize == 0 {
		packetSize = 8192
	}
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	return &webServer{t: t, nc: nc, br: bufio.NewReader(nc), packetSize: packetSize}
}

func (ws *webServer) write(p []byte) error {
	_, err := ws.nc.Write(p)
	return err
}

// readPacket reads one packet to the web server: its payload.
func (ws *webServer) readPacket() ([]byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(ws.br, h[:]); err != nil {
		return nil, err
	}
	if h[0] != 'A' || h[1] != 'B' {
		return nil, fmt.Errorf("signature %q", h[:2])
	}
	n := int(h[2])<<8 | int(h[3])
	if n+4 > ws.packetSize {
		return nil, fmt.Errorf("a packet of %d bytes, larger than %d", n+4, ws.packetSize)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(ws.br, p); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, errors.New("empty packet")
	}
	return p, nil
}

// expectClosed reports an error unless the server closes the connection
// without sending anything more.
func (ws *webServer) expectClosed() error {
	ws.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := ws.br.ReadByte()
	if err == nil {
		return fmt.Errorf("got byte %#02x, want the connection closed", b)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "reset") {
		return nil
	}
	return err
}

// do sends f with body and reads the response to its END_RESPONSE. body
// is sent as mod_jk does: with contentLength > 0, its first packet right
// after the Forward Request, the rest when asked; with contentLength < 0
// (chunked) all when asked, then a packet without data. A reply is
// returned, as far as it came, with any error.
func (ws *webServer) do(f fwd, body io.Reader, contentLength int64) (*reply, error) {
	if err := ws.write(packet(f.payload())); err != nil {
		return nil, err
	}
	if body == nil {
		body = strings.NewReader("")
	}
	left := contentLength
	ended := contentLength == 0
	sendBody := func(size int) error {
		if ended {
			return errors.New("asked for more body after its end")
		}
		size = min(size, ws.packetSize-6)
		if contentLength > 0 {
			size = int(min(int64(size), left))
		}
		buf := make([]byte, size)
		n, err := io.ReadFull(body, buf)
		if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
			return err
		}
		if contentLength > 0 {
			left -= int64(n)
			ended = left == 0 || n == 0
		} else {
			ended = n == 0
		}
		return ws.write(bodyPacket(buf[:n]))
	}
	if contentLength > 0 {
		if err := sendBody(ws.packetSize - 6); err != nil {
			return nil, err
		}
	}
	r := &reply{Header: http.Header{}}
	headers := false
	for {
		p, err := ws.readPacket()
		if err != nil {
			return r, err
		}
		switch p[0] {
		case 3:
			if !headers {
				return r, errors.New("SEND_BODY_CHUNK before SEND_HEADERS")
			}
			if len(p) < 4 {
				return r, errors.New("short SEND_BODY_CHUNK")
			}
			n := int(p[1])<<8 | int(p[2])
			if 3+n+1 != len(p) || p[3+n] != 0 {
				return r, fmt.Errorf("SEND_BODY_CHUNK of %d bytes in %d", n, len(p))
			}
			if n+8 > ws.packetSize {
				return r, fmt.Errorf("SEND_BODY_CHUNK of %d bytes of data", n)
			}
			r.Chunks = append(r.Chunks, n)
			r.Body = append(r.Body, p[3:3+n]...)
			if ws.onChunk != nil {
				ws.onChunk(p[3 : 3+n])
			}
		case 4:
			if headers {
				return r, errors.New("SEND_HEADERS twice")
			}
			headers = true
			if err := parseSendHeaders(p, r); err != nil {
				return r, err
			}
		case 5:
			if len(p) != 2 {
				return r, fmt.Errorf("END_RESPONSE of %d bytes", len(p))
			}
			r.Ended, r.Reuse = true, p[1] == 1
			if !headers {
				return r, errors.New("END_RESPONSE before SEND_HEADERS")
			}
			return r, nil
		case 6:
			if len(p) != 3 {
				return r, fmt.Errorf("GET_BODY_CHUNK of %d bytes", len(p))
			}
			size := int(p[1])<<8 | int(p[2])
			r.Asks = append(r.Asks, size)
			if err := sendBody(size); err != nil {
				return r, err
			}
		default:
			return r, fmt.Errorf("message code %d", p[0])
		}
	}
}

// parseSendHeaders decodes a SEND_HEADERS payload into r.
func parseSendHeaders(p []byte, r *reply) error {
	d := &dec{p: p[1:]}
	r.Status = d.u16()
	r.Message = d.s()
	n := d.u16()
	for range n {
		var name string
		if len(d.p) >= 2 && d.p[0] == 0xA0 {
			code := d.u16()
			var ok bool
			if name, ok = responseHeaderNames[code]; !ok {
				return fmt.Errorf("response field code %#x", code)
			}
		} else {
			name = d.s()
		}
		r.Header.Add(name, d.s())
	}
	if d.err != nil || len(d.p) != 0 {
		return fmt.Errorf("SEND_HEADERS: %v, %d bytes left", d.err, len(d.p))
	}
	return nil
}

type dec struct {
	p   []byte
	err error
}

func (d *dec) u16() int {
	if len(d.p) < 2 {
		d.err = io.ErrUnexpectedEOF
		return 0
	}
	v := int(d.p[0])<<8 | int(d.p[1])
	d.p = d.p[2:]
	return v
}

func (d *dec) s() string {
	n := d.u16()
	if d.err != nil || n+1 > len(d.p) || d.p[n] != 0 {
		d.err = errors.New("bad string")
		return ""
	}
	v := string(d.p[:n])
	d.p = d.p[n+1:]
	return v
}
