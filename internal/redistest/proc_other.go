//go:build unix && !linux

package redistest

import "syscall"

// sysProcAttr puts the server in a process group of its own, so that Stop
// reaches everything it started.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
