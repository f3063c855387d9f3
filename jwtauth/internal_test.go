package jwtauth

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"
	"time"
)

// TestTokenCacheBound: the cache never holds more than its size, and a
// token in use survives a flood of new ones.
func TestTokenCacheBound(t *testing.T) {
	const size = 1024
	c := newTokenCache(size)
	is := &issuer{}
	now := time.Unix(1_800_000_000, 0)
	e := func(app string) *entry {
		return &entry{iss: is, res: Result{Application: app}, until: now.Add(time.Hour)}
	}
	hot := sha256.Sum256([]byte("hot"))
	c.put(&hot, e("hot"))
	for i := range 100 * size {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], uint64(i))
		sum := sha256.Sum256(b[:])
		c.put(&sum, e("cold"))
		if i%16 == 0 {
			if r, ok := c.get(&hot, now); !ok || r.Application != "hot" {
				t.Fatalf("the hot token was evicted after %d puts", i)
			}
		}
	}
	if n := c.len(); n > size {
		t.Fatalf("%d entries in a cache of %d", n, size)
	}
	if _, ok := c.get(&hot, now.Add(time.Hour)); ok {
		t.Fatal("served at its until")
	}
	is.retired.Store(true)
	if _, ok := c.get(&hot, now); ok {
		t.Fatal("served for a retired issuer")
	}
}

// FuzzParseKeySet: no JWKS document makes the parser panic, and every key
// it keeps can serve some pinnable algorithm.
func FuzzParseKeySet(f *testing.F) {
	for _, s := range []string{
		`{"keys":[{"kty":"RSA","kid":"r","n":"sXch","e":"AQAB"}]}`,
		`{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","kid":"e"}]}`,
		`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`,
		`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`,
		`{"keys":[],"keys":[]}`, `{"keys":null}`, `[]`, `{}`, ``, `{"keys":[1,"x",null,{}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		set, _, err := parseKeySet(body)
		if err != nil {
			return
		}
		if set.n == 0 || set.n > maxKeys {
			t.Fatalf("a set of %d keys", set.n)
		}
		for _, ks := range set.byKID {
			for _, k := range ks {
				if !usableKey(k.pub) {
					t.Fatalf("kept an unusable key %T", k.pub)
				}
			}
		}
	})
}
