package policy_test

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/policy"
)

func mustIPRules(t testing.TB, r portico.IPRules) *policy.IPRules {
	t.Helper()
	p, err := policy.NewIPRules(&r)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestIPRulesAllowed: deny wins, an empty allow list admits everyone,
// IPv4-mapped addresses match as IPv4, an unknown client is refused by
// any rule.
func TestIPRulesAllowed(t *testing.T) {
	office := portico.IPRules{
		Allow: []string{"10.0.0.0/8", "192.0.2.7", "2001:db8::/32", "::ffff:198.51.100.0/120"},
		Deny:  []string{"10.1.0.0/16", "2001:db8:bad::/48"},
	}
	denyOnly := portico.IPRules{Deny: []string{"203.0.113.0/24", "::1"}}
	everyone := portico.IPRules{Allow: []string{"0.0.0.0/0", "::/0"}, Deny: []string{"10.0.0.0/8"}}
	for _, c := range []struct {
		name  string
		rules *policy.IPRules
		addr  string
		want  bool
	}{
		{"in allow", mustIPRules(t, office), "10.2.3.4", true},
		{"allow range edge low", mustIPRules(t, office), "10.0.0.0", true},
		{"allow range edge high", mustIPRules(t, office), "10.255.255.255", true},
		{"next to allow range", mustIPRules(t, office), "11.0.0.0", false},
		{"deny wins", mustIPRules(t, office), "10.1.2.3", false},
		{"deny edge", mustIPRules(t, office), "10.1.255.255", false},
		{"after deny", mustIPRules(t, office), "10.2.0.0", true},
		{"bare address", mustIPRules(t, office), "192.0.2.7", true},
		{"next to bare address", mustIPRules(t, office), "192.0.2.8", false},
		{"one-address gap", mustIPRules(t, portico.IPRules{Allow: []string{"10.0.0.0/31", "10.0.0.3"}}), "10.0.0.2", false},
		{"one-address gap v6", mustIPRules(t, portico.IPRules{Allow: []string{"2001:db8::/127", "2001:db8::3"}}), "2001:db8::2", false},
		{"adjacent ranges", mustIPRules(t, portico.IPRules{Allow: []string{"10.0.0.0/31", "10.0.0.2/31"}}), "10.0.0.2", true},
		{"top of the space", mustIPRules(t, portico.IPRules{Allow: []string{"255.255.255.255", "255.255.255.0/24", "ffff::/16"}}), "255.255.255.255", true},
		{"top of the v6 space", mustIPRules(t, portico.IPRules{Allow: []string{"ffff::/16", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}}), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true},
		{"mapped entry", mustIPRules(t, office), "198.51.100.5", true},
		{"mapped client", mustIPRules(t, office), "::ffff:10.2.3.4", true},
		{"mapped client denied", mustIPRules(t, office), "::ffff:10.1.2.3", false},
		{"ipv6 allowed", mustIPRules(t, office), "2001:db8:1::1", true},
		{"ipv6 denied", mustIPRules(t, office), "2001:db8:bad::1", false},
		{"ipv6 outside", mustIPRules(t, office), "2001:db9::1", false},
		{"zone ignored", mustIPRules(t, office), "2001:db8::1%eth0", true},
		{"unknown client with allow", mustIPRules(t, office), "", false},
		{"deny only admits others", mustIPRules(t, denyOnly), "198.51.100.1", true},
		{"deny only refuses", mustIPRules(t, denyOnly), "203.0.113.9", false},
		{"deny only ipv6", mustIPRules(t, denyOnly), "::1", false},
		{"unknown client with deny only", mustIPRules(t, denyOnly), "", false},
		{"::/0 is not IPv4", mustIPRules(t, portico.IPRules{Allow: []string{"::/0"}}), "192.0.2.1", false},
		{"::/0 is not mapped IPv4", mustIPRules(t, portico.IPRules{Allow: []string{"::/0"}}), "::ffff:192.0.2.1", false},
		{"all but", mustIPRules(t, everyone), "8.8.8.8", true},
		{"all but denied", mustIPRules(t, everyone), "10.9.9.9", false},
		{"no rules", mustIPRules(t, portico.IPRules{}), "192.0.2.1", true},
		{"no rules unknown client", mustIPRules(t, portico.IPRules{}), "", true},
		{"nil", nil, "192.0.2.1", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var a netip.Addr
			if c.addr != "" {
				a = netip.MustParseAddr(c.addr)
			}
			if got := c.rules.Allowed(a); got != c.want {
				t.Errorf("Allowed(%s) = %v, want %v", c.addr, got, c.want)
			}
		})
	}
}

