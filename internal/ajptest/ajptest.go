// Package ajptest is the web server's side of AJP/1.3 for tests — what
// Apache's mod_jk does in front of a servlet container — written from the
// protocol's byte layouts, apart from package ajp's code, so that the one
// checks the other. It encodes Forward Requests and request body packets,
// answers the container's GET_BODY_CHUNKs and decodes its responses.
//
// A test dials the container (Dial), sends a Request with its body and
// reads the Response to its END_RESPONSE (Conn.Do), as many times as the
// container lets the connection be reused; Packet, BodyPacket,
// AttrString and ReqAttr build what a test sends by hand (Conn.Write) to
// see how the container takes it.
package ajptest

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

// DefaultPacketSize is the packet size of a Conn made with size 0:
// mod_jk's default max_packet_size.
const DefaultPacketSize = 8192

// ConnTimeout bounds a Conn's life: NewConn sets a deadline this far
// ahead on the connection, so that a test never hangs on it.
const ConnTimeout = 30 * time.Second

// Request is a Forward Request to encode. The zero value is a GET of /
// from 127.0.0.1 to localhost:80 without fields or attributes.
type Request struct {
	Method     string // coded when the table has it, else sent as stored_method; "" is GET
	Protocol   string // "" is HTTP/1.1
	URI        string // "" is /
	Query      string // sent as query_string when HasQuery
	HasQuery   bool
	RemoteAddr string // "" is 127.0.0.1
	RemotePort string // sent as the AJP_REMOTE_PORT attribute unless ""
	RemoteHost string // "" is sent as a null string
	ServerName string // "" is localhost
	ServerPort int    // 0 is 80
	SSL        bool
	// Headers are the request fields in order, with coded names when the
	// table has them. A request with a body names its Content-Length here,
	// as mod_jk does.
	Headers [][2]string
	Secret  string // sent unless ""
	Attrs   []byte // appended as they are before the terminator (AttrString, ReqAttr)
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

// Message codes.
const (
	codeForwardRequest = 2
	codeSendBodyChunk  = 3
	codeSendHeaders    = 4
	codeEndResponse    = 5
	codeGetBodyChunk   = 6
	codeCPong          = 9
	codeCPing          = 10
)

// enc builds a payload field by field.
type enc []byte

func (e enc) b(v byte) enc     { return append(e, v) }
func (e enc) u16(v int) enc    { return append(e, byte(v>>8), byte(v)) }
func (e enc) s(v string) enc   { return append(e.u16(len(v)), append([]byte(v), 0)...) }
func (e enc) null() enc        { return e.u16(0xFFFF) }
func (e enc) raw(p []byte) enc { return append(e, p...) }

// AttrString encodes an attribute of a string value, for Request.Attrs:
// its code (0x01 context … 0x0C secret, 0x0D stored_method) and the value.
func AttrString(code byte, v string) []byte { return enc{}.b(code).s(v) }

// ReqAttr encodes a named req_attribute (code 0x0A) pair, for
// Request.Attrs.
func ReqAttr(name, v string) []byte { return enc{}.b(0x0A).s(name).s(v) }

// Packet frames a payload from the web server: 0x12 0x34, the length,
// the payload.
func Packet(payload []byte) []byte {
	return append([]byte{0x12, 0x34, byte(len(payload) >> 8), byte(len(payload))}, payload...)
}

// BodyPacket frames request body data: the data's length and the data,
// or an empty packet when data is empty (the end of a chunked body, or the
// answer to a GET_BODY_CHUNK past the body's end).
func BodyPacket(data []byte) []byte {
	if len(data) == 0 {
		return Packet(nil)
	}
	return Packet(enc{}.u16(len(data)).raw(data))
}

// Payload encodes r's Forward Request payload (unframed: see Packet).
func (r Request) Payload() []byte {
	code, ok := methodCodes[r.Method]
	if r.Method == "" {
		code, ok = 2, true
	}
	if !ok {
		code = 0xFF
	}
	e := enc{}.b(codeForwardRequest).b(code)
	e = e.s(or(r.Protocol, "HTTP/1.1")).s(or(r.URI, "/")).s(or(r.RemoteAddr, "127.0.0.1"))
	if r.RemoteHost == "" {
		e = e.null()
	} else {
		e = e.s(r.RemoteHost)
	}
	port := r.ServerPort
	if port == 0 {
		port = 80
	}
	ssl := byte(0)
	if r.SSL {
		ssl = 1
	}
	e = e.s(or(r.ServerName, "localhost")).u16(port).b(ssl).u16(len(r.Headers))
	for _, h := range r.Headers {
		if c, ok := requestHeaderCodes[strings.ToLower(h[0])]; ok {
			e = e.u16(c)
		} else {
			e = e.s(h[0])
		}
		e = e.s(h[1])
	}
	if r.Secret != "" {
		e = e.b(0x0C).s(r.Secret)
	}
	if r.HasQuery {
		e = e.b(0x05).s(r.Query)
	}
	if !ok {
		e = e.b(0x0D).s(r.Method)
	}
	if r.RemotePort != "" {
		e = e.raw(ReqAttr("AJP_REMOTE_PORT", r.RemotePort))
	}
	return e.raw(r.Attrs).b(0xFF)
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Response is a response as the web server got it.
type Response struct {
	Status  int
	Message string
	Header  http.Header
	Body    []byte
	Chunks  []int // each SEND_BODY_CHUNK's data length; 0 for a flush
	Asks    []int // each GET_BODY_CHUNK's size
	Ended   bool  // END_RESPONSE came
	Reuse   bool  // its flag: the connection may carry another request
}

// Conn is one connection of the web server to a container. It is used
// by one goroutine at a time.
type Conn struct {
	// OnChunk, when set, sees each SEND_BODY_CHUNK's data as it arrives
	// during Do.
	OnChunk func(data []byte)

	nc         net.Conn
	br         *bufio.Reader
	packetSize int
}

// Dial connects to the container at addr with packetSize (0 is
// DefaultPacketSize), failing t when it cannot; the connection is closed
// when t ends.
func Dial(t testing.TB, addr string, packetSize int) *Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return NewConn(nc, packetSize)
}

// NewConn makes nc, connected to a container, a Conn with packetSize (0
// is DefaultPacketSize). It sets nc's deadline ConnTimeout ahead.
func NewConn(nc net.Conn, packetSize int) *Conn {
	if packetSize == 0 {
		packetSize = DefaultPacketSize
	}
	nc.SetDeadline(time.Now().Add(ConnTimeout))
	return &Conn{nc: nc, br: bufio.NewReader(nc), packetSize: packetSize}
}

// NetConn returns the underlying connection.
func (c *Conn) NetConn() net.Conn { return c.nc }

// Reader returns the buffered reader that ReadPacket and Do read from, for
// a test that reads bytes past the protocol.
func (c *Conn) Reader() *bufio.Reader { return c.br }

// Write writes p, framed packets, as it is.
func (c *Conn) Write(p []byte) error {
	_, err := c.nc.Write(p)
	return err
}

// ReadPacket reads one packet to the web server and returns its payload.
// A packet without the 'A' 'B' signature, larger than the packet size or
// empty is an error.
func (c *Conn) ReadPacket() ([]byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		return nil, err
	}
	if h[0] != 'A' || h[1] != 'B' {
		return nil, fmt.Errorf("signature %q", h[:2])
	}
	n := int(h[2])<<8 | int(h[3])
	if n+4 > c.packetSize {
		return nil, fmt.Errorf("a packet of %d bytes, larger than %d", n+4, c.packetSize)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(c.br, p); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, errors.New("empty packet")
	}
	return p, nil
}

