package policy_test

import (
	"net/http"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/policy"
)

// FuzzCIDRList: lists of entries ("!" before one puts it in Deny) parse
// as Validate says; every entry that parses is masked, unmapped, without
// zone and round-trips; compiled rules answer as a linear scan, at each
// entry's edges and at addresses made of the probe bytes.
func FuzzCIDRList(f *testing.F) {
	f.Add("10.0.0.0/8,!10.1.0.0/16,192.0.2.7", []byte{10, 1, 2, 3})
	f.Add("2001:db8::/32,!2001:db8:bad::/48,::1", []byte("\x20\x01\x0d\xb8\x0b\xad\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"))
	f.Add("::ffff:10.0.0.0/104,!::ffff:10.0.0.1", []byte{10, 0, 0, 1})
	f.Add("0.0.0.0/0,!255.255.255.255,::/0", []byte{255, 255, 255, 255})
	f.Add("10.0.0.1/8,fe80::1%eth0,010.0.0.1, 10.0.0.1,,1.2.3.4/33", []byte{})
	f.Add("10.0.0.0/31,10.0.0.3,!10.0.0.1", []byte{10, 0, 0, 2})
	f.Fuzz(func(t *testing.T, list string, probe []byte) {
		var allow, deny []string
		if list != "" {
			for _, e := range strings.Split(list, ",") {
				if d, ok := strings.CutPrefix(e, "!"); ok {
					deny = append(deny, d)
				} else {
					allow = append(allow, e)
				}
			}
		}
		if len(allow)+len(deny) > 64 {
			return
		}
		valid := true
		for _, e := range append(allow[:len(allow):len(allow)], deny...) {
			p, err := portico.ParseCIDR(e)
			if err != nil {
				valid = false
				continue
			}
			if !p.IsValid() || p != p.Masked() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
				t.Fatalf("ParseCIDR(%q) = %v", e, p)
			}
			if q, err := portico.ParseCIDR(p.String()); err != nil || q != p {
				t.Fatalf("ParseCIDR(%q) = %v, its string %q parses as %v, %v", e, p, p.String(), q, err)
			}
		}
		r := portico.IPRules{Allow: allow, Deny: deny}
		rules, err := policy.NewIPRules(&r)
		if (err == nil) != valid || (r.Validate() == nil) != valid {
			t.Fatalf("allow %q deny %q: NewIPRules: %v, Validate: %v, entries valid: %v", allow, deny, err, r.Validate(), valid)
		}
		if err != nil {
			if portico.ErrorCodeOf(err) != portico.EInvalid || !strings.HasPrefix(portico.ErrorFieldOf(err), "ip_rules.") {
				t.Fatalf("error %v names no entry", err)
			}
			return
		}
		var canon []string
		for _, e := range append(allow[:len(allow):len(allow)], deny...) {
			p, _ := portico.ParseCIDR(e)
			canon = append(canon, p.String())
		}
		probes := append(edges(canon), netip.Addr{})
		if len(probe) >= 4 {
			a := netip.AddrFrom4([4]byte(probe[:4]))
			probes = append(probes, a, netip.AddrFrom16(a.As16()))
		}
		if len(probe) >= 16 {
			probes = append(probes, netip.AddrFrom16([16]byte(probe[:16])))
		}
		ref := linearRules(allow, deny)
		for _, a := range probes {
			if got, want := rules.Allowed(a), ref(a); got != want {
				t.Fatalf("allow %q deny %q: Allowed(%v) = %v, linear scan says %v", allow, deny, a, got, want)
			}
		}
	})
}

// FuzzClientIP: whatever a client writes in X-Forwarded-For or
// Forwarded (several lines split at "\n"), ClientIP does not panic,
// returns an unmapped address without zone, never believes an untrusted
// peer, and walks X-Forwarded-For as a plain reference does.
func FuzzClientIP(f *testing.F) {
	f.Add("10.0.0.2:80", "192.0.2.1, 10.0.0.3", false)
	f.Add("198.51.100.7:5123", "10.1.1.1", false)
	f.Add("[::ffff:10.0.0.2]:80", "::ffff:192.0.2.1\n[2001:db8::1]:4711", false)
	f.Add("10.0.0.2:80", "unknown, , [::1, 1.2.3.4:99999, 10.0.0.1%x", false)
	f.Add("10.0.0.2:80", `for=192.0.2.60;proto=http, for="[2001:db8:cafe::17]:4711"`, true)
	f.Add("10.0.0.2:80", `for="_hidden", for=;, FOR="10.0.0.1"`, true)
	f.Add("[fe80::1%eth0]:80", strings.Repeat("10.0.0.1,", 70), false)
	f.Add("", "", false)
	trusted := []string{"10.0.0.0/8", "2001:db8::/32", "192.0.2.1"}
	xffProxies := mustTrusted(f, "", trusted...)
	fwdProxies := mustTrusted(f, policy.HeaderForwarded, trusted...)
	f.Fuzz(func(t *testing.T, remote, header string, forwarded bool) {
		proxies, name := xffProxies, "X-Forwarded-For"
		if forwarded {
			proxies, name = fwdProxies, "Forwarded"
		}
		h := http.Header{name: strings.Split(header, "\n")}
		got := policy.ClientIP(remote, h, proxies)
		if got.IsValid() && (got.Is4In6() || got.Zone() != "") {
			t.Fatalf("ClientIP = %v: mapped or zoned", got)
		}
		peer := policy.ClientIP(remote, nil, nil)
		if !proxies.Trusts(peer) && got != peer {
			t.Fatalf("untrusted peer %v: ClientIP = %v", peer, got)
		}
		if !forwarded {
			if want := refClientIP(peer, h[name], proxies); got != want {
				t.Fatalf("ClientIP(%q, %q) = %v, reference says %v", remote, header, got, want)
			}
		}
	})
}

