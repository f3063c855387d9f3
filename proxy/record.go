package proxy

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/portico-gw/portico"
)

// Recorder receives the analytics record of every gateway response.
// Record is called on the request path: it must not block, and it must
// copy what it keeps, for rec is reused after it returns.
type Recorder interface {
	Record(rec *portico.Record)
}

// exchange is the ResponseWriter of one recorded request: it notes the
// status, the bytes written and when the response began, and carries what
// the request path learned (route, key, subscription) to the record.
type exchange struct {
	http.ResponseWriter
	g                     *Gateway
	start, proxied, began time.Time
	status                int
	bytes                 int64
	errCode               portico.ErrorCode
	rt                    *route
	app                   *portico.Application
	se                    *subEntry
	resource              string
	body                  *requestBody
	hijacked              bool
	rec                   portico.Record
}

var exchanges = sync.Pool{New: func() any { return new(exchange) }}

// WriteHeader implements http.ResponseWriter.
func (e *exchange) WriteHeader(code int) {
	if e.status == 0 && code >= 200 {
		e.status = code
		if !e.proxied.IsZero() {
			e.began = e.g.after(e.proxied)
		}
	}
	e.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (e *exchange) Write(b []byte) (int, error) {
	if e.status == 0 {
		e.WriteHeader(http.StatusOK)
	}
	n, err := e.ResponseWriter.Write(b)
	e.bytes += int64(n)
	return n, err
}

// Hijack takes over the connection for an upgrade (WebSocket): the
// backend's 101 is written on the raw connection, so it is noted here.
func (e *exchange) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(e.ResponseWriter).Hijack()
	if err == nil {
		e.hijacked = true
		if e.status == 0 {
			e.status = http.StatusSwitchingProtocols
			if !e.proxied.IsZero() {
				e.began = e.g.now()
			}
		}
	}
	return conn, brw, err
}

// Unwrap lets http.ResponseController reach the server's writer (flush,
// hijack for upgrades).
func (e *exchange) Unwrap() http.ResponseWriter { return e.ResponseWriter }

// responseType returns the response's Content-Type: the writer's, or,
// for a response the fast engine streams from the backend, the backend's
// (respWriter keeps those apart).
func (e *exchange) responseType() string {
	if t := first(e.Header(), "Content-Type"); t != "" {
		return t
	}
	if w, ok := e.ResponseWriter.(*respWriter); ok && w.streaming {
		return first(w.upstream, "Content-Type")
	}
	return ""
}

// first returns the first value of the field of canonical name name.
func first(h http.Header, name string) string {
	if v := h[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// record hands the record of the finished exchange to the Recorder.
func (g *Gateway) record(ex *exchange, r *http.Request) {
	end := g.after(ex.start)
	rec := &ex.rec
	rec.Time = ex.start.UTC()
	// The names are canonical: map reads, without Header.Get's
	// canonicalization (BenchmarkFastPath).
	rec.RequestID = first(r.Header, HeaderRequestID)
	rec.Method = r.Method
	rec.Status = ex.status
	if rec.Status == 0 {
		rec.Status = 499 // the client went away before an answer
	}
	rec.ErrorCode = string(ex.errCode)
	rec.RequestBytes = max(r.ContentLength, 0)
	if ex.body != nil && r.ContentLength < 0 {
		rec.RequestBytes = ex.body.n.Load()
	}
	rec.ResponseBytes = ex.bytes
	rec.RequestType = first(r.Header, "Content-Type")
	rec.ResponseType = ex.responseType()
	rec.Latency = end.Sub(ex.start)
	if !ex.proxied.IsZero() {
		if ex.began.IsZero() {
			ex.began = end
		}
		rec.UpstreamLatency = ex.began.Sub(ex.proxied)
	}
	if g.TrustedProxies != nil {
		// Behind trusted proxies, the client they report (unknown: "").
		rec.ClientIP = ""
		if a := g.clientAddr(r); a.IsValid() {
			rec.ClientIP = a.String()
		}
	} else {
		rec.ClientIP = r.RemoteAddr
		if i := strings.LastIndexByte(rec.ClientIP, ':'); i > 0 {
			rec.ClientIP = strings.Trim(rec.ClientIP[:i], "[]")
		}
	}
	rec.Node = g.Node
	if rt := ex.rt; rt != nil {
		rec.API, rec.APIVersion, rec.APIID, rec.Publisher = rt.api.Name, rt.api.Version, rt.api.ID, rt.owner
	}
	if app := ex.app; app != nil {
		rec.Application, rec.Subscriber = app.ID, app.Owner
	}
	if se := ex.se; se != nil {
		rec.Plan = se.sub.PlanID
	}
	rec.Resource = ex.resource
	g.Recorder.Record(rec)
}
