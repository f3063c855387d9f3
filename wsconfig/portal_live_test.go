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
	addr string
	mu   sync.Mutex
	got  []string // "METHOD target"
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

func (l *listener) reset() {
	l.mu.Lock()
	l.got = nil
	l.mu.Unlock()
}

// rawGet sends "GET target" as written, on a connection of its own, and
// returns the status (0 when the server closed without one).
func rawGet(t *testing.T, addr, target string) int {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET "+target+" HTTP/1.1\r\nHost: front.test\r\nConnection: close\r\n\r\n")
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
