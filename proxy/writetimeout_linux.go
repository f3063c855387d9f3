package proxy

import (
	"syscall"
	"unsafe"
)

// unacked returns how many bytes written to conn's socket the peer has
// not yet acknowledged (SIOCOUTQ, which is TIOCOUTQ on Linux), or -1
// when it cannot tell.
func unacked(conn any) int {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return -1
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return -1
	}
	n := -1
	raw.Control(func(fd uintptr) {
		var q int32
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCOUTQ, uintptr(unsafe.Pointer(&q))); e == 0 {
			n = int(q)
		}
	})
	return n
}
