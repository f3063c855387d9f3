package wsconfig

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"testing"
	"time"
)

// listener is a test node's listener (gateway or admin) that keeps the
// request target of every request it gets, exactly as sent.
type listener struct {
	addr  string
	mu    sync.Mutex
	got   []string // "METHOD target"
	hosts []string // the Host of each, in the order of got
}

func startListener(t *testing.T, name string) *listener {
	t.Helper()
	l := &listener{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.addr = ln.Addr().String()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.URL.Path != HealthPath {
			l.mu.Lock()
			l.got = append(l.got, r.Method+" "+r.RequestURI)
			l.hosts = append(l.hosts, r.Host)
			l.mu.Unlock()
		}
		io.WriteString(w, name)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return l
}

func (l *listener) requests() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.got...)
}

// hostsGot returns the Host of every request the listener got.
func (l *listener) hostsGot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.hosts...)
}

func (l *listener) reset() {
	l.mu.Lock()
	l.got, l.hosts = nil, nil
	l.mu.Unlock()
}

// rawGet sends "GET target" as written, with Host front.test, on a
// connection of its own, and returns the status (0 when the server closed
// without one).
func rawGet(t *testing.T, addr, target string) int {
	t.Helper()
	return rawSend(t, addr, "GET "+target+" HTTP/1.1\r\nHost: front.test\r\n")
}

// rawSend sends head (a request line and headers, each ending in CRLF)
// with Connection: close and no body, on a connection of its own, and
// returns the status (0 when the server closed without one).
func rawSend(t *testing.T, addr, head string) int {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, head+"Connection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// underPortal reports whether a request target, decoded and cleaned as
// the admin listener's router takes it, is a portal path.
func underPortal(target string) bool {
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return false
	}
	p := path.Clean(u.Path)
	return p == strings.TrimSuffix(PortalPrefix, "/") || strings.HasPrefix(p+"/", PortalPrefix)
}

// TestLivePortal serves the --portal render of nginx, Apache and HAProxy
// in front of one node with a gateway and an admin listener of its own:
//
//   - the portal's pages, its static assets and its form posts go to the
//     admin listener;
//   - the console, the admin API and every other path go to the gateway,
//     never to the admin listener, nor does a path that only starts
//     like the prefix (/portalx, /Portal/);
//   - a target that climbs out of the prefix with dot segments, raw or
//     percent-encoded, never reaches the admin listener outside the
//     prefix: the front end cleans it first, or sends it to the
//     gateway, or refuses it.
func TestLivePortal(t *testing.T) {
	for _, s := range []Server{Nginx, Apache, HAProxy} {
		t.Run(string(s), func(t *testing.T) {
			gw, adm := startListener(t, "gateway"), startListener(t, "admin")
			m := Members{Cluster: "live", Source: "TestLivePortal", Nodes: []Member{
				{Name: "n1", Gateway: gw.addr, Admin: adm.addr, LBFactor: 1},
			}}
			front := startFrontEndWith(t, s, m, Options{Portal: true})
			base := "http://" + front

			for _, tc := range []struct {
				method, path string
				admin        bool
			}{
				{"GET", "/portal/", true},
				{"GET", "/portal/static/portal.css", true},
				{"GET", "/portal/static/console.css", true},
				{"GET", "/portal/apis/abc?x=1", true},
				{"POST", "/portal/login", true},
				{"POST", "/portal/apis/abc/try", true},
				{"GET", "/console/", false},
				{"GET", "/console/login", false},
				{"POST", "/console/users/new", false},
				{"GET", "/api/v1/users", false},
				{"POST", "/api/v1/tokens", false},
				{"GET", "/weather/today", false},
				{"GET", "/", false},
				{"GET", "/portalx/", false},
				{"GET", "/Portal/", false},
			} {
				gw.reset()
				adm.reset()
				if code := do(t, tc.method, base+tc.path); code != 200 {
					t.Errorf("%s %s: status %d", tc.method, tc.path, code)
				}
				want, other := gw, adm
				if tc.admin {
					want, other = adm, gw
				}
				if got := want.requests(); len(got) != 1 || !strings.HasSuffix(got[0], tc.path) {
					t.Errorf("%s %s: the %s listener got %v", tc.method, tc.path, map[bool]string{true: "admin", false: "gateway"}[tc.admin], got)
				}
				if got := other.requests(); len(got) != 0 {
					t.Errorf("%s %s also reached the other listener: %v", tc.method, tc.path, got)
				}
			}

			for _, target := range []string{
				"/portal/../console/",
				"/portal/../api/v1/users",
				"/portal/./../console/login",
				"/portal//../../console/",
				"/portal/%2e%2e/console/",
				"/portal/%2E%2E/api/v1/users",
				"/portal/.%2e/console/",
				"/portal/..%2fconsole/",
				"/portal/..%2Fapi%2Fv1%2Fusers",
				"/portal/%2e%2e%2fconsole/",
				"/portal/..\\console/",
				"/portal/..;/console/",
			} {
				adm.reset()
				gw.reset()
				code := rawGet(t, front, target)
				for _, got := range adm.requests() {
					if _, tgt, _ := strings.Cut(got, " "); !underPortal(tgt) {
						t.Errorf("GET %s reached the admin listener as %s: outside %s", target, tgt, PortalPrefix)
					}
				}
				t.Logf("GET %s: status %d; admin got %v, gateway got %v", target, code, adm.requests(), gw.requests())
			}
		})
	}
}

