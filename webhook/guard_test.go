package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// TestRefusedRanges: the address classes a webhook may not reach, in
// their IPv4, IPv4-mapped, NAT64 and zoned forms, and what AllowCIDRs lets
// through.
func TestRefusedRanges(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		allow  []string
		reason string // "" allowed
	}{
		{addr: "8.8.8.8"},
		{addr: "1.1.1.1"},
		{addr: "172.32.0.1"},
		{addr: "100.128.0.1"},
		{addr: "2606:4700:4700::1111"},
		{addr: "::ffff:8.8.8.8"},
		{addr: "64:ff9b::808:808"}, // NAT64 of 8.8.8.8: what DNS64 hands IPv6-only hosts
		{addr: "127.0.0.1", reason: "loopback"},
		{addr: "127.1.2.3", reason: "loopback"},
		{addr: "10.1.2.3", reason: "private"},
		{addr: "172.16.0.1", reason: "private"},
		{addr: "172.31.255.255", reason: "private"},
		{addr: "192.168.1.1", reason: "private"},
		{addr: "169.254.169.254", reason: "link-local"},
		{addr: "100.64.0.1", reason: "shared (CGNAT)"},
		{addr: "0.0.0.0", reason: "this-network"},
		{addr: "192.0.0.170", reason: "IETF protocol assignment"},
		{addr: "198.18.0.1", reason: "benchmarking"},
		{addr: "203.0.113.9", reason: "documentation"},
		{addr: "224.0.0.1", reason: "multicast"},
		{addr: "255.255.255.255", reason: "reserved"},
		{addr: "::", reason: "unspecified"},
		{addr: "::1", reason: "loopback"},
		{addr: "fe80::1", reason: "link-local"},
		{addr: "fe80::1%eth0", reason: "link-local"},
		{addr: "fc00::1", reason: "unique-local"},
		{addr: "fd00:ec2::254", reason: "unique-local"},
		{addr: "ff02::1", reason: "multicast"},
		{addr: "fec0::1", reason: "site-local"},
		{addr: "::ffff:127.0.0.1", reason: "loopback"},
		{addr: "::ffff:169.254.169.254", reason: "link-local"},
		{addr: "::127.0.0.1", reason: "reserved"}, // IPv4-compatible, deprecated
		{addr: "64:ff9b::7f00:1", reason: "NAT64 form of loopback"},
		{addr: "64:ff9b::a9fe:a9fe", reason: "NAT64 form of link-local"},
		{addr: "64:ff9b:1::a00:1", reason: "local-use NAT64"},
		{addr: "2002:7f00:1::1", reason: "6to4"},
		{addr: "2001::1", reason: "IETF protocol assignment"}, // Teredo
		{addr: "2001:db8::1", reason: "documentation"},
		{addr: "100::1", reason: "reserved"}, // discard-only
		{addr: "127.0.0.1", allow: []string{"127.0.0.0/8"}},
		{addr: "::ffff:127.0.0.1", allow: []string{"127.0.0.0/8"}},
		{addr: "127.0.0.1", allow: []string{"::ffff:127.0.0.0/104"}},
		{addr: "64:ff9b::7f00:1", allow: []string{"127.0.0.1/32"}},
		{addr: "fe80::1%eth0", allow: []string{"fe80::/10"}},
		{addr: "10.1.2.3", allow: []string{"10.1.2.0/24"}},
		{addr: "10.1.3.3", allow: []string{"10.1.2.0/24"}, reason: "private"},
		{addr: "::1", allow: []string{"127.0.0.0/8"}, reason: "loopback"},
		{addr: "169.254.169.254", allow: []string{"0.0.0.0/0"}},
	} {
		var allow []netip.Prefix
		for _, p := range tc.allow {
			allow = append(allow, netip.MustParsePrefix(p))
		}
		if got := newGuard(allow, nil).refused(netip.MustParseAddr(tc.addr)); got != tc.reason {
			t.Errorf("%s allowing %v: refused %q, want %q", tc.addr, tc.allow, got, tc.reason)
		}
	}
}

// hookServer is a webhook endpoint that counts the requests it gets.
type hookServer struct {
	*httptest.Server
	hits atomic.Int64
}

