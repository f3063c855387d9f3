package wsconfig

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/portico-gw/portico"
)

// Member is one Portico node as a front end sees it.
type Member struct {
	Name    string // the node's name, unique in the cluster
	Gateway string // host:port of its gateway listener; required
	Admin   string // host:port of its admin listener; "" when unknown
	AJP     string // host:port of its AJP listener; "" when it has none

	// LBFactor is the node's load-balancing weight. Zero or below is
	// taken as 1, as in cluster.xml.
	LBFactor int

	// Down marks a node that is draining or stopped heartbeating: it is
	// listed but gets no new traffic.
	Down bool
}

// Members is the member list a config is rendered from.
type Members struct {
	Cluster string   // the cluster's name; "" is "default"
	Source  string   // where the list was read, for the header comment
	Nodes   []Member // in any order; rendered sorted by name
}

// ErrNoMembers is returned for a member list that is empty or has no node
// that is up: such a config would send every request nowhere, so it is
// never rendered (an empty render is how consul-template-style tools took
// sites down).
var ErrNoMembers = errors.New("wsconfig: no member is up: not rendering a config that sends traffic nowhere")

// FromNodes returns the Members of a cluster's nodes as the data store's
// registry or cluster.xml lists them: a node whose Status is "down" is
// Down.
func FromNodes(cluster, source string, nodes []portico.Node) Members {
	m := Members{Cluster: cluster, Source: source, Nodes: make([]Member, 0, len(nodes))}
	for _, n := range nodes {
		m.Nodes = append(m.Nodes, Member{
			Name: n.Name, Gateway: n.GatewayAddr, Admin: n.AdminAddr, AJP: n.AJPAddr,
			LBFactor: n.LBFactor, Down: n.Status == "down",
		})
	}
	return m
}

// Validate checks what a renderer writes into a config file: unique names
// without control characters, host:port addresses whose host is an IP
// address or a DNS name, and at least one member that is up
// (ErrNoMembers). Addresses never reach a config unchecked, so that no
// member can add a directive to it.
func (m Members) Validate() error {
	if len(m.Nodes) == 0 {
		return ErrNoMembers
	}
	if err := checkText("cluster name", m.Cluster); err != nil {
		return err
	}
	if err := checkText("source", m.Source); err != nil {
		return err
	}
	seen := map[string]bool{}
	up := 0
	for _, n := range m.Nodes {
		if n.Name == "" {
			return errors.New("wsconfig: a member has no name")
		}
		if err := checkText("member name", n.Name); err != nil {
			return err
		}
		if seen[n.Name] {
			return fmt.Errorf("wsconfig: member %q is listed twice", n.Name)
		}
		seen[n.Name] = true
		if n.Gateway == "" {
			return fmt.Errorf("wsconfig: member %q has no gateway address", n.Name)
		}
		for _, a := range []struct{ what, addr string }{{"gateway", n.Gateway}, {"admin", n.Admin}, {"AJP", n.AJP}} {
			if a.addr == "" {
				continue
			}
			if _, _, err := splitAddr(a.addr); err != nil {
				return fmt.Errorf("wsconfig: member %q: %s address: %w", n.Name, a.what, err)
			}
		}
		if !n.Down {
			up++
		}
	}
	if up == 0 {
		return ErrNoMembers
	}
	return nil
}

// sorted returns the members sorted by name, LBFactor at least 1.
func (m Members) sorted() []Member {
	out := slices.Clone(m.Nodes)
	for i := range out {
		out[i].LBFactor = max(out[i].LBFactor, 1)
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (m Members) cluster() string { return cmp.Or(m.Cluster, "default") }

// checkText refuses control characters and invalid UTF-8 in a text that
// a config holds in a comment.
func checkText(what, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("wsconfig: %s %q is not UTF-8", what, s)
	}
	if i := strings.IndexFunc(s, unicode.IsControl); i >= 0 {
		return fmt.Errorf("wsconfig: %s %q holds a control character", what, s)
	}
	return nil
}

// splitAddr splits host:port, checking that host is an IP address or a DNS
// name and port a number from 1 to 65535.
func splitAddr(addr string) (host string, port int, err error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%q is not host:port", addr)
	}
	port, err = strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 || p[0] == '+' {
		return "", 0, fmt.Errorf("%q: bad port %q", addr, p)
	}
	if net.ParseIP(host) == nil && !isDNSName(host) {
		return "", 0, fmt.Errorf("%q: host %q is neither an IP address nor a DNS name", addr, host)
	}
	return host, port, nil
}

// isDNSName reports whether s is a host name: dot-separated labels of
// letters, digits, '-' and '_', none empty or starting with '-'.
func isDNSName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// hostPort joins host and port, bracketing an IPv6 host.
func hostPort(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }
