package jwtauth_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/jwtauth"
)

func oneIssuer(url string) []portico.JWTIssuer {
	return []portico.JWTIssuer{{Issuer: issA, JWKSURL: url, Algorithms: []string{"RS256"}}}
}

func claimsAt(exp time.Time) map[string]any {
	return map[string]any{"iss": issA, "sub": "app-1", "exp": exp.Unix()}
}

func status(v *jwtauth.Verifier) jwtauth.IssuerStatus {
	st := v.Status()
	if len(st) != 1 {
		return jwtauth.IssuerStatus{}
	}
	return st[0]
}

// TestJWKSIssuerDown: while the JWKS answers 500 or not at all, the last
// good set keeps verifying tokens, and the failure is logged and shown
// in Status.
func TestJWKSIssuerDown(t *testing.T) {
	genKeys(t)
	srv := newJWKSServer(t, jwk(&rsaKey.PublicKey, "r1", "RS256"))
	var logs syncBuffer
	v := &jwtauth.Verifier{RefreshInterval: 20 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	defer v.Close()
	if err := v.Update(oneIssuer(srv.URL)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tok := sign(t, "RS256", "r1", rsaKey, claimsAt(now.Add(time.Hour)))
	if _, err := v.Verify(ctx, tok, now); err != nil { // waits for the first fetch
		t.Fatal(err)
	}

	srv.status.Store(500)
	waitFor(t, "a failed refresh", func() bool { return status(v).Err != nil })
	if !strings.Contains(logs.String(), "keys_kept=1") {
		t.Fatalf("the failure is not logged with the keys kept: %q", logs.String())
	}
	tok2 := sign(t, "RS256", "r1", rsaKey, claimsAt(now.Add(2*time.Hour))) // not cached
	if r, err := v.Verify(ctx, tok2, now); err != nil || r.Application != "app-1" {
		t.Fatalf("issuer answering 500: %+v %v", r, err)
	}

	srv.status.Store(0)
	srv.set([]byte(`{"keys": []}`)) // an empty set is a failure too
	attempted := status(v).Attempted
	waitFor(t, "a refresh of the empty set", func() bool { return status(v).Attempted.After(attempted) })
	waitFor(t, "the empty set to be refused", func() bool { return status(v).Err != nil && status(v).Keys == 1 })

	srv.Close() // connection refused
	attempted = status(v).Attempted
	waitFor(t, "a refresh against a closed server", func() bool { return status(v).Attempted.After(attempted) })
	tok3 := sign(t, "RS256", "r1", rsaKey, claimsAt(now.Add(3*time.Hour)))
	if _, err := v.Verify(ctx, tok3, now); err != nil {
		t.Fatalf("issuer down: %v", err)
	}
	if st := status(v); st.Keys != 1 || st.Err == nil || st.Fetched.IsZero() {
		t.Fatalf("status %+v", st)
	}
}

// TestJWKSRotation: a token signed by a new key is verified after the
// fetch its unknown kid starts; a key the JWKS no longer lists ends its
// cached tokens; unknown kids fetch at most once per UnknownKIDInterval
// (on the caller's clock), and concurrent ones share one fetch.
func TestJWKSRotation(t *testing.T) {
	genKeys(t)
	srv := newJWKSServer(t, jwk(&rsaKey.PublicKey, "k1", "RS256"))
	v := &jwtauth.Verifier{} // default intervals: no background refresh during the test
	defer v.Close()
	if err := v.Update(oneIssuer(srv.URL)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	old := sign(t, "RS256", "k1", rsaKey, claimsAt(now.Add(time.Hour)))
	if _, err := v.Verify(ctx, old, now); err != nil {
		t.Fatal(err)
	}
	if h := srv.hits.Load(); h != 1 {
		t.Fatalf("%d fetches, want the first one only", h)
	}

	// The issuer rotates to k2 and drops k1.
	srv.set(jwksBody(t, jwk(&rsaKey2.PublicKey, "k2", "RS256")))
	tok := sign(t, "RS256", "k2", rsaKey2, claimsAt(now.Add(time.Hour)))
	if r, err := v.Verify(ctx, tok, now); err != nil || r.Application != "app-1" {
		t.Fatalf("rotated key: %+v %v", r, err)
	}
	if h := srv.hits.Load(); h != 2 {
		t.Fatalf("%d fetches, want 2", h)
	}
	if _, err := v.Verify(ctx, old, now); jwtauth.ReasonOf(err) != jwtauth.UnknownKID {
		t.Fatalf("cached token of a dropped key: %v", err)
	}

	// Unknown kids within 10 s of the last such fetch wait for nothing.
	t1 := now.Add(jwtauth.DefaultUnknownKIDInterval)
	if _, err := v.Verify(ctx, sign(t, "RS256", "k3", rsaKey, claimsAt(now.Add(time.Hour))), t1.Add(-time.Millisecond)); jwtauth.ReasonOf(err) != jwtauth.UnknownKID {
		t.Fatalf("unknown kid: %v", err)
	}
	if h := srv.hits.Load(); h != 2 {
		t.Fatalf("%d fetches within the interval, want 2", h)
	}

	// After it, many concurrent unknown kids share one fetch.
	hold := make(chan struct{})
	srv.hold.Store(&hold)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			kid := "k3"
			if i%2 == 0 {
				kid = "k4"
			}
			v.Verify(ctx, sign(t, "RS256", kid, rsaKey, claimsAt(now.Add(time.Hour))), t1)
		}()
	}
	waitFor(t, "the fetch to start", func() bool { return srv.hits.Load() == 3 })
	close(hold)
	wg.Wait()
	if h := srv.hits.Load(); h != 3 {
		t.Fatalf("%d fetches for 20 concurrent unknown kids, want 3 in all", h)
	}
}

// TestJWKSKeysUnavailable: with no set ever fetched, a token is refused
// with EUnavailable (a 503: it may be good), not 401.
func TestJWKSKeysUnavailable(t *testing.T) {
	genKeys(t)
	srv := newJWKSServer(t)
	srv.status.Store(503)
	v := &jwtauth.Verifier{}
	defer v.Close()
	if err := v.Update(oneIssuer(srv.URL)); err != nil {
		t.Fatal(err)
	}
	_, err := v.Verify(context.Background(), sign(t, "RS256", "r1", rsaKey, claimsAt(now.Add(time.Hour))), now)
	if jwtauth.ReasonOf(err) != jwtauth.KeysUnavailable || portico.ErrorCodeOf(err) != portico.EUnavailable {
		t.Fatalf("no keys yet: %v", err)
	}
}

// TestJWKSBounds: a set over MaxJWKSBytes, a server slower than
// FetchTimeout and unusable keys are refused; usable keys beside
// unusable ones are kept.
func TestJWKSBounds(t *testing.T) {
	genKeys(t)
	small, _ := jwkOfSmallRSA(t)
	for _, c := range []struct {
		name string
		body []byte
		slow bool
		keys int    // 0: the fetch fails
		err  string // part of the error
	}{
		{"too large", append(jwksBody(t, jwk(&rsaKey.PublicKey, "r1", "RS256")), bytes.Repeat([]byte(" "), 64<<10)...), false, 0, "larger than"},
		{"slow", jwksBody(t, jwk(&rsaKey.PublicKey, "r1", "RS256")), true, 0, "deadline"},
		{"not json", []byte("<html>"), false, 0, "not a JWKS"},
		{"duplicate keys member", []byte(`{"keys":[],"keys":[]}`), false, 0, "duplicate"},
		{"private and symmetric keys only", jwksBody(t, jose.JSONWebKey{Key: rsaKey, KeyID: "p"}, jose.JSONWebKey{Key: []byte(secret), KeyID: "s"}), false, 0, "no usable"},
		{"short RSA only", jwksBody(t, small), false, 0, "no usable"},
		{"encryption key only", jwksBody(t, jose.JSONWebKey{Key: &rsaKey.PublicKey, KeyID: "enc", Use: "enc"}), false, 0, "no usable"},
		{"good beside bad", jwksBody(t, small, jose.JSONWebKey{Key: rsaKey, KeyID: "p"}, jwk(&p256Key.PublicKey, "e", "ES256"), jwk(&rsaKey.PublicKey, "r1", "RS256")), false, 2, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := newJWKSServer(t)
			srv.set(c.body)
			if c.slow {
				hold := make(chan struct{})
				t.Cleanup(func() { close(hold) })
				srv.hold.Store(&hold)
			}
			v := &jwtauth.Verifier{MaxJWKSBytes: 32 << 10, FetchTimeout: 200 * time.Millisecond}
			defer v.Close()
			if err := v.Update(oneIssuer(srv.URL)); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the first fetch", func() bool { return !status(v).Attempted.IsZero() })
			st := status(v)
			if st.Keys != c.keys {
				t.Fatalf("keys %d, want %d (err %v)", st.Keys, c.keys, st.Err)
			}
			if c.err != "" && (st.Err == nil || !strings.Contains(st.Err.Error(), c.err)) {
				t.Fatalf("err %v, want one about %q", st.Err, c.err)
			}
		})
	}
}

