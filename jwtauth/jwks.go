package jwtauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejson "github.com/go-jose/go-jose/v4/json"

	"github.com/portico-gw/portico"
)

// maxKeys bounds the keys taken from one JWKS; real sets hold a handful.
const maxKeys = 100

// key is one verification key of an issuer. retired is set once a JWKS
// refresh no longer lists the key (or its issuer is replaced): results
// cached for tokens it signed are then no longer served.
type key struct {
	kid     string
	alg     string // the JWK's "alg", "" when it names none
	pub     crypto.PublicKey
	retired atomic.Bool
}

// fits reports whether k may verify a token signed with alg.
func (k *key) fits(alg string) bool {
	return (k.alg == "" || k.alg == alg) && portico.JWTKeyFits(alg, k.pub)
}

// same reports whether k and o are one key: same kid, alg and public key.
func (k *key) same(o *key) bool {
	if k.kid != o.kid || k.alg != o.alg {
		return false
	}
	p, ok := k.pub.(interface{ Equal(crypto.PublicKey) bool })
	return ok && p.Equal(o.pub)
}

// keySet is one fetched JWKS, read-only once built.
type keySet struct {
	byKID map[string][]*key
	n     int
}

// find returns the key for a token's kid and alg. A token without a kid
// matches only when exactly one key of the set fits alg (trying several
// would multiply the cost of a forged token).
func (s *keySet) find(kid, alg string) *key {
	if s == nil {
		return nil
	}
	if kid != "" {
		for _, k := range s.byKID[kid] {
			if k.fits(alg) {
				return k
			}
		}
		return nil
	}
	var found *key
	for _, ks := range s.byKID {
		for _, k := range ks {
			if k.fits(alg) {
				if found != nil {
					return nil
				}
				found = k
			}
		}
	}
	return found
}

// parseKeySet reads a JWKS document. Keys that cannot serve (private or
// symmetric keys, "use" other than "sig", RSA under portico.MinJWTRSABits,
// curves or types no pinnable algorithm takes, keys that do not parse) are
// skipped and counted; a set left without keys is an error, so that a
// broken answer never replaces a good set.
func parseKeySet(body []byte) (set *keySet, skipped int, err error) {
	var doc struct {
		Keys []josejson.RawMessage `json:"keys"`
	}
	if err := josejson.Unmarshal(body, &doc); err != nil {
		return nil, 0, fmt.Errorf("not a JWKS: %w", err)
	}
	set = &keySet{byKID: make(map[string][]*key)}
	for _, raw := range doc.Keys {
		var jwk jose.JSONWebKey
		if err := josejson.Unmarshal(raw, &jwk); err != nil || !jwk.Valid() || !jwk.IsPublic() ||
			(jwk.Use != "" && jwk.Use != "sig") || set.n == maxKeys || !usableKey(jwk.Key) {
			skipped++
			continue
		}
		set.byKID[jwk.KeyID] = append(set.byKID[jwk.KeyID], &key{kid: jwk.KeyID, alg: jwk.Algorithm, pub: jwk.Key})
		set.n++
	}
	if set.n == 0 {
		return nil, skipped, fmt.Errorf("the JWKS has no usable signing key (%d skipped)", skipped)
	}
	return set, skipped, nil
}

// usableKey reports whether some pinnable algorithm verifies with pub.
func usableKey(pub any) bool {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return k.N.BitLen() >= portico.MinJWTRSABits
	case *ecdsa.PublicKey, ed25519.PublicKey:
		for _, alg := range portico.JWTAlgorithms {
			if portico.JWTKeyFits(alg, pub) {
				return true
			}
		}
	}
	return false
}

// carryOver makes next reuse the *key of prev for every key that both
// list, so that a refresh that changes nothing keeps cached results, and
// retires the keys of prev that next no longer lists.
func carryOver(prev, next *keySet) {
	if prev == nil {
		return
	}
	for kid, olds := range prev.byKID {
		news := next.byKID[kid]
		for _, o := range olds {
			kept := false
			for i, n := range news {
				if n.same(o) {
					news[i], kept = o, true
					break
				}
			}
			if !kept {
				o.retired.Store(true)
			}
		}
	}
}

// jwksSource fetches and keeps one issuer's JWKS. set is the last good
// set (nil until a fetch succeeds); at most one fetch runs at a time.
type jwksSource struct {
	issuer string
	url    string
	set    atomic.Pointer[keySet]

	mu          sync.Mutex
	inflight    chan struct{} // closed when the running fetch ends; nil when none runs
	lastUnknown time.Time     // when a token's unknown kid last started a fetch
	attempted   time.Time
	fetched     time.Time
	lastErr     error
}

// allowUnknownKID reports whether a token with an unknown kid at now may
// start a fetch, and if so records now. s.mu is held.
func (s *jwksSource) allowUnknownKID(now time.Time, every time.Duration) bool {
	if d := now.Sub(s.lastUnknown); s.lastUnknown.IsZero() || d >= every || d < 0 {
		s.lastUnknown = now
		return true
	}
	return false
}

// fetch loads the JWKS once and keeps the result if it is good; on
// failure the last good set stays. It runs on a goroutine owned by the
// Verifier (see Verifier.startFetch).
func (s *jwksSource) fetch(ctx context.Context, v *Verifier) {
	ctx, cancel := context.WithTimeout(ctx, v.fetchTimeout())
	defer cancel()
	set, skipped, err := s.load(ctx, v)
	now := time.Now()
	if err == nil {
		carryOver(s.set.Load(), set)
		s.set.Store(set)
	}
	s.mu.Lock()
	s.attempted = now
	s.lastErr = err
	if err == nil {
		s.fetched = now
	}
	s.mu.Unlock()
	switch {
	case err != nil && ctx.Err() != nil && errors.Is(context.Cause(ctx), errClosed):
		// Close interrupted the fetch: not the issuer's fault.
	case err != nil:
		kept := 0
		if old := s.set.Load(); old != nil {
			kept = old.n
		}
		v.logger().Warn("jwtauth: JWKS fetch failed; keeping the last good set",
			"issuer", s.issuer, "url", s.url, "keys_kept", kept, "err", err)
	case skipped > 0:
		v.logger().Info("jwtauth: JWKS keys skipped", "issuer", s.issuer, "url", s.url, "keys", set.n, "skipped", skipped)
	}
}

// load GETs and parses the JWKS, reading at most Verifier.MaxJWKSBytes.
func (s *jwksSource) load(ctx context.Context, v *Verifier) (*keySet, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := v.client().Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // lets the connection be reused
		return nil, 0, fmt.Errorf("GET %s: %s", s.url, resp.Status)
	}
	limit := v.maxJWKSBytes()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, 0, fmt.Errorf("GET %s: %w", s.url, err)
	}
	if int64(len(body)) > limit {
		return nil, 0, fmt.Errorf("GET %s: the JWKS is larger than %d bytes", s.url, limit)
	}
	return parseKeySet(body)
}
