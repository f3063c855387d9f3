// Package proxy is Portico's data plane: an http.Handler (Gateway) that
// routes each request to an API by the longest matching context path,
// authenticates its API key, checks the application's subscription, takes
// the request against the subscription plan's limits, picks an endpoint
// target and proxies the request with httputil.ReverseProxy.
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
package proxy
