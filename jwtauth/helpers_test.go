package jwtauth_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Keys are generated once per test binary; nothing private is hard-coded.
var (
	keysOnce                 sync.Once
	rsaKey, rsaKey2, rsaEvil *rsa.PrivateKey
	p256Key, p384Key         *ecdsa.PrivateKey
	edKey                    ed25519.PrivateKey
)

func genKeys(t testing.TB) {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		for _, k := range []**rsa.PrivateKey{&rsaKey, &rsaKey2, &rsaEvil} {
			if *k, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
				panic(err)
			}
		}
		p256Key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		p384Key, _ = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		_, edKey, _ = ed25519.GenerateKey(rand.Reader)
	})
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// signRaw signs header and payload, given as JSON text, with alg and priv
// (an *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey or []byte
// secret; nil with alg "none" leaves the signature empty).
func signRaw(t testing.TB, alg string, priv any, header, payload string) string {
	t.Helper()
	input := b64([]byte(header)) + "." + b64([]byte(payload))
	var sig []byte
	var err error
	digest := func(h crypto.Hash) []byte { d := h.New(); d.Write([]byte(input)); return d.Sum(nil) }
	switch alg {
	case "RS256", "RS384", "RS512":
		h := map[string]crypto.Hash{"RS256": crypto.SHA256, "RS384": crypto.SHA384, "RS512": crypto.SHA512}[alg]
		sig, err = rsa.SignPKCS1v15(rand.Reader, priv.(*rsa.PrivateKey), h, digest(h))
	case "PS256":
		sig, err = rsa.SignPSS(rand.Reader, priv.(*rsa.PrivateKey), crypto.SHA256, digest(crypto.SHA256), &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case "ES256", "ES384":
		h, size := crypto.SHA256, 32
		if alg == "ES384" {
			h, size = crypto.SHA384, 48
		}
		r, s, e := ecdsa.Sign(rand.Reader, priv.(*ecdsa.PrivateKey), digest(h))
		err = e
		sig = make([]byte, 2*size)
		r.FillBytes(sig[:size])
		s.FillBytes(sig[size:])
	case "EdDSA":
		sig = ed25519.Sign(priv.(ed25519.PrivateKey), []byte(input))
	case "HS256", "HS512":
		h := sha256.New
		if alg == "HS512" {
			h = sha512.New
		}
		m := hmac.New(h, priv.([]byte))
		m.Write([]byte(input))
		sig = m.Sum(nil)
	default: // none and other unsigned forms
	}
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + b64(sig)
}

// sign signs claims with a header {"alg", "kid"} (kid left out when "").
func sign(t testing.TB, alg, kid string, priv any, claims map[string]any) string {
	t.Helper()
	h := map[string]any{"alg": alg, "typ": "JWT"}
	if kid != "" {
		h["kid"] = kid
	}
	hb, _ := json.Marshal(h)
	pb, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return signRaw(t, alg, priv, string(hb), string(pb))
}

func pemOf(t testing.TB, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// jwk is a public key as a JWKS lists it.
func jwk(pub any, kid, alg string) jose.JSONWebKey {
	return jose.JSONWebKey{Key: pub, KeyID: kid, Algorithm: alg, Use: "sig"}
}

func jwksBody(t testing.TB, keys ...jose.JSONWebKey) []byte {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jwksServer serves a JWKS that a test changes, breaks or slows down.
type jwksServer struct {
	*httptest.Server
	body   atomic.Pointer[[]byte]
	status atomic.Int32 // 0 means 200
	hits   atomic.Int64
	hold   atomic.Pointer[chan struct{}] // when set, requests wait for it to close
}

func newJWKSServer(t testing.TB, keys ...jose.JSONWebKey) *jwksServer {
	t.Helper()
	s := &jwksServer{}
	s.set(jwksBody(t, keys...))
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		if h := s.hold.Load(); h != nil {
			select {
			case <-*h:
			case <-r.Context().Done():
				return
			}
		}
		if st := s.status.Load(); st != 0 {
			http.Error(w, "down", int(st))
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Write(*s.body.Load())
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(b []byte) { s.body.Store(&b) }

// waitFor polls cond until it holds or 10 seconds pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
