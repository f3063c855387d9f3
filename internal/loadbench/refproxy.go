package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// The reference targets are two bare reverse proxies with no feature at
// all, each this program re-executed in a hidden mode
// (loadbench MODE LISTEN BACKEND), so that every run shows what a Go proxy
// costs at best (fasthttp) and with the standard library as it comes
// (reverseproxy).
const (
	fasthttpMode     = "-fasthttp-proxy"
	reverseProxyMode = "-reverseproxy"
)

// refConns is the most connections either reference proxy keeps to the
// backend, far above wrk's.
const refConns = 512

// serveFasthttpProxy runs fasthttpProxy on listen until the process is
// signalled.
func serveFasthttpProxy(listen, backend string, stderr io.Writer) int {
	if err := fasthttpProxy(backend).ListenAndServe(listen); err != nil {
		fmt.Fprintln(stderr, "fasthttp proxy:", err)
		return 1
	}
	return 0
}

// fasthttpProxy is a fasthttp.Server that proxies every request to the
// backend at backend (host:port) with a keep-alive fasthttp.HostClient.
func fasthttpProxy(backend string) *fasthttp.Server {
	hc := &fasthttp.HostClient{Addr: backend, MaxConns: refConns, MaxIdleConnDuration: time.Minute}
	return &fasthttp.Server{
		Handler: func(c *fasthttp.RequestCtx) {
			if err := hc.Do(&c.Request, &c.Response); err != nil {
				c.Error("bad gateway: "+err.Error(), fasthttp.StatusBadGateway)
			}
		},
		NoDefaultServerHeader: true,
		ReadTimeout:           5 * time.Minute,
		IdleTimeout:           5 * time.Minute,
	}
}

// serveReverseProxy runs reverseProxy on listen until the process is
// signalled.
func serveReverseProxy(listen, backend string, stderr io.Writer) int {
	srv := reverseProxy(backend, stderr)
	srv.Addr = listen
	err := srv.ListenAndServe()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(stderr, "reverseproxy:", err)
		return 1
	}
	return 0
}

// reverseProxy is a net/http server that proxies every request to the
// backend at backend (host:port) with an httputil.ReverseProxy whose
// transport keeps up to refConns idle connections to the backend. It
// logs proxy errors to stderr.
func reverseProxy(backend string, stderr io.Writer) *http.Server {
	u := &url.URL{Scheme: "http", Host: backend}
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        2 * refConns,
		MaxIdleConnsPerHost: refConns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &http.Server{
		Handler: &httputil.ReverseProxy{
			Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(u) },
			Transport: tr,
			ErrorLog:  log.New(stderr, "reverseproxy: ", 0),
		},
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       5 * time.Minute,
	}
}

// fasthttpTarget is the bare fasthttp proxy: the ceiling.
func fasthttpTarget() *target {
	return refTarget("fasthttp", "wrk → bare fasthttp proxy (Server + HostClient, no features) → backend", fasthttpMode,
		fmt.Sprintf("github.com/valyala/fasthttp %s, HostClient MaxConns %d", moduleVersion("github.com/valyala/fasthttp"), refConns))
}

// reverseProxyTarget is the bare net/http proxy: the floor.
func reverseProxyTarget() *target {
	return refTarget("reverseproxy", "wrk → bare net/http server + httputil.ReverseProxy (no features) → backend", reverseProxyMode,
		fmt.Sprintf("Transport MaxIdleConnsPerHost %d, MaxIdleConns %d, compression off", refConns, 2*refConns))
}

// refTarget runs this program in mode as a proxy to the backend.
func refTarget(name, about, mode, detail string) *target {
	t := &target{name: name, about: about}
	var p *proc
	t.setup = func(ctx context.Context, e *env, t *target) error {
		var base string
		var err error
		p, base, err = e.startSelf(ctx, name, mode, strings.TrimPrefix(e.backendURL, "http://"))
		if err != nil {
			return err
		}
		t.url = base + "/hello"
		t.headers = []string{fakeKey}
		t.procs = func() []int { return []int{p.pid()} }
		t.detail = detail
		return nil
	}
	t.teardown = func(ctx context.Context) error {
		if p == nil {
			return nil
		}
		return p.stop(syscall.SIGTERM, 5*time.Second)
	}
	return t
}

// moduleVersion returns the version of module path built into this
// program, or "(unknown version)".
func moduleVersion(path string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == path {
				return d.Version
			}
		}
	}
	return "(unknown version)"
}
