package admin

import (
	"errors"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/portico-gw/portico"
)

// idleBody is a request body each read of which must make progress within
// timeout (Server.ReadBodyTimeout), and the whole of which must arrive by
// end (Server.ReadRequestTimeout), through the connection's read
// deadline: a body sent a byte at a time, each in time, still ends.
type idleBody struct {
	io.ReadCloser
	ctl     *http.ResponseController
	timeout time.Duration
	end     time.Time
}

func (b *idleBody) Read(p []byte) (int, error) {
	deadline := time.Now().Add(b.timeout)
	if deadline.After(b.end) {
		deadline = b.end
	}
	b.ctl.SetReadDeadline(deadline)
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		// Done with the body: the server's own reads that follow (watching
		// for the client going away) have no deadline. After another error
		// the deadline stays and the connection closes.
		b.ctl.SetReadDeadline(time.Time{})
	}
	return n, err
}

// bodyReader remembers the first error other than io.EOF of reading a
// request body, so that decode can tell the client's failure to send its
// body from a body that is not valid JSON.
type bodyReader struct {
	r   io.Reader
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

// readError is the client error for a request body that could not be
// read: too large (413), too slow (408), cut off or malformed in its
// framing (400). The cause (socket addresses, …) stays in Err, never
// shown to the client.
func readError(err error) error {
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return portico.Errorf(portico.ETooLarge, "request body is larger than %d KiB", mb.Limit>>10)
	}
	var ne interface{ Timeout() bool }
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return &portico.Error{Code: portico.ERequestTimeout, Message: "the request body did not arrive in time", Err: err}
	}
	return &portico.Error{Code: portico.EInvalid, Message: "the request body could not be read", Err: err}
}
