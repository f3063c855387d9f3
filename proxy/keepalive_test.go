package proxy

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

// TestKeepAliveOff: an API with keepalive false closes every backend
// connection after its response, over the lean client and http.Transport,
// so a backend that sends a response nobody asked for, after a delay, can
// never have it read as the answer to the next request. The same backend
// on a kept-alive API shows the shift that no HTTP/1.1 client can avoid.
func TestKeepAliveOff(t *testing.T) {
	// Each answer names its request; 20 ms later the backend sends an
	// unasked copy marked STRAY on the same connection.
	be := newRawBackend(t, func(c net.Conn, req *http.Request, _ int) bool {
		io.Copy(io.Discard, req.Body)
		tok := req.URL.Path
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(tok), tok)
		time.Sleep(20 * time.Millisecond)
		stray := tok + "STRAY"
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(stray), stray)
		return req.Header.Get("Connection") != "close"
	})
	w := newWorld(t)
	off := false
	a := w.api("off", "/off", portico.AuthNone, "http://"+be.addr)
	b := *a
	b.KeepAlive = &off
	w.apply(portico.Put(&b))
	w.api("on", "/on", portico.AuthNone, "http://"+be.addr)

	shifted := func(api, method string) int {
		n := 0
		for i := range 6 {
			tok := fmt.Sprintf("/t%d", i)
			var reqBody io.Reader
			if method == "POST" {
				reqBody = strings.NewReader("x")
			}
			req, _ := http.NewRequest(method, w.srv.URL+"/"+api+tok, reqBody)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && string(body) != tok {
				n++
			}
			time.Sleep(5 * time.Millisecond) // the next request leaves before the stray copy arrives
		}
		return n
	}
	for _, m := range []string{"GET", "POST"} {
		if n := shifted("off", m); n != 0 {
			t.Errorf("%s with keepalive false: %d answers were not the request's own", m, n)
		}
	}
	before := be.conns.Load()
	shifted("off", "GET")
	if opened := be.conns.Load() - before; opened != 6 {
		t.Errorf("keepalive false: 6 requests opened %d connections, want 6", opened)
	}
	if n := shifted("on", "GET"); n == 0 {
		t.Log("kept-alive API: no shift seen this run (timing); the limit is documented in SECURITY.md")
	} else {
		t.Logf("kept-alive API: %d of 6 answers shifted, as for any HTTP/1.1 client", n)
	}
}
