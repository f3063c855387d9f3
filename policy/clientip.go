package policy

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/portico-gw/portico"
)

// The header fields in which trusted proxies report the client.
const (
	HeaderXForwardedFor = "X-Forwarded-For" // "client, proxy1, proxy2"
	HeaderForwarded     = "Forwarded"       // RFC 7239: "for=client, for=proxy1"
)

// maxHops bounds the entries ClientIP walks through trusted proxies.
const maxHops = 64

// TrustedProxies is a node's list of the proxies in front of it (load
// balancers, CDNs) whose report of the client is believed, and the one
// header field they report it in. A nil *TrustedProxies trusts no one:
// the client is the connection's peer. It is safe for concurrent use.
type TrustedProxies struct {
	set    prefixSet
	header string
}

// NewTrustedProxies compiles a list of CIDRs or addresses (as
// portico.ParseCIDR reads them) of trusted proxies that report the client
// in header: HeaderXForwardedFor ("" means that one) or HeaderForwarded.
// Name the field the proxies actually write: a proxy passes the other one
// on as the client sent it, so reading it would believe the client.
// Errors name the entry, as "trusted_proxies[2]".
func NewTrustedProxies(cidrs []string, header string) (*TrustedProxies, error) {
	switch header {
	case "":
		header = HeaderXForwardedFor
	case HeaderXForwardedFor, HeaderForwarded:
	default:
		return nil, portico.FieldErrorf(portico.EInvalid, "trusted_proxies_header", "trusted_proxies_header must be %s or %s, not %.50q", HeaderXForwardedFor, HeaderForwarded, header)
	}
	ps := make([]netip.Prefix, 0, len(cidrs))
	for i, s := range cidrs {
		p, err := portico.ParseCIDR(s)
		if err != nil {
			f := fmt.Sprintf("trusted_proxies[%d]", i)
			return nil, portico.FieldErrorf(portico.EInvalid, f, "%s: %v", f, err)
		}
		ps = append(ps, p)
	}
	return &TrustedProxies{set: newPrefixSet(ps), header: header}, nil
}

// Trusts reports whether a is the address of a trusted proxy.
func (t *TrustedProxies) Trusts(a netip.Addr) bool {
	return t != nil && t.set.contains(a.Unmap())
}

// ClientIP returns the address of the client of a request that arrived
// from remoteAddr (http.Request.RemoteAddr: "ip:port", "[ip]:port" or a
// bare ip) with header h.
//
// When the peer is not a trusted proxy, it is the client, and
// X-Forwarded-For and Forwarded are ignored: anyone can write them.
// When it is, ClientIP walks the trusted proxies' header field from the
// right, entry by entry across all its lines: each proxy appended the
// address it was called from, so the first entry that is not a trusted
// proxy is the client; when all are trusted, the leftmost one is. Entries
// may carry a port ("192.0.2.1:4711", "[2001:db8::1]:4711"), as some
// proxies write them; empty list elements are skipped.
//
// An entry that is not an address ("unknown", a Forwarded obfuscated
// identifier, garbage) or a walk over more than 64 trusted entries makes
// the client unknown: ClientIP returns the zero Addr, which IPRules with
// any entry refuse. Such an entry can only be reached when a trusted
// proxy wrote it (a client's own entries lie left of its proxy's). So
// does a remoteAddr that holds no address.
//
// The address is unmapped (::ffff:192.0.2.1 is 192.0.2.1) and without a
// zone. ClientIP never panics, whatever h holds, and does not allocate
// on well-formed input.
func ClientIP(remoteAddr string, h http.Header, trusted *TrustedProxies) netip.Addr {
	peer := parseHostPort(remoteAddr)
	if !peer.IsValid() || !trusted.Trusts(peer) {
		return peer
	}
	lines := h[trusted.header]
	client, hops := peer, 0
	for i := len(lines) - 1; i >= 0; i-- {
		line := lines[i]
		for line != "" {
			var elem string
			if j := strings.LastIndexByte(line, ','); j >= 0 {
				line, elem = line[:j], line[j+1:]
			} else {
				line, elem = "", line
			}
			elem = strings.Trim(elem, " \t")
			if elem == "" {
				continue
			}
			if hops++; hops > maxHops {
				return netip.Addr{}
			}
			var a netip.Addr
			if trusted.header == HeaderForwarded {
				a = forwardedFor(elem)
			} else {
				a = parseHostPort(elem)
			}
			if !a.IsValid() {
				return netip.Addr{}
			}
			client = a
			if !trusted.set.contains(a) {
				return a
			}
		}
	}
	return client
}

// parseHostPort parses "ip", "ipv4:port", "[ipv6]" or "[ipv6]:port" and
// returns the unmapped address without zone, or the zero Addr.
func parseHostPort(s string) netip.Addr {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 || !isPort(s[end+1:]) {
			return netip.Addr{}
		}
		s = s[1:end]
	} else if i := strings.IndexByte(s, ':'); i >= 0 && strings.IndexByte(s[i+1:], ':') < 0 {
		if !isPort(s[i:]) { // one colon: IPv4 and a port
			return netip.Addr{}
		}
		s = s[:i]
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	return a.WithZone("").Unmap()
}

// isPort reports whether s is empty or ":" and 1 to 5 digits.
func isPort(s string) bool {
	if s == "" {
		return true
	}
	if len(s) < 2 || len(s) > 6 || s[0] != ':' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// forwardedFor returns the address in the for= parameter of one element
// of a Forwarded field (RFC 7239 §4: `for=192.0.2.60;proto=http`,
// `for="[2001:db8::1]:4711"`), or the zero Addr when it has none.
func forwardedFor(elem string) netip.Addr {
	for elem != "" {
		var pair string
		pair, elem, _ = strings.Cut(elem, ";")
		name, value, ok := strings.Cut(strings.Trim(pair, " \t"), "=")
		if !ok || !strings.EqualFold(name, "for") {
			continue
		}
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			value = value[1 : len(value)-1]
		}
		return parseHostPort(value)
	}
	return netip.Addr{}
}
