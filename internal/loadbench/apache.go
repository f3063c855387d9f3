package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/template"
	"time"
)

// The front-door targets (issue 8, part 5) put a web server in front of
// one Portico node, or of the backend alone for comparison. They are not
// run by default: -targets names them.

// apacheModules is where Debian's apache2 and libapache2-mod-jk put their
// modules.
const apacheModules = "/usr/lib/apache2/modules"

// apacheBinary returns Apache's binary, or an error naming what is
// missing.
func apacheBinary() (string, error) {
	bin, err := exec.LookPath("apache2")
	if err != nil {
		bin = "/usr/sbin/apache2"
	}
	var missing []string
	if _, err := os.Stat(bin); err != nil {
		missing = append(missing, "apache2")
	}
	for _, m := range []string{"mod_mpm_event.so", "mod_authz_core.so", "mod_proxy.so", "mod_proxy_http.so", "mod_jk.so"} {
		if _, err := os.Stat(filepath.Join(apacheModules, m)); err != nil {
			missing = append(missing, m)
		}
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("%s missing (Debian: apt-get install -y apache2 libapache2-mod-jk)", strings.Join(missing, ", "))
	}
	return bin, nil
}

// apacheFront is what Apache forwards every path to.
type apacheFront struct {
	// Upstream is host:port of an HTTP server for mod_proxy; empty when
	// AJP is set.
	Upstream string
	// AJP is host:port of an AJP listener for mod_jk, with Secret the
	// worker's secret.
	AJP, Secret string
}

// apacheConfData is what the Apache templates are executed with.
type apacheConfData struct {
	Dir, Listen, Modules, User string
	apacheFront
	AJPHost, AJPPort string
}

// apacheConf runs Apache with mpm_event as nginx runs in the nginx target:
// one child process per core on this 2-core machine (two of 64 threads
// each, fixed: no child is started or stopped mid-run), keep-alive with no
// limit on requests per connection, no access log. It forwards every path
// either with mod_proxy_http, which keeps a pool of keep-alive
// connections to the upstream in each child (keepalive=On), or with
// mod_jk over AJP.
var apacheConf = template.Must(template.New("httpd.conf").Parse(`# written by loadbench
ServerRoot "{{.Dir}}"
DefaultRuntimeDir "{{.Dir}}"
PidFile "{{.Dir}}/httpd.pid"
Mutex file:{{.Dir}} default
Listen {{.Listen}}
ServerName 127.0.0.1
ErrorLog "{{.Dir}}/error.log"
LogLevel warn
{{- if .User}}
User {{.User}}
Group {{.User}}
{{- end}}
LoadModule mpm_event_module {{.Modules}}/mod_mpm_event.so
LoadModule authz_core_module {{.Modules}}/mod_authz_core.so
StartServers 2
ServerLimit 2
ThreadLimit 64
ThreadsPerChild 64
MaxRequestWorkers 128
MinSpareThreads 64
MaxSpareThreads 128
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 60
Timeout 60
{{- if .AJP}}
LoadModule jk_module {{.Modules}}/mod_jk.so
JkWorkersFile "{{.Dir}}/workers.properties"
JkShmFile "{{.Dir}}/jk.shm"
JkLogFile "{{.Dir}}/mod_jk.log"
JkLogLevel error
JkMount /* portico
{{- else}}
LoadModule proxy_module {{.Modules}}/mod_proxy.so
LoadModule proxy_http_module {{.Modules}}/mod_proxy_http.so
ProxyPass "/" "http://{{.Upstream}}/" keepalive=On
{{- end}}
`))

// workersConf is mod_jk's one worker: AJP to Portico with the secret and
// ping_mode=CI (a CPing after each connect and on idle connections, as
// wsconfig's apache-jk output has it); its connection pool is one
// connection per thread (mod_jk's default).
var workersConf = template.Must(template.New("workers.properties").Parse(`# written by loadbench
worker.list=portico
worker.portico.type=ajp13
worker.portico.host={{.AJPHost}}
worker.portico.port={{.AJPPort}}
worker.portico.secret={{.Secret}}
worker.portico.ping_mode=CI
`))

