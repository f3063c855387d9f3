package portico

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// This file holds the configuration of three small per-API policies —
// CORS, header rules and IP rules — and the rules that make a
// configuration valid. Package policy compiles them into the forms the
// gateway applies per request.

// Limits of the policies' lists and values, checked by their Validate.
const (
	maxPolicyList    = 256   // entries of a CORS list; operations per header rule list
	maxIPRuleEntries = 10000 // CIDRs in an IP rule list
	maxPolicyString  = 4096  // bytes of an origin, a header name or a header rule's value
)

// CORS is an API's cross-origin resource sharing policy. The gateway
// answers the API's preflight requests itself and adds the CORS fields to
// every response of the API; see package policy.
type CORS struct {
	// AllowedOrigins lists the origins whose pages may call the API: exact
	// origins as browsers send them ("https://app.example.com",
	// "http://localhost:8080": scheme and host in lowercase, no default
	// port, no path or trailing slash), wildcard subdomains
	// ("https://*.example.com" matches https://a.example.com and
	// https://a.b.example.com, not https://example.com nor another scheme
	// or port), or "*" alone for every origin. "null" (sandboxed frames,
	// local files) is refused: any page can send it.
	AllowedOrigins []string `json:"allowed_origins"`
	// AllowedMethods lists the methods a preflight may ask for beyond GET,
	// HEAD and POST, which are always allowed (browsers send them without
	// asking whenever nothing else needs a preflight). They are compared
	// case-sensitively, as browsers send them ("PATCH", not "patch").
	AllowedMethods []string `json:"allowed_methods,omitempty"`
	// AllowedHeaders lists the request header fields a preflight may ask
	// for, compared case-insensitively; "*" alone allows any. Empty allows
	// only those browsers send without asking (CORS-safelisted ones).
	AllowedHeaders []string `json:"allowed_headers,omitempty"`
	// ExposedHeaders lists the response header fields a page may read
	// beyond the safelisted ones; "*" alone exposes all, and is refused
	// with AllowCredentials (browsers would read it as a field named "*").
	ExposedHeaders []string `json:"exposed_headers,omitempty"`
	// AllowCredentials lets pages send cookies and HTTP authentication and
	// read the response. It cannot be combined with the origin "*".
	AllowCredentials bool `json:"allow_credentials,omitempty"`
	// MaxAge is how long a browser may cache a preflight's answer, in
	// whole seconds; 0 leaves the browser's default (5 seconds). Browsers
	// cap it (Chrome at 2 hours, Firefox at 24).
	MaxAge Duration `json:"max_age,omitempty"`
}

// Validate checks c. Its errors name the offending field, such as
// "cors.allowed_origins[1]".
func (c *CORS) Validate() error {
	if len(c.AllowedOrigins) == 0 {
		return FieldErrorf(EInvalid, "cors.allowed_origins", "cors.allowed_origins is required: origins such as \"https://app.example.com\", or \"*\"")
	}
	if len(c.AllowedOrigins) > maxPolicyList {
		return FieldErrorf(EInvalid, "cors.allowed_origins", "cors.allowed_origins must have at most %d entries", maxPolicyList)
	}
	for i, o := range c.AllowedOrigins {
		field := fmt.Sprintf("cors.allowed_origins[%d]", i)
		if o == "*" {
			if len(c.AllowedOrigins) > 1 {
				return FieldErrorf(EInvalid, field, "%s: \"*\" allows every origin and must be the only entry", field)
			}
			if c.AllowCredentials {
				return FieldErrorf(EInvalid, field, "%s: \"*\" cannot be combined with allow_credentials: list the origins that may send credentials", field)
			}
			continue
		}
		if err := checkOrigin(o); err != nil {
			return FieldErrorf(EInvalid, field, "%s: %v", field, err)
		}
		for _, p := range c.AllowedOrigins[:i] {
			if p == o {
				return FieldErrorf(EInvalid, field, "%s: %q is listed twice", field, o)
			}
		}
	}
	if err := checkTokenList("cors.allowed_methods", c.AllowedMethods, false); err != nil {
		return err
	}
	if err := checkTokenList("cors.allowed_headers", c.AllowedHeaders, true); err != nil {
		return err
	}
	if err := checkTokenList("cors.exposed_headers", c.ExposedHeaders, true); err != nil {
		return err
	}
	if c.AllowCredentials && len(c.ExposedHeaders) == 1 && c.ExposedHeaders[0] == "*" {
		return FieldErrorf(EInvalid, "cors.exposed_headers[0]", "cors.exposed_headers[0]: \"*\" cannot be combined with allow_credentials: list the fields to expose")
	}
	if c.MaxAge < 0 {
		return FieldErrorf(EInvalid, "cors.max_age", "cors.max_age must not be negative")
	}
	if time.Duration(c.MaxAge) > 24*time.Hour {
		return FieldErrorf(EInvalid, "cors.max_age", "cors.max_age must be at most 24h (browsers cap it lower)")
	}
	if time.Duration(c.MaxAge)%time.Second != 0 {
		// A bare number reads as milliseconds (see Duration): 600 would
		// be 0.6 s, which a preflight cannot even say.
		return FieldErrorf(EInvalid, "cors.max_age", "cors.max_age must be whole seconds, such as \"600s\" or \"10m\" (a bare number is milliseconds)")
	}
	return nil
}

