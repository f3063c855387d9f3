// Package proxy is Portico's data plane: an http.Handler (Gateway) that
// routes each request to an API by the longest matching context path,
// authenticates its API key, checks the application's subscription, takes
// the request against the subscription plan's limits, picks an endpoint
// target and proxies the request with httputil.ReverseProxy.
//
// Two engines serve it (see Server): on a plain listener, Server — Portico's
// own HTTP/1.1 connection loop — serves the common request itself (a
// bodyless GET, HEAD, OPTIONS or DELETE with plain header fields) and
// forwards it without httputil.ReverseProxy (upstream.forward), and hands
// every other request, with its connection, to Go's net/http server,
// which runs the same Gateway with the ReverseProxy; TLS listeners
// (HTTP/2 included) are net/http's alone. The rules — routing, keys,
// subscriptions, limits, balancing and retries, request ids, header
// rules, analytics records — are the Gateway's and the upstream's, written
// once: the fast engine calls Gateway.ServeHTTP with its own
// ResponseWriter, and forward differs from the ReverseProxy only in how it
// writes the forwarded request and relays the response.
//
// Why an engine of its own rather than fasthttp, measured with
// BenchmarkEngines and `make bench` (README "Performance"): profiles put
// Portico's own logic at a few percent of its CPU and the rest in
// net/http's per-request machinery (a goroutine watching the client, a
// context, header maps, the reverse proxy's clone of the request, the
// response writer's chunking) and in the loopback TCP stack. fasthttp
// removes the first by owning the connection, but then every request
// must be served by it — it cannot hand a connection to net/http in the
// middle — so WebSockets, request bodies under the framing rules, TLS and
// HTTP/2 would need a second implementation of the gateway, and its
// parser is not net/http's (the framing rules are stated against the
// latter). Server keeps net/http for all of that and parses only the
// unambiguous subset, which FuzzServerParse checks against
// http.ReadRequest.
//
// The moving parts:
//
//   - Snapshot: an immutable view of the configuration built for the request
//     path (routes by context path, keys by hash, subscriptions by
//     application and API, precomputed limit specs). Gateway.Update builds a
//     new one off the request path and swaps it in atomically, so a config
//     change never fails or stalls an in-flight request.
//   - upstream: one per API, holding its ReverseProxy, its http.Transport
//     (per-API timeouts and connection pool) and its Balancer. Upstreams are
//     carried over from one snapshot to the next while their API is
//     unchanged, so balancer state and idle connections survive unrelated
//     config changes.
//   - balancedTransport: the RoundTripper that picks a target for each
//     attempt and retries on the next target when that is safe (the
//     connection was never made, or the method is idempotent and has no
//     body), putting a refusing target in cool-down.
//   - h1Transport: a lean HTTP/1.1 client for bodyless idempotent requests
//     to plain-http targets; http.Transport carries the rest. Neither lets
//     a backend's bytes reach another request: h1Transport reuses a
//     connection only when the response's framing left no doubt, no byte
//     followed it and none arrived while it was idle (reusable, release,
//     idlePeek); an API's http.Transport dials guardedConns, which hold a
//     reused connection until the transport's reader found nothing left
//     over.
//   - At the edge, before routing: the client's X-Request-Id (kept only
//     when it is one field of token characters), API keys taken out of
//     every header and query parameter a backend could read as one
//     (takeKey), paths a backend could read otherwise refused (cleanPath,
//     ambiguousPath), upgrades other than WebSocket on WebSocket APIs
//     stripped (upstream.rewrite), and the request body wrapped
//     (requestBody) to give each read Gateway.ReadBodyTimeout and to tell
//     the client's body errors (400, 408) from the backend's (502).
package proxy
