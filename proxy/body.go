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
	ctl     *http.ResponseController // the client connection's
	timeout time.Duration            // 0: none
	n       atomic.Int64

	expect bool // the client sent Expect: 100-continue

	mu    sync.Mutex
	err   error // the first read error other than io.EOF
	eof   bool  // read to its end
	ended bool  // the handler returned: ctl is not to be used
}

// unreadBodyWait bounds, without a read-body timeout, what the server
// waits for the rest of a body the handler left unread (see end).
const unreadBodyWait = 30 * time.Second

// Close does nothing: the server closes the client's body after the
// handler, and the transport, which closes what it sends, may still be
// reading it then (ReverseProxy wraps bodies likewise). Being the very
// body sent upstream (see upstream.rewrite) is what lets the error
// handler find it.
func (b *requestBody) Close() error { return nil }

func (b *requestBody) Read(p []byte) (int, error) {
	if b.timeout > 0 {
		b.setDeadline(time.Now().Add(b.timeout))
	}
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	switch {
	case err == io.EOF:
		b.mu.Lock()
		b.eof = true
		b.mu.Unlock()
		if b.timeout > 0 {
			// Done with the body: the server's own reads that follow
			// (watching for the client going away) have no deadline.
			b.setDeadline(time.Time{})
		}
	case err != nil:
		// After another error the deadline stays: the server's reads of
		// what is left of the body end with it, and the connection closes.
		b.mu.Lock()
		if b.err == nil {
			b.err = err
		}
		b.mu.Unlock()
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
// now on (setDeadline). For a body not read to its end it bounds the
// server's reads of the rest: net/http reads what is left (up to 256 KiB,
// so that the connection can serve the next request) before it sends an
// answer that does not close the connection, and without a deadline it
// waits for ever on a client whose upload stalled after the gateway
// refused it. The rest gets the read-body timeout (unreadBodyWait
// without one); then the answer goes and the connection closes. A client
// that sent Expect: 100-continue and got no 100 waits for one rather
// than send its body: its reads end at once, as net/http ends them
// itself for its own 100-continue body (the gateway's wrapping hides
// that body from it).
func (b *requestBody) end() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ended = true
	if b.eof {
		return
	}
	wait := b.timeout
	switch {
	case b.expect:
		wait = 0
	case wait <= 0:
		wait = unreadBodyWait
	}
	b.ctl.SetReadDeadline(time.Now().Add(wait))
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
