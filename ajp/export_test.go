package ajp

import (
	"errors"
	"net"
	"net/http"
)

// ParseForwardRequest decodes a Forward Request payload and builds its
// request as Server does before calling its handler (without the body
// and the context).
func ParseForwardRequest(p []byte) (*http.Request, error) {
	fr, err := parseForward(p)
	if err != nil {
		return nil, err
	}
	if fr.refused != "" {
		return nil, &refusal{http.StatusForbidden, fr.refused}
	}
	return fr.request()
}

// IsMalformed reports whether err is a malformed packet (the connection
// closes without an answer).
func IsMalformed(err error) bool { return errors.Is(err, errMalformed) }

// ServeConn serves one connection as if Serve had accepted it, and
// returns when it is closed.
func ServeConn(s *Server, nc net.Conn) {
	if err := s.init(); err != nil {
		panic(err)
	}
	c := newConn(s, nc)
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	c.serve()
}
