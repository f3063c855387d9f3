package wsconfig

import (
	"bytes"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
)

// jkRecoveryOptions is mod_jk's recovery_options: 1 (no recovery once the
// request was sent and no response header came) + 2 (none once headers
// came) + 8 (HEAD is recovered anyway) + 16 (so is GET). A request whose
// connection failed before it was sent is always tried on the next node;
// a POST that may have reached a node never is.
const jkRecoveryOptions = 1 + 2 + 8 + 16

// apacheJK renders mod_jk's three files: workers.properties (a template
// worker with the settings every node shares, one ajp13 worker per member
// with its lbfactor, and the lb worker over them), uriworkermap.properties
// (every path to the lb worker; with Portal, the portal's prefix excluded
// with '!') and mod_jk.conf to Include (JkWorkersFile, JkShmFile,
// JkLogFile, and a virtual host on the listener with JkMountFile; with
// PortalHost, PortalPrefix answers 404 there and a second virtual host for
// that name forwards it, as for apache). The
// members need an AJP address (portico serve --ajp-addr); those without
// one are refused, unless down.
//
// mod_jk checks a connection with CPing/CPong when it connects and every
// interval (ping_mode=CI: a CPing before every request, ping_mode=A,
// costs a round trip each, about a third of the throughput through
// Apache), keeps connections alive (socket_keepalive,
// connection_pool_timeout), and recovers on the next node only what
// jkRecoveryOptions lets it.
func (r *renderer) apacheJK() ([]File, error) {
	if !filepath.IsAbs(r.o.Dir) {
		return nil, fmt.Errorf("wsconfig: apache-jk needs the absolute path of the output directory (mod_jk.conf names the other files by it), not %q", r.o.Dir)
	}
	if err := checkText("output directory", r.o.Dir); err != nil || strings.ContainsAny(r.o.Dir, `"\`) {
		return nil, fmt.Errorf("wsconfig: the output directory %q cannot be named in mod_jk.conf", r.o.Dir)
	}
	var nodes []Member
	for _, n := range r.nodes {
		switch {
		case n.AJP != "":
			nodes = append(nodes, n)
		case !n.Down:
			return nil, fmt.Errorf("wsconfig: member %q has no AJP address: start it with portico serve --ajp-addr, or use --ws apache", n.Name)
		}
	}
	ids := idents(nodes)
	lb := r.name + "_lb"
	tmpl := r.name + "_node"
	secret := r.o.AJPSecret != ""

	var w bytes.Buffer
	r.hashHeader(&w, "mod_jk's workers, named by JkWorkersFile in mod_jk.conf.")
	fmt.Fprintf(&w, "worker.list=%s\n\n", lb)
	w.WriteString("# What every node shares: CPing/CPong before each request and at intervals,\n")
	w.WriteString("# kept-alive connections, and recovery on the next node only for a request\n")
	w.WriteString("# that was not sent, or a GET or HEAD (recovery_options=27).\n")
	for _, kv := range [][2]string{
		{"type", "ajp13"},
		{"ping_mode", "CI"},
		{"ping_timeout", "2000"},
		{"connect_timeout", "5000"},
		{"socket_keepalive", "true"},
		{"connection_pool_timeout", "60"},
		{"recovery_options", fmt.Sprint(jkRecoveryOptions)},
	} {
		fmt.Fprintf(&w, "worker.%s.%s=%s\n", tmpl, kv[0], kv[1])
	}
	if secret {
		fmt.Fprintf(&w, "worker.%s.secret=%s\n", tmpl, r.o.AJPSecret)
	}
	w.WriteString("\n")
	for i, n := range nodes {
		host, port, _ := splitAddr(n.AJP) // checked by Validate
		w.WriteString(comment("# "+n.Name) + "\n")
		p := "worker." + ids[i] + "."
		fmt.Fprintf(&w, "%sreference=worker.%s\n", p, tmpl)
		fmt.Fprintf(&w, "%shost=%s\n%sport=%d\n%slbfactor=%d\n", p, host, p, port, p, n.LBFactor)
		if n.Down {
			w.WriteString("# Down (draining): disabled, no new traffic.\n")
			fmt.Fprintf(&w, "%sactivation=D\n", p)
		}
		w.WriteString("\n")
	}
	w.WriteString("# The load balancer over the nodes, by their lbfactor; no sticky sessions.\n")
	fmt.Fprintf(&w, "worker.%s.type=lb\n", lb)
	fmt.Fprintf(&w, "worker.%s.balance_workers=%s\n", lb, strings.Join(ids, ","))
	fmt.Fprintf(&w, "worker.%s.sticky_session=false\n", lb)
	fmt.Fprintf(&w, "worker.%s.recover_time=10\n", lb)

	var u bytes.Buffer
	r.hashHeader(&u, "mod_jk's URI map, named by JkMountFile in mod_jk.conf. The admin API and the",
		"console are on the nodes' admin listeners, which mod_jk never reaches.")
	fmt.Fprintf(&u, "/*=%s\n", lb)
	if r.o.Portal {
		u.WriteString("# The developer portal goes to the admin listeners through mod_proxy (mod_jk.conf).\n")
		fmt.Fprintf(&u, "!%s*=%s\n", PortalPrefix, lb)
	}

	var c bytes.Buffer
	notes := []string{"Include this file in Apache's server config. It needs mod_jk (Debian: apt-get",
		"install libapache2-mod-jk). The paths below are those of portico wsconfig --out.",
		"Apache takes JkWorkersFile once: on Debian, remove mods-enabled/jk.conf (keep jk.load)."}
	if r.o.Portal {
		notes = append(notes, "With --portal it also needs mod_proxy, mod_proxy_http, mod_proxy_balancer,",
			"mod_lbmethod_byrequests and mod_slotmem_shm.")
	}
	if r.portalHost != "" {
		notes = append(notes, "With --portal-host it also needs mod_alias (Debian: a2enmod alias).")
	}
	r.hashHeader(&c, notes...)
	path := func(name string) string { return filepath.Join(r.o.Dir, name) }
	fmt.Fprintf(&c, "JkWorkersFile \"%s\"\n", path("workers.properties"))
	fmt.Fprintf(&c, "JkShmFile \"%s\"\n", path("mod_jk.shm"))
	fmt.Fprintf(&c, "JkLogFile \"%s\"\n", path("mod_jk.log"))
	c.WriteString("JkLogLevel info\n\n")
	r.apacheListen(&c)
	fmt.Fprintf(&c, "<VirtualHost %s>\n", r.apacheVHost())
	fmt.Fprintf(&c, "    JkMountFile \"%s\"\n", path("uriworkermap.properties"))
	c.WriteString("    # Apache would answer TRACE itself, echoing the client's key and cookies.\n")
	c.WriteString("    TraceEnable Off\n")
	var portalNodes []Member
	if r.o.Portal {
		nodes, err := r.portalMembers()
		if err == nil {
			err = r.checkFactor(apacheMaxFactor, "loadfactor")
		}
		if err != nil {
			return nil, err
		}
		portalNodes = nodes
	}
	switch {
	case r.o.Portal && r.portalHost != "":
		c.WriteString("\n")
		r.apachePortalElsewhere(&c, false)
	case r.o.Portal:
		c.WriteString("\n    # The developer portal, on the nodes' admin listeners (--portal). It shares\n")
		c.WriteString("    # the APIs' host names, and so their origin: give it one of its own with\n")
		c.WriteString("    # --portal-host.\n")
		c.WriteString("    ProxyRequests Off\n    ProxyPreserveHost On\n")
		portal := "balancer://" + r.name + "_portal"
		r.apacheBalancer(&c, portal, portalNodes, func(n Member) string { return n.Admin })
		fmt.Fprintf(&c, "    ProxyPass \"%s\" \"%s%s\"\n", PortalPrefix, portal, PortalPrefix)
		fmt.Fprintf(&c, "    ProxyPassReverse \"%s\" \"%s%s\"\n", PortalPrefix, portal, PortalPrefix)
	}
	c.WriteString("</VirtualHost>\n")
	if r.o.Portal && r.portalHost != "" {
		r.apachePortalHost(&c, portalNodes)
	}

	workersMode := uint32(0o644)
	if secret {
		workersMode = 0o600
	}
	names := FileNames(ApacheJK)
	return []File{
		{Name: names[0], Data: c.Bytes(), Mode: 0o644},
		{Name: names[1], Data: w.Bytes(), Mode: workersMode},
		{Name: names[2], Data: u.Bytes(), Mode: 0o644},
	}, nil
}

// NeedsSecret reports whether one of m's AJP listeners is off loopback,
// where portico serve requires a secret: a mod_jk config without one
// would get 403 for every request.
func NeedsSecret(m Members) bool {
	for _, n := range m.Nodes {
		if host, _, err := splitAddr(n.AJP); n.AJP != "" && (err != nil || !loopbackHost(host)) {
			return true
		}
	}
	return false
}

// loopbackHost reports whether host is localhost or a loopback address.
func loopbackHost(host string) bool {
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return host == "localhost" || err == nil && ip.IsLoopback()
}
