package wsconfig

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Server names a front-end web server that wsconfig writes a config for.
type Server string

// The servers wsconfig writes configs for.
const (
	Nginx    Server = "nginx"     // one file for the http {} block
	Apache   Server = "apache"    // mod_proxy_balancer: one file to Include
	ApacheJK Server = "apache-jk" // mod_jk over AJP: workers, URI map, mod_jk.conf
	HAProxy  Server = "haproxy"   // one file for -f beside the main one
	IIS      Server = "iis"       // ARR web farm and URL Rewrite rule, XML to merge
)

// Servers lists every Server, in the order the documentation uses.
var Servers = []Server{Nginx, Apache, ApacheJK, HAProxy, IIS}

// ParseServer returns the Server named s.
func ParseServer(s string) (Server, error) {
	for _, x := range Servers {
		if string(x) == s {
			return x, nil
		}
	}
	return "", fmt.Errorf("wsconfig: unknown web server %q: want nginx, apache, apache-jk, haproxy or iis", s)
}

// PortalPrefix is the path prefix that Options.Portal forwards to the
// nodes' admin listeners: the developer portal's, which the console issue
// adds there. Every other path goes to the gateways.
const PortalPrefix = "/portal/"

// ParsePortalHost returns the host name s, for Options.PortalHost, in
// lower case, or an error naming --portal-host when s is not a DNS name:
// an IP address, a port, a scheme, a path, a wildcard, a trailing dot or
// anything but letters, digits, '-' and dots between labels of 1 to 63
// characters (an internationalized name in its xn-- form). Servers match
// it against the Host header without its port, in any case.
func ParsePortalHost(s string) (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("wsconfig: --portal-host %q: %s", s, why)
	}
	switch {
	case s == "":
		return bad("empty: want the portal's own host name, e.g. portal.example.com")
	case strings.Contains(s, "://"):
		return bad("a host name, not a URL: no scheme")
	case strings.ContainsAny(s, "/?#"):
		return bad("a host name without a path")
	case strings.Contains(s, "*"):
		return bad("one host name, not a wildcard")
	case net.ParseIP(strings.Trim(s, "[]")) != nil:
		return bad("a DNS name, not an IP address")
	case strings.ContainsAny(s, ":[]"):
		return bad("a host name without a port (the front end serves it on its own listener)")
	case strings.HasSuffix(s, "."):
		return bad("write it without the trailing dot")
	case len(s) > 253:
		return bad("longer than a DNS name's 253 characters")
	}
	labels := strings.Split(s, ".")
	for _, label := range labels {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return bad("a DNS name's labels are 1 to 63 characters, neither starting nor ending with '-'")
		}
		for _, c := range []byte(label) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return bad("a DNS name holds only letters, digits, '-' and dots (an internationalized name in its xn-- form)")
			}
		}
	}
	// Browsers take a name whose last label is a number (decimal, or hex
	// with 0x) for an IPv4 address.
	last := strings.ToLower(labels[len(labels)-1])
	if strings.Trim(last, "0123456789") == "" || strings.HasPrefix(last, "0x") && strings.Trim(last[2:], "0123456789abcdef") == "" {
		return bad("a DNS name, not an IP address: its last label is not a number")
	}
	return strings.ToLower(s), nil
}

// HealthPath is the health endpoint of a node: GET on its admin listener
// answers 200 while the node serves (the gateway listener has none). An
// active check needs the node's admin address.
const HealthPath = "/healthz"

// Idempotent methods are retried on the next node after a timeout or a
// connection that broke after the request was sent; any other method (POST,
// PATCH…) is retried only when its connection was refused, before a byte
// of it reached a node.
var idempotentMethods = []string{"GET", "HEAD", "OPTIONS", "PUT", "DELETE"}

