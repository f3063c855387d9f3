package oauth2

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

// issue returns a token the Server issues to app1 for the body's scope.
func issue(t testing.TB, s *Server, body string) string {
	t.Helper()
	return checkAnswer(t, post(s, "grant_type=client_credentials"+body, basic("app1", secret1))).AccessToken
}

// TestVerify: an issued token verifies to its application, key, plans and
// expiry with one store read; later uses read nothing.
func TestVerify(t *testing.T) {
	s, store, _ := testServer()
	tok := issue(t, s, "&scope=gold")
	v := NewVerifier(store)
	defer v.Close()
	want := portico.TokenIdentity{Issuer: "portico", Application: "app1", KeyID: "key1", Plans: []string{"gold"}, Expires: t0.Add(time.Hour)}
	for i := range 10 {
		got, err := v.VerifyToken(context.Background(), tok, t0.Add(time.Duration(i)*time.Minute))
		if err != nil {
			t.Fatalf("use %d: %v", i, err)
		}
		if got.Issuer != want.Issuer || got.Application != want.Application || got.KeyID != want.KeyID ||
			!slices.Equal(got.Plans, want.Plans) || !got.Expires.Equal(want.Expires) {
			t.Fatalf("use %d: %+v, want %+v", i, got, want)
		}
	}
	if n := store.reads.Load(); n != 1 {
		t.Errorf("%d store reads for 10 uses, want 1", n)
	}

	// No scope: any plan.
	tok = issue(t, s, "")
	if got, err := v.VerifyToken(context.Background(), tok, t0); err != nil || len(got.Plans) != 0 {
		t.Fatalf("unscoped: %+v, %v", got, err)
	}
}

// TestVerifyMalformed: tokens of the wrong shape are refused without a
// store read.
func TestVerifyMalformed(t *testing.T) {
	store := newMemTokens()
	v := NewVerifier(store)
	good := newToken()
	for _, tok := range []string{
		"",
		Prefix,
		good[:TokenLen-1],
		good + "A",
		"pTo_" + good[4:],
		"ptk_" + good[4:],
		strings.Replace(good, good[10:11], "+", 1),
		strings.Replace(good, good[10:11], "/", 1),
		strings.Replace(good, good[10:11], "=", 1),
		good[:TokenLen-1] + "B", // the last character's unused bits set: not canonical
		good[:TokenLen-1] + "_",
		good[:20] + "\x00" + good[21:],
		good[:20] + "é"[:1] + good[21:],
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
		strings.Repeat("A", 1<<16),
	} {
		_, err := v.VerifyToken(context.Background(), tok, t0)
		if ReasonOf(err) != Malformed || portico.ErrorCodeOf(err) != portico.EUnauthorized {
			t.Errorf("%.20q: %v, want malformed", tok, err)
		}
	}
	if n := store.reads.Load(); n != 0 {
		t.Errorf("%d store reads for malformed tokens", n)
	}
	if _, err := v.VerifyToken(context.Background(), good, t0); ReasonOf(err) != UnknownToken {
		t.Errorf("a well-formed token: %v", err)
	}
}

// TestVerifyUnknown: an unknown well-formed token costs one store read,
// then none for NegativeTTL, then one again.
func TestVerifyUnknown(t *testing.T) {
	store := newMemTokens()
	v := &Verifier{Store: store, NegativeTTL: 2 * time.Second}
	tok := newToken()
	for i, c := range []struct {
		at    time.Duration
		reads int64
	}{{0, 1}, {time.Second, 1}, {1999 * time.Millisecond, 1}, {2 * time.Second, 2}, {3 * time.Second, 2}} {
		_, err := v.VerifyToken(context.Background(), tok, t0.Add(c.at))
		var r interface{ Reason() string }
		if !errors.As(err, &r) || r.Reason() != "unknown_token" || portico.ErrorCodeOf(err) != portico.EUnauthorized {
			t.Fatalf("step %d: %v", i, err)
		}
		if n := store.reads.Load(); n != c.reads {
			t.Fatalf("step %d at %v: %d reads, want %d", i, c.at, n, c.reads)
		}
	}

	// Without a negative cache, every use reads.
	store = newMemTokens()
	v = &Verifier{Store: store, NegativeTTL: -1}
	for range 3 {
		v.VerifyToken(context.Background(), tok, t0)
	}
	if n := store.reads.Load(); n != 3 {
		t.Fatalf("%d reads without a negative cache, want 3", n)
	}
}

