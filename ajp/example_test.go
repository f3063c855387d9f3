package ajp_test

import (
	"context"
	"fmt"
	"net"
	"net/http"

	"github.com/portico-gw/portico/ajp"
)

func ExampleServer() {
	s := &ajp.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s %s from %s", r.Method, r.RequestURI, r.RemoteAddr)
		}),
		Secret: "shared-with-the-web-server", // mod_jk: worker.portico.secret
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go s.Serve(ln)
	defer s.Shutdown(context.Background())

	// What mod_jk sends for a client at 192.0.2.10:50000 asking for
	// GET /orders?page=2.
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	defer nc.Close()
	r, err := newWebServer(nil, nc, 0).do(fwd{URI: "/orders", Query: "page=2", HasQuery: true,
		RemoteAddr: "192.0.2.10", RemotePort: "50000", Secret: "shared-with-the-web-server"}, nil, 0)
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Status, r.Header.Get("Content-Length"), string(r.Body))
	fmt.Println("connection reusable:", r.Reuse)
	// Output:
	// 200 40 GET /orders?page=2 from 192.0.2.10:50000
	// connection reusable: true
}
