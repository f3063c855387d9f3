// Package oauth2 makes the gateway an OAuth2 authorization server for the
// client credentials grant (RFC 6749 §4.4), and checks the access tokens
// it issues.
//
// An application is an OAuth2 client: its client_id is the application's
// ID and its client_secret is one of its live API keys. A client asks
// POST /oauth2/token for a token, authenticating with HTTP Basic or with
// client_id and client_secret in the form body, and may narrow the token
// to some of its plans with scope, a space-separated list of plan IDs each
// of which must be the plan of an approved subscription of the
// application. It then calls APIs with "Authorization: Bearer <token>".
//
// # Moving parts
//
//   - server.go: Server, the token endpoint. It authenticates the client
//     against the current portico.Config (the key is hashed as the admin
//     API stores it, portico.HashKey, and compared in constant time with
//     the application's live keys), checks the grant and the scope,
//     limits issuance per application and node, and stores the token.
//   - request.go: reading the request: the form body (at most
//     MaxBodyBytes, no parameter twice), HTTP Basic with form-urlencoded
//     parts (RFC 6749 §2.3.1), the scope's syntax.
//   - limiter.go: a token bucket per application (IssueRate, IssueBurst),
//     in memory, over a bounded map: a client in a loop gets 429
//     slow_down instead of writing to the data store at its own pace.
//     Only authenticated clients are counted, so a stranger cannot use
//     up an application's allowance with wrong secrets.
//   - verifier.go and cache.go: Verifier, the gateway's
//     portico.TokenVerifier for these tokens, with its two caches.
//   - token.go: the token's text and the hash it is stored under.
//
// # Opaque tokens in the data store
//
// An access token is "pto_" and 32 random bytes in base64url. It means
// nothing by itself: it is kept, as a portico.Token, in the
// portico.TokenStore the admin API already keeps its bearer tokens in
// (the embedded store on one node, Redis in a cluster), under "oauth2:"
// and the hex SHA-256 of its text. The text itself is never stored. The
// "oauth2:" prefix keeps the two kinds of token apart: the admin API looks
// its tokens up under the bare hex SHA-256, so an access token is no
// admin token and an admin token no access token. The stored token's
// UserID is the application's ID, its PasswordFingerprint the ID of the
// key used as client secret, and its Scope the plans (token.go in the
// root says so).
//
// Why opaque tokens rather than signed JWTs:
//
//   - Revocation is immediate. At every request the gateway checks that
//     the key a token was issued against is still live: revoking the key
//     or removing the application ends its tokens at once, on every node,
//     through the configuration every node already follows. A JWT lives
//     until it expires unless every node keeps a deny list.
//   - There are no signing keys to generate, distribute to every node of
//     the cluster, keep secret and rotate.
//   - The data store is already what every node reads. The first sight
//     of a token on a node costs one store read; the Verifier then keeps
//     it in memory until it expires, so a repeat costs a SHA-256 and a map
//     lookup: BenchmarkVerifyCached measures well under a microsecond.
//
// For the same reason there is no JWKS: nobody but the gateway can check
// a token, and the gateway needs no public key to do it, so
// /oauth2/jwks.json answers 404 like any other unknown path. A backend
// that wants to know the caller reads the identity headers the gateway
// sets.
//
// A token is not revoked one by one: it ends at its expiry (Server.Lifetime,
// an hour by default, from one minute to a day), or when its key or
// application goes. Deleting it from the store does not end it on a node
// that has it cached.
//
// # Verifying
//
// The Verifier refuses a token of the wrong shape (prefix, length,
// base64url alphabet, canonical last character) without reading the
// store. A well-formed token it has not seen is read from the store once:
// a known one is cached by its hash until it expires (CacheSize entries
// at most, two generations a shard: a full shard drops its older half); an
// unknown one is remembered as unknown for NegativeTTL (a few seconds) so
// that garbage tokens do not make every request a store read. A store that
// cannot answer gives EUnavailable (503), and nothing is cached.
//
// A refusal is a *portico.Error, EUnauthorized with a client-safe message;
// ReasonOf, or errors.As with an interface{ Reason() string } target, gives
// "malformed", "unknown_token", "token_expired" or "store_unavailable".
// The Verifier does not check the key's liveness or the plan: the gateway
// does, against its current configuration, with TokenIdentity.KeyID and
// TokenIdentity.Plans.
//
// # Answers of the token endpoint
//
// A token is answered 200 with {"access_token", "token_type": "Bearer",
// "expires_in", "scope"} (scope only when the request narrowed it),
// Cache-Control: no-store and Pragma: no-cache. Refusals follow RFC 6749
// §5.2, {"error", "error_description"}: invalid_client (401, with
// WWW-Authenticate: Basic realm="portico") for any failed client
// authentication, the same answer for an unknown client, a wrong secret
// or a revoked key; invalid_request (400), unsupported_grant_type (400) and
// invalid_scope (400); 405 for a method other than POST, 415 for a body
// that is not application/x-www-form-urlencoded, 413 for one over 8 KiB,
// all with error invalid_request; 429 slow_down with Retry-After over the
// issuance limit; 503 temporarily_unavailable when the token store fails
// (no token is issued). Secrets and tokens are never logged.
package oauth2
