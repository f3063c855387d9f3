package ajp

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
)

// Packet sizes. A packet is a 4-byte header — 0x12 0x34 from the web
// server, 'A' 'B' to it, then the payload's length in two bytes — and
// the payload, whose first byte is the message code.
const (
	// DefaultPacketSize is the packet size of mod_jk (worker
	// max_packet_size) and Tomcat (packetSize) when none is set, and the
	// smallest either accepts.
	DefaultPacketSize = 8192
	// MaxPacketSize is the largest packet size AJP/1.3 allows.
	MaxPacketSize = 65536

	headerSize = 4
	// chunkOverhead is what a SEND_BODY_CHUNK adds to its data: the
	// header, the code, the data's length and a NUL after the data.
	chunkOverhead = headerSize + 3 + 1
	// bodyOverhead is what a request body packet adds to its data: the
	// header and the data's length.
	bodyOverhead = headerSize + 2
)

// Message codes from the web server.
const (
	msgForwardRequest = 2
	msgShutdown       = 7
	msgCPing          = 10
)

// Message codes to the web server.
const (
	msgSendBodyChunk = 3
	msgSendHeaders   = 4
	msgEndResponse   = 5
	msgGetBodyChunk  = 6
	msgCPong         = 9
)

// Fixed packets to the web server.
var (
	cpongPacket    = []byte{'A', 'B', 0, 1, msgCPong}
	endReusePacket = []byte{'A', 'B', 0, 2, msgEndResponse, 1}
	endClosePacket = []byte{'A', 'B', 0, 2, msgEndResponse, 0}
	// flushPacket is an empty SEND_BODY_CHUNK: mod_jk and mod_proxy_ajp
	// flush what they hold of the response to the client when they get
	// one (Tomcat sends the same when a servlet flushes).
	flushPacket = []byte{'A', 'B', 0, 4, msgSendBodyChunk, 0, 0, 0}
)

// errMalformed is a packet that does not follow AJP/1.3's layout: the
// connection is closed without an answer.
var errMalformed = errors.New("ajp: malformed packet")

// decoder reads the fields of one payload, held as a string: the strings
// it returns share its memory, one allocation for a whole request. Every
// read checks the bounds; after the first failure (bad) reads return
// zero values.
type decoder struct {
	p   string
	bad bool
}

func (d *decoder) byte() byte {
	if len(d.p) < 1 {
		d.bad = true
		return 0
	}
	b := d.p[0]
	d.p = d.p[1:]
	return b
}

func (d *decoder) uint16() int {
	v, ok := d.peekUint16()
	if !ok {
		d.bad = true
		return 0
	}
	d.p = d.p[2:]
	return v
}

func (d *decoder) peekUint16() (int, bool) {
	if len(d.p) < 2 {
		return 0, false
	}
	return int(d.p[0])<<8 | int(d.p[1]), true
}

// string reads an AJP string: its length in two bytes, its bytes and a
// NUL. A length of 0xFFFF is a null string: no bytes, no NUL, and null
// set.
func (d *decoder) string() (s string, null bool) {
	n := d.uint16()
	if d.bad {
		return "", false
	}
	if n == 0xFFFF {
		return "", true
	}
	if n >= len(d.p) || d.p[n] != 0 {
		d.bad = true
		return "", false
	}
	s = d.p[:n]
	d.p = d.p[n+1:]
	return s, false
}

// putUint16 writes v big-endian at b[0:2].
func putUint16(b []byte, v int) {
	b[0], b[1] = byte(v>>8), byte(v)
}

func appendUint16(b []byte, v int) []byte {
	return append(b, byte(v>>8), byte(v))
}

// appendString appends an AJP string; s must be shorter than 0xFFFF.
func appendString(b []byte, s string) []byte {
	b = appendUint16(b, len(s))
	b = append(b, s...)
	return append(b, 0)
}

// appendCleanString appends s as an AJP string with every control
// character but HTAB turned into a space, as Tomcat does: the web server
// reads strings as C strings and writes header fields as they come.
func appendCleanString(b []byte, s string) []byte {
	b = appendUint16(b, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < ' ' && c != '\t' || c == 0x7f {
			c = ' '
		}
		b = append(b, c)
	}
	return append(b, 0)
}