// checkTokenList checks a list of methods or header names; star allows
// "*" as its only entry.
func checkTokenList(field string, list []string, star bool) error {
	if len(list) > maxPolicyList {
		return FieldErrorf(EInvalid, field, "%s must have at most %d entries", field, maxPolicyList)
	}
	for i, s := range list {
		f := fmt.Sprintf("%s[%d]", field, i)
		if s == "*" {
			if !star {
				return FieldErrorf(EInvalid, f, "%s: \"*\" is no wildcard here: list the methods", f)
			}
			if len(list) > 1 {
				return FieldErrorf(EInvalid, f, "%s: \"*\" allows every name and must be the only entry", f)
			}
			continue
		}
		if !isHTTPToken(s) {
			return FieldErrorf(EInvalid, f, "%s: %.100q is not a valid name (letters, digits and !#$%%&'*+-.^_`|~)", f, s)
		}
		for _, p := range list[:i] {
			if strings.EqualFold(p, s) {
				return FieldErrorf(EInvalid, f, "%s: %q is listed twice", f, s)
			}
		}
	}
	return nil
}

// checkOrigin checks an entry of CORS.AllowedOrigins other than "*": the
// serialized origin a browser sends (RFC 6454 §6.1), or such an origin
// whose host starts with "*." and names at least two more labels.
func checkOrigin(o string) error {
	if len(o) > maxPolicyString {
		return fmt.Errorf("an origin must be at most %d bytes", maxPolicyString)
	}
	if o == "null" {
		return fmt.Errorf("the origin \"null\" is sent by sandboxed frames and local files of any site and cannot be allowed")
	}
	scheme, hostport, ok := strings.Cut(o, "://")
	if !ok || !isOriginScheme(scheme) {
		return fmt.Errorf("%.100q is not an origin: scheme://host[:port] such as \"https://app.example.com\"", o)
	}
	if strings.ContainsAny(hostport, "/?#@\\") {
		return fmt.Errorf("%.100q is not an origin: no path, query, user or trailing slash, only scheme://host[:port]", o)
	}
	host, port := hostport, ""
	if strings.HasPrefix(hostport, "[") {
		end := strings.IndexByte(hostport, ']')
		if end < 0 {
			return fmt.Errorf("%.100q has an unclosed IPv6 address", o)
		}
		host, port = hostport[:end+1], hostport[end+1:]
		a, err := netip.ParseAddr(host[1 : len(host)-1])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return fmt.Errorf("%.100q has a bad IPv6 address", o)
		}
		if want := "[" + a.String() + "]"; want != host {
			return fmt.Errorf("%.100q must be written as browsers send it: %s://%s%s", o, scheme, want, port)
		}
	} else if i := strings.LastIndexByte(hostport, ':'); i >= 0 {
		host, port = hostport[:i], hostport[i:]
	}
	if port != "" {
		n, err := strconv.Atoi(port[1:])
		if port[0] != ':' || err != nil || n < 1 || n > 65535 || port[1] == '0' || port[1] == '+' {
			return fmt.Errorf("%.100q has a bad port", o)
		}
		if (scheme == "http" && n == 80) || (scheme == "https" && n == 443) {
			return fmt.Errorf("%.100q must be written as browsers send it, without the default port: %s://%s", o, scheme, host)
		}
	}
	if strings.HasPrefix(host, "[") {
		return nil
	}
	wild := strings.HasPrefix(host, "*.")
	if wild {
		host = host[2:]
	}
	if host == "" {
		return fmt.Errorf("%.100q has no host", o)
	}
	if strings.ToLower(host) != host {
		return fmt.Errorf("%.100q must be written as browsers send it, in lowercase: %s", o, strings.ToLower(o))
	}
	for label := range strings.SplitSeq(host, ".") {
		if label == "" {
			return fmt.Errorf("%.100q has an empty label in its host", o)
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				if c == '*' {
					return fmt.Errorf("%.100q: \"*\" may only stand as the whole first label of the host (\"https://*.example.com\")", o)
				}
				return fmt.Errorf("%.100q has a bad character %q in its host (an internationalized name is written in punycode, xn--)", o, c)
			}
		}
	}
	if wild {
		if !strings.Contains(host, ".") {
			return fmt.Errorf("%.100q: a wildcard must be followed by at least two labels (\"https://*.example.com\"), not a top-level domain", o)
		}
		if _, err := netip.ParseAddr(host); err == nil {
			return fmt.Errorf("%.100q: a wildcard cannot stand before an IP address", o)
		}
	}
	return nil
}

