//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package analytics

import "os"

// lockFile does nothing where flock(2) is not available: one data dir per
// node is then up to the operator.
func lockFile(*os.File) error { return nil }
