package wsconfig

// The rendered configs served by the real servers: requests through nginx,
// Apache and HAProxy to test backends on loopback, started with the same
// minimal main configs that Check writes.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// backend is a test node: it counts requests by method and path; GET
// /healthz answers 200, /busy 503, /close reads the request and closes
// the connection without an answer, anything else answers its name.
type backend struct {
	name string
	addr string
	mu   sync.Mutex
	hits map[string]int // "METHOD /path"
}

func startBackend(t *testing.T, name string) *backend {
	t.Helper()
	b := &backend{name: name, hits: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.addr = ln.Addr().String()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.URL.Path != "/healthz" {
			b.mu.Lock()
			b.hits[r.Method+" "+r.URL.Path]++
			b.mu.Unlock()
		}
		if r.URL.Path == "/busy" {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if r.URL.Path == "/close" {
			c, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				c.Close()
			}
			return
		}
		io.WriteString(w, b.name)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return b
}

func (b *backend) count(key string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.hits[key]
}

// closedAddr is a loopback address where nothing listens (see
// splitFreeAddr).
func closedAddr(t *testing.T) string { return splitFreeAddr(t) }

// splitFreeAddr returns a loopback address where nothing listens now,
// for a process that binds it later. The port is below Linux's ephemeral
// range (32768 on): a port the kernel hands out for ":0" to another test
// meanwhile is never one of these, and none is handed out twice here.
func splitFreeAddr(t *testing.T) string {
	t.Helper()
	for range 1000 {
		port := 20000 + int(nextPort.Add(1)%12000)
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		ln.Close()
		return ln.Addr().String()
	}
	t.Fatal("no free port from 20000 to 32000")
	return ""
}

// nextPort walks the ports splitFreeAddr tries, from a start of its own
// per process.
var nextPort = func() *atomic.Int64 {
	var p atomic.Int64
	p.Store(int64(os.Getpid()*7) % 12000)
	return &p
}()

// startFrontEnd renders s for m into a temporary directory, starts the
// real server on it in the foreground and returns its listener's address
// once it accepts connections. The server is killed when the test ends.
func startFrontEnd(t *testing.T, s Server, m Members) string {
	t.Helper()
	return startFrontEndWith(t, s, m, Options{})
}

// startFrontEndWith is startFrontEnd with the render's options o (its Dir
// and Listen are the test's own).
func startFrontEndWith(t *testing.T, s Server, m Members, o Options) string {
	t.Helper()
	listen := closedAddr(t)
	dir := t.TempDir()
	o.Dir, o.Listen = dir, listen
	files, err := Render(s, m, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, os.FileMode(f.Mode)); err != nil {
			t.Fatal(err)
		}
	}
	tmp := t.TempDir()
	var bin string
	var args []string
	switch s {
	case Nginx:
		if bin, err = findBinary("nginx", "apt-get install -y nginx", "nginx"); err != nil {
			t.Fatal(err)
		}
		args, err = nginxMain(tmp, filepath.Join(dir, FileNames(s)[0]))
		prepend(t, args[len(args)-1], "daemon off;\nmaster_process off;\n")
		args = args[2:] // without -t -q
	case Apache, ApacheJK:
		if bin, err = findBinary("Apache", "apt-get install -y apache2 libapache2-mod-jk", "apache2", "httpd"); err != nil {
			t.Fatal(err)
		}
		args, err = apacheMain(context.Background(), bin, tmp, s, dir)
		if os.Geteuid() == 0 {
			// Apache does not serve as root: its process becomes nobody.
			prepend(t, args[len(args)-1], "User #65534\nGroup #65534\n")
		}
		args = append([]string{"-X"}, args[1:]...) // one process, in the foreground
	case HAProxy:
		if bin, err = findBinary("HAProxy", "apt-get install -y haproxy", "haproxy"); err != nil {
			t.Fatal(err)
		}
		args, err = haproxyMain(tmp, filepath.Join(dir, FileNames(s)[0]))
		args = append([]string{"-db"}, args[1:]...) // in the foreground
	}
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = tmp
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			logs, _ := os.ReadFile(filepath.Join(tmp, "error.log"))
			t.Logf("%s output:\n%s\nerror.log:\n%s", s, out.String(), logs)
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.DialTimeout("tcp", listen, time.Second); err == nil {
			c.Close()
			return listen
		}
		select {
		case <-exited:
			t.Fatalf("%s %s exited:\n%s", bin, strings.Join(args, " "), out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not listen on %s after 10s", s, listen)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func prepend(t *testing.T, path, text string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append([]byte(text), data...), 0o644); err != nil {
		t.Fatal(err)
	}
}

// do sends one request on a connection of its own and returns the status.
func do(t *testing.T, method, url string) int {
	t.Helper()
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(`{"order":1}`)
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Close = true
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestLiveFrontEnds serves each rendered config with the real server in
// front of test backends a (lb factor 1), b (3), c (2, draining) and d (1,
// up but refusing connections, as a node killed with -9):
//
//   - every GET succeeds (d's refusals go to the next node), c gets none,
//     b gets about three times a's share;
//   - a POST whose node closed the connection without an answer reached
//     exactly one node: it is never sent again; nor is one answered 503
//     (Apache's failonstatus=503 takes the node out after the answer);
//   - nginx and HAProxy send such a GET to the next node; Apache's
//     mod_proxy does not.
//
// The last two each run on a front end of their own: nginx takes a node
// that failed a request out for 10 s, which would leave the next request
// no node to go to.
func TestLiveFrontEnds(t *testing.T) {
	for _, s := range []Server{Nginx, Apache, HAProxy} {
		t.Run(string(s), func(t *testing.T) {
			a, b, c := startBackend(t, "a"), startBackend(t, "b"), startBackend(t, "c")
			dead := closedAddr(t)
			m := Members{Cluster: "live", Source: "TestLiveFrontEnds", Nodes: []Member{
				{Name: "a", Gateway: a.addr, Admin: a.addr, LBFactor: 1},
				{Name: "b", Gateway: b.addr, Admin: b.addr, LBFactor: 3},
				{Name: "c", Gateway: c.addr, Admin: c.addr, LBFactor: 2, Down: true},
				{Name: "d", Gateway: dead, Admin: dead, LBFactor: 1},
			}}
			base := "http://" + startFrontEnd(t, s, m)
			const n = 120
			for i := range n {
				if code := do(t, "GET", base+"/hit"); code != 200 {
					t.Fatalf("GET %d: status %d", i, code)
				}
			}
			ha, hb, hc := a.count("GET /hit"), b.count("GET /hit"), c.count("GET /hit")
			t.Logf("%d GETs: a %d, b %d, c %d", n, ha, hb, hc)
			if hc != 0 || ha+hb != n {
				t.Errorf("the draining node got %d, a and b %d of %d", hc, ha+hb, n)
			}
			if hb < 2*ha || ha == 0 {
				t.Errorf("b (lb factor 3) got %d, a (1) %d: want about three times as many", hb, ha)
			}

			base = "http://" + startFrontEnd(t, s, m)
			if code := do(t, "POST", base+"/close"); code < 500 {
				t.Errorf("POST /close: status %d, want a 5xx", code)
			}
			if got := a.count("POST /close") + b.count("POST /close") + c.count("POST /close"); got != 1 {
				t.Errorf("a POST whose node closed without an answer reached %d nodes, want 1", got)
			}
			if code := do(t, "POST", base+"/busy"); code != http.StatusServiceUnavailable {
				t.Errorf("POST /busy: status %d, want the node's 503", code)
			}
			if got := a.count("POST /busy") + b.count("POST /busy") + c.count("POST /busy"); got != 1 {
				t.Errorf("a POST answered 503 reached %d nodes, want 1", got)
			}

			base = "http://" + startFrontEnd(t, s, m)
			if code := do(t, "GET", base+"/close"); code < 500 {
				t.Errorf("GET /close: status %d, want a 5xx", code)
			}
			gets := a.count("GET /close") + b.count("GET /close") + c.count("GET /close")
			t.Logf("a GET whose node closed without an answer reached %d nodes", gets)
			if s != Apache && gets < 2 {
				t.Errorf("%s did not send the GET to the next node (%d)", s, gets)
			}
		})
	}
}

// TestLiveModJK starts Apache with the apache-jk config: it starts (mod_jk
// reads workers.properties only then) and, with no AJP listener behind it
// yet, answers 503 from mod_jk's load balancer, which logs its workers.
func TestLiveModJK(t *testing.T) {
	m := Members{Cluster: "live", Source: "TestLiveModJK", Nodes: []Member{
		{Name: "a", Gateway: "127.0.0.1:1", AJP: closedAddr(t), LBFactor: 1},
		{Name: "b", Gateway: "127.0.0.1:1", AJP: closedAddr(t), LBFactor: 2, Down: true},
	}}
	base := "http://" + startFrontEnd(t, ApacheJK, m)
	if code := do(t, "GET", base+"/hit"); code != http.StatusServiceUnavailable {
		t.Errorf("GET through mod_jk without an AJP listener: %d, want 503", code)
	}
}