func isOriginScheme(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// isHTTPToken reports whether s is a token (RFC 9110 §5.6.2): the syntax
// of methods and header field names.
func isHTTPToken(s string) bool {
	if s == "" || len(s) > maxPolicyString {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// HeaderOpKind is what a header rule does.
type HeaderOpKind string

// Header rule operations. Add appends a value (one more field line),
// keeping those present; set replaces every value; remove deletes the
// field; rename moves every value of Name to To, replacing any To had, and
// does nothing when Name is absent.
const (
	HeaderAdd    HeaderOpKind = "add"
	HeaderSet    HeaderOpKind = "set"
	HeaderRemove HeaderOpKind = "remove"
	HeaderRename HeaderOpKind = "rename"
)

// HeaderRules are an API's changes to the header fields of the requests it
// forwards (Request) and of the responses it returns (Response), applied
// in the order listed.
//
// Rules never touch the fields that frame a message or belong to one
// connection (Connection, Content-Length, Transfer-Encoding, Host,
// Upgrade, TE, Trailer, Keep-Alive, Proxy-*), nor those the gateway
// itself sets or trusts (Via, Forwarded, X-Forwarded-*, X-Request-Id,
// X-Portico-*), nor the CORS fields (Access-Control-*, which the CORS
// policy owns): Validate refuses rules naming them, so the gateway's own
// fields always win.
type HeaderRules struct {
	Request  []HeaderOp `json:"request,omitempty"`
	Response []HeaderOp `json:"response,omitempty"`
}

// HeaderOp is one header rule.
//
// Value, for add and set, may use the variables HeaderVarRequestID,
// HeaderVarApplication, HeaderVarSubscriber, HeaderVarAPI and
// HeaderVarClientIP as $(name): "$(application)" or "app=$(application); ip=$(client_ip)";
// "$$" stands for a literal "$" (needed only before "("). A value may
// hold no control character but horizontal tab (no CR, LF or NUL).
type HeaderOp struct {
	Op    HeaderOpKind `json:"op"`
	Name  string       `json:"name"`
	Value string       `json:"value,omitempty"` // add and set
	To    string       `json:"to,omitempty"`    // rename: the new name
}

// Header rule variables: the names a header rule's value may use as
// $(name). The gateway fills them per request (package policy's Vars).
const (
	HeaderVarRequestID   = "request_id"  // the request's id, as sent in X-Request-Id
	HeaderVarApplication = "application" // the calling application's ID ("" on an API without auth)
	HeaderVarSubscriber  = "subscriber"  // the user ID of the application's owner ("" without auth)
	HeaderVarAPI         = "api"         // the API's ID
	HeaderVarClientIP    = "client_ip"   // the client's address, as the front door reports it
)

// Validate checks r. Its errors name the offending field, such as
// "headers.request[2].name".
func (r *HeaderRules) Validate() error {
	if err := checkHeaderOps("headers.request", r.Request); err != nil {
		return err
	}
	return checkHeaderOps("headers.response", r.Response)
}

func checkHeaderOps(field string, ops []HeaderOp) error {
	if len(ops) > maxPolicyList {
		return FieldErrorf(EInvalid, field, "%s must have at most %d operations", field, maxPolicyList)
	}
	for i := range ops {
		if err := ops[i].validate(fmt.Sprintf("%s[%d]", field, i)); err != nil {
			return err
		}
	}
	return nil
}

func (op *HeaderOp) validate(field string) error {
	if err := checkRuleName(field+".name", op.Name); err != nil {
		return err
	}
	switch op.Op {
	case HeaderAdd, HeaderSet:
		if op.To != "" {
			return FieldErrorf(EInvalid, field+".to", "%s.to is only for rename", field)
		}
		if _, err := ParseHeaderValue(op.Value); err != nil {
			return FieldErrorf(EInvalid, field+".value", "%s.value: %v", field, err)
		}
	case HeaderRemove, HeaderRename:
		if op.Value != "" {
			return FieldErrorf(EInvalid, field+".value", "%s.value is only for add and set", field)
		}
		if op.Op == HeaderRemove {
			if op.To != "" {
				return FieldErrorf(EInvalid, field+".to", "%s.to is only for rename", field)
			}
			break
		}
		if err := checkRuleName(field+".to", op.To); err != nil {
			return err
		}
		if strings.EqualFold(op.Name, op.To) {
			return FieldErrorf(EInvalid, field+".to", "%s.to must differ from the name", field)
		}
	case "":
		return FieldErrorf(EInvalid, field+".op", "%s.op is required: add, set, remove or rename", field)
	default:
		return FieldErrorf(EInvalid, field+".op", "%s.op must be add, set, remove or rename, not %.50q", field, op.Op)
	}
	return nil
}

// checkRuleName checks a header name a rule changes: a token, and not one
// of the fields HeaderRules documents as out of reach.
func checkRuleName(field, name string) error {
	if name == "" {
		return FieldErrorf(EInvalid, field, "%s is required", field)
	}
	if !isHTTPToken(name) {
		return FieldErrorf(EInvalid, field, "%s: %.100q is not a valid header name (letters, digits and !#$%%&'*+-.^_`|~)", field, name)
	}
	if why := reservedHeader(name); why != "" {
		return FieldErrorf(EInvalid, field, "%s: rules cannot change %s: %s", field, name, why)
	}
	return nil
}

// reservedHeader says why header rules may not touch the field name, or
// returns "" when they may.
func reservedHeader(name string) string {
	l := strings.ToLower(name)
	switch l {
	case "connection", "proxy-connection", "keep-alive", "upgrade", "te", "trailer", "proxy-authenticate", "proxy-authorization", "proxy":
		return "it belongs to one connection"
	case "content-length", "transfer-encoding", "host":
		return "it frames the message"
	case "via", "forwarded", "x-request-id":
		return "the gateway sets it"
	}
	switch {
	case strings.HasPrefix(l, "x-forwarded-"):
		return "the gateway sets the forwarding fields"
	case strings.HasPrefix(l, "x-portico-"):
		return "the X-Portico- fields are the gateway's own"
	case strings.HasPrefix(l, "access-control-"):
		return "the CORS policy sets the CORS fields"
	}
	return ""
}

// HeaderValuePart is a piece of a parsed header rule value: the variable
// Var (one of the HeaderVar names) when Var is not "", else literal Text.
type HeaderValuePart struct {
	Text string
	Var  string
}

// ParseHeaderValue splits a header rule's value into literal text and
// variables (see HeaderOp). It refuses control characters but tab, an
// unclosed "$(", and an unknown variable. Adjacent literal
// text comes as one part; an empty value has no parts.
func ParseHeaderValue(s string) ([]HeaderValuePart, error) {
	if len(s) > maxPolicyString {
		return nil, fmt.Errorf("a value must be at most %d bytes", maxPolicyString)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return nil, fmt.Errorf("a value cannot hold the control character %q", c)
		}
	}
	var parts []HeaderValuePart
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			parts = append(parts, HeaderValuePart{Text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '$')
		if j < 0 {
			lit.WriteString(s[i:])
			break
		}
		lit.WriteString(s[i : i+j])
		i += j
		switch {
		case strings.HasPrefix(s[i:], "$$"):
			lit.WriteByte('$')
			i += 2
		case strings.HasPrefix(s[i:], "$("):
			end := strings.IndexByte(s[i:], ')')
			if end < 0 {
				return nil, fmt.Errorf("%.100q has an unclosed \"$(\" (write \"$$\" for a literal \"$\")", s)
			}
			name := s[i+2 : i+end]
			switch name {
			case HeaderVarRequestID, HeaderVarApplication, HeaderVarSubscriber, HeaderVarAPI, HeaderVarClientIP:
			default:
				return nil, fmt.Errorf("unknown variable $(%.50s): the variables are $(request_id), $(application), $(subscriber), $(api) and $(client_ip)", name)
			}
			flush()
			parts = append(parts, HeaderValuePart{Var: name})
			i += end + 1
		default:
			lit.WriteByte('$')
			i++
		}
	}
	flush()
	return parts, nil
}

// IPRules are an API's allow and deny lists of client addresses. Each
// entry is a CIDR prefix ("10.0.0.0/8", "2001:db8::/32") or a bare address
// ("192.0.2.7" for /32, "2001:db8::7" for /128); see ParseCIDR.
//
// A client whose address is in Deny is refused, whatever Allow says (deny
// wins); otherwise an empty Allow admits everyone and a non-empty Allow
// only the clients in it. An IPv4 client is matched as IPv4 even when it
// reached the gateway over IPv6 as ::ffff:a.b.c.d, so "::/0" does not
// cover IPv4 clients. The client's address is the one the front door
// reports (see package policy's ClientIP); when it cannot be told, every
// non-empty rule set refuses the request.
type IPRules struct {
	Allow []string `json:"allow,omitempty"`
	Deny  []string `json:"deny,omitempty"`
}

// Validate checks r. Its errors name the offending entry, such as
// "ip_rules.deny[3]".
func (r *IPRules) Validate() error {
	if err := checkCIDRList("ip_rules.allow", r.Allow); err != nil {
		return err
	}
	return checkCIDRList("ip_rules.deny", r.Deny)
}

func checkCIDRList(field string, list []string) error {
	if len(list) > maxIPRuleEntries {
		return FieldErrorf(EInvalid, field, "%s must have at most %d entries", field, maxIPRuleEntries)
	}
	for i, s := range list {
		if _, err := ParseCIDR(s); err != nil {
			f := fmt.Sprintf("%s[%d]", field, i)
			return FieldErrorf(EInvalid, f, "%s: %v", f, err)
		}
	}
	return nil
}

// ParseCIDR parses an entry of an IP rule or trusted proxy list: a CIDR
// prefix or a bare address, which stands for itself (/32 or /128). An
// IPv4-mapped IPv6 entry is read as the IPv4 prefix it maps
// ("::ffff:10.0.0.0/104" is 10.0.0.0/8), as clients are matched. It
// refuses zones ("fe80::1%eth0"), prefixes with host bits set
// ("10.0.0.1/8": write 10.0.0.0/8 if that is meant), IPv4 with leading
// zeros and surrounding spaces.
func ParseCIDR(s string) (netip.Prefix, error) {
	if s == "" {
		return netip.Prefix{}, fmt.Errorf("an empty entry is not an address")
	}
	var p netip.Prefix
	if strings.IndexByte(s, '/') < 0 {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%.100q is not an IP address or a CIDR such as 10.0.0.0/8", s)
		}
		if a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%.100q: an address with a zone cannot be matched", s)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	} else {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return netip.Prefix{}, fmt.Errorf("%.100q is not an IP address or a CIDR such as 10.0.0.0/8", s)
		}
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("%.100q has bits set after the prefix length: write %s if that is meant", s, p.Masked())
	}
	if a := p.Addr(); a.Is4In6() { // and so Bits() >= 96: the mask keeps ::ffff
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p, nil
}
