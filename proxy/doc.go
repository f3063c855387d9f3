// Package proxy is Portico's data plane: an http.Handler (Gateway) that
// routes each request to an API by the longest matching context path,
// applies the API's policies, authenticates the calling application,
// checks its subscription, takes the request against the subscription
// plan's limits, picks an endpoint target and proxies the request with
// httputil.ReverseProxy.
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
//   - System calls: the fast engine serves a client connection inside one
//     RawConn.Read (Server's serveSession) and the lean client sends each
//     request inside one (idlePeek.send: the idle check, the write, the
//     wait and the answer's first read), with direct socket calls
//     (rawio_linux.go), so that neither reads an empty socket before it
//     waits: five system calls a request in all (BenchmarkEngines, `make
//     bench`).
//   - errorForm (reply.go): every answer the gateway makes itself goes
//     through it: JSON, or a SOAP fault on a SOAP API.
//   - At the edge, before routing: the client's X-Request-Id (kept only
//     when it is one field of token characters), API keys taken out of
//     every header and query parameter a backend could read as one
//     (takeKey), paths a backend could read otherwise refused (cleanPath,
//     ambiguousPath), upgrades other than WebSocket on WebSocket APIs
//     stripped (upstream.rewrite), and the request body wrapped
//     (requestBody) to give each read Gateway.ReadBodyTimeout and to tell
//     the client's body errors (400, 408) from the backend's (502).
//
// # The order of a request
//
// After the edge checks above and the route lookup (the gateway's own
// /oauth2/token and /oauth2/jwks.json go to Gateway.TokenEndpoint before
// it), every request of an API passes these steps in this order; the
// first that refuses answers (serve, requestPolicies, reqState.response):
//
//  1. Client address: the connection's peer, or behind
//     Gateway.TrustedProxies the address they report (policy.ClientIP).
//  2. IP rules: 403 forbidden, naming no rule.
//  3. CORS: a preflight (OPTIONS with Origin and
//     Access-Control-Request-Method) of an API with a CORS policy is
//     answered here, 204 or 403, without auth and without reaching the
//     backend; to every other response, the gateway's errors included,
//     the policy's CORS fields are set, and the backend's dropped.
//  4. Auth (authenticate): the first of the API's methods, in its order,
//     whose credential the request carries runs: api_key (X-API-Key or
//     api_key), basic (Authorization: Basic base64(application ID ":" API
//     key), the key looked up by its SHA-256 like an API key, and
//     belonging to that application), jwt (Authorization: Bearer, checked
//     by the API's own TokenVerifier, made by Gateway.NewJWTVerifier),
//     oauth2 (Authorization: Bearer, checked by Gateway.OAuth2; the key it
//     was issued against must still be live and the application's). An API
//     with jwt and oauth2 gives a bearer token to Gateway.OAuth2 first and
//     to its JWT issuers when OAuth2 says it is not its own. A key past
//     its expiry (portico.Key.ExpiresAt: the end of a rotation's grace)
//     is refused as a revoked one, by every method; the clock is read
//     only for such keys (Gateway.Now). A credential
//     present but bad is a 401 with a "reason", never a try of another
//     method; none is a 401 naming what the API takes, with
//     WWW-Authenticate for Basic and Bearer.
//  5. Subscription, the OAuth2 token's scope (its plans), the plan; on a
//     SOAP API, the operation the request calls (a call naming none is
//     refused with a 400 where every operation has an action, and one
//     whose envelope calls another operation than it names: "SOAP APIs"
//     below); the limits (an override with a SOAP action takes
//     only the requests naming it): the same for every method; the
//     analytics record gets the application. Then the credentials are removed (X-API-Key always,
//     Authorization on APIs that take basic, jwt or oauth2) unless the
//     API forwards them. On any other API, open ones included, an
//     Authorization field is the backend's business and passes, unless it
//     holds the gateway's own credentials (an access token, a live API key
//     as a bearer token or in Basic credentials: gatewayCredential). With
//     IdentityHeaders X-Portico-Application
//     and X-Portico-Subscriber are set (a client's X-Portico-* fields are
//     always removed, by takeKey).
//  6. Threat protection: threat.Check before the body is read (405, 415,
//     413, and the connection closed instead of reading the body), then
//     the body streams through threat.Reader (checkedBody): a violation
//     fails the transport's read, so the request to the backend is cut
//     off, never ended, and the client gets 400 or 413 (errorHandler,
//     violationError) or, once the response began, a cut connection.
//  7. Request validation (Policies.ValidateRequests, validateRequest):
//     the body is read whole — through threat protection's reader, so
//     its violations answer as in step 6 — up to threat protection's
//     MaxBodyBytes, else DefaultValidateMaxBody (413 over it); the
//     request (its path inside the API, parameters, Content-Type and
//     JSON body) is checked against the API's OpenAPI document by
//     openapi.Validator, and refused with a 400 listing up to ten
//     problems ({"error": {"code": "invalid", "message", "problems":
//     [{"in", "name", "message"}]}}); the same bytes go on, with a
//     Content-Length. While the document is not compiled, 503.
//  8. Request header rules, with the request id, application, subscriber,
//     API ID and client address as variables.
//  9. Request conversion (jsonxml) of a body of the format it reads,
//     whole, with Content-Type and Content-Length set (413 over MaxBytes,
//     400 when it does not convert).
//  10. The backend; then on its response: response header rules, the CORS
//     fields, response conversion (a body that is encoded, over MaxBytes
//     or does not convert is a 502 bad_gateway).
//
// Steps 6, 8 and 9 use the first resource policy whose pattern matches
// the request, else the API's own (step 7 bounds the body by that threat
// protection). All of it is compiled once per change of the API
// (routePolicies, routeAuth, and one TokenVerifier per API with jwt,
// handed on to the API's next upstream while its issuers stay equal and
// closed when they change or the API goes), except the validators of the
// documents: they are compiled once per document SHA-256, shared by
// every API (and API version) with that document, off the request path
// (docValidator). When an upstream for a new document is built, a
// goroutine reads it from Gateway.Documents and compiles it, and reads
// it again every DocumentRetry while the store fails or does not have
// it; Update waits for its first try, up to DocumentWait, before it
// swaps the change in. Until it is compiled the API answers 503 with
// Retry-After, so that no request passes unchecked. A document that does not compile (a
// schema pattern Go's regexp does not take) or does not match its
// SHA-256 is logged and its APIs answer 503 until they get another. The
// last upstream to drop a document stops its goroutine and forgets it;
// Gateway.Close stops them all. An API without policies
// pays one nil check: its requests take the same path as before
// (BenchmarkEngines). Both engines apply the response half: the
// ReverseProxy through modifyResponse and the request's context, the fast
// engine's forward by calling reqState.response itself.
//
// # SOAP APIs
//
// An API imported from a WSDL document is a SOAP API
// (portico.API.IsSOAP): its target is the service's SOAP address and
// each operation a resource with the pattern "POST /" and the action
// clients name it by, and where the document tells it the element its
// envelopes start their Body with (portico.Resource.SOAPBody; package
// soap's doc.go). The gateway reads a request's action from its headers
// (reqAction, with soap.Action: the SOAPAction field of SOAP 1.1, the
// action parameter of SOAP 1.2's Content-Type; either field given twice
// names no action), and of some calls the start of the envelope
// ("Envelopes" below); it never changes an envelope: the body goes to
// the backend as it came, and the backend's answer, its faults
// included, comes back as it went (TestSOAPPassThrough).
//
// Faults. To a SOAP API's requests the gateway's own answers — 401
// (WWW-Authenticate kept), 403, 405, 413, 415, 400 (threat protection,
// the paths it refuses, an unknown action), 429 (Retry-After and the
// RateLimit fields kept), 502, 503, 504, 508 — are SOAP faults
// (soap.Fault) of the request's version: SOAP 1.2 for application/soap+xml,
// SOAP 1.1 for text/xml and for anything that is not SOAP (a GET of the
// WSDL, a body of another type): SOAP 1.1 is what most clients speak,
// and a fault is plain XML to any other. The version is the one the
// client sent, read before header rules or conversions change the
// request (reqState.form). A 4xx is a Client (SOAP 1.2: Sender) fault,
// a 5xx a Server (Receiver) one, and the detail holds Portico's error
// code and the status; the JSON error's "reason" of a 401 is left out
// (bearer challenges name it). A request that reaches no API gets
// JSON's 404: it belongs to no SOAP API.
//
// The HTTP status stays the gateway's own, not the 500 that WS-I's Basic
// Profile gives every SOAP 1.1 fault (R1126) nor SOAP 1.2's 400 for a
// Sender fault: 401, 429 with Retry-After and 504 tell clients, proxies,
// retry policies and monitoring what happened and what to do, which a
// 500 hides, and the analytics count the gateway's answers by status. A
// SOAP stack that reads a fault's body only under 500 (as R1126 lets it
// expect) reports such an answer by its status rather than by the
// fault's text: the call fails either way, as it must.
//
// Operations and limits. A plan's resource override with a SOAPAction
// (portico.ResourceLimit) takes the requests that match its pattern and
// name that action, on any API: a request that names no action (one that
// is not SOAP) never matches it. Each such override counts on a key of
// its own (limitID), so a plan can limit a SOAP API's operations one by
// one. The analytics record's resource for a SOAP API's call is the
// operation its action names ("POST / GetBooking"), or the pattern when
// the action is not one the API declares; on other APIs, an override
// with an action is recorded as its pattern and action. Either way the
// names come from the configuration, never from a client's text.
//
// Unknown actions. Where every resource of a SOAP API has an action
// (soapOps.strict: the import gives distinct ones, and leaves the action
// out where operations share one, give "" or differ between the SOAP
// versions), a call — a request matching one of its patterns — whose
// action names none of them (an undeclared action, "", none, one that
// does not read, a request that is not SOAP) is refused with a 400
// fault before its limits and the backend (a 415 naming the media types
// a SOAP API takes when its body is not text/xml, application/soap+xml
// or multipart/related): services that dispatch on the body's first
// element (JAX-WS, CXF) would otherwise run an operation whose limit the
// request dodged by naming another action. Requests that call no
// operation (a GET of ?wsdl, a POST to another path) pass, as on any
// API, and an API with an operation without action takes any action.
// FuzzSOAPCall checks that no call naming no operation reaches the
// backend and that every answer of the gateway's reads as a fault.
//
// Envelopes. A call naming an operation that has a body element could
// still carry another operation's envelope, which a backend that
// dispatches on the body would run under the limits of the one named.
// So before its limits, soapOps.check reads the start of such a call's
// body (soapbody.go: readEnvelope holds up to maxEnvelopePrefix, 64
// KiB, and soap.BodyElement reads it in one pass up to the Body's first
// element, of a multipart body its first part) and compares that
// element with the operation's: another element, an envelope that does
// not read (not well-formed, a DOCTYPE, the other SOAP version's, text
// or another element before the Body or its child), no element within
// 64 KiB, are a 400 fault naming what was expected; a body that is not
// a SOAP media type or has a Content-Encoding a 415. The backend gets no
// byte of a refused call: the request to it starts only after the
// decision, and the held bytes are then put back before the rest (the
// body stays the *requestBody, which counts them once). A call naming
// an operation without a body element, or naming none on an API that is
// not strict, is read only when the operations of some element all have
// actions, and refused when its envelope starts with that element: its
// client could have named that operation, whose limits it would dodge
// (an operation without action can only be called so). Where no
// resource has a body element nothing is read, and a call naming one
// operation's action with another's body counts against the one it
// names — a service that dispatches on the action (ASP.NET, WCF) runs
// that one, one that dispatches on the body the other; an API imported
// before the import gave elements gets them when its WSDL is imported
// again.
// TestSOAPEnvelopeChecked, TestSOAPEnvelopeLoose, TestSOAPEnvelopeRPC,
// TestSOAPEnvelopeDribbled and FuzzSOAPEnvelope (what reaches the
// backend naming an operation starts its Body, as encoding/xml reads
// it, with that operation's element) check it; BenchmarkSOAPEnvelope
// measures it.
package proxy
