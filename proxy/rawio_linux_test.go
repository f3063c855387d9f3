package proxy

import (
	"syscall"
	"testing"
)

// BenchmarkReadEmpty reads an empty non-blocking pipe (EAGAIN) with
// package syscall's Read and with readSocket: the difference is the
// scheduler's bookkeeping around a system call that RawSyscall spares
// (rawio_linux.go; under -race both are syscall.Read).
func BenchmarkReadEmpty(b *testing.B) {
	fds := make([]int, 2)
	if err := syscall.Pipe2(fds, syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		b.Fatal(err)
	}
	defer syscall.Close(fds[0])
	defer syscall.Close(fds[1])
	buf := make([]byte, 64)
	for _, bc := range []struct {
		name string
		read func(int, []byte) (int, error)
	}{{"syscall.Read", syscall.Read}, {"readSocket", readSocket}} {
		b.Run(bc.name, func(b *testing.B) {
			defer reportCPU(b)()
			for b.Loop() {
				if _, err := bc.read(fds[0], buf); err != syscall.EAGAIN {
					b.Fatal(err)
				}
			}
		})
	}
}