// Options are the settings of a render besides the members.
type Options struct {
	// Dir is the directory the files are installed in. mod_jk.conf names
	// the other apache-jk files, its shared memory and its log by their
	// paths in Dir, which should then be absolute; the other servers'
	// files do not depend on it.
	Dir string

	// Listen is the front end's own listener, [host]:port or a port. If
	// empty, ":80" is used. IIS takes its listener from the site's
	// bindings instead.
	Listen string

	// Portal also forwards PortalPrefix to the nodes' admin listeners.
	// Without PortalHost the portal is then on every host name the front
	// end serves, the APIs' too: a page that any API's backend serves
	// through the gateway is same-origin with it, and its script can read
	// the portal's pages and act as the signed-in subscriber.
	Portal bool

	// PortalHost, with Portal, is the host name the portal is served on,
	// alone: PortalPrefix reaches the admin listeners only for requests
	// whose Host is PortalHost (any case, any port), that host reaches
	// nothing else (404), and on every other host PortalPrefix answers
	// 404 and reaches no node. It must be a DNS name (ParsePortalHost).
	// If empty, the portal shares the APIs' host names.
	PortalHost string

	// AJPSecret is the shared secret that mod_jk sends to the nodes' AJP
	// listeners (apache-jk), which require one unless on loopback. If
	// empty, none is sent. A file that holds it is written with mode 0600.
	AJPSecret string

	// Time is the render's time, written in the header comment. If zero,
	// no time is written.
	Time time.Time
}

// File is one rendered file.
type File struct {
	Name string // the file's name in Options.Dir
	Data []byte
	Mode uint32 // permission bits: 0644, or 0600 when it holds a secret
}

// Render returns the files of a complete config of server s for the
// members m, or the error of m.Validate, of a bad Options.Listen, or of a
// member the server cannot take (an lb factor beyond its range, no AJP
// address for apache-jk). It is a pure function of its arguments.
func Render(s Server, m Members, o Options) ([]File, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	l, err := parseListen(cmp.Or(o.Listen, ":80"))
	if err != nil {
		return nil, err
	}
	r := &renderer{s: s, m: m, o: o, nodes: m.sorted(), listen: l, name: "portico_" + ident(m.cluster())}
	if o.PortalHost != "" {
		if !o.Portal {
			return nil, errors.New("wsconfig: --portal-host goes with --portal")
		}
		if r.portalHost, err = ParsePortalHost(o.PortalHost); err != nil {
			return nil, err
		}
	}
	if err := checkText("AJP secret", o.AJPSecret); err != nil || strings.ContainsAny(o.AJPSecret, " \t#\\") {
		return nil, fmt.Errorf("wsconfig: the AJP secret must be printable, without spaces, '#' or '\\'")
	}
	switch s {
	case Nginx:
		return r.nginx()
	case Apache:
		return r.apache()
	case ApacheJK:
		return r.apacheJK()
	case HAProxy:
		return r.haproxy()
	case IIS:
		return r.iis()
	}
	return nil, fmt.Errorf("wsconfig: unknown web server %q", s)
}

// FileNames returns the names of the files Render writes for s.
func FileNames(s Server) []string {
	switch s {
	case Nginx:
		return []string{"portico.conf"}
	case Apache:
		return []string{"portico.conf"}
	case ApacheJK:
		return []string{"mod_jk.conf", "workers.properties", "uriworkermap.properties"}
	case HAProxy:
		return []string{"portico.cfg"}
	case IIS:
		return []string{"portico-arr.xml"}
	}
	return nil
}

// renderer holds what every server's renderer uses.
type renderer struct {
	s      Server
	m      Members
	o      Options
	nodes  []Member // sorted by name
	listen listenAddr
	name   string // identifier prefix of upstreams, balancers, backends

	portalHost string // Options.PortalHost in lower case; "" without one
}

// up returns the members that are up.
func (r *renderer) up() []Member {
	var out []Member
	for _, n := range r.nodes {
		if !n.Down {
			out = append(out, n)
		}
	}
	return out
}

// portalMembers returns the members with an admin address, for
// Options.Portal, or an error when no member that is up has one.
func (r *renderer) portalMembers() ([]Member, error) {
	var out []Member
	up := false
	for _, n := range r.nodes {
		if n.Admin != "" {
			out = append(out, n)
			up = up || !n.Down
		}
	}
	if !up {
		return nil, fmt.Errorf("wsconfig: --portal: no member that is up has an admin address")
	}
	return out, nil
}

