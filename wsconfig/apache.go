package wsconfig

import (
	"bytes"
	"fmt"
)

// apacheMaxFactor is the largest loadfactor of mod_proxy_balancer.
const apacheMaxFactor = 100

// apache renders one file to Include in Apache's server config: a
// mod_proxy_balancer balancer of the gateways (and with Portal one of the
// admin listeners) and a virtual host on the listener that forwards every
// path. It needs mod_proxy, mod_proxy_http, mod_proxy_balancer,
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
	r.hashHeader(&b,
		"Include this file in Apache's server config. It needs mod_proxy, mod_proxy_http,",
		"mod_proxy_balancer, mod_lbmethod_byrequests and mod_slotmem_shm (Debian:",
		"a2enmod proxy_http proxy_balancer lbmethod_byrequests slotmem_shm).")
	r.apacheListen(&b)
	fmt.Fprintf(&b, "<VirtualHost %s>\n", r.apacheVHost())
	b.WriteString("    ProxyRequests Off\n    ProxyPreserveHost On\n")
	b.WriteString("    # Apache would answer TRACE itself, echoing the client's key and cookies.\n")
	b.WriteString("    TraceEnable Off\n\n")
	gw := "balancer://" + r.name + "_gateway"
	r.apacheBalancer(&b, gw, r.nodes, func(n Member) string { return n.Gateway })
	if r.o.Portal {
		nodes, err := r.portalMembers()
		if err != nil {
			return nil, err
		}
		portal := "balancer://" + r.name + "_portal"
		r.apacheBalancer(&b, portal, nodes, func(n Member) string { return n.Admin })
		b.WriteString("    # The developer portal, on the nodes' admin listeners (--portal).\n")
		fmt.Fprintf(&b, "    ProxyPass \"%s\" \"%s%s\"\n", PortalPrefix, portal, PortalPrefix)
		fmt.Fprintf(&b, "    ProxyPassReverse \"%s\" \"%s%s\"\n\n", PortalPrefix, portal, PortalPrefix)
	}
	b.WriteString("    # Every other path goes to the gateways. The admin API and the console are\n")
	b.WriteString("    # on the nodes' admin listeners, which this server never reaches.\n")
	fmt.Fprintf(&b, "    ProxyPass \"/\" \"%s/\"\n", gw)
	fmt.Fprintf(&b, "    ProxyPassReverse \"/\" \"%s/\"\n", gw)
	b.WriteString("</VirtualHost>\n")
	return []File{{Name: FileNames(Apache)[0], Data: b.Bytes(), Mode: 0o644}}, nil
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
