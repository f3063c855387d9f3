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

	// send's state, for sendFn (made once, as fn).
	sendFn func(fd uintptr) bool
	check  bool               // look at the socket before write
	write  func(fd int) error // writes the request
	read   func(fd int) bool  // reads the answer's first bytes
	sent   bool               // write ran: a wake-up is the answer's
	werr   error              // what the check or write found
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
	p.sendFn = p.onReadable
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

// send writes a request with write and returns once the socket has
// something to read (the answer, or the end of the stream), read by read
// (which reports whether it found nothing after all, when the wait goes
// on), or with the error of the check, of write or of the wait (the read
// deadline). With check set it first makes sure, as quiet does, that
// nothing arrived on the connection while it was idle, and otherwise
// writes nothing and returns errNotQuiet. write and read get the
// socket, for direct calls (writeSocket, readSocket), or -1 where there
// is none: then read is not called, and the answer is read as usual.
//
// All of it runs inside one RawConn.Read: the socket's readiness is reset
// once, before the check, so the answer to what write sent cannot be
// missed, and the wait for it needs no read of its own first. A plain
// Read after the write would first try the socket, find it empty and
// only then wait: one system call per request more (BenchmarkH1RoundTrip,
// `make bench`).
func (p *idlePeek) send(check bool, write func(fd int) error, read func(fd int) bool) error {
	if p.raw == nil {
		if check && !p.quiet() {
			return errNotQuiet
		}
		return write(-1)
	}
	p.check, p.write, p.read, p.sent, p.werr = check, write, read, false, nil
	err := p.raw.Read(p.sendFn)
	p.write, p.read = nil, nil
	if p.werr != nil {
		return p.werr
	}
	return err
}

// onReadable is send's RawConn.Read callback: called first at once, then
// each time the socket turns readable.
func (p *idlePeek) onReadable(fd uintptr) bool {
	if p.sent {
		return !p.read(int(fd))
	}
	p.sent = true
	if p.check {
		if _, err := peekSocket(int(fd), &p.byte); err != syscall.EAGAIN && err != syscall.EWOULDBLOCK {
			p.werr = errNotQuiet // a byte, the end of the stream, or an error
			return true
		}
	}
	if p.werr = p.write(int(fd)); p.werr != nil {
		return true
	}
	return false // wait until readable
}
