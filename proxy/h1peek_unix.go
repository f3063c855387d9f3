//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package proxy

import (
	"net"
	"syscall"
)

// idlePeek looks at an idle connection's socket without reading from it.
type idlePeek struct {
	raw  syscall.RawConn
	fn   func(fd uintptr) // made once: a closure per call would allocate
	err  error
	byte [1]byte
}

func (p *idlePeek) init(c net.Conn) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	p.raw = raw
	p.fn = func(fd uintptr) {
		_, _, p.err = syscall.Recvfrom(int(fd), p.byte[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	}
}

// quiet reports whether nothing arrived on the idle connection: no byte
// and no end of stream. It asks the socket without blocking and without
// consuming (one recvfrom with MSG_PEEK|MSG_DONTWAIT, about a microsecond:
// BenchmarkH1RoundTrip), so that bytes a backend sent while the
// connection was idle are never read as the next request's answer.
func (p *idlePeek) quiet() bool {
	if p.raw == nil {
		return true
	}
	// Control, not Read: it does not wait for a Read in progress (the
	// transport's reader, for guardedConn), and the call never blocks.
	if err := p.raw.Control(p.fn); err != nil {
		return false
	}
	return p.err == syscall.EAGAIN || p.err == syscall.EWOULDBLOCK
}
