package policy_test

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/policy"
)

func mustTrusted(t testing.TB, header string, cidrs ...string) *policy.TrustedProxies {
	t.Helper()
	p, err := policy.NewTrustedProxies(cidrs, header)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestClientIP: X-Forwarded-For is read only from trusted proxies, from
// the right, to the first untrusted entry; garbage makes the client
// unknown; IPv4-mapped peers and entries are IPv4.
func TestClientIP(t *testing.T) {
	lb := mustTrusted(t, "", "10.0.0.0/8", "2001:db8:ffff::/48")
	fwd := mustTrusted(t, policy.HeaderForwarded, "10.0.0.0/8")
	xff := func(vs ...string) http.Header {
		h := http.Header{}
		for _, v := range vs {
			h.Add("X-Forwarded-For", v)
		}
		return h
	}
	forwarded := func(vs ...string) http.Header {
		h := http.Header{}
		for _, v := range vs {
			h.Add("Forwarded", v)
		}
		return h
	}
	for _, c := range []struct {
		name    string
		remote  string
		h       http.Header
		trusted *policy.TrustedProxies
		want    string // "" for the zero Addr
	}{
		{"no proxy", "198.51.100.7:5123", nil, lb, "198.51.100.7"},
		{"spoofed XFF from an untrusted peer", "198.51.100.7:5123", xff("10.1.1.1"), lb, "198.51.100.7"},
		{"spoofed Forwarded from an untrusted peer", "198.51.100.7:5123", forwarded("for=10.1.1.1"), fwd, "198.51.100.7"},
		{"nil trusted ignores XFF", "10.0.0.2:80", xff("192.0.2.1"), nil, "10.0.0.2"},
		{"through the balancer", "10.0.0.2:80", xff("192.0.2.1"), lb, "192.0.2.1"},
		{"client's own XFF left of the balancer's", "10.0.0.2:80", xff("10.9.9.9, 192.0.2.1"), lb, "192.0.2.1"},
		{"two trusted hops", "10.0.0.2:80", xff("192.0.2.1, 10.0.0.3"), lb, "192.0.2.1"},
		{"spoof and two hops", "10.0.0.2:80", xff("127.0.0.1, 192.0.2.1, 10.0.0.3"), lb, "192.0.2.1"},
		{"all trusted: leftmost", "10.0.0.2:80", xff("10.0.0.9, 10.0.0.3"), lb, "10.0.0.9"},
		{"trusted peer without XFF", "10.0.0.2:80", nil, lb, "10.0.0.2"},
		{"lines joined in order", "10.0.0.2:80", xff("203.0.113.1, 192.0.2.1", "10.0.0.3"), lb, "192.0.2.1"},
		{"empty elements skipped", "10.0.0.2:80", xff(" , 192.0.2.1 ,, ", ""), lb, "192.0.2.1"},
		{"entry with port", "10.0.0.2:80", xff("192.0.2.1:4711"), lb, "192.0.2.1"},
		{"ipv6 entry", "10.0.0.2:80", xff("2001:db8::1"), lb, "2001:db8::1"},
		{"ipv6 entry bracketed with port", "10.0.0.2:80", xff("[2001:db8::1]:4711"), lb, "2001:db8::1"},
		{"ipv6 entry bracketed", "10.0.0.2:80", xff("[2001:db8::1]"), lb, "2001:db8::1"},
		{"ipv6 peer", "[2001:db8:ffff::5]:443", xff("192.0.2.1"), lb, "192.0.2.1"},
		{"mapped peer trusted as IPv4", "[::ffff:10.0.0.2]:80", xff("192.0.2.1"), lb, "192.0.2.1"},
		{"mapped peer untrusted", "[::ffff:198.51.100.7]:80", xff("192.0.2.1"), lb, "198.51.100.7"},
		{"mapped entry", "10.0.0.2:80", xff("::ffff:192.0.2.1"), lb, "192.0.2.1"},
		{"mapped trusted entry skipped", "10.0.0.2:80", xff("192.0.2.1, ::ffff:10.0.0.3"), lb, "192.0.2.1"},
		{"zone dropped", "[fe80::1%eth0]:80", nil, lb, "fe80::1"},
		{"garbage right of the client", "10.0.0.2:80", xff("192.0.2.1, nonsense"), lb, ""},
		{"unknown", "10.0.0.2:80", xff("unknown"), lb, ""},
		{"garbage left of the client ignored", "10.0.0.2:80", xff("<script>, [::1, 1.2.3, 192.0.2.1"), lb, "192.0.2.1"},
		{"bad port", "10.0.0.2:80", xff("192.0.2.1:port"), lb, ""},
		{"leading zeros", "10.0.0.2:80", xff("010.0.0.1"), lb, ""},
		{"forwarded", "10.0.0.2:80", forwarded("for=192.0.2.60;proto=http;by=203.0.113.43"), fwd, "192.0.2.60"},
		{"forwarded chain", "10.0.0.2:80", forwarded(`for=127.0.0.1, for=192.0.2.60, for="10.0.0.3"`), fwd, "192.0.2.60"},
		{"forwarded ipv6 quoted", "10.0.0.2:80", forwarded(`For="[2001:db8:cafe::17]:4711"`), fwd, "2001:db8:cafe::17"},
		{"forwarded param order", "10.0.0.2:80", forwarded(`proto=https; for=192.0.2.60`), fwd, "192.0.2.60"},
		{"forwarded obfuscated", "10.0.0.2:80", forwarded(`for=_hidden`), fwd, ""},
		{"forwarded without for", "10.0.0.2:80", forwarded(`proto=https`), fwd, ""},
		{"forwarded mode ignores XFF", "10.0.0.2:80", xff("192.0.2.1"), fwd, "10.0.0.2"},
		{"XFF mode ignores Forwarded", "10.0.0.2:80", forwarded("for=192.0.2.1"), lb, "10.0.0.2"},
		{"bare remote address", "198.51.100.7", nil, lb, "198.51.100.7"},
		{"remote without address", "@", nil, lb, ""},
		{"remote empty", "", xff("192.0.2.1"), lb, ""},
		{"too many trusted hops", "10.0.0.2:80", xff(strings.Repeat("10.0.0.1, ", 64) + "10.0.0.1"), lb, ""},
		{"64 trusted hops", "10.0.0.2:80", xff(strings.Repeat("10.0.0.1, ", 63) + "10.0.0.1"), lb, "10.0.0.1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := policy.ClientIP(c.remote, c.h, c.trusted)
			var want netip.Addr
			if c.want != "" {
				want = netip.MustParseAddr(c.want)
			}
			if got != want {
				t.Errorf("ClientIP(%q, %v) = %v, want %v", c.remote, c.h, got, want)
			}
		})
	}
}

