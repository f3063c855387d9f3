package wsconfig

import (
	"bytes"
	"fmt"
)

// nginx renders one file for nginx's http {} block (include it there, e.g.
// from /etc/nginx/conf.d): an upstream of the gateways and, with Portal,
// one of the admin listeners, a map for WebSocket upgrades, and a server
// {} on the listener that forwards every path. With PortalHost, PortalPrefix
// answers 404 in that server, and a second server {} for that server_name,
// after the first so that it is never the listener's default, forwards
// PortalPrefix and answers 404 for everything else.
//
// A refused connection or a timeout sends the request to the next node
// (proxy_next_upstream error timeout); nginx never does so for POST, PATCH
// or LOCK once a byte of it was sent (the non_idempotent flag is left
// out), so a POST that may have reached a node is not sent again. Open
// source nginx has no active health checks: a node that fails is skipped
// for fail_timeout (10 s) after max_fails (1) failures.
func (r *renderer) nginx() ([]File, error) {
	var b bytes.Buffer
	r.hashHeader(&b,
		"Include this file in nginx's http {} block. Open source nginx has no active",
		"health checks: a node that refuses a connection or times out is skipped for",
		"10 s, and the request goes to the next node unless it is a POST, PATCH or",
		"LOCK that was already sent.")
	gw := r.name + "_gateway"
	r.nginxUpstream(&b, gw, r.nodes, func(n Member) string { return n.Gateway })
	portal := r.name + "_portal"
	if r.o.Portal {
		nodes, err := r.portalMembers()
		if err != nil {
			return nil, err
		}
		r.nginxUpstream(&b, portal, nodes, func(n Member) string { return n.Admin })
	}
	conn := "$" + r.name + "_connection"
	fmt.Fprintf(&b, "# Connection header to the nodes: keep-alive, or upgrade for WebSockets.\n")
	fmt.Fprintf(&b, "map $http_upgrade %s {\n    default upgrade;\n    \"\"      \"\";\n}\n\n", conn)

	r.nginxServer(&b, "", conn)
	if r.o.Portal && r.portalHost != "" {
		fmt.Fprintf(&b, "    # The developer portal is on %s alone (--portal-host): its\n", r.portalHost)
		b.WriteString("    # prefix reaches no node on this server's host names.\n")
		fmt.Fprintf(&b, "    location %s {\n        return 404;\n    }\n\n", PortalPrefix)
	} else if r.o.Portal {
		b.WriteString("    # The developer portal, on the nodes' admin listeners (--portal). It shares\n")
		b.WriteString("    # the APIs' host names, and so their origin: give it one of its own with\n")
		b.WriteString("    # --portal-host.\n")
		fmt.Fprintf(&b, "    location %s {\n        proxy_pass http://%s;\n    }\n\n", PortalPrefix, portal)
	}
	fmt.Fprintf(&b, "    # Every other path goes to the gateways. The admin API and the console\n")
	fmt.Fprintf(&b, "    # are on the nodes' admin listeners, which this server never reaches.\n")
	fmt.Fprintf(&b, "    location / {\n        proxy_pass http://%s;\n    }\n}\n", gw)
	if r.o.Portal && r.portalHost != "" {
		b.WriteString("\n# The developer portal on a host name of its own (--portal-host), so that no\n")
		b.WriteString("# page an API's backend serves through the gateway is same-origin with it.\n")
		b.WriteString("# This server comes after the one above, which stays the default for every\n")
		b.WriteString("# other host name; nginx matches server_name in any case, without the port.\n")
		r.nginxServer(&b, r.portalHost, conn)
		fmt.Fprintf(&b, "    location %s {\n        proxy_pass http://%s;\n    }\n\n", PortalPrefix, portal)
		b.WriteString("    # Nothing else on this host name: not the gateways' APIs, not the console.\n")
		b.WriteString("    location / {\n        return 404;\n    }\n}\n")
	}
	return []File{{Name: FileNames(Nginx)[0], Data: b.Bytes(), Mode: 0o644}}, nil
}

// nginxServer opens a server {} on the listener, for serverName if not
// "", with the settings of every proxied request.
func (r *renderer) nginxServer(b *bytes.Buffer, serverName, conn string) {
	fmt.Fprintf(b, "server {\n    listen %s;\n", r.nginxListen())
	if serverName != "" {
		fmt.Fprintf(b, "    server_name %s;\n", serverName)
	}
	b.WriteString("\n    # Portico applies each API's own limits to request bodies.\n")
	b.WriteString("    client_max_body_size 0;\n\n")
	fmt.Fprintf(b, "    proxy_http_version 1.1;\n")
	fmt.Fprintf(b, "    proxy_set_header Host $host;\n")
	fmt.Fprintf(b, "    proxy_set_header Upgrade $http_upgrade;\n")
	fmt.Fprintf(b, "    proxy_set_header Connection %s;\n", conn)
	fmt.Fprintf(b, "    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n")
	fmt.Fprintf(b, "    proxy_set_header X-Forwarded-Proto $scheme;\n")
	fmt.Fprintf(b, "    proxy_connect_timeout 5s;\n")
	b.WriteString("    # Next node on a refused connection or a timeout; never for a POST, PATCH\n")
	b.WriteString("    # or LOCK once sent (no non_idempotent flag).\n")
	fmt.Fprintf(b, "    proxy_next_upstream error timeout;\n")
	fmt.Fprintf(b, "    proxy_next_upstream_tries %d;\n\n", min(len(r.up()), 3))
}

func (r *renderer) nginxUpstream(b *bytes.Buffer, name string, nodes []Member, addr func(Member) string) {
	fmt.Fprintf(b, "upstream %s {\n", name)
	for _, n := range nodes {
		fmt.Fprintf(b, "    server %s weight=%d", addr(n), n.LBFactor)
		if n.Down {
			b.WriteString(" down")
		}
		fmt.Fprintf(b, "; # %s\n", n.Name)
	}
	b.WriteString("    keepalive 32;\n}\n\n")
}

func (r *renderer) nginxListen() string {
	if r.listen.host == "" {
		return fmt.Sprint(r.listen.port)
	}
	return r.listen.String()
}
