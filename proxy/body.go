package proxy

import (
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-gw/portico"
)

// requestBody is a client's request body on its way to the backend: it
// counts the bytes read (for the analytics record), gives each read
// Gateway.ReadBodyTimeout to make progress, and remembers a read error, so
// that a body the client cut off, sent malformed or too slowly is
// answered as the client's fault (400, 408), not the backend's (502).
type requestBody struct {
	io.ReadCloser
	ctl     *http.ResponseController // nil without a timeout
	timeout time.Duration
	n       atomic.Int64

	mu    sync.Mutex
	err   error // the first read error other than io.EOF
	ended bool  // the handler returned: ctl is not to be used
}

// Close does nothing: the server closes the client's body after the
// handler, and the transport, which closes what it sends, may still be
// reading it then (ReverseProxy wraps bodies likewise). Being the very
// body sent upstream (see upstream.rewrite) is what lets the error
// handler find it.
func (b *requestBody) Close() error { return nil }

func (b *requestBody) Read(p []byte) (int, error) {
	if b.ctl != nil {
		b.setDeadline(time.Now().Add(b.timeout))
	}
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	if err != nil {
		if b.ctl != nil && err == io.EOF {
			// Done with the body: the server's own reads that follow
			// (watching for the client going away) have no deadline.
			b.setDeadline(time.Time{})
		}
		// After another error the deadline stays: the server's reads of
		// what is left of the body end with it, and the connection closes.
		if err != io.EOF {
			b.mu.Lock()
			if b.err == nil {
				b.err = err
			}
			b.mu.Unlock()
		}
	}
	return n, err
}

// setDeadline sets the client connection's read deadline, unless the
// handler has returned. The transport may go on reading the body after
// that (a backend that answered before reading all of it): the
// controller's writer may then be back in its pool (exchange) and the
// connection reading the next request, which a deadline set now would
// cut short.
func (b *requestBody) setDeadline(t time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.ended {
		b.ctl.SetReadDeadline(t)
	}
}

// end marks the handler's return: the body's reads set no deadline from
// now on (setDeadline).
func (b *requestBody) end() {
	b.mu.Lock()
	b.ended = true
	b.mu.Unlock()
}

// readErr returns the body's first read error other than io.EOF, or nil.
func (b *requestBody) readErr() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// clientBodyError answers a request whose body could not be read from the
// client, and reports whether it did: 408 when the client was too slow,
// 400 when the body was malformed or cut off; either way the connection
// is closed, for the rest of the body cannot be told from the next
// request. It answers in form.
func clientBodyError(w http.ResponseWriter, r *http.Request, form errorForm) bool {
	body := r.Body
	if cb, ok := body.(*checkedBody); ok {
		body = cb.src
	}
	b, ok := body.(*requestBody)
	if !ok {
		return false
	}
	err := b.readErr()
	if err == nil {
		return false
	}
	w.Header()["Connection"] = []string{"close"}
	if isTimeout(err) {
		form.write(w, http.StatusRequestTimeout, portico.ERequestTimeout, "the request body did not arrive in time")
	} else {
		form.write(w, http.StatusBadRequest, portico.EInvalid, "the request body is malformed or cut off")
	}
	return true
}
