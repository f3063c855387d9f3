package ajptest_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/portico-gw/portico/ajp"
	"github.com/portico-gw/portico/internal/ajptest"
)

// ExampleConn_Do posts a body to an ajp.Server as mod_jk would for a
// client at 198.51.100.4, then sends a CPing on the kept connection.
func ExampleConn_Do() {
	s := &ajp.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%s %s from %s: %q", r.Method, r.RequestURI, r.RemoteAddr, b)
		}),
		Secret: "shared-secret",
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go s.Serve(ln)
	defer s.Shutdown(context.Background())

	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	defer nc.Close()
	c := ajptest.NewConn(nc, 0)
	r, err := c.Do(ajptest.Request{Method: "POST", URI: "/orders", RemoteAddr: "198.51.100.4", RemotePort: "40000",
		Headers: [][2]string{{"Content-Length", "5"}}, Secret: "shared-secret"}, strings.NewReader("hello"), 5)
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Status, string(r.Body), r.Reuse)
	fmt.Println("CPing:", c.CPing())
	// Output:
	// 200 POST /orders from 198.51.100.4:40000: "hello" true
	// CPing: <nil>
}
