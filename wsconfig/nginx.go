package wsconfig

import (
	"bytes"
	"fmt"
)

// nginx renders one file for nginx's http {} block (include it there, e.g.
// from /etc/nginx/conf.d): an upstream of the gateways and, with Portal,
// one of the admin listeners, a map for WebSocket upgrades, and a server
// {} on the listener that forwards every path.
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

	fmt.Fprintf(&b, "server {\n    listen %s;\n\n", r.nginxListen())
	b.WriteString("    # Portico applies each API's own limits to request bodies.\n")
	b.WriteString("    client_max_body_size 0;\n\n")
	fmt.Fprintf(&b, "    proxy_http_version 1.1;\n")
	fmt.Fprintf(&b, "    proxy_set_header Host $host;\n")
	fmt.Fprintf(&b, "    proxy_set_header Upgrade $http_upgrade;\n")
	fmt.Fprintf(&b, "    proxy_set_header Connection %s;\n", conn)
	fmt.Fprintf(&b, "    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n")
	fmt.Fprintf(&b, "    proxy_set_header X-Forwarded-Proto $scheme;\n")
	fmt.Fprintf(&b, "    proxy_connect_timeout 5s;\n")
	b.WriteString("    # Next node on a refused connection or a timeout; never for a POST, PATCH\n")
	b.WriteString("    # or LOCK once sent (no non_idempotent flag).\n")
	fmt.Fprintf(&b, "    proxy_next_upstream error timeout;\n")
	fmt.Fprintf(&b, "    proxy_next_upstream_tries %d;\n\n", min(len(r.up()), 3))
	if r.o.Portal {
		fmt.Fprintf(&b, "    # The developer portal, on the nodes' admin listeners (--portal).\n")
		fmt.Fprintf(&b, "    location %s {\n        proxy_pass http://%s;\n    }\n\n", PortalPrefix, portal)
	}
	fmt.Fprintf(&b, "    # Every other path goes to the gateways. The admin API and the console\n")
	fmt.Fprintf(&b, "    # are on the nodes' admin listeners, which this server never reaches.\n")
	fmt.Fprintf(&b, "    location / {\n        proxy_pass http://%s;\n    }\n}\n", gw)
	return []File{{Name: FileNames(Nginx)[0], Data: b.Bytes(), Mode: 0o644}}, nil
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