func startHook(t *testing.T, network, addr string, h http.HandlerFunc) *hookServer {
	t.Helper()
	l, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("listen %s: %v", addr, err)
	}
	s := &hookServer{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		if h != nil {
			h(w, r)
		}
	}))
	s.Listener.Close()
	s.Listener = l
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// lockedBuffer collects log output written from the workers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// deliver sends one notification to each URL (one user per URL) with c,
// waits for all deliveries to end, and returns the Sender and its log.
func deliver(t *testing.T, c Config, urls ...string) (*Sender, string) {
	t.Helper()
	var logs lockedBuffer
	c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	c.Users = func(id string) *portico.User {
		var i int
		fmt.Sscan(id, &i)
		return &portico.User{ID: id, WebhookURL: urls[i]}
	}
	c.Backoff = time.Millisecond
	s := New(c)
	for i := range urls {
		s.Send(&portico.Notification{ID: "n", Kind: portico.NotifyEndpointDown, Publisher: fmt.Sprint(i)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s.Close(ctx)
	return s, logs.String()
}

// TestInternalNotDelivered: a webhook aimed at loopback, by IPv4, IPv6,
// the name localhost or a name whose DNS answer is loopback, reaches
// nothing and counts as failed; AllowCIDRs covering loopback lets it
// through.
func TestInternalNotDelivered(t *testing.T) {
	v4 := startHook(t, "tcp", "127.0.0.1:0", nil)
	v6 := startHook(t, "tcp", "[::1]:0", nil)
	dns := startDNS(t)
	dns.set("127.0.0.1")
	_, port, _ := net.SplitHostPort(v4.Listener.Addr().String())
	urls := []string{
		v4.URL + "/a",
		v6.URL + "/b",
		"http://localhost:" + port + "/c",
		"http://hook.test:" + port + "/d",
		"http://[::ffff:127.0.0.1]:" + port + "/e",
	}
	s, logs := deliver(t, Config{Resolver: dns.resolver()}, urls...)
	if n := v4.hits.Load() + v6.hits.Load(); n != 0 {
		t.Errorf("internal webhooks got %d requests", n)
	}
	if s.Delivered.Load() != 0 || s.Failed.Load() != int64(len(urls)) {
		t.Errorf("delivered %d failed %d, want 0 and %d", s.Delivered.Load(), s.Failed.Load(), len(urls))
	}
	if c := strings.Count(logs, "loopback address"); c != len(urls) {
		t.Errorf("%d refusals logged, want %d:\n%s", c, len(urls), logs)
	}

	s, logs = deliver(t, Config{Resolver: dns.resolver(), AllowCIDRs: loopback}, urls...)
	if v4.hits.Load() != 4 || v6.hits.Load() != 1 || s.Delivered.Load() != int64(len(urls)) || s.Failed.Load() != 0 {
		t.Errorf("allowed: hits %d+%d, delivered %d failed %d\n%s", v4.hits.Load(), v6.hits.Load(), s.Delivered.Load(), s.Failed.Load(), logs)
	}
}

// TestRebinding: a name that resolved to a public address when the URL
// was checked and to loopback when the webhook is sent is refused at the
// dial.
func TestRebinding(t *testing.T) {
	hook := startHook(t, "tcp", "127.0.0.1:0", nil)
	dns := startDNS(t)
	_, port, _ := net.SplitHostPort(hook.Listener.Addr().String())
	u := "http://rebind.test:" + port + "/hook"
	dns.set("8.8.8.8")
	c := Config{Resolver: dns.resolver()}
	s := New(c)
	if err := s.CheckURL(t.Context(), u); err != nil {
		t.Fatalf("CheckURL with a public answer: %v", err)
	}
	s.Close(t.Context())
	dns.set("127.0.0.1")
	s, logs := deliver(t, c, u)
	if hook.hits.Load() != 0 || s.Failed.Load() != 1 || !strings.Contains(logs, "refused: 127.0.0.1 is a loopback address") {
		t.Errorf("after rebinding: hits %d failed %d\n%s", hook.hits.Load(), s.Failed.Load(), logs)
	}
}

// TestRedirectNotFollowed: a webhook answering with a redirect, to an
// internal address or anywhere, is a failed delivery; the target is not
// asked.
func TestRedirectNotFollowed(t *testing.T) {
	inside := startHook(t, "tcp", "[::1]:0", nil)
	for _, code := range []int{301, 302, 303, 307, 308} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			hook := startHook(t, "tcp", "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, inside.URL+"/metadata", code)
			})
			s, logs := deliver(t, Config{AllowCIDRs: loopback[:1]}, hook.URL)
			if inside.hits.Load() != 0 || hook.hits.Load() != 3 || s.Failed.Load() != 1 || s.Delivered.Load() != 0 {
				t.Errorf("hits: hook %d, redirect target %d; failed %d delivered %d", hook.hits.Load(), inside.hits.Load(), s.Failed.Load(), s.Delivered.Load())
			}
			if !strings.Contains(logs, "redirects are not followed") {
				t.Errorf("log: %s", logs)
			}
		})
	}
	// Even when the target is allowed too.
	hook := startHook(t, "tcp", "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, inside.URL, http.StatusTemporaryRedirect)
	})
	if s, _ := deliver(t, Config{AllowCIDRs: loopback}, hook.URL); inside.hits.Load() != 0 || s.Failed.Load() != 1 {
		t.Errorf("allowed target: hits %d failed %d", inside.hits.Load(), s.Failed.Load())
	}
}

