package proxy

import (
	"net"
	"syscall"
	"unsafe"
)

// unsent returns the bytes written on c that its peer has not yet
// acknowledged (SIOCOUTQ): at 0 they are in the peer's socket.
func unsent(c net.Conn) (int, bool) {
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		return 0, false
	}
	var n int32
	var errno syscall.Errno
	raw.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, 0x5411 /* SIOCOUTQ */, uintptr(unsafe.Pointer(&n)))
	})
	return int(n), errno == 0
}
