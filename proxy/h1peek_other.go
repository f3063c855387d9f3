//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package proxy

import "net"

// idlePeek is empty where the socket cannot be peeked at without
// blocking.
type idlePeek struct{}

func (*idlePeek) init(net.Conn) {}

// quiet reports true: on this system only bytes already in the read
// buffer are detected (h1Transport.release), not those that arrived while
// idle.
func (*idlePeek) quiet() bool { return true }

// send writes a request with write; the answer is then read as usual.
func (*idlePeek) send(_ bool, write func(fd int) error, _ func(fd int) bool) error {
	return write(-1)
}