// TestVerifyExpired: a token is refused from its expiry on, whether it was
// cached or not, and an expired token is not read again at each use.
func TestVerifyExpired(t *testing.T) {
	s, store, _ := testServer()
	s.Lifetime = time.Minute
	tok := issue(t, s, "")
	v := NewVerifier(store)
	if _, err := v.VerifyToken(context.Background(), tok, t0.Add(59*time.Second)); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Duration{time.Minute, time.Hour} {
		if _, err := v.VerifyToken(context.Background(), tok, t0.Add(at)); ReasonOf(err) != TokenExpired {
			t.Fatalf("cached, at +%v: %v", at, err)
		}
	}
	// Another node, first sight after the expiry.
	other := NewVerifier(store)
	for range 3 {
		if _, err := other.VerifyToken(context.Background(), tok, t0.Add(time.Minute)); ReasonOf(err) != TokenExpired {
			t.Fatalf("first sight after the expiry: %v", err)
		}
	}
	if n := store.reads.Load(); n != 2 {
		t.Errorf("%d reads, want 2", n)
	}
}

// TestVerifyStoreDown: a store that fails gives EUnavailable and nothing
// is remembered: the token verifies once the store is back.
func TestVerifyStoreDown(t *testing.T) {
	s, store, _ := testServer()
	tok := issue(t, s, "")
	v := NewVerifier(store)
	store.fail.Store(true)
	for range 2 {
		_, err := v.VerifyToken(context.Background(), tok, t0)
		if portico.ErrorCodeOf(err) != portico.EUnavailable || ReasonOf(err) != StoreUnavailable {
			t.Fatalf("store down: %v", err)
		}
		if msg := portico.ErrorMessageOf(err); strings.Contains(msg, "down") {
			t.Fatalf("the client sees the cause: %q", msg)
		}
	}
	store.fail.Store(false)
	if _, err := v.VerifyToken(context.Background(), tok, t0); err != nil {
		t.Fatalf("store back: %v", err)
	}
}

// TestVerifyCacheBounded: the caches hold at most about their size; a
// token pushed out is read again and still verifies.
func TestVerifyCacheBounded(t *testing.T) {
	s, store, _ := testServer()
	s.IssueRate, s.IssueBurst = 1e9, 1<<30
	v := &Verifier{Store: store, CacheSize: 256, NegativeCacheSize: 256}
	var toks []string
	for range 3000 {
		tok := issue(t, s, "")
		toks = append(toks, tok)
		if _, err := v.VerifyToken(context.Background(), tok, t0); err != nil {
			t.Fatal(err)
		}
		v.VerifyToken(context.Background(), newToken(), t0)
	}
	if n := v.known.len(); n > 256 {
		t.Errorf("%d tokens cached, want at most 256", n)
	}
	if n := v.absent.len(); n > 256 {
		t.Errorf("%d unknown tokens cached, want at most 256", n)
	}
	reads := store.reads.Load()
	if _, err := v.VerifyToken(context.Background(), toks[0], t0); err != nil || store.reads.Load() != reads+1 {
		t.Fatalf("the first token again: %v, %d reads", err, store.reads.Load()-reads)
	}

	// No cache: every use reads.
	v = &Verifier{Store: store, CacheSize: -1}
	for range 3 {
		v.VerifyToken(context.Background(), toks[1], t0)
	}
	if n := store.reads.Load() - reads - 1; n != 3 {
		t.Errorf("%d reads without a cache, want 3", n)
	}
}

// TestVerifyBrokenRecord: a stored record without an application or key
// is no token.
func TestVerifyBrokenRecord(t *testing.T) {
	store := newMemTokens()
	tok := newToken()
	store.PutToken(context.Background(), &portico.Token{Hash: Hash(tok), UserID: "app1", CreatedAt: t0, Expires: t0.Add(time.Hour)})
	if _, err := NewVerifier(store).VerifyToken(context.Background(), tok, t0); ReasonOf(err) != UnknownToken {
		t.Fatalf("a record without a key: %v", err)
	}
}
