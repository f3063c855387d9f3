package wsconfig_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/wsconfig"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// renderTime is the time every golden file is rendered at.
var renderTime = time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC)

// goldenDir is the output directory the golden files are rendered for
// (mod_jk.conf names the other files by it).
const goldenDir = "/etc/portico/front"

// threeNodes has lb factors 1, 1, 2, the third draining.
func threeNodes() wsconfig.Members {
	return wsconfig.Members{
		Cluster: "default",
		Source:  "cluster.xml /var/lib/portico/cluster.xml",
		Nodes: []wsconfig.Member{
			{Name: "web2:8080", Gateway: "10.0.0.2:8080", Admin: "10.0.0.2:9080", AJP: "10.0.0.2:8009", LBFactor: 1},
			{Name: "web1:8080", Gateway: "10.0.0.1:8080", Admin: "10.0.0.1:9080", AJP: "10.0.0.1:8009", LBFactor: 1},
			{Name: "web3:8080", Gateway: "10.0.0.3:8080", Admin: "10.0.0.3:9080", AJP: "10.0.0.3:8009", LBFactor: 2, Down: true},
		},
	}
}

// goldenCases are the renders kept as golden files, each under
// testdata/NAME/SERVER/.
var goldenCases = []struct {
	name string
	m    func() wsconfig.Members
	o    wsconfig.Options
}{
	{"three", threeNodes, wsconfig.Options{}},
	{"portal", threeNodes, wsconfig.Options{Listen: "127.0.0.1:8081", Portal: true, AJPSecret: "s3cret-for-ajp"}},
	{"portalhost", threeNodes, wsconfig.Options{Listen: "127.0.0.1:8081", Portal: true, PortalHost: "Portal.Example.com", AJPSecret: "s3cret-for-ajp"}},
	{"noadmin", func() wsconfig.Members {
		return wsconfig.Members{Cluster: "eu-west", Source: "redis://10.0.0.9:6379/0 (cluster eu-west)", Nodes: []wsconfig.Member{
			{Name: "a", Gateway: "localhost:8080", AJP: "localhost:8009"},
			{Name: "b", Gateway: "[fd00::2]:8080", Admin: "[fd00::2]:9080", AJP: "[fd00::2]:8009", LBFactor: 5},
		}}
	}, wsconfig.Options{Listen: "8000"}},
}

func TestRenderGolden(t *testing.T) {
	for _, c := range goldenCases {
		for _, s := range wsconfig.Servers {
			t.Run(c.name+"/"+string(s), func(t *testing.T) {
				o := c.o
				o.Dir, o.Time = goldenDir, renderTime
				files, err := wsconfig.Render(s, c.m(), o)
				if err != nil {
					t.Fatal(err)
				}
				var names []string
				for _, f := range files {
					names = append(names, f.Name)
					golden(t, filepath.Join("testdata", c.name, string(s), f.Name), f.Data)
				}
				if want := wsconfig.FileNames(s); strings.Join(names, " ") != strings.Join(want, " ") {
					t.Errorf("files %v, FileNames says %v", names, want)
				}
			})
		}
	}
}

// golden compares got with the golden file at path, or rewrites it with
// -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./wsconfig -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the render (go test ./wsconfig -update rewrites it):\n--- got\n%s", path, got)
	}
}

