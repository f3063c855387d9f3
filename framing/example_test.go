package framing_test

import (
	"log"
	"net"
	"net/http"

	"github.com/portico-gw/portico/framing"
)

// A server that refuses requests with ambiguous framing.
func Example() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{
		Handler: framing.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("hello\n"))
		})),
		ConnContext:    framing.ConnContext,
		MaxHeaderBytes: 64 << 10,
	}
	go srv.Serve(&framing.Listener{Listener: l, MaxHeaderBytes: srv.MaxHeaderBytes})
	srv.Close()
	// Output:
}
