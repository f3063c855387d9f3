package ajp_test

import (
	"bufio"
	"io"
	"net"
	"testing"

	"github.com/portico-gw/portico/internal/ajptest"
)

// The web server's side of AJP/1.3 for the tests — what mod_jk does — is
// internal/ajptest, written from the protocol's byte layouts apart from
// package ajp's code. The short names below are the tests' own.

// fwd is a Forward Request to encode.
type fwd ajptest.Request

func (f fwd) payload() []byte { return ajptest.Request(f).Payload() }

// reply is a response as the web server got it.
type reply = ajptest.Response

var (
	packet     = ajptest.Packet
	bodyPacket = ajptest.BodyPacket
	attrString = ajptest.AttrString
	reqAttr    = ajptest.ReqAttr
)

// webServer is one connection of the web server to an ajp.Server.
type webServer struct {
	c  *ajptest.Conn
	nc net.Conn
	br *bufio.Reader
	// onChunk, when set, sees each SEND_BODY_CHUNK's data as it arrives.
	onChunk func(data []byte)
}

func dialAJP(t testing.TB, addr string, packetSize int) *webServer {
	t.Helper()
	return wrapConn(ajptest.Dial(t, addr, packetSize))
}

func newWebServer(_ testing.TB, nc net.Conn, packetSize int) *webServer {
	return wrapConn(ajptest.NewConn(nc, packetSize))
}

func wrapConn(c *ajptest.Conn) *webServer {
	return &webServer{c: c, nc: c.NetConn(), br: c.Reader()}
}

func (ws *webServer) write(p []byte) error        { return ws.c.Write(p) }
func (ws *webServer) readPacket() ([]byte, error) { return ws.c.ReadPacket() }
func (ws *webServer) expectClosed() error         { return ws.c.ExpectClosed() }

// do sends f with body and reads the response to its END_RESPONSE (see
// ajptest.Conn.Do).
func (ws *webServer) do(f fwd, body io.Reader, contentLength int64) (*reply, error) {
	ws.c.OnChunk = ws.onChunk
	return ws.c.Do(ajptest.Request(f), body, contentLength)
}