// TestRenderWeightsAndDraining checks, for every server, what the golden
// files show: each node's lb factor as its weight, and the draining node
// taking no new traffic.
func TestRenderWeightsAndDraining(t *testing.T) {
	want := map[wsconfig.Server][]string{
		wsconfig.Nginx: {"server 10.0.0.1:8080 weight=1;", "server 10.0.0.2:8080 weight=1;", "server 10.0.0.3:8080 weight=2 down;",
			"proxy_next_upstream error timeout;", "keepalive 32;"},
		wsconfig.Apache: {`BalancerMember "http://10.0.0.1:8080" loadfactor=1 retry=5`, `BalancerMember "http://10.0.0.3:8080" loadfactor=2 retry=5 connectiontimeout=5 keepalive=On status=+D`,
			"failonstatus=503"},
		wsconfig.ApacheJK: {"worker.web1_8080.lbfactor=1", "worker.web3_8080.lbfactor=2", "worker.web3_8080.activation=D",
			"ping_mode=CI", "recovery_options=27", "/*=portico_default_lb", "JkWorkersFile \"/etc/portico/front/workers.properties\"",
			"JkMountFile", "JkShmFile", "JkLogFile"},
		wsconfig.HAProxy: {"server web1_8080 10.0.0.1:8080 weight 1 check addr 10.0.0.1 port 9080\n", "server web3_8080 10.0.0.3:8080 weight 2 check addr 10.0.0.3 port 9080 disabled",
			"option redispatch", "retry-on conn-failure empty-response", "http-request disable-l7-retry unless { method GET HEAD OPTIONS PUT DELETE }",
			"option httpchk GET /healthz"},
		wsconfig.IIS: {`<server address="10.0.0.1" enabled="true">`, `<applicationRequestRouting httpPort="8080" weight="1" />`,
			`<server address="10.0.0.3" enabled="false">`, `<applicationRequestRouting httpPort="8080" weight="2" />`},
	}
	for _, s := range wsconfig.Servers {
		files, err := wsconfig.Render(s, threeNodes(), wsconfig.Options{Dir: goldenDir})
		if err != nil {
			t.Fatal(err)
		}
		var all []byte
		for _, f := range files {
			all = append(all, f.Data...)
		}
		for _, w := range want[s] {
			if !bytes.Contains(all, []byte(w)) {
				t.Errorf("%s: no %q in\n%s", s, w, all)
			}
		}
		// No time without Options.Time; outside comments, no admin listener
		// without --portal (but HAProxy checks health there).
		if bytes.Contains(all, []byte("Generated:")) {
			t.Errorf("%s: a time in a render without Options.Time", s)
		}
		if s != wsconfig.HAProxy && bytes.Contains(directives(all), []byte(":9080")) {
			t.Errorf("%s: an admin address in a render without --portal:\n%s", s, all)
		}
	}
}

// directives returns data without comment lines and the IIS header.
func directives(data []byte) []byte {
	if _, after, ok := bytes.Cut(data, []byte("-->")); ok && bytes.HasPrefix(data, []byte("<?xml")) {
		data = after
	}
	var out []byte
	for line := range bytes.Lines(data) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			out = append(out, line...)
		}
	}
	return out
}

// TestRenderSecretMode checks that the file with the AJP secret is
// written for its owner alone.
func TestRenderSecretMode(t *testing.T) {
	for _, secret := range []string{"", "s3cret"} {
		files, err := wsconfig.Render(wsconfig.ApacheJK, threeNodes(), wsconfig.Options{Dir: goldenDir, AJPSecret: secret})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			has := bytes.Contains(f.Data, []byte("secret="))
			if has != (secret != "" && f.Name == "workers.properties") {
				t.Errorf("secret %q: %s holds a secret: %v", secret, f.Name, has)
			}
			if want := map[bool]uint32{false: 0o644, true: 0o600}[has]; f.Mode != want {
				t.Errorf("secret %q: %s mode %o, want %o", secret, f.Name, f.Mode, want)
			}
		}
	}
}