// checkFactor refuses an lb factor above what the server takes.
func (r *renderer) checkFactor(limit int, what string) error {
	for _, n := range r.nodes {
		if n.LBFactor > limit {
			return fmt.Errorf("wsconfig: member %q: lb factor %d is above %s's largest %s, %d", n.Name, n.LBFactor, r.s, what, limit)
		}
	}
	return nil
}

// headerLines is the header comment's text: what wrote the file, from
// what, when, and the members.
func (r *renderer) headerLines(notes ...string) []string {
	up := len(r.up())
	lines := []string{
		fmt.Sprintf("Portico front door for %s, written by portico wsconfig: do not edit, it is rewritten.", r.s),
		"Source: " + cmp.Or(r.m.Source, "(not given)"),
		"Cluster: " + r.m.cluster(),
	}
	if !r.o.Time.IsZero() {
		lines = append(lines, timePrefix+r.o.Time.UTC().Format(time.RFC3339))
	}
	lines = append(lines, fmt.Sprintf("Members: %d, %d up", len(r.nodes), up))
	for _, n := range r.nodes {
		state := "up"
		if n.Down {
			state = "down (draining: no new traffic)"
		}
		line := fmt.Sprintf("  %s  gateway %s  admin %s", n.Name, n.Gateway, cmp.Or(n.Admin, "-"))
		if n.AJP != "" {
			line += "  ajp " + n.AJP
		}
		lines = append(lines, line+fmt.Sprintf("  lbfactor %d  %s", n.LBFactor, state))
	}
	return append(lines, notes...)
}

// timePrefix starts the header line of the render's time; Install
// compares files without it.
const timePrefix = "Generated: "

// hashHeader writes the header as '#' comments.
func (r *renderer) hashHeader(b *bytes.Buffer, notes ...string) {
	for _, l := range r.headerLines(notes...) {
		b.WriteString(comment("# "+l) + "\n")
	}
	b.WriteString("\n")
}

// comment returns a comment line without trailing spaces or backslashes
// (Apache would join the next line to one that ends in a backslash).
func comment(s string) string { return strings.TrimRight(s, " \\") }

// listenAddr is a parsed Options.Listen.
type listenAddr struct {
	host string // "" for every address
	port int
}

// parseListen parses [host]:port or a port.
func parseListen(s string) (listenAddr, error) {
	if p, err := strconv.Atoi(s); err == nil {
		s = ":" + strconv.Itoa(p)
	}
	if strings.HasPrefix(s, ":") || strings.HasPrefix(s, "*:") {
		p, err := strconv.Atoi(s[strings.IndexByte(s, ':')+1:])
		if err != nil || p < 1 || p > 65535 {
			return listenAddr{}, fmt.Errorf("wsconfig: listen address %q: bad port", s)
		}
		return listenAddr{port: p}, nil
	}
	host, port, err := splitAddr(s)
	if err != nil {
		return listenAddr{}, fmt.Errorf("wsconfig: listen address: %w", err)
	}
	if host == "0.0.0.0" || host == "::" {
		host = ""
	}
	return listenAddr{host: host, port: port}, nil
}

// String is the address as [host]:port, ":port" for every address.
func (l listenAddr) String() string {
	if l.host == "" {
		return ":" + strconv.Itoa(l.port)
	}
	return hostPort(l.host, l.port)
}

// ident turns s into an identifier of letters, digits and '_'.
func ident(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// idents returns an identifier per member (ident of its name, made unique
// with a suffix), in the order of nodes.
func idents(nodes []Member) []string {
	out := make([]string, len(nodes))
	used := map[string]bool{}
	for i, n := range nodes {
		id := ident(n.Name)
		for k := 2; used[id]; k++ {
			id = ident(n.Name) + "_" + strconv.Itoa(k)
		}
		used[id] = true
		out[i] = id
	}
	return out
}