// TestCredentialsNotLogged: whatever makes a delivery fail (a refused
// address, an error status, a refused connection, a malformed URL), the
// log names the user and the host, never the userinfo, path or query.
func TestCredentialsNotLogged(t *testing.T) {
	failing := startHook(t, "tcp", "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) })
	closed := startHook(t, "tcp", "127.0.0.1:0", nil)
	closedAddr := closed.Listener.Addr().String()
	closed.Close()
	const secrets = "?token=tok-SECRET&sig=sig-SECRET&password=pw-SECRET"
	withCreds := func(base, path string) string {
		u, _ := url.Parse(base)
		return u.Scheme + "://alice-USER:alice-SECRET@" + u.Host + path + secrets
	}
	urls := []string{
		withCreds(failing.URL, "/services/T0/B0/path-SECRET"),
		withCreds("http://"+closedAddr, "/hook"),
		withCreds("http://10.255.255.1", "/hook"),
		"http://alice-USER:alice-SECRET@127.0.0.1:99999/x" + secrets,        // port out of range
		"http://alice-USER:alice-SECRET@127.0.0.1:8x/x" + secrets,           // invalid port
		"http://alice-USER:alice-SECRET@[::1/path-SECRET" + secrets,         // invalid host
		"http://alice-USER:alice-SECRET@exa mple.com/path-SECRET" + secrets, // invalid host
	}
	for _, allow := range [][]netip.Prefix{nil, loopback} {
		s, logs := deliver(t, Config{AllowCIDRs: allow}, urls...)
		if s.Failed.Load() != int64(len(urls)) {
			t.Errorf("failed %d, want %d:\n%s", s.Failed.Load(), len(urls), logs)
		}
		if strings.Contains(logs, "SECRET") || strings.Contains(logs, "USER") {
			t.Errorf("credentials in the log:\n%s", logs)
		}
		for _, want := range []string{"url=http://127.0.0.1:" + strings.Split(failing.Listener.Addr().String(), ":")[1] + "/…", "user=0", "user=6", "url=http://10.255.255.1/…"} {
			if !strings.Contains(logs, want) {
				t.Errorf("log lacks %q:\n%s", want, logs)
			}
		}
		if allow != nil && (!strings.Contains(logs, "status 500") || !strings.Contains(logs, "connection refused")) {
			t.Errorf("log lacks the causes:\n%s", logs)
		}
	}
}

// TestCheckURL: the check the admin API runs when a webhook URL is set.
func TestCheckURL(t *testing.T) {
	dns := startDNS(t)
	for _, tc := range []struct {
		url     string
		dns     []string
		allow   []netip.Prefix
		refused bool   // errors.Is(err, ErrRefused)
		err     string // substring of the error; "" no error
	}{
		{url: "https://hooks.example.net/x?token=t", dns: []string{"8.8.8.8", "2606:4700:4700::1111"}},
		{url: "http://8.8.8.8:8080/x"},
		{url: "http://[2606:4700:4700::1111]/x"},
		{url: "http://127.0.0.1/x", refused: true, err: "host 127.0.0.1 is a loopback address"},
		{url: "http://127.0.0.1/x", allow: loopback},
		{url: "http://[::1]:80/x", refused: true, err: "loopback"},
		{url: "http://[::ffff:a9fe:a9fe]/latest/meta-data", refused: true, err: "link-local"},
		{url: "http://[fe80::1%25eth0]/", refused: true, err: "link-local"},
		{url: "http://0.0.0.0:8080/", refused: true, err: "this-network"},
		{url: "http://localhost:8080/", refused: true, err: `"localhost" resolves to a loopback address`},
		{url: "http://localhost:8080/", allow: loopback},
		{url: "http://inside.test/", dns: []string{"10.0.0.5"}, refused: true, err: `"inside.test" resolves to a private address`},
		{url: "http://mixed.test/", dns: []string{"8.8.8.8", "fd00::5"}, refused: true, err: "unique-local"},
		{url: "http://nowhere.test/", dns: nil, err: `"nowhere.test" could not be resolved`},
		{url: "ftp://example.net/", err: "http or https"},
		{url: "/relative", err: "http or https"},
		{url: "http:///x", err: "must have a host"},
		{url: "http://u:pw-SECRET@127.0.0.1:8x/", err: "not valid"},
	} {
		dns.set(tc.dns...)
		s := New(Config{Resolver: dns.resolver(), AllowCIDRs: tc.allow})
		err := s.CheckURL(t.Context(), tc.url)
		s.Close(t.Context())
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.url, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: error %v, want %q", tc.url, err, tc.err)
		case errors.Is(err, ErrRefused) != tc.refused:
			t.Errorf("%s: %v is ErrRefused: %v", tc.url, err, !tc.refused)
		case err != nil && (strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "10.0.0.5") || strings.Contains(err.Error(), dns.conn.LocalAddr().String())):
			t.Errorf("%s: error shows what it should not: %v", tc.url, err)
		}
	}
}

// TestNoEnvironmentProxy: the transport never takes a proxy from the
// environment (a proxy would make the connections the guard checks).
func TestNoEnvironmentProxy(t *testing.T) {
	s := New(Config{})
	defer s.Close(t.Context())
	tr, ok := s.client.Transport.(*http.Transport)
	if !ok || tr.Proxy != nil || s.client.CheckRedirect == nil {
		t.Fatalf("transport %#v", s.client.Transport)
	}
}
