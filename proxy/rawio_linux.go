//go:build !race

package proxy

import (
	"syscall"
	"unsafe"
)

// The fast path's socket calls inside RawConn callbacks (serveSession,
// idlePeek.send): the sockets are non-blocking, so the calls never
// block, and RawSyscall spares the scheduler's bookkeeping around each,
// about 0.4 us a call on this project's machines, where a read of an
// empty pipe costs about 1 us (BenchmarkFastPath does not see it: it makes
// no system call; `make bench`). Under the race detector rawio_syscall.go
// is used instead.

// readSocket reads from a non-blocking socket, again when a signal
// interrupted the call.
func readSocket(fd int, p []byte) (int, error) { return rawIO(syscall.SYS_READ, fd, p) }

// writeSocket writes to a non-blocking socket what it takes now (EAGAIN
// when nothing), again when a signal interrupted the call.
func writeSocket(fd int, p []byte) (int, error) { return rawIO(syscall.SYS_WRITE, fd, p) }

// rawIO makes system call trap (read or write) on fd with p, again when
// a signal interrupted it.
func rawIO(trap uintptr, fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, _, e := syscall.RawSyscall(trap, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		switch e {
		case 0:
			return int(n), nil
		case syscall.EINTR:
			continue
		}
		return 0, e
	}
}

// peekSocket looks at the next byte of a non-blocking socket without
// consuming it (recvfrom with MSG_PEEK|MSG_DONTWAIT): EAGAIN when there
// is none, n 0 at the end of the stream.
func peekSocket(fd int, b *[1]byte) (int, error) {
	for {
		n, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), 1,
			syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
			return int(n), nil
		case syscall.EINTR:
			continue
		}
		return 0, e
	}
}
