package ajp_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/portico-gw/portico/ajp"
)

// The tests here run a real Apache httpd with mod_jk and mod_proxy_ajp
// (Debian's apache2 and libapache2-mod-jk; scripts/test.sh installs
// them) on free loopback ports, in a directory of its own, as the test's
// own process, in front of an ajp.Server.

const apacheModules = "/usr/lib/apache2/modules"

// apacheBinary returns Apache's binary, or skips the test when Apache or
// one of the modules is not installed.
func apacheBinary(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("apache2")
	if err != nil {
		bin = "/usr/sbin/apache2"
	}
	missing := []string{}
	if _, err := os.Stat(bin); err != nil {
		missing = append(missing, "apache2")
	}
	for _, m := range []string{"mod_jk.so", "mod_proxy_ajp.so", "mod_mpm_event.so"} {
		if _, err := os.Stat(filepath.Join(apacheModules, m)); err != nil {
			missing = append(missing, m)
		}
	}
	if len(missing) > 0 {
		t.Skipf("Apache with mod_jk is not installed (%s missing): apt-get install -y apache2 libapache2-mod-jk", strings.Join(missing, ", "))
	}
	return bin
}

var apacheConf = template.Must(template.New("httpd.conf").Parse(`
ServerRoot "{{.Dir}}"
DefaultRuntimeDir "{{.Dir}}"
PidFile "{{.Dir}}/httpd.pid"
Mutex file:{{.Dir}} default
Listen 127.0.0.1:{{.Port}}
ServerName 127.0.0.1
ErrorLog "{{.Dir}}/error.log"
LogLevel warn
{{if .User}}User {{.User}}
Group {{.Group}}
{{end}}
LoadModule mpm_event_module {{.Modules}}/mod_mpm_event.so
LoadModule authz_core_module {{.Modules}}/mod_authz_core.so
LoadModule jk_module {{.Modules}}/mod_jk.so
LoadModule proxy_module {{.Modules}}/mod_proxy.so
LoadModule proxy_ajp_module {{.Modules}}/mod_proxy_ajp.so
StartServers 1
ServerLimit 1
ThreadsPerChild 16
MaxRequestWorkers 16
MinSpareThreads 1
MaxSpareThreads 16

JkWorkersFile "{{.Dir}}/workers.properties"
JkShmFile "{{.Dir}}/jk.shm"
JkLogFile "{{.Dir}}/mod_jk.log"
JkLogLevel info
JkMount /jk/* lb
JkMount /jk-nosecret/* nosecret

ProxyIOBufferSize {{.PacketSize}}
ProxyPass "/pa/" "ajp://{{.AJP}}/pa/" secret={{.Secret}}
ProxyPass "/pa-nosecret/" "ajp://{{.AJP}}/pa-nosecret/"
`))

var workersConf = template.Must(template.New("workers.properties").Parse(`
worker.list=lb,nosecret
worker.portico.type=ajp13
worker.portico.host={{.AJPHost}}
worker.portico.port={{.AJPPort}}
worker.portico.secret={{.Secret}}
worker.portico.ping_mode=A
worker.portico.lbfactor=1
worker.portico.max_packet_size={{.PacketSize}}
worker.lb.type=lb
worker.lb.balance_workers=portico
worker.nosecret.type=ajp13
worker.nosecret.host={{.AJPHost}}
worker.nosecret.port={{.AJPPort}}
worker.nosecret.max_packet_size={{.PacketSize}}
`))

