//go:build unix && !linux

package browsertest

import "syscall"

// sysProcAttr puts the browser in a process group of its own, so that its
// end reaches everything it started.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// leftovers returns the process group pgid while any process of it is
// alive: what is left of a browser.
func leftovers(pgid int, dir string) []int {
	if pgid > 0 && syscall.Kill(-pgid, 0) == nil {
		return []int{-pgid}
	}
	return nil
}
