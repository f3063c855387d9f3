package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// backendBody is what the backend answers to every request: 100 bytes,
// the size of issue 13's measurements.
var backendBody = []byte(strings.Repeat("0123456789", 9) + "abcdefghi\n")

// serveBackend serves backendBody on addr until the process is signalled.
// It runs in a process of its own (loadbench -backend ADDR) so that it
// shares no Go runtime, heap or scheduler with the harness; every target
// proxies to this one process.
func serveBackend(addr string, stderr io.Writer) int {
	srv := &http.Server{
		Addr:              addr,
		Handler:           backendHandler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       5 * time.Minute,
	}
	err := srv.ListenAndServe()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(stderr, "backend:", err)
		return 1
	}
	return 0
}

// backendHandler answers every request with backendBody, after reading
// the request's body, if any, to its end: a proxy that streams a body
// (threat protection checks it as it goes) has then sent all of it.
func backendHandler() http.Handler {
	contentType := []string{"text/plain"}
	contentLength := []string{fmt.Sprint(len(backendBody))}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != http.NoBody {
			if _, err := io.Copy(io.Discard, r.Body); err != nil {
				http.Error(w, "reading the body: "+err.Error(), http.StatusBadRequest)
				return
			}
		}
		h := w.Header()
		h["Content-Type"] = contentType
		h["Content-Length"] = contentLength
		_, _ = w.Write(backendBody)
	})
}