// TestNewIPRulesRefuses: a bad entry is refused, naming it.
func TestNewIPRulesRefuses(t *testing.T) {
	_, err := policy.NewIPRules(&portico.IPRules{Allow: []string{"10.0.0.0/8"}, Deny: []string{"10.0.0.0/8", "10.0.0.1/24"}})
	if portico.ErrorCodeOf(err) != portico.EInvalid || portico.ErrorFieldOf(err) != "ip_rules.deny[1]" {
		t.Fatalf("NewIPRules = %v, want invalid ip_rules.deny[1]", err)
	}
}

// TestIPRulesAgainstLinearScan: on random overlapping lists, the merged
// ranges answer as checking every prefix would.
func TestIPRulesAgainstLinearScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 200; round++ {
		allow, deny := randomCIDRs(rng, rng.IntN(30)), randomCIDRs(rng, rng.IntN(10))
		rules := mustIPRules(t, portico.IPRules{Allow: allow, Deny: deny})
		ref := linearRules(allow, deny)
		probes := edges(append(allow, deny...))
		for range 200 {
			probes = append(probes, randomAddr(rng))
		}
		for _, a := range probes {
			if got, want := rules.Allowed(a), ref(a); got != want {
				t.Fatalf("allow %v deny %v: Allowed(%s) = %v, linear scan says %v", allow, deny, a, got, want)
			}
		}
	}
}

// edges returns, for each prefix, its first and last address and their
// neighbours outside it.
func edges(list []string) []netip.Addr {
	var out []netip.Addr
	for _, s := range list {
		p := netip.MustParsePrefix(s)
		first := p.Addr()
		last := first
		for b := p.Bits(); b < first.BitLen(); b++ { // set the host bits one by one
			bs := last.AsSlice()
			bs[b/8] |= 0x80 >> (b % 8)
			last, _ = netip.AddrFromSlice(bs)
		}
		out = append(out, first, first.Prev(), last, last.Next())
	}
	return out
}

// randomCIDRs returns n masked prefixes in a small part of the address
// space, so that they overlap and touch.
func randomCIDRs(rng *rand.Rand, n int) []string {
	out := make([]string, n)
	for i := range out {
		if rng.IntN(2) == 0 {
			a := netip.AddrFrom4([4]byte{10, byte(rng.IntN(4)), byte(rng.IntN(256)), byte(rng.IntN(256))})
			out[i] = netip.PrefixFrom(a, 14+rng.IntN(19)).Masked().String()
			if rng.IntN(4) == 0 { // single addresses and pairs, to leave one-address gaps
				out[i] = netip.PrefixFrom(a, 31+rng.IntN(2)).Masked().String()
			}
		} else {
			a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, byte(rng.IntN(4)), 15: byte(rng.IntN(256))})
			out[i] = netip.PrefixFrom(a, 40+rng.IntN(89)).Masked().String()
		}
	}
	return out
}

func randomAddr(rng *rand.Rand) netip.Addr {
	if rng.IntN(2) == 0 {
		return netip.AddrFrom4([4]byte{10, byte(rng.IntN(5)), byte(rng.IntN(256)), byte(rng.IntN(256))})
	}
	return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, byte(rng.IntN(5)), 15: byte(rng.IntN(256))})
}

// linearRules is the reference: every prefix checked in turn.
func linearRules(allow, deny []string) func(netip.Addr) bool {
	parse := func(list []string) []netip.Prefix {
		var ps []netip.Prefix
		for _, s := range list {
			p, err := portico.ParseCIDR(s)
			if err != nil {
				panic(err)
			}
			ps = append(ps, p)
		}
		return ps
	}
	in := func(ps []netip.Prefix, a netip.Addr) bool {
		for _, p := range ps {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	a4, d4 := parse(allow), parse(deny)
	return func(a netip.Addr) bool {
		if !a.IsValid() {
			return len(a4) == 0 && len(d4) == 0
		}
		a = a.Unmap().WithZone("")
		return !in(d4, a) && (len(a4) == 0 || in(a4, a))
	}
}