// ExpectClosed returns an error unless the container closes the
// connection within 5 seconds without sending anything more.
func (c *Conn) ExpectClosed() error {
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := c.br.ReadByte()
	if err == nil {
		return fmt.Errorf("got byte %#02x, want the connection closed", b)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "reset") {
		return nil
	}
	return err
}

// CPing sends a CPing between requests and returns an error unless the
// container answers CPong.
func (c *Conn) CPing() error {
	if err := c.Write(Packet([]byte{codeCPing})); err != nil {
		return err
	}
	p, err := c.ReadPacket()
	if err != nil {
		return err
	}
	if len(p) != 1 || p[0] != codeCPong {
		return fmt.Errorf("answer to CPing: %x, want CPong (09)", p)
	}
	return nil
}

// Do sends r with body and reads the response to its END_RESPONSE. body
// (nil is empty) is sent as mod_jk does: with contentLength > 0, its
// first packet right after the Forward Request, the rest when asked; with
// contentLength < 0 (chunked) all of it when asked, then a packet without
// data. r.Headers should name the Content-Length or the Transfer-Encoding.
// The response is returned as far as it came, with any error.
func (c *Conn) Do(r Request, body io.Reader, contentLength int64) (*Response, error) {
	if err := c.Write(Packet(r.Payload())); err != nil {
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
		size = min(size, c.packetSize-6)
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
		return c.Write(BodyPacket(buf[:n]))
	}
	if contentLength > 0 {
		if err := sendBody(c.packetSize - 6); err != nil {
			return nil, err
		}
	}
	resp := &Response{Header: http.Header{}}
	headers := false
	for {
		p, err := c.ReadPacket()
		if err != nil {
			return resp, err
		}
		switch p[0] {
		case codeSendBodyChunk:
			if !headers {
				return resp, errors.New("SEND_BODY_CHUNK before SEND_HEADERS")
			}
			if len(p) < 4 {
				return resp, errors.New("short SEND_BODY_CHUNK")
			}
			n := int(p[1])<<8 | int(p[2])
			if 3+n+1 != len(p) || p[3+n] != 0 {
				return resp, fmt.Errorf("SEND_BODY_CHUNK of %d bytes in %d", n, len(p))
			}
			if n+8 > c.packetSize {
				return resp, fmt.Errorf("SEND_BODY_CHUNK of %d bytes of data", n)
			}
			resp.Chunks = append(resp.Chunks, n)
			resp.Body = append(resp.Body, p[3:3+n]...)
			if c.OnChunk != nil {
				c.OnChunk(p[3 : 3+n])
			}
		case codeSendHeaders:
			if headers {
				return resp, errors.New("SEND_HEADERS twice")
			}
			headers = true
			if err := parseSendHeaders(p, resp); err != nil {
				return resp, err
			}
		case codeEndResponse:
			if len(p) != 2 {
				return resp, fmt.Errorf("END_RESPONSE of %d bytes", len(p))
			}
			resp.Ended, resp.Reuse = true, p[1] == 1
			if !headers {
				return resp, errors.New("END_RESPONSE before SEND_HEADERS")
			}
			return resp, nil
		case codeGetBodyChunk:
			if len(p) != 3 {
				return resp, fmt.Errorf("GET_BODY_CHUNK of %d bytes", len(p))
			}
			size := int(p[1])<<8 | int(p[2])
			resp.Asks = append(resp.Asks, size)
			if err := sendBody(size); err != nil {
				return resp, err
			}
		default:
			return resp, fmt.Errorf("message code %d", p[0])
		}
	}
}

// parseSendHeaders decodes a SEND_HEADERS payload into r.
func parseSendHeaders(p []byte, r *Response) error {
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

// dec reads a payload field by field; the first error sticks.
type dec struct {
	p   []byte
	err error
}

func (d *dec) u16() int {
	if d.err != nil {
		return 0
	}
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
	if d.err != nil {
		return ""
	}
	if n+1 > len(d.p) || d.p[n] != 0 {
		d.err = errors.New("bad string")
		return ""
	}
	v := string(d.p[:n])
	d.p = d.p[n+1:]
	return v
}
