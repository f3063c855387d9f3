package redistest

import "syscall"

// sysProcAttr puts the server in a process group of its own (so that Stop
// reaches everything it started) and has the kernel kill it if the test
// process dies first.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