// writeApacheConf writes httpd.conf, and workers.properties for mod_jk,
// into d.Dir.
func writeApacheConf(d apacheConfData) error {
	files := map[string]*template.Template{"httpd.conf": apacheConf}
	if d.AJP != "" {
		var err error
		if d.AJPHost, d.AJPPort, err = net.SplitHostPort(d.AJP); err != nil {
			return fmt.Errorf("AJP address: %w", err)
		}
		if strings.ContainsAny(d.Secret, "\r\n") {
			return errors.New("AJP secret: no line breaks")
		}
		files["workers.properties"] = workersConf
	} else if d.Upstream == "" {
		return errors.New("apache: neither an upstream nor an AJP address")
	}
	for name, tmpl := range files {
		var b strings.Builder
		if err := tmpl.Execute(&b, d); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(d.Dir, name), []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// startApache starts Apache, named name (its files are in dir/name), in
// front of front, and waits until a GET of readyPath, sent with header,
// answers 200 with backendBody. It returns the process (the parent; its
// children are processTree's) and http://host:port of its listener.
// Started as root, Apache runs its children as www-data, as Debian's does.
func (e *env) startApache(ctx context.Context, name string, front apacheFront, readyPath string, header http.Header) (*proc, string, error) {
	bin, err := apacheBinary()
	if err != nil {
		return nil, "", err
	}
	listen, err := freePort()
	if err != nil {
		return nil, "", err
	}
	dir := filepath.Join(e.dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", err
	}
	d := apacheConfData{Dir: dir, Listen: listen, Modules: apacheModules, apacheFront: front}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("www-data")
		if err != nil {
			return nil, "", fmt.Errorf("running as root without a www-data user for Apache's children: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, "", err
		}
		d.User = "www-data"
	}
	if err := writeApacheConf(d); err != nil {
		return nil, "", err
	}
	p, err := e.start(name, exec.Command(bin, "-d", dir, "-f", filepath.Join(dir, "httpd.conf"), "-DFOREGROUND"))
	if err != nil {
		return nil, "", err
	}
	base := "http://" + listen
	if err := waitReady(ctx, p, base+readyPath, header, 10*time.Second, status200(backendBody)); err != nil {
		err = fmt.Errorf("%w\nApache error log:\n%s", err, tail(filepath.Join(dir, "error.log"), 20))
		if front.AJP != "" {
			err = fmt.Errorf("%w\nmod_jk log:\n%s", err, tail(filepath.Join(dir, "mod_jk.log"), 20))
		}
		return p, "", err
	}
	return p, base, nil
}

// apacheDetail describes a running Apache for the report.
func apacheDetail(p *proc, bin string) string {
	version := "Apache"
	for line := range strings.Lines(commandOutput(bin, "-v")) {
		if v, ok := strings.CutPrefix(line, "Server version: "); ok {
			version = strings.TrimSpace(v)
		}
	}
	return fmt.Sprintf("%s, mpm_event, %d processes (2 children × 64 threads)", version, len(processTree(p.pid())))
}

// apacheTarget is Apache in front of one Portico node (over HTTP with
// mod_proxy, or over AJP with mod_jk), or in front of the backend alone
// (direct).
func apacheTarget(name string, ajp, direct bool) *target {
	t := &target{name: name}
	switch {
	case direct:
		t.about = "wrk → Apache mod_proxy (keep-alive upstream pool) → backend"
	case ajp:
		t.about = "wrk → Apache mod_jk (AJP, ping_mode=CI, secret) → Portico as portico (--ajp-addr) → backend"
	default:
		t.about = "wrk → Apache mod_proxy (keep-alive upstream pool) → Portico as portico → backend"
	}
	var front, node *proc
	t.setup = func(ctx context.Context, e *env, t *target) error {
		bin, err := apacheBinary()
		if err != nil {
			return err
		}
		if direct {
			if front, t.url, err = e.startApache(ctx, name+"-apache", apacheFront{Upstream: strings.TrimPrefix(e.backendURL, "http://")}, "/hello", nil); err != nil {
				return err
			}
			t.url += "/hello"
			t.headers = []string{fakeKey}
			t.procs = func() []int { return processTree(front.pid()) }
			t.parts = []part{{"apache", func() []int { return processTree(front.pid()) }}}
			t.detail = apacheDetail(front, bin)
			return nil
		}
		var args []string
		var fr apacheFront
		if ajp {
			addr, err := freePort()
			if err != nil {
				return err
			}
			fr = apacheFront{AJP: addr, Secret: randomHex(16)}
			args = []string{"--ajp-addr", addr, "--ajp-secret", fr.Secret}
		}
		var gw, key, detail string
		if node, gw, key, detail, err = e.porticoNode(ctx, name+"-portico", args); err != nil {
			return err
		}
		if !ajp {
			fr.Upstream = gw
		}
		if front, t.url, err = e.startApache(ctx, name+"-apache", fr, "/bench/hello", keyHeader(key)); err != nil {
			return err
		}
		t.url += "/bench/hello"
		t.headers = []string{"X-API-Key: " + key}
		t.procs = func() []int { return append(processTree(front.pid()), node.pid()) }
		t.parts = []part{
			{"apache", func() []int { return processTree(front.pid()) }},
			{"portico", func() []int { return []int{node.pid()} }},
		}
		if ajp {
			detail = strings.ReplaceAll(detail, fr.Secret, "SECRET")
		}
		t.detail = apacheDetail(front, bin) + "; " + detail
		return nil
	}
	t.teardown = func(ctx context.Context) error { return stopFrontAndNode(front, node) }
	return t
}

// nginxPorticoTarget is nginx in front of one Portico node, beside the
// nginx target (nginx in front of the backend alone).
func nginxPorticoTarget() *target {
	t := &target{name: "nginx-portico", about: "wrk → nginx (keep-alive upstream pool) → Portico as portico → backend"}
	var front, node *proc
	t.setup = func(ctx context.Context, e *env, t *target) error {
		var gw, key, detail string
		var err error
		if node, gw, key, detail, err = e.porticoNode(ctx, t.name+"-portico", nil); err != nil {
			return err
		}
		if front, t.url, err = e.startNginx(ctx, t.name+"-nginx", []string{gw}, "/bench/hello", keyHeader(key)); err != nil {
			return err
		}
		t.url += "/bench/hello"
		t.headers = []string{"X-API-Key: " + key}
		t.procs = func() []int { return append(processTree(front.pid()), node.pid()) }
		t.parts = []part{
			{"nginx", func() []int { return processTree(front.pid()) }},
			{"portico", func() []int { return []int{node.pid()} }},
		}
		t.detail = nginxDetail(front) + "; " + detail
		return nil
	}
	t.teardown = func(ctx context.Context) error { return stopFrontAndNode(front, node) }
	return t
}

// stopFrontAndNode stops the front end, then the Portico node; either may
// be nil.
func stopFrontAndNode(front, node *proc) error {
	var errs []error
	if front != nil {
		errs = append(errs, front.stop(syscall.SIGTERM, 10*time.Second))
	}
	if node != nil {
		errs = append(errs, node.stop(syscall.SIGTERM, 15*time.Second))
	}
	return errors.Join(errs...)
}