// getBodyChunkPacket asks the web server for the next request body
// packet of at most size bytes of data.
func getBodyChunkPacket(size int) []byte {
	return []byte{'A', 'B', 0, 3, msgGetBodyChunk, byte(size >> 8), byte(size)}
}

// responseHeaderCodes are the coded names of SEND_HEADERS, by canonical
// name.
var responseHeaderCodes = map[string]int{
	"Content-Type":     0xA001,
	"Content-Language": 0xA002,
	"Content-Length":   0xA003,
	"Date":             0xA004,
	"Last-Modified":    0xA005,
	"Location":         0xA006,
	"Set-Cookie":       0xA007,
	"Set-Cookie2":      0xA008,
	"Servlet-Engine":   0xA009,
	"Status":           0xA00A,
	"Www-Authenticate": 0xA00B,
}

// responseSkipped are the response fields never sent to the web server:
// they describe a connection (AJP's framing is its packets; the web
// server frames the client's response itself) or announce trailers, which
// AJP cannot carry.
var responseSkipped = map[string]bool{
	"Connection":        true,
	"Keep-Alive":        true,
	"Proxy-Connection":  true,
	"Trailer":           true,
	"Transfer-Encoding": true,
	"Upgrade":           true,
}

// appendSendHeaders appends a SEND_HEADERS packet with status and the
// fields of h, and reports false (with b unchanged) when it would be
// larger than max. Fields are written in the order of their names; a
// field whose name is not a token, or that responseSkipped lists, or a
// trailer (http.TrailerPrefix) is left out.
func appendSendHeaders(b []byte, status int, h http.Header, max int) ([]byte, bool) {
	start := len(b)
	b = append(b, 'A', 'B', 0, 0, msgSendHeaders)
	b = appendUint16(b, status)
	msg := http.StatusText(status)
	if msg == "" {
		msg = strconv.Itoa(status) // mod_jk needs a message
	}
	b = appendString(b, msg)
	countAt := len(b)
	b = append(b, 0, 0)
	names := make([]string, 0, len(h))
	for name := range h {
		if isToken(name) && !responseSkipped[name] && len(name) < 0xA000 && !hasTrailerPrefix(name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	count := 0
	for _, name := range names {
		for _, v := range h[name] {
			if code, ok := responseHeaderCodes[name]; ok {
				b = appendUint16(b, code)
			} else {
				b = appendString(b, name)
			}
			if len(v) >= 0xFFFF || len(b)-start+len(v)+3 > max {
				return b[:start], false
			}
			b = appendCleanString(b, v)
			count++
		}
	}
	if len(b)-start > max {
		return b[:start], false
	}
	putUint16(b[countAt:], count)
	putUint16(b[start+2:], len(b)-start-headerSize)
	return b, true
}

// appendField adds a field to the SEND_HEADERS packet that starts at
// b[start:] and ends b, and reports false (with b unchanged) when the
// packet would be larger than max.
func appendField(b []byte, start int, name, value string, max int) ([]byte, bool) {
	n := len(b)
	if code, ok := responseHeaderCodes[name]; ok {
		b = appendUint16(b, code)
	} else {
		b = appendString(b, name)
	}
	b = appendCleanString(b, value)
	if len(b)-start > max {
		return b[:n], false
	}
	msgLen := int(b[start+7])<<8 | int(b[start+8])
	countAt := start + 9 + msgLen + 1
	putUint16(b[countAt:], (int(b[countAt])<<8|int(b[countAt+1]))+1)
	putUint16(b[start+2:], len(b)-start-headerSize)
	return b, true
}

func hasTrailerPrefix(name string) bool {
	return len(name) >= len(http.TrailerPrefix) && name[:len(http.TrailerPrefix)] == http.TrailerPrefix
}

// isToken reports whether s is an RFC 9110 token: a method or a field
// name.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tokenByte(s[i]) {
			return false
		}
	}
	return true
}

func tokenByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// validFieldValue reports whether v may be a field value: no control
// character but HTAB (net/http's rule for the requests it reads).
func validFieldValue(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// validHost reports whether h may be a Host: the characters net/http
// accepts in one.
func validHost(h string) bool {
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			continue
		}
		switch c {
		case '!', '$', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', ':', ';', '=', '[', ']', '_', '~':
			continue
		}
		return false
	}
	return true
}