// doHost sends one request with Host host to the front end at addr, on a
// connection of its own, and returns the status and the Location header
// (redirects are not followed).
func doHost(t *testing.T, method, addr, host, path string) (int, string) {
	t.Helper()
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader("a=1")
	}
	req, err := http.NewRequest(method, "http://"+addr+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	req.Close = true
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s with Host %s: %v", method, path, host, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

// origin is what a browser keeps apart as a Host header's origin (for one
// scheme and port): the name in lower case, without the port.
func origin(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.ToLower(host)
}

// TestLivePortalHost serves the --portal --portal-host portal.test render
// of nginx, Apache (mod_proxy and mod_jk) and HAProxy in front of one node
// with a gateway and an admin listener of its own:
//
//   - with Host portal.test (any case, any port) the portal's pages, assets
//     and form posts reach the admin listener, and nothing else does: the
//     APIs, the console, the admin API, its health endpoint, / and
//     look-alikes of the prefix answer 404 and reach no listener;
//   - with any other Host (the front end's address, another name, names
//     that hold or extend portal.test) the prefix answers 404 and reaches
//     no listener, and every other path goes to the gateway (mod_jk, with no
//     AJP listener behind it, answers 503 instead: never the admin
//     listener);
//   - a target that climbs out of the prefix, raw or percent-encoded,
//     with Host portal.test never reaches the gateway, nor the admin
//     listener outside the prefix; with another Host it never reaches
//     the admin listener;
//   - over every request sent, including odd Host headers (a trailing dot,
//     a port, case), no origin got both the admin listener and the
//     gateway: a host name serves the portal or the APIs, never both.
func TestLivePortalHost(t *testing.T) {
	const portalHost = "portal.test"
	for _, s := range []Server{Nginx, Apache, ApacheJK, HAProxy} {
		t.Run(string(s), func(t *testing.T) {
			gw, adm := startListener(t, "gateway"), startListener(t, "admin")
			n := Member{Name: "n1", Gateway: gw.addr, Admin: adm.addr, LBFactor: 1}
			if s == ApacheJK {
				n.AJP = closedAddr(t)
			}
			m := Members{Cluster: "live", Source: "TestLivePortalHost", Nodes: []Member{n}}
			front := startFrontEndWith(t, s, m, Options{Portal: true, PortalHost: "Portal.Test"})
			_, port, _ := net.SplitHostPort(front)

			// served[origin] records which listeners the requests with a
			// Host of that origin reached.
			type reached struct{ admin, gateway bool }
			served := map[string]*reached{}
			send := func(method, host, path string) (code int, location string, admin, gateway []string) {
				t.Helper()
				gw.reset()
				adm.reset()
				code, location = doHost(t, method, front, host, path)
				admin, gateway = adm.requests(), gw.requests()
				r := served[origin(host)]
				if r == nil {
					r = &reached{}
					served[origin(host)] = r
				}
				r.admin = r.admin || len(admin) > 0
				r.gateway = r.gateway || len(gateway) > 0
				return code, location, admin, gateway
			}

			portalPaths := []struct{ method, path string }{
				{"GET", "/portal/"},
				{"GET", "/portal/static/portal.css"},
				{"GET", "/portal/apis/abc?x=1"},
				{"POST", "/portal/login"},
				{"POST", "/portal/apis/abc/try"},
			}
			otherPaths := []struct{ method, path string }{
				{"GET", "/weather/today"},
				{"POST", "/weather/orders"},
				{"GET", "/console/"},
				{"GET", "/console/login"},
				{"POST", "/console/users/new"},
				{"GET", "/api/v1/users"},
				{"POST", "/api/v1/tokens"},
				{"GET", HealthPath},
				{"GET", "/"},
				{"GET", "/portal"},
				{"GET", "/portalx/"},
				{"GET", "/Portal/"},
				{"GET", "/index.html"},
			}
			portalHosts := []string{portalHost, "PORTAL.Test", portalHost + ":" + port}
			apiHosts := []string{"front.test", front, "api.test", "portal.test.example", "xportal.test", "portal.testx", "portal-test"}

			for _, host := range portalHosts {
				for _, tc := range portalPaths {
					code, _, admin, gateway := send(tc.method, host, tc.path)
					if code != 200 || len(admin) != 1 || !strings.HasSuffix(admin[0], tc.path) || len(gateway) != 0 {
						t.Errorf("Host %s, %s %s: status %d, admin got %v, gateway got %v; want 200 from the admin listener alone", host, tc.method, tc.path, code, admin, gateway)
					}
				}
				for _, tc := range otherPaths {
					code, location, admin, gateway := send(tc.method, host, tc.path)
					if code == 301 && tc.path == "/portal" && strings.HasSuffix(location, "/portal/") {
						code = 404 // nginx's redirect to the prefix, on the portal's host
					}
					if code != 404 || len(admin) != 0 || len(gateway) != 0 {
						t.Errorf("Host %s, %s %s: status %d, admin got %v, gateway got %v; want 404 from the front end", host, tc.method, tc.path, code, admin, gateway)
					}
				}
			}
			if got := adm.hostsGot(); len(got) != 0 && origin(got[0]) != portalHost {
				t.Errorf("the admin listener got Host %q", got[0])
			}

			for i, host := range apiHosts {
				for _, tc := range portalPaths {
					code, _, admin, gateway := send(tc.method, host, tc.path)
					if code != 404 || len(admin) != 0 || len(gateway) != 0 {
						t.Errorf("Host %s, %s %s: status %d, admin got %v, gateway got %v; want 404 from the front end", host, tc.method, tc.path, code, admin, gateway)
					}
				}
				if s == ApacheJK && i >= 2 {
					continue // mod_jk takes a while for each 503
				}
				for _, tc := range otherPaths[:7] { // the APIs, the console, the admin API
					code, _, admin, gateway := send(tc.method, host, tc.path)
					switch {
					case len(admin) != 0:
						t.Errorf("Host %s, %s %s reached the admin listener: %v", host, tc.method, tc.path, admin)
					case s == ApacheJK:
						if code != 503 {
							t.Errorf("Host %s, %s %s: status %d, want mod_jk's 503 (no AJP listener)", host, tc.method, tc.path, code)
						}
					case code != 200 || len(gateway) != 1 || !strings.HasSuffix(gateway[0], tc.path):
						t.Errorf("Host %s, %s %s: status %d, gateway got %v; want 200 from the gateway", host, tc.method, tc.path, code, gateway)
					}
				}
			}

			// Odd Host headers: whatever each server makes of them, no
			// origin reaches both listeners.
			for _, host := range []string{portalHost + ".", "PORTAL.TEST.:" + port, "portal.test:", "portal.test:0", "portal.test:99999"} {
				for _, path := range []string{"/portal/", "/weather/today", "/console/"} {
					code, _, admin, gateway := send("GET", host, path)
					if len(admin) != 0 && path != "/portal/" {
						t.Errorf("Host %s, GET %s reached the admin listener: %v", host, path, admin)
					}
					t.Logf("Host %s, GET %s: status %d; admin got %v, gateway got %v", host, path, code, admin, gateway)
				}
			}

			// Two Host headers, or an absolute-form target that names
			// another host than the Host header (no browser sends either):
			// the admin listener sees only the portal's host name, the
			// gateway never sees it.
			for _, head := range []string{
				"GET /portal/ HTTP/1.1\r\nHost: front.test\r\nHost: portal.test\r\n",
				"GET /portal/ HTTP/1.1\r\nHost: portal.test\r\nHost: front.test\r\n",
				"GET /weather/today HTTP/1.1\r\nHost: portal.test\r\nHost: front.test\r\n",
				"GET http://portal.test/portal/ HTTP/1.1\r\nHost: front.test\r\n",
				"GET http://front.test/portal/ HTTP/1.1\r\nHost: portal.test\r\n",
				"GET http://portal.test/weather/today HTTP/1.1\r\nHost: front.test\r\n",
				"GET http://front.test/weather/today HTTP/1.1\r\nHost: portal.test\r\n",
			} {
				adm.reset()
				gw.reset()
				code := rawSend(t, front, head)
				for _, h := range adm.hostsGot() {
					if origin(h) != portalHost {
						t.Errorf("%q reached the admin listener with Host %q", head, h)
					}
				}
				for _, h := range gw.hostsGot() {
					if origin(h) == portalHost {
						t.Errorf("%q reached the gateway with Host %q", head, h)
					}
				}
				t.Logf("%q: status %d; admin got %v %v, gateway got %v %v", head, code, adm.requests(), adm.hostsGot(), gw.requests(), gw.hostsGot())
			}

			climbs := []string{
				"/portal/../console/",
				"/portal/../api/v1/users",
				"/portal/../weather/today",
				"/portal/./../console/login",
				"/portal//../../console/",
				"/portal/%2e%2e/console/",
				"/portal/%2E%2E/api/v1/users",
				"/portal/.%2e/weather/today",
				"/portal/..%2fconsole/",
				"/portal/..%2Fapi%2Fv1%2Fusers",
				"/portal/%2e%2e%2fweather/today",
				"/portal/..\\console/",
				"/portal/..;/console/",
				"/%70ortal/",
				"/portal%2f../console/",
			}
			for _, host := range []string{portalHost, "front.test"} {
				for _, target := range climbs {
					adm.reset()
					gw.reset()
					code := rawSend(t, front, "GET "+target+" HTTP/1.1\r\nHost: "+host+"\r\n")
					for _, got := range adm.requests() {
						if _, tgt, _ := strings.Cut(got, " "); host != portalHost || !underPortal(tgt) {
							t.Errorf("Host %s, GET %s reached the admin listener as %s", host, target, tgt)
						}
					}
					if got := gw.requests(); host == portalHost && len(got) != 0 {
						t.Errorf("Host %s, GET %s reached the gateway as %v", host, target, got)
					}
					t.Logf("Host %s, GET %s: status %d; admin got %v, gateway got %v", host, target, code, adm.requests(), gw.requests())
				}
			}

			for o, r := range served {
				if r.admin && r.gateway {
					t.Errorf("origin %s reached both the admin listener and the gateway", o)
				}
			}
			if r := served[portalHost]; r == nil || !r.admin {
				t.Errorf("%s never reached the admin listener", portalHost)
			}
		})
	}
}
