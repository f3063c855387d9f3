package policy_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"testing"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/policy"
)

// BenchmarkCORSResponse: the fields added to an actual request's
// response, the per-request cost of a CORS policy.
func BenchmarkCORSResponse(b *testing.B) {
	p := mustCORS(b, portico.CORS{
		AllowedOrigins:   []string{"https://app.example.com", "https://admin.example.com", "http://localhost:3000", "https://*.example.org"},
		ExposedHeaders:   []string{"RateLimit-Remaining"},
		AllowCredentials: true,
	})
	for _, c := range []struct{ name, origin string }{
		{"exact", "https://app.example.com"},
		{"wildcard", "https://eu.example.org"},
		{"refused", "https://evil.test"},
		{"no-origin", ""},
	} {
		b.Run(c.name, func(b *testing.B) {
			req := http.Header{"Accept": {"*/*"}, "User-Agent": {"bench"}}
			if c.origin != "" {
				req["Origin"] = []string{c.origin}
			}
			resp := http.Header{"Content-Type": {"application/json"}, "Date": {"Mon, 01 Jun 2026 00:00:00 GMT"}, "Content-Length": {"2"}}
			b.ReportAllocs()
			for b.Loop() {
				delete(resp, "Vary") // as a fresh backend response
				p.Response(req, resp)
			}
		})
	}
}

// BenchmarkCORSPreflight: a preflight answered by the gateway.
func BenchmarkCORSPreflight(b *testing.B) {
	p := mustCORS(b, appPolicy)
	req := http.Header{"Origin": {"https://app.example.com"}, "Access-Control-Request-Method": {"PUT"},
		"Access-Control-Request-Headers": {"authorization,content-type,x-api-key"}}
	dst := http.Header{}
	b.ReportAllocs()
	for b.Loop() {
		clear(dst)
		if err := p.Preflight(req, dst); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIPRules: one check against 100 CIDRs (80 allowed, 20 denied,
// IPv4 and IPv6), beside a linear scan of the same prefixes.
func BenchmarkIPRules(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	var allow, deny []string
	for i := range 100 {
		var s string
		if i%4 == 3 {
			s = netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(rng.IntN(256)), byte(rng.IntN(256))}), 32+rng.IntN(33)).Masked().String()
		} else {
			s = netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(rng.IntN(224)), byte(rng.IntN(256)), byte(rng.IntN(256))}), 8+rng.IntN(25)).Masked().String()
		}
		if i%5 == 4 {
			deny = append(deny, s)
		} else {
			allow = append(allow, s)
		}
	}
	rules := mustIPRules(b, portico.IPRules{Allow: allow, Deny: deny})
	addrs := make([]netip.Addr, 1024)
	for i := range addrs {
		if i%4 == 3 {
			addrs[i] = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(rng.IntN(256)), byte(rng.IntN(256)), 15: 1})
		} else {
			addrs[i] = netip.AddrFrom4([4]byte{byte(rng.IntN(224)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
		}
	}
	b.Run("ranges", func(b *testing.B) {
		b.ReportAllocs()
		i, n := 0, 0
		for b.Loop() {
			if rules.Allowed(addrs[i&1023]) {
				n++
			}
			i++
		}
		_ = n
	})
	b.Run("linear", func(b *testing.B) {
		ref := linearRules(allow, deny)
		b.ReportAllocs()
		i, n := 0, 0
		for b.Loop() {
			if ref(addrs[i&1023]) {
				n++
			}
			i++
		}
		_ = n
	})
}

// BenchmarkClientIP: a client behind two trusted proxies.
func BenchmarkClientIP(b *testing.B) {
	lb := mustTrusted(b, "", "10.0.0.0/8", "172.16.0.0/12")
	h := http.Header{"X-Forwarded-For": {"203.0.113.1, 192.0.2.1, 172.16.0.9"}}
	b.ReportAllocs()
	for b.Loop() {
		if !policy.ClientIP("10.0.0.2:41000", h, lb).IsValid() {
			b.Fatal("no client")
		}
	}
}

// BenchmarkHeaderRules: five request operations (set, add with
// variables, remove, rename, set with variables) on a header of ten
// fields.
func BenchmarkHeaderRules(b *testing.B) {
	p := mustHeaderRules(b, portico.HeaderRules{Request: []portico.HeaderOp{
		{Op: portico.HeaderSet, Name: "X-Env", Value: "prod"},
		{Op: portico.HeaderAdd, Name: "X-Trace", Value: "portico;id=$(request_id)"},
		{Op: portico.HeaderRemove, Name: "Cookie"},
		{Op: portico.HeaderRename, Name: "X-Old-Auth", To: "X-Backend-Auth"},
		{Op: portico.HeaderSet, Name: "X-Caller", Value: "$(application)/$(subscriber)@$(client_ip)"},
	}})
	vars := &policy.Vars{RequestID: "3f2a9c1b7d4e-1842", Application: "app-5d8f", Subscriber: "user-91c2", API: "api-1", ClientIP: "192.0.2.10"}
	h := http.Header{}
	for i := range 6 {
		h[fmt.Sprintf("X-Field-%d", i)] = []string{"v"}
	}
	cookie, auth, trace := []string{"session=abc"}, []string{"token"}, []string{"upstream"}
	b.ReportAllocs()
	for b.Loop() {
		h["Cookie"], h["X-Old-Auth"], h["X-Trace"] = cookie, auth, trace // as a fresh request
		delete(h, "X-Backend-Auth")
		p.ApplyRequest(h, vars)
	}
}
