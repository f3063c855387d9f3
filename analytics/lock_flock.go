//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package analytics

import (
	"errors"
	"os"
	"syscall"
)

// lockFile takes an exclusive advisory lock on f without waiting, so that
// two recorders (two nodes started on one data dir) never share a spool.
// The lock goes with the file's descriptor.
func lockFile(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return errors.New("in use by another recorder (is another node running on this data dir?)")
	}
	return err
}