// startApache runs Apache in front of the AJP server at ajpAddr and
// returns its base URL; it is stopped when the test ends.
func startApache(t *testing.T, ajpAddr, secret string, packetSize int) string {
	bin := apacheBinary(t)
	// Not t.TempDir: Apache's children (www-data when the test runs as
	// root) must reach the directory.
	dir, err := os.MkdirTemp("", "portico-apache-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	host, ajpPort, _ := net.SplitHostPort(ajpAddr)
	data := map[string]any{"Dir": dir, "Port": port, "Modules": apacheModules, "AJP": ajpAddr,
		"AJPHost": host, "AJPPort": ajpPort, "Secret": secret, "PacketSize": packetSize}
	if os.Geteuid() == 0 {
		// Apache's children do not run as root: give them the directory.
		u, err := user.Lookup("www-data")
		if err != nil {
			t.Skipf("running as root without a www-data user for Apache's children: %v", err)
		}
		data["User"], data["Group"] = "www-data", "www-data"
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		os.Chown(dir, uid, gid)
	}
	for name, tmpl := range map[string]*template.Template{"httpd.conf": apacheConf, "workers.properties": workersConf} {
		var b bytes.Buffer
		if err := tmpl.Execute(&b, data); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := os.Create(filepath.Join(dir, "stdout.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-d", dir, "-f", filepath.Join(dir, "httpd.conf"), "-DFOREGROUND")
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		out.Close()
		// mod_jk and mod_proxy_ajp say so when a packet is not as they
		// expect.
		for _, name := range []string{"error.log", "mod_jk.log"} {
			b, _ := os.ReadFile(filepath.Join(dir, name))
			for line := range strings.Lines(string(b)) {
				if strings.Contains(line, "[error]") || strings.Contains(line, "ajp:error]") {
					t.Errorf("%s: %s", name, line)
				}
			}
		}
		if t.Failed() {
			for _, name := range []string{"stdout.log", "error.log", "mod_jk.log"} {
				b, _ := os.ReadFile(filepath.Join(dir, name))
				t.Logf("%s:\n%s", name, tail(b, 4000))
			}
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case err := <-exited:
			b, _ := os.ReadFile(filepath.Join(dir, "stdout.log"))
			e, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("apache exited: %v\n%s\n%s", err, b, e)
		default:
		}
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			return base
		}
		if time.Now().After(deadline) {
			t.Fatalf("apache did not listen: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// info is what the AJP server's /info handler answers.
type info struct {
	Method, RequestURI, Host, RemoteAddr, Proto string
	TLS                                         bool
	Header                                      http.Header
	ContentLength                               int64
}

// apacheHandler: /*/echo echoes the body as it reads it; /*/fields
// answers each X-F-* field as X-R-*; /*/stream sends
// five events, each after the client saw the one before; /*/info
// describes the request.
func apacheHandler(seen chan struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/echo"):
			w.Header().Set("Content-Type", "application/octet-stream")
			io.Copy(w, r.Body)
		case strings.HasSuffix(r.URL.Path, "/fields"):
			for name, vs := range r.Header {
				if strings.HasPrefix(name, "X-F-") {
					w.Header()["X-R-"+name[4:]] = vs
				}
			}
		case strings.HasSuffix(r.URL.Path, "/stream"):
			w.Header().Set("Content-Type", "text/event-stream")
			for i := range 5 {
				fmt.Fprintf(w, "data: %d\n\n", i)
				w.(http.Flusher).Flush()
				if i < 4 {
					select {
					case <-seen:
					case <-time.After(10 * time.Second):
						fmt.Fprintf(w, "data: event %d not seen\n\n", i)
						return
					}
				}
			}
		default:
			io.Copy(io.Discard, r.Body)
			json.NewEncoder(w).Encode(info{Method: r.Method, RequestURI: r.RequestURI, Host: r.Host,
				RemoteAddr: r.RemoteAddr, Proto: r.Proto, TLS: r.TLS != nil, Header: r.Header, ContentLength: r.ContentLength})
		}
	})
}

// TestApache runs requests through a real Apache, over mod_jk (an lb
// worker with a secret and ping_mode=A, as wsconfig writes it) and over
// mod_proxy_ajp, at the smallest and the largest packet size.
func TestApache(t *testing.T) {
	apacheBinary(t)
	for _, size := range []int{ajp.DefaultPacketSize, ajp.MaxPacketSize} {
		t.Run(fmt.Sprint("packet size ", size), func(t *testing.T) { testApache(t, size) })
	}
}

func testApache(t *testing.T, packetSize int) {
	const secret = "apache-test-secret-0123456789"
	seen := make(chan struct{}, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	counting := &countingListener{Listener: ln}
	var log logBuffer
	s := &ajp.Server{Handler: apacheHandler(seen), Secret: secret, Logger: log.logger(), PacketSize: packetSize}
	served := make(chan error, 1)
	go func() { served <- s.Serve(counting) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		<-served
	})
	base := startApache(t, ln.Addr().String(), secret, packetSize)

	var clientAddr string
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil {
				clientAddr = c.LocalAddr().String()
			}
			return c, err
		},
		MaxIdleConnsPerHost: 4,
	}}

	for _, prefix := range []string{"/jk", "/pa"} {
		name := prefix[1:]
		t.Run(name+" info", func(t *testing.T) {
			req, _ := http.NewRequest("PATCH", base+prefix+"/info?q=1&r=%20x", strings.NewReader("abc"))
			req.Header.Set("X-Api-Key", "k-123")
			req.Header.Add("X-Multi", "one") // Apache joins the two
			req.Header.Add("X-Multi", "two")
			req.Header.Set("Cookie", "a=1; b=2")
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var got info
			if err := json.NewDecoder(res.Body).Decode(&got); err != nil || res.StatusCode != 200 {
				t.Fatalf("%d: %v", res.StatusCode, err)
			}
			if got.Method != "PATCH" || got.RequestURI != prefix+"/info?q=1&r=%20x" || got.TLS || got.ContentLength != 3 {
				t.Errorf("%+v", got)
			}
			if got.RemoteAddr != clientAddr {
				t.Errorf("RemoteAddr %q, the client is %q", got.RemoteAddr, clientAddr)
			}
			if !strings.HasPrefix(got.Host, "127.0.0.1:") || got.Header.Get("X-Api-Key") != "k-123" ||
				strings.Join(got.Header.Values("X-Multi"), ", ") != "one, two" || got.Header.Get("Cookie") != "a=1; b=2" {
				t.Errorf("host %q, fields %v", got.Host, got.Header)
			}
		})
		for _, n := range sizes {
			for _, chunked := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s echo %d bytes chunked %v", name, n, chunked), func(t *testing.T) {
					body := pattern(n)
					var rd io.Reader = bytes.NewReader(body)
					if chunked {
						rd = io.MultiReader(rd) // no length known: sent chunked
					}
					req, _ := http.NewRequest("POST", base+prefix+"/echo", rd)
					res, err := client.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					got, err := io.ReadAll(res.Body)
					res.Body.Close()
					if err != nil || res.StatusCode != 200 || !bytes.Equal(got, body) {
						t.Fatalf("%d, %d bytes back, %v", res.StatusCode, len(got), err)
					}
				})
			}
		}
		t.Run(name+" stream", func(t *testing.T) {
			res, err := client.Get(base + prefix + "/stream")
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			br := bufio.NewReader(res.Body)
			for i := range 5 {
				line, err := br.ReadString('\n')
				if err != nil || line != fmt.Sprintf("data: %d\n", i) {
					t.Fatalf("event %d: %q %v", i, line, err)
				}
				br.ReadString('\n')
				if i < 4 {
					seen <- struct{}{}
				}
			}
		})
		t.Run(name+" many long fields", func(t *testing.T) {
			count, length := 20, 200 // about 4.5 KB each way
			if packetSize == ajp.MaxPacketSize {
				count, length = 90, 300 // Apache takes 100 fields at most
			}
			req, _ := http.NewRequest("GET", base+prefix+"/fields", nil)
			for i := range count {
				req.Header.Set(fmt.Sprint("X-F-", i), strings.Repeat(string(rune('a'+i%26)), length))
			}
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				t.Fatalf("status %d", res.StatusCode)
			}
			for i := range count {
				if got, want := res.Header.Get(fmt.Sprint("X-R-", i)), req.Header.Get(fmt.Sprint("X-F-", i)); got != want {
					t.Fatalf("field %d: %d bytes, want %d", i, len(got), len(want))
				}
			}
		})
		t.Run(name+" without the secret", func(t *testing.T) {
			res, err := client.Get(base + prefix + "-nosecret/info")
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusForbidden {
				t.Fatalf("status %d", res.StatusCode)
			}
		})
	}
	if !strings.Contains(log.String(), "no secret") {
		t.Errorf("refusals not logged: %s", log.String())
	}
	requests := 2 * (1 + 2*len(sizes) + 3)
	if n := counting.n.Load(); n > int64(requests)/2 {
		t.Errorf("%d AJP connections for %d requests", n, requests)
	}
	t.Logf("%d AJP connections for %d requests", counting.n.Load(), requests)
}
