//go:build !linux

package proxy

import "net"

// unsent cannot tell on this system.
func unsent(net.Conn) (int, bool) { return 0, false }