func TestRenderRefuses(t *testing.T) {
	with := func(fn func(*wsconfig.Members)) wsconfig.Members {
		m := threeNodes()
		fn(&m)
		return m
	}
	cases := []struct {
		name string
		s    wsconfig.Server
		m    wsconfig.Members
		o    wsconfig.Options
		want string
	}{
		{"empty", wsconfig.Nginx, wsconfig.Members{Cluster: "default"}, wsconfig.Options{}, "no member is up"},
		{"all down", wsconfig.HAProxy, with(func(m *wsconfig.Members) {
			for i := range m.Nodes {
				m.Nodes[i].Down = true
			}
		}), wsconfig.Options{}, "no member is up"},
		{"twice", wsconfig.Nginx, with(func(m *wsconfig.Members) { m.Nodes[1].Name = m.Nodes[0].Name }), wsconfig.Options{}, "listed twice"},
		{"no name", wsconfig.Nginx, with(func(m *wsconfig.Members) { m.Nodes[0].Name = "" }), wsconfig.Options{}, "no name"},
		{"no gateway", wsconfig.Nginx, with(func(m *wsconfig.Members) { m.Nodes[0].Gateway = "" }), wsconfig.Options{}, "no gateway address"},
		{"directive in address", wsconfig.Nginx, with(func(m *wsconfig.Members) { m.Nodes[0].Gateway = "10.0.0.1:80; include /etc/passwd" }), wsconfig.Options{}, "bad port"},
		{"directive in host", wsconfig.Apache, with(func(m *wsconfig.Members) { m.Nodes[0].Gateway = "x\" evil=\"1:80" }), wsconfig.Options{}, "neither an IP address nor a DNS name"},
		{"newline in name", wsconfig.HAProxy, with(func(m *wsconfig.Members) { m.Nodes[0].Name = "a\nserver evil 1.2.3.4:80" }), wsconfig.Options{}, "control character"},
		{"newline in source", wsconfig.HAProxy, with(func(m *wsconfig.Members) { m.Source = "x\nfrontend evil" }), wsconfig.Options{}, "control character"},
		{"port 0", wsconfig.Nginx, with(func(m *wsconfig.Members) { m.Nodes[0].Admin = "10.0.0.1:0" }), wsconfig.Options{}, "bad port"},
		{"apache factor", wsconfig.Apache, with(func(m *wsconfig.Members) { m.Nodes[0].LBFactor = 101 }), wsconfig.Options{}, "largest loadfactor, 100"},
		{"haproxy weight", wsconfig.HAProxy, with(func(m *wsconfig.Members) { m.Nodes[0].LBFactor = 257 }), wsconfig.Options{}, "largest weight, 256"},
		{"jk without AJP", wsconfig.ApacheJK, with(func(m *wsconfig.Members) { m.Nodes[0].AJP = "" }), wsconfig.Options{Dir: goldenDir}, "has no AJP address"},
		{"jk relative dir", wsconfig.ApacheJK, threeNodes(), wsconfig.Options{Dir: "front"}, "absolute path"},
		{"jk quote in dir", wsconfig.ApacheJK, threeNodes(), wsconfig.Options{Dir: `/etc/"x`}, "cannot be named"},
		{"bad listen", wsconfig.Nginx, threeNodes(), wsconfig.Options{Listen: "localhost"}, "listen address"},
		{"listen port", wsconfig.Nginx, threeNodes(), wsconfig.Options{Listen: ":99999"}, "bad port"},
		{"portal without admin", wsconfig.Nginx, with(func(m *wsconfig.Members) {
			for i := range m.Nodes {
				m.Nodes[i].Admin = ""
			}
		}), wsconfig.Options{Portal: true}, "no member that is up has an admin address"},
		{"secret with space", wsconfig.ApacheJK, threeNodes(), wsconfig.Options{Dir: goldenDir, AJPSecret: "a b"}, "AJP secret"},
		{"unknown server", wsconfig.Server("lighttpd"), threeNodes(), wsconfig.Options{}, "unknown web server"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			files, err := wsconfig.Render(c.s, c.m, c.o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Render: %v, %d files; want an error with %q", err, len(files), c.want)
			}
		})
	}
	if _, err := wsconfig.Render(wsconfig.Nginx, wsconfig.Members{}, wsconfig.Options{}); !errors.Is(err, wsconfig.ErrNoMembers) {
		t.Errorf("an empty list: %v, want ErrNoMembers", err)
	}
}

// TestRenderListen checks the listener forms for the servers that take it.
func TestRenderListen(t *testing.T) {
	cases := []struct {
		listen string
		want   map[wsconfig.Server]string
	}{
		{"", map[wsconfig.Server]string{wsconfig.Nginx: "listen 80;", wsconfig.Apache: "<VirtualHost *:80>", wsconfig.HAProxy: "bind :80\n"}},
		{"8081", map[wsconfig.Server]string{wsconfig.Nginx: "listen 8081;", wsconfig.Apache: "Listen 8081\n<VirtualHost *:8081>", wsconfig.HAProxy: "bind :8081\n"}},
		{"0.0.0.0:80", map[wsconfig.Server]string{wsconfig.Nginx: "listen 80;", wsconfig.HAProxy: "bind :80\n"}},
		{"127.0.0.1:8081", map[wsconfig.Server]string{wsconfig.Nginx: "listen 127.0.0.1:8081;", wsconfig.Apache: "Listen 127.0.0.1:8081\n<VirtualHost 127.0.0.1:8081>", wsconfig.HAProxy: "bind 127.0.0.1:8081\n"}},
		{"[::1]:8081", map[wsconfig.Server]string{wsconfig.Nginx: "listen [::1]:8081;", wsconfig.Apache: "Listen [::1]:8081\n<VirtualHost [::1]:8081>", wsconfig.HAProxy: "bind [::1]:8081\n"}},
	}
	for _, c := range cases {
		for s, want := range c.want {
			files, err := wsconfig.Render(s, threeNodes(), wsconfig.Options{Listen: c.listen})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(files[0].Data, []byte(want)) {
				t.Errorf("listen %q, %s: no %q in\n%s", c.listen, s, want, files[0].Data)
			}
		}
	}
}

