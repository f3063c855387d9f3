//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// wsconfigLockName is the lock file that keeps two wsconfig runs (a
// --watch and a one-off run beside it, say) from writing one directory:
// the second would install files the first never reloads.
const wsconfigLockName = ".wsconfig.lock"

// lockOutDir takes the lock of dir, creating dir if needed, and returns
// its release, which removes the lock file when remove is set.
func lockOutDir(dir string) (func(remove bool), error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, wsconfigLockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another portico wsconfig is writing %s (it holds %s)", dir, wsconfigLockName)
		}
		return nil, err
	}
	return func(remove bool) {
		if remove {
			os.Remove(path)
		}
		f.Close()
	}, nil
}
