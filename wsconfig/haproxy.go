package wsconfig

import (
	"bytes"
	"fmt"
	"strings"
)

// haproxyMaxWeight is the largest server weight of HAProxy.
const haproxyMaxWeight = 256

// haproxy renders one file to load with -f after the main one (which
// keeps global and defaults): a frontend on the listener and a backend of
// the gateways, with Portal another of the admin listeners. With
// PortalHost, an ACL on the Host header (without its port, in any case)
// sends PortalPrefix to the admin listeners only on that host, which gets
// 404 for every other path, as PortalPrefix does on every other host.
//
// Each gateway is checked actively: GET HealthPath on its admin listener
// every 2 s (two failures take it out, two successes bring it back), or,
// when a member has no admin address, a TCP connect to its gateway. A
// request whose connection failed is sent to another node (retry-on
// conn-failure, option redispatch 1: nothing of it was sent); one whose
// connection closed without an answer is too, if its method is
// idempotent: http-request disable-l7-retry keeps every other method (a
// POST that may have reached a node) from being sent again.
func (r *renderer) haproxy() ([]File, error) {
	if err := r.checkFactor(haproxyMaxWeight, "weight"); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	r.hashHeader(&b,
		"Load this file after the main one: haproxy -f haproxy.cfg -f portico.cfg.",
		"Nodes are checked with GET "+HealthPath+" on their admin listener (with a TCP",
		"connect to the gateway when a member has no admin address).")
	gw, portal := r.name+"_gateway", r.name+"_portal"
	fmt.Fprintf(&b, "frontend %s\n", r.name)
	fmt.Fprintf(&b, "    bind %s\n", r.listen)
	b.WriteString("    mode http\n    option http-keep-alive\n    option forwardfor\n")
	b.WriteString("    timeout client 60s\n    timeout http-request 10s\n    timeout http-keep-alive 60s\n")
	if r.o.Portal {
		if r.portalHost != "" {
			b.WriteString("    # The developer portal on a host name of its own (--portal-host), so that\n")
			b.WriteString("    # no page an API's backend serves through the gateway is same-origin with\n")
			b.WriteString("    # it: the admin listeners get only its prefix on that Host (without the\n")
			b.WriteString("    # port, any case); that Host gets nothing else (404), nor does the prefix on\n")
			b.WriteString("    # any other Host.\n")
			fmt.Fprintf(&b, "    acl portico_portal_host req.hdr(host),field(1,:) -m str -i %s\n", r.portalHost)
		} else {
			b.WriteString("    # The developer portal, on the nodes' admin listeners (--portal). It shares\n")
			b.WriteString("    # the APIs' host names, and so their origin: give it one of its own with\n")
			b.WriteString("    # --portal-host.\n")
		}
		b.WriteString("    # HAProxy routes by the path as sent: a portal path with dot segments,\n")
		b.WriteString("    # encoded dots or slashes, or backslashes (which could climb out of the\n")
		b.WriteString("    # prefix on the admin listener) is refused; browsers never send one.\n")
		fmt.Fprintf(&b, "    acl portico_portal path_beg %s\n", PortalPrefix)
		b.WriteString("    acl portico_portal_climbs path -m sub -i /./ /../ %2e %2f %5c \\\\\n")
		b.WriteString("    acl portico_portal_climbs path -m end /. /..\n")
		b.WriteString("    http-request deny deny_status 400 if portico_portal portico_portal_climbs\n")
		if r.portalHost != "" {
			b.WriteString("    http-request deny deny_status 404 if portico_portal_host !portico_portal\n")
			b.WriteString("    http-request deny deny_status 404 if portico_portal !portico_portal_host\n")
			fmt.Fprintf(&b, "    use_backend %s if portico_portal portico_portal_host\n", portal)
		} else {
			fmt.Fprintf(&b, "    use_backend %s if portico_portal\n", portal)
		}
	}
	b.WriteString("    # Every other path goes to the gateways. The admin API and the console are\n")
	b.WriteString("    # on the nodes' admin listeners, which this frontend never reaches.\n")
	fmt.Fprintf(&b, "    default_backend %s\n\n", gw)

	r.haproxyBackend(&b, gw, r.nodes, func(n Member) string { return n.Gateway })
	if r.o.Portal {
		nodes, err := r.portalMembers()
		if err != nil {
			return nil, err
		}
		b.WriteString("\n")
		r.haproxyBackend(&b, portal, nodes, func(n Member) string { return n.Admin })
	}
	return []File{{Name: FileNames(HAProxy)[0], Data: b.Bytes(), Mode: 0o644}}, nil
}

func (r *renderer) haproxyBackend(b *bytes.Buffer, name string, nodes []Member, addr func(Member) string) {
	checkAdmin := true
	for _, n := range nodes {
		checkAdmin = checkAdmin && n.Admin != ""
	}
	fmt.Fprintf(b, "backend %s\n", name)
	b.WriteString("    mode http\n    balance roundrobin\n    option http-keep-alive\n")
	b.WriteString("    timeout connect 5s\n    timeout server 60s\n")
	b.WriteString("    # Another node when the connection failed (nothing was sent), or when it\n")
	b.WriteString("    # closed without an answer and the method is idempotent: never a POST\n")
	b.WriteString("    # that may have reached a node.\n")
	b.WriteString("    option redispatch 1\n    retries 2\n    retry-on conn-failure empty-response\n")
	fmt.Fprintf(b, "    http-request disable-l7-retry unless { method %s }\n", strings.Join(idempotentMethods, " "))
	if checkAdmin {
		fmt.Fprintf(b, "    option httpchk GET %s\n    http-check expect status 200\n", HealthPath)
	} else {
		b.WriteString("    # A member has no admin address: nodes are checked by a TCP connect.\n")
	}
	b.WriteString("    default-server inter 2s fall 2 rise 2\n")
	ids := idents(nodes)
	for i, n := range nodes {
		fmt.Fprintf(b, "    server %s %s weight %d check", ids[i], addr(n), n.LBFactor)
		if checkAdmin {
			host, port, _ := splitAddr(n.Admin) // checked by Validate
			fmt.Fprintf(b, " addr %s port %d", host, port)
		}
		if n.Down {
			b.WriteString(" disabled")
		}
		b.WriteString("\n")
	}
}