func TestFromNodes(t *testing.T) {
	m := wsconfig.FromNodes("default", "cluster.xml x", []portico.Node{
		{Name: "a", GatewayAddr: "10.0.0.1:8080", AdminAddr: "10.0.0.1:9080", LBFactor: 3, Status: "up"},
		{Name: "b", GatewayAddr: "10.0.0.2:8080", Status: "down"},
	})
	want := []wsconfig.Member{
		{Name: "a", Gateway: "10.0.0.1:8080", Admin: "10.0.0.1:9080", LBFactor: 3},
		{Name: "b", Gateway: "10.0.0.2:8080", Down: true},
	}
	if len(m.Nodes) != 2 || m.Nodes[0] != want[0] || m.Nodes[1] != want[1] || m.Cluster != "default" || m.Source != "cluster.xml x" {
		t.Errorf("FromNodes = %+v, want nodes %+v", m, want)
	}
}

func TestParseServer(t *testing.T) {
	for _, s := range wsconfig.Servers {
		if got, err := wsconfig.ParseServer(string(s)); err != nil || got != s {
			t.Errorf("ParseServer(%q) = %q, %v", s, got, err)
		}
	}
	if _, err := wsconfig.ParseServer("apache2"); err == nil {
		t.Error("ParseServer(apache2) took it")
	}
}

// FuzzRender renders member lists with an arbitrary name, cluster name,
// source and addresses: a list that Render takes never changes a
// config's shape (the same number of lines as with plain names: no text
// breaks out of its comment), its addresses hold only host:port
// characters, and the IIS XML stays well-formed.
func FuzzRender(f *testing.F) {
	f.Add("web1:8080", "10.0.0.1:8080", "10.0.0.1:9080", 1, false)
	f.Add("a\nb", "x:1", "", 3, true)
	f.Add("--", "[::1]:80", "h-1.example:65535", 100, false)
	f.Add("x\\", "a_b.c:8080", "1.2.3.4:5", 0, false)
	f.Add("<!-- -->", "a:8080", "b:8080;", 7, false)
	f.Fuzz(func(t *testing.T, name, gateway, admin string, factor int, down bool) {
		list := func(name string) wsconfig.Members {
			return wsconfig.Members{Cluster: name, Source: name, Nodes: []wsconfig.Member{
				{Name: "fixed", Gateway: "127.0.0.1:8080", Admin: "127.0.0.1:9080", AJP: "127.0.0.1:8009", LBFactor: 1},
				{Name: name, Gateway: gateway, Admin: admin, AJP: admin, LBFactor: factor % 300, Down: down},
			}}
		}
		for _, s := range wsconfig.Servers {
			o := wsconfig.Options{Dir: goldenDir, Portal: true}
			files, err := wsconfig.Render(s, list(name), o)
			if err != nil {
				continue
			}
			plain, err := wsconfig.Render(s, list("plain"), o)
			if err != nil {
				t.Fatalf("%s: %q rendered but a plain name did not: %v", s, name, err)
			}
			for i, file := range files {
				if got, want := bytes.Count(file.Data, []byte("\n")), bytes.Count(plain[i].Data, []byte("\n")); got != want {
					t.Fatalf("%s %s: %d lines, %d with a plain name:\n%s", s, file.Name, got, want, file.Data)
				}
				if s == wsconfig.IIS {
					dec := xml.NewDecoder(bytes.NewReader(file.Data))
					for {
						if _, err := dec.Token(); err == io.EOF {
							break
						} else if err != nil {
							t.Fatalf("IIS XML not well-formed: %v\n%s", err, file.Data)
						}
					}
				}
			}
			for _, a := range []string{gateway, admin} {
				if strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.:[]_-") != "" {
					t.Fatalf("%s: address %q rendered", s, a)
				}
			}
		}
	})
}

// TestParsePortalHost: --portal-host takes one DNS name, in lower case,
// and refuses, naming the flag, what a server would take as another
// name, a pattern, a port or a directive.
func TestParsePortalHost(t *testing.T) {
	for in, want := range map[string]string{
		"portal.example.com":           "portal.example.com",
		"Portal.Example.COM":           "portal.example.com",
		"portal":                       "portal",
		"dev-portal.api.example":       "dev-portal.api.example",
		"xn--prtal-jua.example":        "xn--prtal-jua.example",
		"p0rtal.1example.com":          "p0rtal.1example.com",
		strings.Repeat("a", 63):        strings.Repeat("a", 63),
		"portal.example.com2":          "portal.example.com2",
		"a." + strings.Repeat("b", 63): "a." + strings.Repeat("b", 63),
	} {
		if got, err := wsconfig.ParsePortalHost(in); err != nil || got != want {
			t.Errorf("ParsePortalHost(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"", "empty"},
		{"https://portal.example.com", "not a URL"},
		{"//portal.example.com", "without a path"},
		{"portal.example.com/portal/", "without a path"},
		{"portal.example.com?x", "without a path"},
		{"*.example.com", "wildcard"},
		{"portal.*", "wildcard"},
		{"10.0.0.1", "not an IP address"},
		{"::1", "not an IP address"},
		{"[fd00::1]", "not an IP address"},
		{"1.2.3", "not an IP address"},
		{"0x7f.1", "not an IP address"},
		{"0x7F", "not an IP address"},
		{"127.0x1", "not an IP address"},
		{"0x", "not an IP address"},
		{"portal.example.com:8443", "without a port"},
		{"portal.example.com.", "trailing dot"},
		{".portal.example.com", "labels are 1 to 63"},
		{"portal..example.com", "labels are 1 to 63"},
		{"-portal.example.com", "labels are 1 to 63"},
		{"portal-.example.com", "labels are 1 to 63"},
		{strings.Repeat("a", 64) + ".example.com", "labels are 1 to 63"},
		{strings.Repeat("a.", 127) + "com", "253 characters"},
		{"portal_1.example.com", "only letters, digits"},
		{"portal example.com", "only letters, digits"},
		{"portal.example.com;include /etc/passwd", "without a path"},
		{"portal.example.com;", "only letters, digits"},
		{"portal.example.com\nserver_name evil", "only letters, digits"},
		{"portal\"evil", "only letters, digits"},
		{"pörtal.example.com", "xn-- form"},
		{"portal.example.com,api.example.com", "only letters, digits"},
		{"~portal", "only letters, digits"},
	} {
		got, err := wsconfig.ParsePortalHost(c.in)
		if err == nil || !strings.Contains(err.Error(), "--portal-host") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParsePortalHost(%q) = %q, %v; want an error naming --portal-host with %q", c.in, got, err, c.want)
			continue
		}
		for _, s := range wsconfig.Servers {
			if _, rerr := wsconfig.Render(s, threeNodes(), wsconfig.Options{Dir: goldenDir, Portal: true, PortalHost: c.in}); c.in != "" && (rerr == nil || rerr.Error() != err.Error()) {
				t.Errorf("%s: Render with PortalHost %q: %v; want %v", s, c.in, rerr, err)
			}
		}
	}
	for _, s := range wsconfig.Servers {
		if _, err := wsconfig.Render(s, threeNodes(), wsconfig.Options{Dir: goldenDir, PortalHost: "portal.example.com"}); err == nil || !strings.Contains(err.Error(), "--portal-host goes with --portal") {
			t.Errorf("%s: PortalHost without Portal: %v", s, err)
		}
	}
}

// TestRenderPortalHost checks what the golden files of the portalhost
// case show, for each server: the admin listeners appear only in the part
// of the config for the portal's host name, which comes after the APIs'
// part (so that it is never the listener's default), and the APIs' part
// answers 404 for the portal's prefix.
func TestRenderPortalHost(t *testing.T) {
	cases := map[wsconfig.Server]struct {
		split     string   // where the portal host's part starts
		use       string   // what sends a request to the admin listeners
		api, host []string // in the APIs' part, in the portal host's part
	}{
		wsconfig.Nginx: {"server_name portal.example.com;", "proxy_pass http://portico_default_portal;",
			[]string{"location /portal/ {\n        return 404;", "proxy_pass http://portico_default_gateway;"},
			[]string{"location /portal/ {\n        proxy_pass http://portico_default_portal;", "location / {\n        return 404;"}},
		wsconfig.Apache: {"ServerName portal.example.com", "balancer://portico_default_portal",
			[]string{"ProxyPass \"/portal/\" \"!\"\n    RedirectMatch 404 \"^/portal/\"", "ProxyPass \"/\" \"balancer://portico_default_gateway/\""},
			[]string{"ProxyPass \"/portal/\" \"balancer://portico_default_portal/portal/\"", "RedirectMatch 404 \"^/(?!portal/)\""}},
		wsconfig.ApacheJK: {"ServerName portal.example.com", "balancer://portico_default_portal",
			[]string{"JkMountFile", "RedirectMatch 404 \"^/portal/\""},
			[]string{"ProxyPass \"/portal/\" \"balancer://portico_default_portal/portal/\"", "RedirectMatch 404 \"^/(?!portal/)\""}},
		wsconfig.HAProxy: {"acl portico_portal_host req.hdr(host),field(1,:) -m str -i portal.example.com\n", "use_backend portico_default_portal",
			nil,
			[]string{"http-request deny deny_status 404 if portico_portal_host !portico_portal\n", "http-request deny deny_status 404 if portico_portal !portico_portal_host\n",
				"use_backend portico_default_portal if portico_portal portico_portal_host\n"}},
		wsconfig.IIS: {`<add input="{HTTP_HOST}" pattern="^portal\.example\.com(:[0-9]+)?$" ignoreCase="true" />`, `url="http://portico_default_portal/`,
			nil,
			[]string{`<action type="Rewrite" url="http://portico_default_portal/portal/{R:1}" />`, `<match url="^portal/" />` + "\n" + `          <action type="CustomResponse" statusCode="404"`}},
	}
	for s, c := range cases {
		files, err := wsconfig.Render(s, threeNodes(), wsconfig.Options{Dir: goldenDir, Portal: true, PortalHost: "PORTAL.example.com"})
		if err != nil {
			t.Fatal(err)
		}
		all := files[0].Data
		api, host, ok := bytes.Cut(directives(all), []byte(c.split))
		if !ok {
			t.Errorf("%s: no %q in\n%s", s, c.split, all)
			continue
		}
		for _, w := range c.api {
			if !bytes.Contains(api, []byte(w)) {
				t.Errorf("%s: no %q before %q in\n%s", s, w, c.split, all)
			}
		}
		for _, w := range c.host {
			if !bytes.Contains(host, []byte(w)) {
				t.Errorf("%s: no %q after %q in\n%s", s, w, c.split, all)
			}
		}
		if bytes.Contains(api, []byte(c.use)) || !bytes.Contains(host, []byte(c.use)) {
			t.Errorf("%s: %q (to the admin listeners) must be only after %q in\n%s", s, c.use, c.split, all)
		}
	}
}

// FuzzParsePortalHost: a name that ParsePortalHost takes is lower-case
// letters, digits, '-' and dots only, and every server's render with it
// has as many lines as with a plain name: nothing breaks out of a
// directive.
func FuzzParsePortalHost(f *testing.F) {
	for _, s := range []string{"portal.example.com", "PORTAL", "a.b-c.d1", "x:80", "*.x", "a..b", "1.2.3.4", "a\nb", "a;b", "a b", "é.x", "a.", "xn--a.b"} {
		f.Add(s)
	}
	plain := map[wsconfig.Server][]wsconfig.File{}
	for _, s := range wsconfig.Servers {
		files, err := wsconfig.Render(s, threeNodes(), wsconfig.Options{Dir: goldenDir, Portal: true, PortalHost: "portal.example.com"})
		if err != nil {
			f.Fatal(err)
		}
		plain[s] = files
	}
	f.Fuzz(func(t *testing.T, name string) {
		got, err := wsconfig.ParsePortalHost(name)
		if err != nil {
			if !strings.Contains(err.Error(), "--portal-host") {
				t.Fatalf("%q: the error does not name the flag: %v", name, err)
			}
			return
		}
		if got == "" || strings.Trim(got, "abcdefghijklmnopqrstuvwxyz0123456789.-") != "" || !strings.EqualFold(got, name) {
			t.Fatalf("ParsePortalHost(%q) = %q", name, got)
		}
		for _, s := range wsconfig.Servers {
			files, err := wsconfig.Render(s, threeNodes(), wsconfig.Options{Dir: goldenDir, Portal: true, PortalHost: name})
			if err != nil {
				t.Fatalf("%s: %q parsed but did not render: %v", s, name, err)
			}
			for i, file := range files {
				if g, w := bytes.Count(file.Data, []byte("\n")), bytes.Count(plain[s][i].Data, []byte("\n")); g != w {
					t.Fatalf("%s %s: %d lines, %d with a plain name:\n%s", s, file.Name, g, w, file.Data)
				}
			}
		}
	})
}