// TestCloseStopsGoroutines: Close returns only once the refresher and a
// fetch stuck on a silent server have ended; afterwards Update fails and
// Verify fetches nothing.
func TestCloseStopsGoroutines(t *testing.T) {
	genKeys(t)
	srv := newJWKSServer(t, jwk(&rsaKey.PublicKey, "r1", "RS256"))
	hold := make(chan struct{})
	defer close(hold)
	srv.hold.Store(&hold)
	v := &jwtauth.Verifier{RefreshInterval: time.Millisecond, FetchTimeout: time.Hour}
	if err := v.Update(oneIssuer(srv.URL)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the fetch to hang", func() bool { return srv.hits.Load() >= 1 })
	v.Close()
	if n := goroutinesIn("jwtauth."); n != 0 {
		t.Fatalf("%d goroutines of jwtauth run after Close", n)
	}
	if err := v.Update(oneIssuer(srv.URL)); err == nil {
		t.Fatal("Update after Close succeeded")
	}
	hits := srv.hits.Load()
	_, err := v.Verify(context.Background(), sign(t, "RS256", "r1", rsaKey, claimsAt(now.Add(time.Hour))), now)
	if jwtauth.ReasonOf(err) != jwtauth.KeysUnavailable || srv.hits.Load() != hits {
		t.Fatalf("Verify after Close: %v, %d new fetches", err, srv.hits.Load()-hits)
	}
	v.Close() // twice is fine
}

// goroutinesIn counts goroutines with a frame of a function whose name
// holds pkg (the test's own frames are in jwtauth_test, not "jwtauth.").
func goroutinesIn(pkg string) int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "portico/"+pkg) {
			n++
		}
	}
	return n
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func jwkOfSmallRSA(t testing.TB) (jose.JSONWebKey, *rsa.PrivateKey) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	return jwk(&k.PublicKey, "small", "RS256"), k
}
