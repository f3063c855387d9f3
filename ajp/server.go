package ajp

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Server serves an http.Handler to web servers over AJP/1.3: the
// container side of the protocol, what Tomcat's AJP connector is to
// mod_jk and mod_proxy_ajp. Set the fields before Serve; they are not
// changed after.
type Server struct {
	// Handler answers every request. Serve returns an error when it is
	// nil.
	Handler http.Handler

	// PacketSize is the size of the largest packet, its 4-byte header
	// included, either side sends: the web server's own setting (mod_jk
	// worker.<name>.max_packet_size, mod_proxy_ajp ProxyIOBufferSize)
	// must be the same. Zero means DefaultPacketSize (8192, both web
	// servers' default); Serve returns an error for a size outside
	// DefaultPacketSize…MaxPacketSize. A larger packet from the web server
	// closes the connection. The response's fields must fit in one packet.
	PacketSize int

	// Secret is the shared secret every request must carry (mod_jk
	// worker.<name>.secret, mod_proxy_ajp's secret= parameter): a request
	// without it or with another gets a 403 and its connection is closed.
	// Empty, requests need none, and Serve refuses a listener that is not
	// on loopback (ErrSecretRequired).
	Secret string

	// ReadTimeout bounds the reading of each packet from its first byte,
	// and the wait for a request body packet once asked for (a handler
	// may set its own with http.ResponseController.SetReadDeadline).
	// IdleTimeout bounds the wait for the next request on a connection the
	// web server keeps. Zero means no limit (Tomcat's default: mod_jk
	// keeps its connections open and checks them itself).
	ReadTimeout time.Duration
	IdleTimeout time.Duration

	// Logger logs refused requests, malformed packets and recovered
	// panics. Nil discards.
	Logger *slog.Logger

	once       sync.Once
	initErr    error
	packetSize int
	secretSum  [sha256.Size]byte
	getBody    []byte // the GET_BODY_CHUNK packet
	bufs       sync.Pool

	mu        sync.Mutex
	listeners map[*net.Listener]struct{}
	conns     map[*conn]struct{}
	draining  atomic.Bool
	wg        sync.WaitGroup
}

// ErrSecretRequired is returned by Serve for a listener that is not on
// loopback when the Server has no Secret: anyone who reaches an AJP port
// without one can claim any client address and TLS (CVE-2020-1938).
var ErrSecretRequired = errors.New("ajp: a listener that is not on loopback needs a secret")

var errServerClosed = http.ErrServerClosed

func (s *Server) init() error {
	s.once.Do(func() {
		s.listeners = map[*net.Listener]struct{}{}
		s.conns = map[*conn]struct{}{}
		switch {
		case s.Handler == nil:
			s.initErr = errors.New("ajp: Server.Handler is nil")
		case s.PacketSize == 0:
			s.packetSize = DefaultPacketSize
		case s.PacketSize < DefaultPacketSize || s.PacketSize > MaxPacketSize:
			s.initErr = fmt.Errorf("ajp: packet size %d: want %d to %d", s.PacketSize, DefaultPacketSize, MaxPacketSize)
		default:
			s.packetSize = s.PacketSize
		}
		s.secretSum = sha256.Sum256([]byte(s.Secret))
		s.getBody = getBodyChunkPacket(s.packetSize - bodyOverhead)
		size := s.packetSize
		s.bufs.New = func() any { b := make([]byte, size); return &b }
	})
	return s.initErr
}

// getBuffer returns a buffer of the packet size.
func (s *Server) getBuffer() []byte { return *s.bufs.Get().(*[]byte) }

func (s *Server) putBuffer(b []byte) { s.bufs.Put(&b) }

// Serve accepts connections on ln until Shutdown, serving each on its own
// goroutine; it closes ln when it returns. It returns
// http.ErrServerClosed after Shutdown, ErrSecretRequired (wrapped) for a
// listener off loopback without a Secret, and an error for a Server
// whose fields are not valid.
func (s *Server) Serve(ln net.Listener) error {
	if err := s.Check(ln.Addr()); err != nil {
		ln.Close()
		return err
	}
	key := &ln
	s.mu.Lock()
	if s.draining.Load() {
		s.mu.Unlock()
		ln.Close()
		return errServerClosed
	}
	s.listeners[key] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, key)
		s.mu.Unlock()
		ln.Close()
	}()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.draining.Load() {
				return errServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) {
				// Out of descriptors or a transient error: back off as
				// net/http does, up to a second.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		c := newConn(s, nc)
		s.mu.Lock()
		if s.draining.Load() {
			s.mu.Unlock()
			nc.Close()
			return errServerClosed
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go c.serve()
	}
}

// Check returns the error Serve would return at once for a listener at
// addr: fields that are not valid, or ErrSecretRequired (wrapped). Call
// it to refuse a configuration before serving.
func (s *Server) Check(addr net.Addr) error {
	if err := s.init(); err != nil {
		return err
	}
	if s.Secret == "" && !onLoopback(addr) {
		return fmt.Errorf("%w: %s", ErrSecretRequired, addr)
	}
	return nil
}

// onLoopback reports whether a listener at a takes connections from this
// machine only: a loopback address or a Unix socket.
func onLoopback(a net.Addr) bool {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	case *net.UnixAddr:
		return true
	}
	ap, err := netip.ParseAddrPort(a.String())
	return err == nil && ap.Addr().IsLoopback()
}

// Shutdown stops accepting, closes the connections waiting for a
// request, lets the requests in flight finish (their END_RESPONSE tells
// the web server not to reuse the connection, which is then closed) and
// waits for them until ctx is done; then it closes what is left, cancels
// those requests' contexts and returns ctx's error. A CPing that arrives
// meanwhile closes its connection instead of being answered, so that
// the web server's health check sends its traffic elsewhere.
func (s *Server) Shutdown(ctx context.Context) error {
	s.init()
	s.draining.Store(true)
	s.mu.Lock()
	for ln := range s.listeners {
		(*ln).Close()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		s.closeIdle()
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			s.mu.Lock()
			for c := range s.conns {
				c.nc.Close()
				c.abort()
			}
			s.mu.Unlock()
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// closeIdle closes the connections waiting for a request.
func (s *Server) closeIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.idle.Load() {
			c.nc.Close()
		}
	}
}

func (s *Server) forget(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.wg.Done()
}

var discard = slog.New(slog.DiscardHandler)

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return discard
}
