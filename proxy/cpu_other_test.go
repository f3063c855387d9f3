//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package proxy

import "time"

// processCPU cannot tell on this system.
func processCPU() (time.Duration, bool) { return 0, false }
