//go:build darwin || freebsd || netbsd || openbsd || dragonfly || (linux && race)

package proxy

import "syscall"

// The fast path's socket calls inside RawConn callbacks (see
// rawio_linux.go), through package syscall's own calls here: on the
// other systems, and under the race detector, which learns from them
// that what one side wrote happened before what the other side read.

func readSocket(fd int, p []byte) (int, error) {
	for {
		n, err := syscall.Read(fd, p)
		if err != syscall.EINTR {
			return max(n, 0), err
		}
	}
}

func writeSocket(fd int, p []byte) (int, error) {
	for {
		n, err := syscall.Write(fd, p)
		if err != syscall.EINTR {
			return max(n, 0), err
		}
	}
}

func peekSocket(fd int, b *[1]byte) (int, error) {
	for {
		n, _, err := syscall.Recvfrom(fd, b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		if err != syscall.EINTR {
			return max(n, 0), err
		}
	}
}
