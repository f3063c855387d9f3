package wsconfig

import (
	"bytes"
	"fmt"
	"strings"
)

// apacheMaxFactor is the largest loadfactor of mod_proxy_balancer.
const apacheMaxFactor = 100

// apache renders one file to Include in Apache's server config: a
// mod_proxy_balancer balancer of the gateways (and with Portal one of the
// admin listeners) and a virtual host on the listener that forwards every
// path. With PortalHost, PortalPrefix answers 404 in that virtual host, and
// a second one with ServerName PortalHost (after the first, so never the
// default) forwards PortalPrefix and answers 404 for everything else, with
// mod_alias. It needs mod_proxy, mod_proxy_http, mod_proxy_balancer,
// mod_lbmethod_byrequests and mod_slotmem_shm.
//
// A refused connection sends the request to the next member (nothing of
// it was sent); mod_proxy never sends a request again once sent. retry=5
// keeps a member that failed out for 5 s; failonstatus=503 puts a member
// that answers 503 out the same way after its answer, which goes to the
// client: a draining node's 503 does not reach more clients. Backends'
// own 503s, which Portico passes through, do too (see the README).
// Connections to the members are kept alive and reused.
func (r *renderer) apache() ([]File, error) {
	if err := r.checkFactor(apacheMaxFactor, "loadfactor"); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	notes := []string{"Include this file in Apache's server config. It needs mod_proxy, mod_proxy_http,",
		"mod_proxy_balancer, mod_lbmethod_byrequests and mod_slotmem_shm (Debian:",
		"a2enmod proxy_http proxy_balancer lbmethod_byrequests slotmem_shm)."}
	if r.portalHost != "" {
		notes = append(notes, "With --portal-host it also needs mod_alias (Debian: a2enmod alias).")
	}
	r.hashHeader(&b, notes...)
	r.apacheListen(&b)
	fmt.Fprintf(&b, "<VirtualHost %s>\n", r.apacheVHost())
	b.WriteString("    ProxyRequests Off\n    ProxyPreserveHost On\n")
	b.WriteString("    # Apache would answer TRACE itself, echoing the client's key and cookies.\n")
	b.WriteString("    TraceEnable Off\n\n")
	gw := "balancer://" + r.name + "_gateway"
	r.apacheBalancer(&b, gw, r.nodes, func(n Member) string { return n.Gateway })
	var portalNodes []Member
	if r.o.Portal {
		nodes, err := r.portalMembers()
		if err != nil {
			return nil, err
		}
		portalNodes = nodes
	}
	switch {
	case r.o.Portal && r.portalHost != "":
		r.apachePortalElsewhere(&b, true)
		b.WriteString("\n")
	case r.o.Portal:
		portal := "balancer://" + r.name + "_portal"
		r.apacheBalancer(&b, portal, portalNodes, func(n Member) string { return n.Admin })
		b.WriteString("    # The developer portal, on the nodes' admin listeners (--portal). It shares\n")
		b.WriteString("    # the APIs' host names, and so their origin: give it one of its own with\n")
		b.WriteString("    # --portal-host.\n")
		fmt.Fprintf(&b, "    ProxyPass \"%s\" \"%s%s\"\n", PortalPrefix, portal, PortalPrefix)
		fmt.Fprintf(&b, "    ProxyPassReverse \"%s\" \"%s%s\"\n\n", PortalPrefix, portal, PortalPrefix)
	}
	b.WriteString("    # Every other path goes to the gateways. The admin API and the console are\n")
	b.WriteString("    # on the nodes' admin listeners, which this server never reaches.\n")
	fmt.Fprintf(&b, "    ProxyPass \"/\" \"%s/\"\n", gw)
	fmt.Fprintf(&b, "    ProxyPassReverse \"/\" \"%s/\"\n", gw)
	b.WriteString("</VirtualHost>\n")
	if r.o.Portal && r.portalHost != "" {
		r.apachePortalHost(&b, portalNodes)
	}
	return []File{{Name: FileNames(Apache)[0], Data: b.Bytes(), Mode: 0o644}}, nil
}

