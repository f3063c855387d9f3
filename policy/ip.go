package policy

import (
	"net/netip"

	"github.com/portico-gw/portico"
)

// IPRules is the compiled form of an API's portico.IPRules. A nil
// *IPRules allows every address. It is safe for concurrent use.
type IPRules struct {
	allow, deny prefixSet
}

// NewIPRules validates r and compiles it.
func NewIPRules(r *portico.IPRules) (*IPRules, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return &IPRules{allow: compileCIDRs(r.Allow), deny: compileCIDRs(r.Deny)}, nil
}

// compileCIDRs builds the set of a validated list.
func compileCIDRs(list []string) prefixSet {
	ps := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		p, err := portico.ParseCIDR(s)
		if err != nil {
			panic("policy: compiling an unvalidated CIDR list: " + err.Error())
		}
		ps = append(ps, p)
	}
	return newPrefixSet(ps)
}

// Allowed reports whether a client at addr may call the API: not in Deny,
// and in Allow when Allow is not empty. An IPv4-mapped IPv6 address is
// matched as the IPv4 address it maps, and a zone is ignored. An invalid
// addr (ClientIP could not tell the client) is allowed only when both
// lists are empty.
func (r *IPRules) Allowed(addr netip.Addr) bool {
	if r == nil {
		return true
	}
	if !addr.IsValid() {
		return r.allow.empty() && r.deny.empty()
	}
	addr = addr.Unmap()
	if r.deny.contains(addr) {
		return false
	}
	return r.allow.empty() || r.allow.contains(addr)
}
