package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrRefused matches (errors.Is) the errors of CheckURL and of deliveries
// when an address is in a refused range (see Config.AllowCIDRs).
var ErrRefused = errors.New("webhook: address refused")

// refusedError is an error that matches ErrRefused, with its own message.
type refusedError string

func (e refusedError) Error() string        { return string(e) }
func (e refusedError) Is(target error) bool { return target == ErrRefused }

func refusedf(format string, a ...any) error { return refusedError(fmt.Sprintf(format, a...)) }

// special lists the ranges webhooks may not reach unless allowed: the
// entries of the IANA IPv4 and IPv6 special-purpose address registries
// that no webhook has any business reaching (a few of them, like parts of
// 2001::/23, are globally reachable but serve protocols, not web servers).
// NAT64 (64:ff9b::/96) is checked as the IPv4 address it embeds, and IPv6
// outside 2000::/3 (global unicast) is refused as a whole.
var special = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "this-network"}, // 0.0.0.0 dials the local host
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (CGNAT)"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"}, // cloud metadata
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignment"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
	{netip.MustParsePrefix("192.88.99.0/24"), "6to4 relay"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"}, // and 255.255.255.255
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64"},
	{netip.MustParsePrefix("fc00::/7"), "unique-local"}, // fd00:ec2::254: cloud metadata
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
	{netip.MustParsePrefix("2001::/23"), "IETF protocol assignment"}, // Teredo, benchmarking, ORCHID
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("2002::/16"), "6to4"}, // embeds an IPv4 address
	{netip.MustParsePrefix("3fff::/20"), "documentation"},
}

var (
	globalUnicast = netip.MustParsePrefix("2000::/3")
	nat64         = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052: the IPv4 address in the last 32 bits
)

// guard decides which addresses webhooks may reach.
type guard struct {
	allow    []netip.Prefix // masked; IPv4-mapped prefixes as IPv4
	resolver *net.Resolver  // nil: net.DefaultResolver
}

func newGuard(allow []netip.Prefix, r *net.Resolver) *guard {
	g := &guard{resolver: r}
	for _, p := range allow {
		if !p.IsValid() {
			continue
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		g.allow = append(g.allow, p.Masked())
	}
	return g
}

// refused returns why webhooks may not reach a, or "" if they may.
func (g *guard) refused(a netip.Addr) string {
	if !a.IsValid() {
		return "invalid"
	}
	a = a.WithZone("").Unmap() // a zoned address matches no prefix
	for _, p := range g.allow {
		if p.Contains(a) {
			return ""
		}
	}
	if nat64.Contains(a) {
		b := a.As16()
		if r := g.refused(netip.AddrFrom4([4]byte(b[12:]))); r != "" {
			return "NAT64 form of " + r
		}
		return ""
	}
	for _, s := range special {
		if s.prefix.Contains(a) {
			return s.reason
		}
	}
	if a.Is6() && !globalUnicast.Contains(a) {
		return "reserved"
	}
	return ""
}

// control checks the address a connection is about to be made to, after
// name resolution: it is a net.Dialer's Control, so every connection
// (each address tried, each retry) is checked.
func (g *guard) control(network, address string, _ syscall.RawConn) error {
	if network != "tcp4" && network != "tcp6" {
		return refusedf("refused: network %s", network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return refusedf("refused: %q is not an IP address", address)
	}
	if r := g.refused(ap.Addr()); r != "" {
		return refusedf("refused: %s is %s", ap.Addr(), article(r))
	}
	return nil
}

// checkURL is Sender.CheckURL.
func (g *guard) checkURL(ctx context.Context, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold credentials
		}
		return fmt.Errorf("webhook URL is not valid: %v", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Opaque != "" {
		return errors.New("webhook URL must be an absolute http or https URL")
	}
	host := u.Hostname()
	if host == "" {
		return errors.New("webhook URL must have a host")
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if r := g.refused(a); r != "" {
			return refusedf("webhook URL host %s is %s, which webhooks may not reach", host, article(r))
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	r := g.resolver
	if r == nil {
		r = net.DefaultResolver
	}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		// The DNS error names the resolver: not for the user.
		return fmt.Errorf("webhook URL host %q could not be resolved", host)
	}
	for _, a := range addrs {
		if r := g.refused(a); r != "" {
			return refusedf("webhook URL host %q resolves to %s, which webhooks may not reach", host, article(r))
		}
	}
	return nil
}

// article returns "a loopback address", "an unique-local address", …
func article(reason string) string {
	if strings.ContainsRune("aeiouAEIOU", rune(reason[0])) && !strings.HasPrefix(reason, "unique") {
		return "an " + reason + " address"
	}
	return "a " + reason + " address"
}

// redact returns the scheme and host of a webhook URL, without userinfo,
// path or query: many webhook services (chat and incident tools) carry
// their secret in the path, others in userinfo or the query.
func redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return "(invalid URL)"
	}
	s := u.Scheme + "://" + u.Host
	if u.Path != "" || u.RawPath != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		s += "/…"
	}
	return s
}

// redactErr returns err's message with the webhook URL redacted, also
// where net/http embeds it (url.Error).
func redactErr(err error, rawURL string) string {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if ue, ok := e.(*url.Error); ok {
			ue.URL = redact(ue.URL)
		}
	}
	msg := err.Error()
	if rawURL != "" {
		msg = strings.ReplaceAll(msg, rawURL, redact(rawURL))
	}
	return msg
}