// TestClientIPAndRules: a client spoofing an allowed address in
// X-Forwarded-For is judged by its real one.
func TestClientIPAndRules(t *testing.T) {
	lb := mustTrusted(t, "", "10.0.0.2")
	rules := mustIPRules(t, portico.IPRules{Allow: []string{"192.0.2.0/24"}})
	for _, c := range []struct {
		remote, xff string
		want        bool
	}{
		{"10.0.0.2:80", "192.0.2.1", true},
		{"10.0.0.2:80", "192.0.2.1, 198.51.100.7", false}, // the balancer saw 198.51.100.7
		{"198.51.100.7:80", "192.0.2.1", false},           // not through the balancer
		{"10.0.0.2:80", "192.0.2.1, garbage", false},      // unknown client
		{"10.0.0.2:80", "", false},                        // the balancer itself is not allowed
	} {
		h := http.Header{"X-Forwarded-For": {c.xff}}
		if got := rules.Allowed(policy.ClientIP(c.remote, h, lb)); got != c.want {
			t.Errorf("%s with X-Forwarded-For %q: allowed %v, want %v", c.remote, c.xff, got, c.want)
		}
	}
}

// TestNewTrustedProxiesRefuses: bad entries and headers name the field.
func TestNewTrustedProxiesRefuses(t *testing.T) {
	for _, c := range []struct {
		cidrs  []string
		header string
		field  string
	}{
		{[]string{"10.0.0.0/8", "10.0.0.0/33"}, "", "trusted_proxies[1]"},
		{[]string{"lb.internal"}, "", "trusted_proxies[0]"},
		{[]string{"10.0.0.0/8"}, "X-Real-IP", "trusted_proxies_header"},
	} {
		_, err := policy.NewTrustedProxies(c.cidrs, c.header)
		if portico.ErrorCodeOf(err) != portico.EInvalid || portico.ErrorFieldOf(err) != c.field {
			t.Errorf("NewTrustedProxies(%v, %q) = %v, want invalid %s", c.cidrs, c.header, err, c.field)
		}
	}
}

// TestClientIPAllocs: a well-formed chain costs no allocation.
func TestClientIPAllocs(t *testing.T) {
	lb := mustTrusted(t, "", "10.0.0.0/8")
	h := http.Header{"X-Forwarded-For": {"203.0.113.1, 192.0.2.1:4711, 10.0.0.3"}}
	if n := testing.AllocsPerRun(100, func() { policy.ClientIP("10.0.0.2:80", h, lb) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}
