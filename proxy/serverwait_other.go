//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package proxy

import (
	"net"
	"syscall"
)

// rawConnOf returns nil: serveSession is for the systems whose poller
// reports readiness by edge; here connections are read with Go's reads.
func rawConnOf(net.Conn) syscall.RawConn { return nil }

// The direct socket calls are never made where rawConnOf returns nil.
func readSocket(int, []byte) (int, error)  { return 0, syscall.EINVAL }
func writeSocket(int, []byte) (int, error) { return 0, syscall.EINVAL }
