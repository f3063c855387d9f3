// Package admin serves Portico's admin REST API under /api/v1: users,
// groups, plans, APIs, applications, keys, subscriptions, notifications
// and the cluster's nodes. Server is an http.Handler for the admin listener.
//
// # Moving parts
//
// Reads are answered from the node's in-memory configuration
// (portico.ConfigVar), never from the store, and lists are ordered by
// creation time, then id. Writes are serialized by the Server: each one
// validates the request against the current Config, collects
// portico.Changes and writes them in one Store.Apply against the Config's
// version. When another node wrote first (EConflict) the Server reloads the
// Config from the store, validates again and retries, twice at most. Only
// after the store accepted the changes does the new Config, built with
// Config.With, become current; a store that cannot be reached answers 503
// and changes nothing. Entities in a Config are never modified in place.
//
// # Authentication
//
// Every /api/v1 call is authenticated with HTTP Basic (passwords are bcrypt
// hashes; a verified password is remembered in memory, keyed by a SHA-256
// of the credentials and by the user's current hash, so that only the
// first request pays for bcrypt and a password change forgets it) or with
// a bearer token from POST /api/v1/tokens. A token is valid for 12 hours
// (Server.TokenTTL) or until its user's password changes, it is revoked
// with DELETE /api/v1/tokens, or its user signs out everywhere. Tokens are
// kept, by hash only, in
// Server.Tokens, the data store: every node of a cluster takes a token
// issued by any other, a revocation holds everywhere at once, and tokens
// survive a restart; without a Server.Tokens they live in the issuing
// node's memory. GET /healthz and POST /api/v1/signup (see Sign-up) need
// no authentication. A 401 carries
// WWW-Authenticate: Bearer, never a Basic challenge, which would make
// browsers remember the password and send it along with requests other
// sites make them send; HTTP Basic is still taken when a client sends it
// unasked (curl -u, most HTTP libraries).
//
// POST /api/v1/tokens takes an optional body {"ttl": seconds,
// "idle_timeout": seconds}: ttl (60 up to Server.TokenTTL) shortens the
// token's life; idle_timeout (60 to 86400) also ends it after that long
// without use. Each use of such a token moves its expiry ("expires_at" of
// the reply) to idle_timeout after the use, never past ttl after its
// issue. So that uses do not each cost a write to the token store, a node
// writes the new expiry only once it has fallen a minute (a quarter of
// the idle timeout, when shorter) behind, and writes a token at most that
// often itself: the token ends after idle_timeout without use, or up to
// that step sooner. The write (portico.TokenStore.TouchToken) never
// brings back a token revoked meanwhile.
//
// Signing out everywhere — DELETE /api/v1/tokens?everywhere=true, with a
// bearer token or HTTP Basic, or an admin's DELETE /api/v1/users/{id}/tokens
// — sets the user's tokens_not_before to now, a configuration write every
// node applies: from then on every node refuses the user's tokens issued
// before it. HTTP Basic keeps working; change the password to stop it.
//
// # Disabled users
//
// An admin disables a user with PUT /api/v1/users/{id} {"disabled":true}
// and enables it with false; others sending "disabled" get 403. An admin
// cannot disable itself, nor remove the last enabled admin, by disabling,
// deleting or taking the admin role (409). A disabled user cannot
// authenticate: its right password answers exactly as a wrong one (401
// "invalid username or password", counted as a failed sign-in), so that
// the answer does not tell whether it was right; its bearer tokens answer
// 401 "user is disabled" (not counted: whoever holds one signed in
// before). Disabling also sets tokens_not_before, so that enabling the
// user again does not bring its old tokens back. Only signing in is
// affected: the user's applications, keys and subscriptions stay, and the
// gateway keeps taking its keys; revoke them, or delete the user, to stop
// its traffic.
//
// # Sign-in throttling
//
// With a Server.SignInLimiter, failed sign-ins (a wrong Basic password, an
// unknown user name, an invalid bearer token, a wrong current_password)
// are counted per user name (any case) and per client address (the IP of
// the connection, an IPv6 address by its /64; forwarded headers are not
// trusted): 10 per user name and 100 per address in each clock hour.
// Once a counter is used up, every attempt for that user name (Basic, a
// password change) or from that address (Basic and bearer) answers 429
// with Retry-After until the hour ends, the right password too. The counts
// live in the limiter — shared by a cluster's nodes when it is — and each
// node remembers which counters it found used up, so refusing costs no
// call to it; a node checks one password per user name and per address at
// a time and counts a failure before the next check. Across N nodes at
// most 10 + N - 1 passwords of one user name are checked per hour (100 +
// N - 1 per address); on one node exactly 10. An attacker can thus keep a
// user from signing in with a password for an hour at a time; tokens the
// user holds keep working.
//
// # Sign-up
//
// POST /api/v1/signup {"username","password","email"} lets anyone create
// an account with the subscriber role, as the sign-up mode says
// (portico.SignupMode, GET and PUT /api/v1/settings/signup, admins only):
// "off" (the default) answers 403; "open" creates an enabled user;
// "approval" creates it disabled with "pending_approval": true, and it
// cannot sign in until an admin approves it with POST
// /users/{id}/approve (or enables it with PUT "disabled": false). The
// mode is kept in the data store when it is a portico.SettingStore (both
// of Portico's are) and read at each sign-up, so every node of a cluster
// applies a change at once. The username follows the rules of POST
// /users and must be free in any case (409, field "username"), the
// password too (8 characters to 72 bytes), and the email is required and
// must be a plain address; any other field (roles, internal, disabled)
// answers 400. With a Server.SignInLimiter every attempt, refused or not,
// counts against the client address (as sign-in throttling counts it): 10
// an hour, then 429 with Retry-After until the hour ends; sign-ins are
// counted apart. Each sign-up raises a "user_signup" notification naming
// the new user, addressed to the enabled admins ("admins": their webhooks
// get it too). The Origin and Content-Type checks below apply to it as to
// every route.
//
// # Cross-site requests
//
// The admin API answers only its own origin. Before routing, a request
// with Sec-Fetch-Site: cross-site, or with an Origin header other than the
// listener's own (scheme and Host header) or one of Server.AllowedOrigins,
// answers 403 (field "Origin" or "Sec-Fetch-Site"); a request that has a
// body or a Content-Type must send application/json (charset=utf-8 is the
// only parameter taken), else 415 (field "Content-Type"), so that no form
// or text/plain body a page of another site can send without a CORS
// preflight is ever read. A user changing its own password (PUT /users/me,
// or PUT /users/{id} on itself) sends current_password too: 400 without
// it, 403 when wrong (counted as a failed sign-in).
//
// # Roles
//
// An admin may do everything. A publisher creates APIs and plans and
// changes only its own; it sees the applications and subscriptions that
// use its APIs, and the subscribers who own those applications (GET
// /subscribers lists no one else), and approves, evicts and lifts those
// subscriptions. It offers on its APIs its own plans and plans whose owner
// made them "shared" (others answer 403 naming plans[i]; plans stored
// before sharing existed are not shared, and an API keeps the plans it
// offers). Its APIs' contexts may not lie under or over another owner's
// API, path segment by segment (409, field "context"): the gateway routes
// by the longest matching context, so either would take the other's
// traffic; it may nest its own APIs, and only an admin may nest across
// owners, by sending "allow_nested": true (a publisher sending it gets
// 403). The check applies when an API is created or its context or owner
// changes. Names are unique where people and configuration files know
// entities by them, compared in any case (package portico's names.go): an
// API's name and version across the store (409, field "name"; an import
// whose document names another API's answers 409, field "document"), a
// plan's and an application's among those of its owner (409, field
// "name"), checked when one is created, renamed or given another owner;
// two owners may each have a plan "gold". A subscriber
// sees the APIs their visibility lets it see (see Visibility) and every
// plan, and manages its own applications, keys and subscriptions. Any
// user may own applications. Roles add up: a user may hold several. What
// a caller may not see answers 404; what it sees but may not change
// answers 403. Who may not manage an API sees it without its endpoint,
// timeouts, JWT issuers, credential settings, groups and policies, and
// only admins and the user itself see a user's webhook_url, disabled,
// internal, tokens_not_before and notifications_read_at.
//
// # Visibility
//
// Who sees an API is one rule, portico.Config.CanSeeAPI, and it decides
// every route: GET /apis (with any filter or ?q=), GET /apis/{id} (404
// when hidden), a new subscription (404, field "api", as for an API that
// does not exist) and the api_name shown with subscriptions, so that a
// hidden API can be neither seen nor subscribed to. Admins and the API's
// owner always see it. Anyone else, publishers included, sees it only
// while it is published or deprecated, and then by its "visibility":
// public to every user (and to anonymous visitors of the developer
// portal); intranet to internal users — "internal": true, which only
// admins set (a user sending another value than its own gets 403, field
// "internal"); partner to the members of one of the groups the API lists
// in "groups" (group IDs, each must exist: 400 naming groups[i]; a
// partner API without groups is seen by its owner and admins only). A PUT
// of an API without "groups" (or with null) keeps them, so that a client
// that does not know groups cannot take them off by saving the API; []
// takes them off.
// Subscriptions made while a user saw the API are untouched when it no
// longer does: they keep their status and their traffic; only the API's
// name is no longer shown with them.
//
// Groups are named sets of users, managed by admins: a name unique in any
// case (409, field "name"), a description, and "members" (user IDs, each
// must exist: 400 naming members[i]). A PUT without "members" keeps them;
// the member routes add and remove one user (by ID, or by username when
// adding; adding a member or removing a non-member changes nothing).
// Publishers list and read groups, without their members, to list them on
// their APIs; subscribers get 403. A group an API lists cannot be deleted
// (409); deleting a user takes it out of its groups.
//
// # API auth and policies
//
// An API's "auth" lists the ways its callers may authenticate: any of
// "api_key", "basic", "jwt" and "oauth2", or ["none"] alone for an open
// API (see portico.AuthMethods); a single string, as older clients send,
// is a list of one. "jwt" needs "jwt_issuers" (portico.JWTIssuer), and
// "policies" holds ip_rules, cors, threat_protection, headers, conversion
// and per-path resources (portico.Policies). Errors name the field from
// the API's root: "auth[1]", "jwt_issuers[0].algorithms",
// "policies.cors.allowed_origins[2]". The context "/oauth2" and the paths
// under it are reserved for the gateway's own OAuth2 endpoints (400,
// field "context").
//
// An HS256 issuer's "key" is a shared secret: every answer that shows the
// API (GET, and the answers of POST, PUT and the lifecycle routes) shows
// it as "" (portico.API.Redacted). So that such an answer can be sent
// back, a PUT issuer with an empty "key" and no "jwks_url" keeps the
// secret stored for the issuer with the same "issuer" value; a non-empty
// "key" replaces it. A POST has nothing stored: an issuer without a key
// or a JWKS is refused (400, field "jwt_issuers[i].jwks_url"), as is a PUT
// issuer that renames the issuer without giving its secret again.
//
// # Routes
//
// All paths below are under /api/v1. "any" means any authenticated user.
//
//	POST   /tokens                              any, with HTTP Basic; optional {"ttl","idle_timeout"} (seconds):
//	                                            a bearer token → 201 {"token","expires_at","idle_timeout"}
//	DELETE /tokens                              any, with the bearer token to revoke → 204
//	DELETE /tokens?everywhere=true              any, bearer or Basic: ends every token of the caller → 204
//
//	GET    /users/me                            any: the caller
//	PUT    /users/me                            any: own email, webhook_url, password (with current_password)
//	GET    /users?q=                            admin
//	POST   /users                               admin: {"username","password","roles":[…],"email","webhook_url"} → 201
//	GET    /users/{id}                          admin, or the user itself
//	PUT    /users/{id}                          admin, also "disabled" and "internal" (a user itself: as PUT /users/me)
//	DELETE /users/{id}                          admin; not the last enabled admin, nor an owner of APIs or plans
//	DELETE /users/{id}/tokens                   admin, or the user itself: ends every token of the user → 204
//	GET    /subscribers?q=                      admin, publisher: users with the subscriber role (a publisher: those subscribed to its APIs)
//	POST   /subscribers                         admin: a user with the subscriber role → 201
//	POST   /users/{id}/approve                  admin: enables a user who signed up pending approval (409 if not pending)
//	POST   /signup                              no authentication: {"username","password","email"} → 201 (see Sign-up)
//
//	GET    /plans?q=                            any; without credentials, the plans of the public APIs
//	POST   /plans                               admin, publisher → 201; "shared": true lets other owners' APIs offer it
//	GET    /plans/{id}                          any; without credentials, a plan of a public API
//	PUT    /plans/{id}                          admin, owner
//	DELETE /plans/{id}                          admin, owner; 409 while an API or a live subscription uses it
//
//	GET    /apis?state=&visibility=&tag=&q=     any; sees what it may (see Visibility)
//	POST   /apis                                admin, publisher → 201, state "draft"; admin may send "allow_nested": true
//	GET    /apis/{id}                           who sees it (also without credentials, a public API)
//	PUT    /apis/{id}                           admin, owner
//	DELETE /apis/{id}                           admin, owner; 409 with approved subscriptions unless retired
//	POST   /apis/{id}/publish                   admin, owner: draft or deprecated → published
//	POST   /apis/{id}/deprecate                 admin, owner: published → deprecated
//	POST   /apis/{id}/retire                    admin, owner: published or deprecated → retired
//	POST   /apis/import?api=&context=&target=&dry_run=
//	                                            admin, publisher (into an API: its owner): the body an OpenAPI, Swagger or
//	                                            WSDL document (application/json, application/yaml or text/xml) → 201 a new
//	                                            draft, 200 an update: {"api","created","dry_run","added","removed"};
//	                                            400 (field "document") into an API that validates requests when the
//	                                            gateway's validator cannot compile the document (so does a PUT turning
//	                                            policies.validate_requests on, for the stored one: field
//	                                            "policies.validate_requests")
//	GET    /apis/{id}/openapi                   who sees it: the API as published, OpenAPI 3.1 (see import.go)
//	GET    /apis/{id}/document                  admin, owner: the imported document as stored (it names the backend)
//
//	GET    /applications?q=                     any: own; admin all; publisher also those subscribed to its APIs
//	POST   /applications                        any: {"name","description"}; admin may set "owner" → 201
//	GET    /applications/{id}                   who sees it
//	PUT    /applications/{id}                   admin, owner
//	DELETE /applications/{id}                   admin, owner; deletes its keys and subscriptions too
//	GET    /applications/{id}/keys              who sees the application; never the key's text or hash
//	POST   /applications/{id}/keys              admin, owner → 201 {"id","key","prefix","application","created_at"}
//	GET    /applications/{id}/keys/{keyID}      who sees the application
//	DELETE /applications/{id}/keys/{keyID}      admin, owner: revokes the key → 204
//	POST   /applications/{id}/keys/verify       admin, owner: {"key"} → the key it is (never its text or hash), or 404 "key"
//	POST   /applications/{id}/keys/{keyID}/rotate  admin, owner: {"grace_seconds": 0..86400} → 201 a new key
//	                                            (shown once, as POST keys) and "rotated": the old key with its expires_at
//	GET    /applications/{id}/subscriptions     who sees the application
//	POST   /applications/{id}/subscriptions     admin, owner: {"api","plan"} → 201 "approved" or "pending";
//	                                            404 (field "api") for an API the caller does not see
//
//	GET    /subscriptions?status=&api=&application=&subscriber=&q=   admin all; publisher those to its APIs; owner its own
//	GET    /subscriptions/{id}                  who sees it
//	GET    /subscriptions/{id}/usage            who sees it: {"quota","rate_limit"}, each {"limit","used","remaining","per","window",
//	                                            "start","end"} of the current window (null without one); 503 if unreadable
//	POST   /subscriptions/{id}/approve          admin, the API's owner: pending → approved; evicted → approved (lifts and reinstates)
//	POST   /subscriptions/{id}/evict            admin, the API's owner: pending, approved or cancelled → evicted
//	POST   /subscriptions/{id}/lift             admin, the API's owner: evicted → cancelled (may subscribe again)
//	DELETE /subscriptions/{id}                  the application's owner: → cancelled, 204 (409 if evicted);
//	                                            the API's owner or an admin: → evicted, as /evict, 204
//
//	GET    /groups?q=                           admin, publisher (without members)
//	POST   /groups                              admin: {"name","description","members":[user IDs]} → 201
//	GET    /groups/{id}                         admin, publisher (without members)
//	PUT    /groups/{id}                         admin; "members" left out keeps them
//	DELETE /groups/{id}                         admin; 409 while an API lists it
//	POST   /groups/{id}/members                 admin: {"user": id or username} → 204
//	DELETE /groups/{id}/members/{userID}        admin → 204
//
//	GET    /notifications?limit=&before=        admin all; others those about them, newest first;
//	                                            each with "read": its time is not after the caller's notifications_read_at
//	POST   /notifications/read                  any: sets the caller's notifications_read_at to now → 204
//	GET    /cluster/nodes                       admin → {"items":[…]}
//	GET    /settings/signup                     admin → {"mode": "off"|"open"|"approval"}
//	PUT    /settings/signup                     admin: {"mode"} → 200
//	GET    /config?include=consumers            admin: the configuration as a file (YAML, format_version 1; see package configfile)
//	POST   /config/apply?prune=&select=tag=…&dry_run=&allow_nested=
//	                                            admin: a file (YAML or JSON) applied in one write → {"dry_run","version","changes","differences"}
//
// # Key rotation
//
// POST /applications/{id}/keys/{keyID}/rotate replaces a key without a
// gap: the new key works at once, and the old one keeps working for
// "grace_seconds" (0 to 86400; required) and then ends: its "expires_at"
// is the rotation's time plus the grace, and from then on the gateway
// refuses it as a revoked key (401), whatever the method (API key, Basic,
// an OAuth2 token issued against it, which also lives no longer). A grace
// of 0 revokes the old key at once. A key that is revoked or already
// ending answers 409: rotate the key that replaced it. Lists and GET show
// "expires_at" of an ending key.
//
// # Subscriptions
//
// A subscription is pending, approved, cancelled or evicted; only approved
// ones let traffic through. An application has at most one live (pending
// or approved) subscription to an API. Cancelling (the application's
// owner) lets it subscribe again; an eviction (the API's owner or an
// admin) sticks: new subscriptions of the application to that API answer
// 409 (field "api") until the API's owner or an admin lifts the eviction,
// with /lift (the application may then subscribe again, through approval
// if its plan asks for it) or /approve (reinstated with its plan, if the
// API still offers it and the application has no other live subscription
// to it). Cancelling an evicted subscription answers 409 and changes
// nothing. Data stored before cancelled existed says evicted for every
// ended subscription; all of them are taken as evictions. Limit counters
// follow the application and the API, not the subscription, so neither
// cancelling nor re-subscribing resets them. The rules are
// portico.Config.Transition and portico.Config.CheckSubscribe.
//
// GET /subscriptions, GET /subscriptions/{id} and GET
// /applications/{id}/subscriptions show each subscription with the names
// of what it joins, so that a list needs no call per item to show them:
// "api_name" and "api_version" (left out when the API is gone or hidden from the
// caller, for instance from a subscriber once the API is retired or its
// visibility no longer lets the caller see it),
// "application_name" and "plan_name" (left out when the application or
// plan is gone).
//
// # Run-time settings
//
// GET and PUT /api/v1/settings/signup hold the sign-up mode (see Sign-up).
//
// GET /api/v1/settings/analytics (admins) shows the analytics settings
// every node of a cluster applies: addresses (ClickHouse; [] is the
// embedded store), flush_interval ("100ms" to "1m"), batch_size (1 to
// 100000), max_concurrent_batches (1 to 64) and retention_days (1 to
// 3650). Unlike other PUTs, PUT /api/v1/settings/analytics changes only
// the fields present: fields left out (or null) keep their current
// values. A value out of bounds answers 400 naming the field and changes
// nothing. The recorder takes the new limits at its next flush; a
// shorter retention drops expired records at once, in the embedded store
// and in ClickHouse (by dropping day partitions: ClickHouse 18.16 has no
// table TTL, so none is altered).
//
// # Requests and responses
//
// Bodies are JSON, at most 1 MiB (413 beyond), exactly one object, without
// unknown fields. A PUT replaces an entity's settings (fields left out get
// their defaults), except PUT on users, which changes only the fields
// present, and an API's "groups" and a group's "members", kept when left
// out; a PUT body may echo the read-only fields "id", "created_at" and
// "updated_at" (and an API's current "state", a user's
// "tokens_not_before" and "notifications_read_at"). Lists take ?limit= (1 to
// 1000, default 50) and ?offset= and answer
// {"items":[…],"total":N,"limit":L,"offset":O}. The lists of users,
// subscribers, groups, plans, APIs, applications and subscriptions take ?q=, a
// text of at most 200 bytes (400, field "q", beyond) searched for in any
// case within users' username and email; plans' name and description;
// APIs' name, context, version and description; applications' and
// groups' name and description; a subscription's application name and API name (of an API
// the caller sees). It narrows the other filters; total counts the
// matches. Lists are in creation order (time, then id); the lists of
// every plan, API, user, application and subscription walk an index of
// each table in that order, with each entity's lowered searched text,
// built on the first list after start and then brought up to date change
// by change, so a page costs its window, not the table. Errors answer
//
//	{"error":{"code":"invalid","message":"…","field":"rate_limit.limit"}}
//
// with the status of the portico.ErrorCode (invalid 400, unauthorized 401,
// forbidden 403, not_found 404, conflict 409, too_large 413, unsupported
// 415, rate_limited 429 with Retry-After, unavailable 503, internal 500),
// or code "method_not_allowed" with 405 and an Allow
// header. Internal errors are logged and shown only as "internal error".
package admin