// apachePortalElsewhere writes, into the virtual host of the APIs' host
// names, that PortalPrefix answers 404 there (--portal-host). mod_proxy
// maps URLs before mod_alias: with proxyPass, "!" keeps a ProxyPass "/"
// that follows off the prefix (mod_jk's URI map excludes it itself).
func (r *renderer) apachePortalElsewhere(b *bytes.Buffer, proxyPass bool) {
	fmt.Fprintf(b, "    # The developer portal is on %s alone (--portal-host): its\n", r.portalHost)
	b.WriteString("    # prefix reaches no node on this virtual host's names (mod_alias answers 404).\n")
	if proxyPass {
		fmt.Fprintf(b, "    ProxyPass \"%s\" \"!\"\n", PortalPrefix)
	}
	fmt.Fprintf(b, "    RedirectMatch 404 \"^%s\"\n", PortalPrefix)
}

// apachePortalHost writes the virtual host of the developer portal's own
// host name (--portal-host), after the APIs' one, which stays the default
// for every other name: it forwards PortalPrefix to the admin listeners
// and answers 404 for everything else.
func (r *renderer) apachePortalHost(b *bytes.Buffer, nodes []Member) {
	b.WriteString("\n# The developer portal on a host name of its own (--portal-host), so that no\n")
	b.WriteString("# page an API's backend serves through the gateway is same-origin with it.\n")
	b.WriteString("# Apache matches ServerName in any case, without the port; this virtual host\n")
	b.WriteString("# comes after the one above, which stays the default for every other name.\n")
	fmt.Fprintf(b, "<VirtualHost %s>\n", r.apacheVHost())
	fmt.Fprintf(b, "    ServerName %s\n", r.portalHost)
	b.WriteString("    ProxyRequests Off\n    ProxyPreserveHost On\n")
	b.WriteString("    TraceEnable Off\n\n")
	portal := "balancer://" + r.name + "_portal"
	r.apacheBalancer(b, portal, nodes, func(n Member) string { return n.Admin })
	fmt.Fprintf(b, "    ProxyPass \"%s\" \"%s%s\"\n", PortalPrefix, portal, PortalPrefix)
	fmt.Fprintf(b, "    ProxyPassReverse \"%s\" \"%s%s\"\n", PortalPrefix, portal, PortalPrefix)
	b.WriteString("    # Nothing else on this host name: not the gateways' APIs, not the console,\n")
	b.WriteString("    # not Apache's own documents (mod_alias answers 404).\n")
	fmt.Fprintf(b, "    RedirectMatch 404 \"^/(?!%s)\"\n", strings.TrimPrefix(PortalPrefix, "/"))
	b.WriteString("</VirtualHost>\n")
}

func (r *renderer) apacheBalancer(b *bytes.Buffer, name string, nodes []Member, addr func(Member) string) {
	fmt.Fprintf(b, "    <Proxy \"%s\">\n", name)
	for _, n := range nodes {
		b.WriteString(comment("        # "+n.Name) + "\n")
		fmt.Fprintf(b, "        BalancerMember \"http://%s\" loadfactor=%d retry=5 connectiontimeout=5 keepalive=On", addr(n), n.LBFactor)
		if n.Down {
			b.WriteString(" status=+D")
		}
		b.WriteString("\n")
	}
	b.WriteString("        ProxySet lbmethod=byrequests failonstatus=503\n")
	b.WriteString("    </Proxy>\n\n")
}

// apacheListen writes the Listen directive, except for port 80 on every
// address, which Apache's own config already listens on (ports.conf,
// httpd.conf): a second Listen for it is an error.
func (r *renderer) apacheListen(b *bytes.Buffer) {
	if r.listen.host == "" && r.listen.port == 80 {
		b.WriteString("# Port 80 on every address: Apache's own config already has Listen 80.\n")
		return
	}
	fmt.Fprintf(b, "Listen %s\n", r.apacheListenAddr())
}

func (r *renderer) apacheListenAddr() string {
	if r.listen.host == "" {
		return fmt.Sprint(r.listen.port)
	}
	return r.listen.String()
}

func (r *renderer) apacheVHost() string {
	if r.listen.host == "" {
		return fmt.Sprintf("*:%d", r.listen.port)
	}
	return r.listen.String()
}
