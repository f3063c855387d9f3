package wsconfig

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"regexp"
	"strings"
)

// iis renders the XML to merge into IIS's applicationHost.config: an
// Application Request Routing web farm of the gateways (with Portal one of
// the admin listeners), each server with its lb factor as its ARR weight
// (WeightedRoundRobin), keep-alive to the nodes, and the URL Rewrite
// global rules that send every path to the farm. With PortalHost, the
// portal's rule has a condition on {HTTP_HOST} (the name, any port, any
// case), and CustomResponse rules answer 404 for every other path on that
// host and for PortalPrefix on every other host. A member that is down is
// a server with enabled="false". IIS takes its listener from the site's
// bindings, so Options.Listen is not used. ARR's health check asks each
// server on the farm's port, where the gateway has no health endpoint, so
// none is set; ARR takes a server out when it fails to connect.
func (r *renderer) iis() ([]File, error) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	notes := []string{
		`Merge into applicationHost.config (%windir%\System32\inetsrv\config): webFarms`,
		"under configuration, the rules under system.webServer/rewrite/globalRules.",
		"Needs Application Request Routing 3 and URL Rewrite 2. The front end listens",
		"on the site's bindings.",
	}
	b.WriteString("<!--\n")
	for _, l := range r.headerLines(notes...) {
		b.WriteString(comment("  "+xmlCommentText(l)) + "\n")
	}
	b.WriteString("-->\n<configuration>\n  <webFarms>\n")
	gw, portal := r.name+"_gateway", r.name+"_portal"
	r.iisFarm(&b, gw, r.nodes, func(n Member) string { return n.Gateway })
	if r.o.Portal {
		nodes, err := r.portalMembers()
		if err != nil {
			return nil, err
		}
		r.iisFarm(&b, portal, nodes, func(n Member) string { return n.Admin })
	}
	b.WriteString("  </webFarms>\n  <system.webServer>\n    <rewrite>\n      <globalRules>\n")
	p := strings.TrimPrefix(PortalPrefix, "/")
	switch {
	case r.o.Portal && r.portalHost != "":
		host := regexp.QuoteMeta(r.portalHost)
		b.WriteString("        <!-- The developer portal on a host name of its own (portal host option), so\n")
		b.WriteString("             that no page an API's backend serves through the gateway is same-origin\n")
		b.WriteString("             with it: only its prefix on that host goes to the admin listeners (the\n")
		b.WriteString("             host matched without the port, in any case); that host gets nothing\n")
		b.WriteString("             else, nor does the prefix on any other host (404). -->\n")
		fmt.Fprintf(&b, "        <rule name=\"%s\" stopProcessing=\"true\">\n", portal)
		fmt.Fprintf(&b, "          <match url=\"^%s(.*)\" />\n", p)
		b.WriteString("          <conditions logicalGrouping=\"MatchAll\">\n")
		fmt.Fprintf(&b, "            <add input=\"{HTTP_HOST}\" pattern=\"^%s(:[0-9]+)?$\" ignoreCase=\"true\" />\n", host)
		b.WriteString("          </conditions>\n")
		fmt.Fprintf(&b, "          <action type=\"Rewrite\" url=\"http://%s/%s{R:1}\" />\n", portal, p)
		b.WriteString("        </rule>\n")
		fmt.Fprintf(&b, "        <rule name=\"%s_host_only\" stopProcessing=\"true\">\n", portal)
		b.WriteString("          <match url=\"(.*)\" />\n")
		b.WriteString("          <conditions logicalGrouping=\"MatchAll\">\n")
		fmt.Fprintf(&b, "            <add input=\"{HTTP_HOST}\" pattern=\"^%s(:[0-9]+)?$\" ignoreCase=\"true\" />\n", host)
		b.WriteString("          </conditions>\n")
		b.WriteString("          <action type=\"CustomResponse\" statusCode=\"404\" statusReason=\"Not Found\" statusDescription=\"Only the developer portal is on this host.\" />\n")
		b.WriteString("        </rule>\n")
		fmt.Fprintf(&b, "        <rule name=\"%s_elsewhere\" stopProcessing=\"true\">\n", portal)
		fmt.Fprintf(&b, "          <match url=\"^%s\" />\n", p)
		b.WriteString("          <action type=\"CustomResponse\" statusCode=\"404\" statusReason=\"Not Found\" statusDescription=\"The developer portal is on a host of its own.\" />\n")
		b.WriteString("        </rule>\n")
	case r.o.Portal:
		b.WriteString("        <!-- The developer portal, on the nodes' admin listeners (portal option). It\n")
		b.WriteString("             shares the APIs' host names, and so their origin: give it one of its\n")
		b.WriteString("             own with the portal host option. -->\n")
		fmt.Fprintf(&b, "        <rule name=\"%s\" stopProcessing=\"true\">\n", portal)
		fmt.Fprintf(&b, "          <match url=\"^%s(.*)\" />\n", p)
		fmt.Fprintf(&b, "          <action type=\"Rewrite\" url=\"http://%s/%s{R:1}\" />\n", portal, p)
		b.WriteString("        </rule>\n")
	}
	b.WriteString("        <!-- Every other path goes to the gateways. The admin API and the console are\n")
	b.WriteString("             on the nodes' admin listeners, which this farm never reaches. -->\n")
	fmt.Fprintf(&b, "        <rule name=\"%s\" stopProcessing=\"true\">\n", gw)
	b.WriteString("          <match url=\"(.*)\" />\n")
	fmt.Fprintf(&b, "          <action type=\"Rewrite\" url=\"http://%s/{R:1}\" />\n", gw)
	b.WriteString("        </rule>\n      </globalRules>\n    </rewrite>\n  </system.webServer>\n</configuration>\n")
	return []File{{Name: FileNames(IIS)[0], Data: b.Bytes(), Mode: 0o644}}, nil
}

func (r *renderer) iisFarm(b *bytes.Buffer, name string, nodes []Member, addr func(Member) string) {
	fmt.Fprintf(b, "    <webFarm name=\"%s\" enabled=\"true\">\n", name)
	for _, n := range nodes {
		host, port, _ := splitAddr(addr(n)) // checked by Validate
		fmt.Fprintf(b, "      <!-- %s -->\n", xmlCommentText(n.Name))
		fmt.Fprintf(b, "      <server address=\"%s\" enabled=\"%t\">\n", xmlAttr(host), !n.Down)
		fmt.Fprintf(b, "        <applicationRequestRouting httpPort=\"%d\" weight=\"%d\" />\n", port, n.LBFactor)
		b.WriteString("      </server>\n")
	}
	b.WriteString("      <applicationRequestRouting>\n")
	b.WriteString("        <loadBalancing algorithm=\"WeightedRoundRobin\" />\n")
	b.WriteString("        <protocol keepAlive=\"true\" timeout=\"00:01:00\" />\n")
	b.WriteString("      </applicationRequestRouting>\n    </webFarm>\n")
}

// xmlCommentText makes s safe inside an XML comment, which must not hold
// "--" nor end with "-".
func xmlCommentText(s string) string {
	for strings.Contains(s, "--") {
		s = strings.ReplaceAll(s, "--", "- -")
	}
	if strings.HasSuffix(s, "-") {
		s += " "
	}
	return s
}

func xmlAttr(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
