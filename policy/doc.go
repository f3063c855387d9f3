// Package policy holds three small per-API HTTP policies in the compiled
// forms the gateway applies per request: CORS, header rules and IP rules,
// each built once from its configuration in the root package
// (portico.CORS, portico.HeaderRules, portico.IPRules) when a config
// snapshot is made, and then read by any number of requests at once.
// Nothing here reads a request body, does I/O or keeps state per request.
//
// # CORS
//
// NewCORS compiles a portico.CORS. The gateway recognises a preflight
// (IsPreflight: OPTIONS with Origin and Access-Control-Request-Method)
// and answers it itself with CORS.Preflight, before authentication and
// without reaching the backend: 204 with the Access-Control-Allow-*
// fields when the origin, the method and every requested header field
// are allowed; 403 with no CORS field otherwise (browsers refuse either,
// the 403 tells a developer why). To every other response of the API,
// the gateway's own errors included, CORS.Response adds
// Access-Control-Allow-Origin (the origin itself, or "*" for a policy of
// every origin), -Allow-Credentials and -Expose-Headers, and "Origin" to
// Vary, replacing whatever CORS fields the backend sent. A refused
// origin gets no CORS field: the browser then hides the response from the
// page. GET, HEAD and POST are always allowed, since browsers send them
// without a preflight when nothing else asks for one.
//
// Origins are compared exactly as browsers send them (the configuration
// is checked to be in that form); a wildcard "https://*.example.com"
// matches one or more lowercase labels before ".example.com", with the
// same scheme and port.
//
// # Header rules
//
// NewHeaderRules compiles a portico.HeaderRules. ApplyRequest changes the
// forwarded request's header, ApplyResponse the response's, running add,
// set, remove and rename in their configured order, with values filled
// from Vars ($(request_id), $(application), $(subscriber), $(api),
// $(client_ip)). A rule can never name a framing, hop-by-hop or
// gateway-owned field (portico.HeaderRules lists them), and a variable's
// value can never carry CR, LF or another control character into a field.
//
// # IP rules and the client address
//
// NewIPRules compiles a portico.IPRules into sorted, merged address
// ranges per family; IPRules.Allowed is a binary search: deny wins, an
// empty allow list admits everyone, IPv4-mapped IPv6 addresses are
// matched as IPv4, and an unknown client is refused by any non-empty rule
// set.
//
// ClientIP says which address the rules see. The node's TrustedProxies
// (its load balancers) and the one field they write — X-Forwarded-For or
// Forwarded — decide: a peer that is not a trusted proxy is the client,
// and its X-Forwarded-For is ignored; behind trusted proxies the field is
// read from the right, skipping trusted addresses, to the first one that
// is not. A nil *TrustedProxies trusts no one.
package policy
