package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"text/template"
	"time"
)

// nginxConf is a plain keep-alive reverse proxy: one upstream with a pool
// of idle connections, HTTP/1.1 to the backend, no access log. Two
// settings differ from nginx's defaults, both so that nginx runs at its
// best and the comparison is not flattered: worker_processes auto (one
// worker per core; Portico gets every core too, GOMAXPROCS unset), and
// keepalive_requests raised from 1000 so that nginx does not close client
// or upstream connections mid-run, which Portico does not do either.
var nginxConf = template.Must(template.New("nginx.conf").Parse(`# written by loadbench
worker_processes auto;
pid {{.Dir}}/nginx.pid;
error_log {{.Dir}}/nginx-error.log warn;

events {
    worker_connections 4096;
}

http {
    access_log off;
    client_body_temp_path {{.Dir}}/nginx-tmp/body;
    proxy_temp_path {{.Dir}}/nginx-tmp/proxy;
    fastcgi_temp_path {{.Dir}}/nginx-tmp/fastcgi;
    uwsgi_temp_path {{.Dir}}/nginx-tmp/uwsgi;
    scgi_temp_path {{.Dir}}/nginx-tmp/scgi;
    keepalive_requests 1000000;

    upstream backend {
{{- range .Servers}}
        server {{.}};
{{- end}}
        keepalive 64;
        keepalive_requests 1000000;
    }

    server {
        listen {{.Listen}};
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
`))

// nginxTarget is nginx as a keep-alive reverse proxy in front of the
// backend.
func nginxTarget() *target {
	t := &target{name: "nginx", about: "wrk → nginx (keep-alive reverse proxy) → backend"}
	var p *proc
	t.setup = func(ctx context.Context, e *env, t *target) error {
		var err error
		p, t.url, err = e.startNginx(ctx, "nginx", []string{strings.TrimPrefix(e.backendURL, "http://")}, "/hello", nil)
		if err != nil {
			return err
		}
		t.url += "/hello"
		t.headers = []string{fakeKey}
		t.procs = func() []int { return processTree(p.pid()) }
		t.detail = nginxDetail(p)
		return nil
	}
	t.teardown = func(ctx context.Context) error {
		if p == nil {
			return nil
		}
		// SIGTERM: fast shutdown; wrk's connections are gone by now.
		return p.stop(syscall.SIGTERM, 5*time.Second)
	}
	return t
}

// startNginx starts nginx, named name (its files are in dir/name), as a
// keep-alive reverse proxy to the upstream servers (host:port each, taken
// round robin), and waits until a GET of readyPath, sent with header,
// answers 200 with backendBody. It returns the process and
// http://host:port of its listener.
func (e *env) startNginx(ctx context.Context, name string, servers []string, readyPath string, header http.Header) (*proc, string, error) {
	listen, err := freePort()
	if err != nil {
		return nil, "", err
	}
	dir := filepath.Join(e.dir, name)
	if err := os.MkdirAll(filepath.Join(dir, "nginx-tmp"), 0o755); err != nil {
		return nil, "", err
	}
	conf := filepath.Join(dir, "nginx.conf")
	var b strings.Builder
	err = nginxConf.Execute(&b, map[string]any{
		"Dir":     dir,
		"Servers": servers,
		"Listen":  listen,
	})
	if err != nil {
		return nil, "", err
	}
	if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
		return nil, "", err
	}
	// -e: the error log before the config is read (nginx ≥ 1.19.5);
	// otherwise nginx first opens the system's.
	p, err := e.start(name, exec.Command("nginx",
		"-c", conf, "-p", dir, "-e", filepath.Join(dir, "nginx-error.log"), "-g", "daemon off;"))
	if err != nil {
		return nil, "", err
	}
	base := "http://" + listen
	err = waitReady(ctx, p, base+readyPath, header, 10*time.Second, status200(backendBody))
	if err != nil {
		return p, "", fmt.Errorf("%w\nnginx error log:\n%s", err, tail(filepath.Join(dir, "nginx-error.log"), 20))
	}
	return p, base, nil
}

// nginxDetail describes a running nginx for the report.
func nginxDetail(p *proc) string {
	version := strings.TrimPrefix(firstLine(commandOutput("nginx", "-v")), "nginx version: ")
	return fmt.Sprintf("%s, worker_processes auto = %d workers", version, nginxWorkers(p.pid()))
}

// nginxWorkers returns the number of nginx worker processes under the
// master pid.
func nginxWorkers(master int) int {
	return len(processTree(master)) - 1
}
