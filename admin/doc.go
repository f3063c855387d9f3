// Package admin serves Portico's admin REST API under /api/v1: users,
// plans, APIs, applications, keys, subscriptions, notifications and the
// cluster's nodes. Server is an http.Handler for the admin listener.
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
// (Server.TokenTTL) or until its user's password changes or it is revoked
// with DELETE /api/v1/tokens. Tokens are kept, by hash only, in
// Server.Tokens, the data store: every node of a cluster takes a token
// issued by any other, a revocation holds everywhere at once, and tokens
// survive a restart; without a Server.Tokens they live in the issuing
// node's memory. GET /healthz needs no authentication.
//
// # Roles
//
// An admin may do everything. A publisher creates APIs and plans and
// changes only its own; it sees the applications and subscriptions that
// use its APIs, and approves and evicts those subscriptions. A subscriber
// sees published and deprecated APIs and every plan, and manages its own
// applications, keys and subscriptions. Any user may own applications.
// Roles add up: a user may hold several. What a caller may not see answers
// 404; what it sees but may not change answers 403. An API's visibility
// (public, intranet, partner) is catalog information and not yet enforced.
// Who may not manage an API sees it without its endpoint and timeouts, and
// only admins and the user itself see a user's webhook_url.
//
// # Routes
//
// All paths below are under /api/v1. "any" means any authenticated user.
//
//	POST   /tokens                              any, with HTTP Basic: a bearer token → 201 {"token","expires_at"}
//	DELETE /tokens                              any, with the bearer token to revoke → 204
//
//	GET    /users/me                            any: the caller
//	PUT    /users/me                            any: own password, email, webhook_url
//	GET    /users                               admin
//	POST   /users                               admin: {"username","password","roles":[…],"email","webhook_url"} → 201
//	GET    /users/{id}                          admin, or the user itself
//	PUT    /users/{id}                          admin (a user itself: as PUT /users/me)
//	DELETE /users/{id}                          admin; not the last admin, nor an owner of APIs or plans
//	GET    /subscribers                         admin, publisher: users with the subscriber role
//	POST   /subscribers                         admin: a user with the subscriber role → 201
//
//	GET    /plans                               any
//	POST   /plans                               admin, publisher → 201
//	GET    /plans/{id}                          any
//	PUT    /plans/{id}                          admin, owner
//	DELETE /plans/{id}                          admin, owner; 409 while an API or a live subscription uses it
//
//	GET    /apis?state=&visibility=             any; sees what it may (see Roles)
//	POST   /apis                                admin, publisher → 201, state "draft"
//	GET    /apis/{id}                           who sees it
//	PUT    /apis/{id}                           admin, owner
//	DELETE /apis/{id}                           admin, owner; 409 with approved subscriptions unless retired
//	POST   /apis/{id}/publish                   admin, owner: draft or deprecated → published
//	POST   /apis/{id}/deprecate                 admin, owner: published → deprecated
//	POST   /apis/{id}/retire                    admin, owner: published or deprecated → retired
//
//	GET    /applications                        any: own; admin all; publisher also those subscribed to its APIs
//	POST   /applications                        any: {"name","description"}; admin may set "owner" → 201
//	GET    /applications/{id}                   who sees it
//	PUT    /applications/{id}                   admin, owner
//	DELETE /applications/{id}                   admin, owner; deletes its keys and subscriptions too
//	GET    /applications/{id}/keys              who sees the application; never the key's text or hash
//	POST   /applications/{id}/keys              admin, owner → 201 {"id","key","prefix","application","created_at"}
//	GET    /applications/{id}/keys/{keyID}      who sees the application
//	DELETE /applications/{id}/keys/{keyID}      admin, owner: revokes the key → 204
//	GET    /applications/{id}/subscriptions     who sees the application
//	POST   /applications/{id}/subscriptions     admin, owner: {"api","plan"} → 201 "approved" or "pending"
//
//	GET    /subscriptions?status=&api=&application=   admin all; publisher those to its APIs; owner its own
//	GET    /subscriptions/{id}                  who sees it
//	POST   /subscriptions/{id}/approve          admin, the API's owner: pending → approved
//	POST   /subscriptions/{id}/evict            admin, the API's owner: pending or approved → evicted (final)
//	DELETE /subscriptions/{id}                  who sees it (the application's owner cancels): → evicted, 204
//
//	GET    /notifications?limit=&before=        admin all; others those about them, newest first
//	GET    /cluster/nodes                       admin → {"items":[…]}
//
// # Requests and responses
//
// Bodies are JSON, at most 1 MiB (413 beyond), exactly one object, without
// unknown fields. A PUT replaces an entity's settings (fields left out get
// their defaults), except PUT on users, which changes only the fields
// present; a PUT body may echo the read-only fields "id", "created_at" and
// "updated_at" (and an API's current "state"). Lists take ?limit= (1 to
// 1000, default 50) and ?offset= and answer
// {"items":[…],"total":N,"limit":L,"offset":O}. Errors answer
//
//	{"error":{"code":"invalid","message":"…","field":"rate_limit.limit"}}
//
// with the status of the portico.ErrorCode (invalid 400, unauthorized 401,
// forbidden 403, not_found 404, conflict 409, too_large 413, unavailable
// 503, internal 500), or code "method_not_allowed" with 405 and an Allow
// header. Internal errors are logged and shown only as "internal error".
package admin
