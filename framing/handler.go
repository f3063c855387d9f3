package framing

import (
	"net/http"
	"strconv"

	"github.com/portico-gw/portico"
)

// Handler refuses HTTP/1.x requests whose framing is ambiguous and passes
// the others to next. It must be the server's outermost handler, so that
// it sees every request the server serves.
//
// On a connection accepted by a Listener (with ConnContext set on the
// server), a request is answered 400 with Connection: close, without
// reading its body, when its head has both Content-Length and
// Transfer-Encoding, a Transfer-Encoding other than one "chunked", a
// Transfer-Encoding in HTTP/1.0, a Content-Length that is not one decimal
// number or appears twice, a folded line, a line ended by a bare LF, or a
// Content_Length or Transfer_Encoding header; and so is every later
// request on a connection where an earlier request's framing could not be
// followed exactly as net/http follows it.
//
// On other connections (TLS, where the sniffer cannot see the plaintext)
// a request with a chunked body, or any HTTP/1.0 request, is served and
// answered with Connection: close, so that nothing after it on the
// connection is read as another request: RFC 9112 §6.1 requires closing
// after a request with both Content-Length and Transfer-Encoding, and
// net/http hides whether the request had both. HTTP/2 requests are
// passed as they are: their framing is not in question.
func Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 1 {
			next.ServeHTTP(w, r)
			return
		}
		c, _ := r.Context().Value(ctxKey{}).(*conn)
		if c == nil {
			if r.ProtoMinor == 0 || isChunked(r.TransferEncoding) {
				w.Header()["Connection"] = []string{"close"}
			}
			next.ServeHTTP(w, r)
			return
		}
		if why := c.admit(r); why != noReason {
			refuse(w, why)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func isChunked(te []string) bool {
	for _, v := range te {
		if v == "chunked" {
			return true
		}
	}
	return false
}

// refuse answers 400 in Portico's error format and has the server close
// the connection after it.
func refuse(w http.ResponseWriter, why reason) {
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["X-Content-Type-Options"] = []string{"nosniff"}
	h["Connection"] = []string{"close"}
	w.WriteHeader(http.StatusBadRequest)
	b := make([]byte, 0, 128)
	b = append(b, `{"error":{"code":`...)
	b = strconv.AppendQuote(b, string(portico.EInvalid))
	b = append(b, `,"message":`...)
	b = strconv.AppendQuote(b, why.String())
	b = append(b, "}}\n"...)
	w.Write(b)
}
