// Package console serves Portico's web console for admins and publishers
// at /console/ on the admin listener: the cluster's members and data
// store, the analytics settings, users, APIs, plans, subscriptions,
// notifications and analytics dashboards, as server-rendered HTML pages
// that work with plain links and forms. The same Server serves the
// developer portal for subscribers at /portal/ (see below).
//
// # One set of rules
//
// The console never decides what a user may do or what a valid entity is.
// Every page and every form is a call of the admin API's http.Handler
// (Server.API), made in-process with the signed-in user's bearer token, so
// that validation, roles, visibility, approval and the retries of a
// conflicting write are the admin API's own, and an answer the admin API
// would refuse is refused here with the same error, shown next to the
// field it names. We chose calling the handler over moving the rules into
// methods both front ends call because the admin API's rules already have
// one home and their tests (admin/) hold for the console too: nothing can
// drift, and the console cannot grow an operation the API lacks. The cost
// is a JSON encoding and decoding per call, a few microseconds for a page
// of 50 items (BenchmarkPages). The console knows the admin API only by
// its routes, documented in admin/doc.go; it imports no adapter (see
// layout_test.go).
//
// # Sessions
//
// Signing in is POST /api/v1/tokens with the user's name and password,
// made for the browser: the admin API checks the password, throttles
// failed sign-ins per user name and per client address, and stores the
// token by its hash in the data store, so every node behind the front door
// takes the session and a restart keeps it. The token asks for an idle
// timeout (Server.IdleTimeout) besides its lifetime (Server.MaxAge). The
// browser holds the token in a cookie that is HttpOnly, SameSite=Strict,
// limited to /console/, and Secure when the console is served over TLS.
// Signing out revokes the token; "sign out everywhere" revokes every token
// of the user on every node.
//
// # Cross-site requests
//
// Every form carries a CSRF token derived from the session's token (an
// HMAC, so nothing more is stored), checked on every POST, and a POST with
// Sec-Fetch-Site: cross-site or an Origin other than the page's own is
// refused with 403 before anything else is read. The sign-in form, before
// there is a session, carries a random value that must match a cookie set
// with it. Every answer carries Content-Security-Policy: default-src
// 'self'; frame-ancestors 'none' (no inline script or style: the pages use
// the embedded console.css and console.js only) and X-Frame-Options: DENY.
//
// # Secrets
//
// No page shows a secret. The API form shows an API's JWT issuers as JSON
// with HS256 secrets left out (portico.JWTIssuer.Redacted), whatever the
// admin API answered, and a form refused with a secret typed in comes back
// without it, saying so. Saving the form sends the issuers as shown; the
// admin API keeps the stored secret of an issuer sent without a key (see
// admin/doc.go), so an unchanged form changes nothing.
//
// # Pages
//
// Pages are html/template files embedded in the binary (templates/), with
// the stylesheet and a small script (static/) that refreshes the parts of
// a page marked data-refresh (the cluster's members, every 0.8 s, so that
// the last second a stopped node is listed down is always shown) without
// reloading the page; with the script blocked the pages still work and
// the members list is current when the page is loaded. Lists are
// paginated and searched by the admin API (?q=, ?offset=). Charts are SVG
// drawn on the server from GET /api/v1/analytics/requests, so the embedded
// store and ClickHouse give the same pictures.
//
// # Developer portal
//
// The portal (portal*.go, templates/portal_*.html, static/portal.js and
// portal.css) is built like the console — every page a call of the admin
// API's handler with the user's token, the same sign-in (POST /tokens,
// throttled by the admin API), the same security headers — with a session
// cookie of its own, portico_portal, limited to /portal/: the front door
// forwards /portal/ (wsconfig --portal) and never /console/, and a console
// session is no portal session. Its forms carry a CSRF token of their own
// (an HMAC of another message under the session's token), and it takes
// form posts from the origins the console takes them from (its listener's
// and AllowedOrigins: the portal's host on the front door), never from
// Server.PublicURL's, the APIs' host, whose pages backends write.
//
//   - Catalog: the published APIs, then the deprecated ones, as the admin
//     API lists them to the visitor (without a token: the public ones),
//     searched and paged through both lists with at most three calls. An API's page
//     shows its plans' limits in words (portico.Plan.Describe), the paths
//     its plans and policies name, and how to call it: the front door's
//     base URL (Server.PublicURL, else the gateway's address) and the key
//     header (Server.KeyHeader).
//   - Applications, keys and subscriptions of the user's own applications
//     only (what else the admin API shows an admin or a publisher is not
//     managed here: the admin API would take an admin's "cancel" for an
//     eviction). A new or rotated key is shown once, in the answer to the
//     form's POST; rotation's grace period is at most 24 hours.
//   - Usage: an application's requests and errors over time from GET
//     /api/v1/analytics/requests, and each subscription's quota and rate
//     limit with the use of their current windows from GET
//     /api/v1/subscriptions/{id}/usage (the gateway's counters).
//   - Try it: the form's request goes to Server.Gateway in-process, never
//     to a host or URL of the form: its path is decoded, cleaned and must
//     stay under the API's context; header names and values, the query
//     and the sizes are checked, CR and LF refused; the fields that carry
//     credentials or the client's address are the portal's to set. The
//     key must be a live key of one of the user's own applications; as
//     the admin API shows no key's hash, the portal matches the key's
//     prefix (8 characters, 5 of them random). The answer is shown up to
//     1 MiB.
package console