// refClientIP is ClientIP for X-Forwarded-For written plainly: join the
// lines, split, drop empty elements, walk from the right.
func refClientIP(peer netip.Addr, lines []string, proxies *policy.TrustedProxies) netip.Addr {
	if !peer.IsValid() || !proxies.Trusts(peer) {
		return peer
	}
	var elems []string
	for _, e := range strings.Split(strings.Join(lines, ","), ",") {
		if e = strings.Trim(e, " \t"); e != "" {
			elems = append(elems, e)
		}
	}
	client := peer
	for i := len(elems) - 1; i >= 0; i-- {
		if len(elems)-i > 64 {
			return netip.Addr{}
		}
		a := refParse(elems[i])
		if !a.IsValid() {
			return a
		}
		client = a
		if !proxies.Trusts(a) {
			return a
		}
	}
	return client
}

// refParse reads "ip", "ipv4:port", "[ip]" and "[ip]:port".
func refParse(e string) netip.Addr {
	host, port := e, ""
	if strings.HasPrefix(e, "[") {
		i := strings.Index(e, "]")
		if i < 0 {
			return netip.Addr{}
		}
		host, port = e[1:i], e[i+1:]
		if port != "" && !strings.HasPrefix(port, ":") {
			return netip.Addr{}
		}
	} else if strings.Count(e, ":") == 1 {
		host, port, _ = strings.Cut(e, ":")
		port = ":" + port
	}
	if port != "" {
		digits := port[1:]
		if len(digits) < 1 || len(digits) > 5 || strings.Trim(digits, "0123456789") != "" {
			return netip.Addr{}
		}
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.WithZone("").Unmap()
}

// FuzzHeaderValueTemplate: a value compiles exactly when
// ParseHeaderValue takes it; its parts print back to a template that
// parses to the same parts; applied, it gives the parts with the
// variables filled in, and never a control character but tab, whatever
// the variables hold.
func FuzzHeaderValueTemplate(f *testing.F) {
	f.Add("app=$(application); ip=$(client_ip)", "app-1")
	f.Add("cost $5 $$(api) $", "x")
	f.Add("$(request_id)$(subscriber)$(api)", "a\r\nX-Injected: 1\x00")
	f.Add("$(api", "")
	f.Add("$(unknown)", "")
	f.Add("a\nb", "")
	f.Add("\t$$$$$(api)$", "\x7f\t")
	f.Fuzz(func(t *testing.T, tmpl, val string) {
		parts, perr := portico.ParseHeaderValue(tmpl)
		hr := portico.HeaderRules{Request: []portico.HeaderOp{
			{Op: portico.HeaderSet, Name: "X-T", Value: tmpl},
			{Op: portico.HeaderAdd, Name: "X-U", Value: tmpl},
		}}
		rules, err := policy.NewHeaderRules(&hr)
		if (perr == nil) != (err == nil) {
			t.Fatalf("ParseHeaderValue: %v; NewHeaderRules: %v", perr, err)
		}
		if err != nil {
			if fld := portico.ErrorFieldOf(err); fld != "headers.request[0].value" {
				t.Fatalf("error on %q, want headers.request[0].value: %v", fld, err)
			}
			return
		}
		var back, want strings.Builder
		for i, p := range parts {
			if (p.Var == "") == (p.Text == "") {
				t.Fatalf("part %d of %q: %#v", i, tmpl, p)
			}
			if p.Var != "" {
				back.WriteString("$(" + p.Var + ")")
				for _, c := range []byte(val) {
					if c >= ' ' && c != 0x7f || c == '\t' {
						want.WriteByte(c)
					}
				}
				continue
			}
			back.WriteString(strings.ReplaceAll(p.Text, "$", "$$"))
			want.WriteString(p.Text)
		}
		if again, err := portico.ParseHeaderValue(back.String()); err != nil || !reflect.DeepEqual(again, parts) {
			t.Fatalf("%q parses to %#v, printed %q, which parses to %#v, %v", tmpl, parts, back.String(), again, err)
		}
		h := http.Header{"X-U": {"first"}}
		rules.ApplyRequest(h, &policy.Vars{RequestID: val, Application: val, Subscriber: val, API: val, ClientIP: val})
		if got := h["X-T"]; len(got) != 1 || got[0] != want.String() {
			t.Fatalf("%q with variables %q: X-T %q, want %q", tmpl, val, got, want.String())
		}
		if got := h["X-U"]; len(got) != 2 || got[0] != "first" || got[1] != want.String() {
			t.Fatalf("%q with variables %q: X-U %q", tmpl, val, got)
		}
		for _, c := range []byte(h["X-T"][0]) {
			if c < ' ' && c != '\t' || c == 0x7f {
				t.Fatalf("%q with variables %q: control character %q in %q", tmpl, val, c, h["X-T"][0])
			}
		}
	})
}
