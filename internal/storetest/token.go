package storetest

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

// TokenOpener returns a new, empty token store for one test, and arranges
// for it to be closed when t ends.
type TokenOpener func(t *testing.T) portico.TokenStore

// TokenReopener closes s and returns a token store on the same backing
// data, closed when t ends.
type TokenReopener func(t *testing.T, s portico.TokenStore) portico.TokenStore

// RunTokens runs the contract of portico.TokenStore, each case as a
// subtest on a store of its own from open.
//
// Expiry is checked against the wall clock, the clock a store that expires
// tokens by itself (Redis) uses: the tokens of these tests expire an hour
// before or after time.Now.
func RunTokens(t *testing.T, open TokenOpener, reopen TokenReopener) {
	for _, tc := range []struct {
		name string
		f    func(*testing.T, TokenOpener)
	}{
		{"TokenRoundTrip", testTokenRoundTrip},
		{"TokenReplace", testTokenReplace},
		{"TokenDelete", testTokenDelete},
		{"TokenExpiredDropped", testTokenExpiredDropped},
		{"TokenNoHash", testTokenNoHash},
		{"TokenConcurrent", testTokenConcurrent},
		{"TokenIdle", testTokenIdle},
		{"TokenTouch", testTokenTouch},
		{"TokenScope", testTokenScope},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.f(t, open) })
	}
	t.Run("TokenReopen", func(t *testing.T) {
		s := open(t)
		tok := NewToken("reopen", time.Now(), time.Hour)
		PutToken(t, s, tok)
		s = reopen(t, s)
		WantToken(t, s, tok.Hash, tok)
		if err := s.DeleteToken(context.Background(), tok.Hash); err != nil {
			t.Fatal(err)
		}
		WantToken(t, s, tok.Hash, nil)
	})
}

// NewToken returns a token for the secret "ptk_"+name of user "user1",
// created at now (in UTC, without a monotonic reading) and valid for ttl.
func NewToken(name string, now time.Time, ttl time.Duration) *portico.Token {
	now = now.UTC().Round(0)
	return &portico.Token{
		Hash:                portico.HashKey("ptk_" + name),
		UserID:              "user1",
		PasswordFingerprint: portico.PasswordFingerprint("$2a$10$" + name),
		CreatedAt:           now,
		Expires:             now.Add(ttl),
	}
}

// PutToken stores tok in s or fails the test.
func PutToken(t testing.TB, s portico.TokenStore, tok *portico.Token) {
	t.Helper()
	if err := s.PutToken(context.Background(), tok); err != nil {
		t.Fatalf("PutToken(%s) = %v", tok.Hash, err)
	}
}

// WantToken fails the test unless s returns want (nil: no token) for hash.
func WantToken(t testing.TB, s portico.TokenStore, hash string, want *portico.Token) {
	t.Helper()
	got, err := s.Token(context.Background(), hash)
	if err != nil {
		t.Fatalf("Token(%s) = %v", hash, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Token(%s)\n got %+v\nwant %+v", hash, got, want)
	}
}

func testTokenRoundTrip(t *testing.T, open TokenOpener) {
	s := open(t)
	now := time.Now()
	a, b := NewToken("a", now, time.Hour), NewToken("b", now, 2*time.Hour)
	b.CreatedAt = b.CreatedAt.Add(123456789) // nanoseconds survive
	WantToken(t, s, a.Hash, nil)
	PutToken(t, s, a)
	PutToken(t, s, b)
	WantToken(t, s, a.Hash, a)
	WantToken(t, s, b.Hash, b)
	WantToken(t, s, portico.HashKey("ptk_unknown"), nil)
	got, _ := s.Token(context.Background(), a.Hash)
	if got.Expires.Location() != time.UTC || got.CreatedAt.Location() != time.UTC {
		t.Errorf("times load in %v and %v, want UTC", got.CreatedAt.Location(), got.Expires.Location())
	}
}

func testTokenReplace(t *testing.T, open TokenOpener) {
	s := open(t)
	a := NewToken("a", time.Now(), time.Hour)
	PutToken(t, s, a)
	a2 := *a
	a2.UserID, a2.PasswordFingerprint, a2.Expires = "user2", portico.PasswordFingerprint("other"), a.Expires.Add(time.Minute)
	PutToken(t, s, &a2)
	WantToken(t, s, a.Hash, &a2)
}

func testTokenDelete(t *testing.T, open TokenOpener) {
	s := open(t)
	ctx := context.Background()
	a, b := NewToken("a", time.Now(), time.Hour), NewToken("b", time.Now(), time.Hour)
	PutToken(t, s, a)
	PutToken(t, s, b)
	if err := s.DeleteToken(ctx, a.Hash); err != nil {
		t.Fatalf("DeleteToken = %v", err)
	}
	WantToken(t, s, a.Hash, nil)
	WantToken(t, s, b.Hash, b)
	for _, h := range []string{a.Hash, portico.HashKey("ptk_never")} {
		if err := s.DeleteToken(ctx, h); err != nil {
			t.Errorf("DeleteToken of an absent token = %v, want nil", err)
		}
	}
	// A deleted token can be stored again (a retried issue).
	PutToken(t, s, a)
	WantToken(t, s, a.Hash, a)
}

// testTokenExpiredDropped checks that a token that expired before a later
// PutToken is gone after it, and that a live one is kept.
func testTokenExpiredDropped(t *testing.T, open TokenOpener) {
	s := open(t)
	now := time.Now()
	old := NewToken("old", now.Add(-2*time.Hour), time.Hour) // expired an hour ago
	live := NewToken("live", now.Add(-2*time.Hour), 3*time.Hour)
	PutToken(t, s, old)
	PutToken(t, s, live)
	PutToken(t, s, NewToken("new", now, time.Hour))
	WantToken(t, s, old.Hash, nil)
	WantToken(t, s, live.Hash, live)
}

func testTokenNoHash(t *testing.T, open TokenOpener) {
	s := open(t)
	tok := NewToken("x", time.Now(), time.Hour)
	tok.Hash = ""
	if err := s.PutToken(context.Background(), tok); err == nil {
		t.Fatal("PutToken without a hash succeeded")
	}
	WantToken(t, s, "", nil)
}

// testTokenConcurrent issues, checks and revokes tokens from several
// goroutines at once.
func testTokenConcurrent(t *testing.T, open TokenOpener) {
	const workers, each = 8, 20
	s := open(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				tok := NewToken(fmt.Sprintf("w%d-%d", w, i), time.Now(), time.Hour)
				if err := s.PutToken(ctx, tok); err != nil {
					t.Errorf("PutToken = %v", err)
					return
				}
				if got, err := s.Token(ctx, tok.Hash); err != nil || got == nil || got.UserID != tok.UserID {
					t.Errorf("Token after PutToken = %+v, %v", got, err)
					return
				}
				if i%2 == 0 {
					if err := s.DeleteToken(ctx, tok.Hash); err != nil {
						t.Errorf("DeleteToken = %v", err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	for w := range workers {
		for i := range each {
			got, err := s.Token(ctx, NewToken(fmt.Sprintf("w%d-%d", w, i), time.Now(), 0).Hash)
			if err != nil || (got == nil) != (i%2 == 0) {
				t.Fatalf("token w%d-%d after the run = %+v, %v; want deleted iff i is even", w, i, got, err)
			}
		}
	}
}

// testTokenIdle checks that the fields of a token with an idle timeout
// survive a round trip.
func testTokenIdle(t *testing.T, open TokenOpener) {
	s := open(t)
	tok := NewToken("idle", time.Now(), 10*time.Minute)
	tok.IdleTimeout, tok.NotAfter = 600, tok.CreatedAt.Add(time.Hour+123456789)
	PutToken(t, s, tok)
	WantToken(t, s, tok.Hash, tok)
	got, _ := s.Token(context.Background(), tok.Hash)
	if got.NotAfter.Location() != time.UTC {
		t.Errorf("NotAfter loads in %v, want UTC", got.NotAfter.Location())
	}
}

// testTokenTouch checks that TouchToken moves a stored token's expiry,
// forward or back, changes nothing else, and never stores a token that
// is not there: a deleted token stays deleted.
func testTokenTouch(t *testing.T, open TokenOpener) {
	s := open(t)
	ctx := context.Background()
	tok := NewToken("touch", time.Now(), 10*time.Minute)
	tok.IdleTimeout, tok.NotAfter = 600, tok.CreatedAt.Add(time.Hour)
	PutToken(t, s, tok)
	for _, d := range []time.Duration{30 * time.Minute, 20*time.Minute + 987654321} {
		want := *tok
		want.Expires = tok.CreatedAt.Add(d)
		if err := s.TouchToken(ctx, tok.Hash, want.Expires); err != nil {
			t.Fatalf("TouchToken = %v", err)
		}
		WantToken(t, s, tok.Hash, &want)
	}
	if err := s.DeleteToken(ctx, tok.Hash); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchToken(ctx, tok.Hash, tok.Expires.Add(time.Hour)); err != nil {
		t.Fatalf("TouchToken of a deleted token = %v, want nil", err)
	}
	WantToken(t, s, tok.Hash, nil)

	// A token touched to a time past is gone, or read with that expiry.
	tok = NewToken("touch-past", time.Now(), 10*time.Minute)
	PutToken(t, s, tok)
	past := time.Now().Add(-time.Hour).UTC().Round(0)
	if err := s.TouchToken(ctx, tok.Hash, past); err != nil {
		t.Fatalf("TouchToken = %v", err)
	}
	if got, err := s.Token(ctx, tok.Hash); err != nil || got != nil && !got.Expires.Equal(past) {
		t.Fatalf("Token after a touch to the past = %+v, %v; want none or expiring %v", got, err, past)
	}
}

// testTokenScope checks that the Scope of an OAuth2 access token (stored
// under an "oauth2:" hash) round-trips in order, survives a TouchToken
// and a replacement, and that an empty scope reads back as none.
func testTokenScope(t *testing.T, open TokenOpener) {
	s := open(t)
	ctx := context.Background()
	tok := NewToken("scoped", time.Now(), time.Hour)
	tok.Hash = "oauth2:" + tok.Hash
	tok.UserID, tok.PasswordFingerprint = "app1", "key1"
	tok.Scope = []string{"plan-b", "plan-a", "plan/with \"odd\" ☃"}
	PutToken(t, s, tok)
	WantToken(t, s, tok.Hash, tok)
	WantToken(t, s, strings.TrimPrefix(tok.Hash, "oauth2:"), nil)

	want := *tok
	want.Expires = tok.Expires.Add(time.Minute)
	if err := s.TouchToken(ctx, tok.Hash, want.Expires); err != nil {
		t.Fatalf("TouchToken = %v", err)
	}
	WantToken(t, s, tok.Hash, &want)

	one := want
	one.Scope = []string{"plan-a"}
	PutToken(t, s, &one)
	WantToken(t, s, tok.Hash, &one)

	empty := one
	empty.Scope = []string{}
	PutToken(t, s, &empty)
	none := one
	none.Scope = nil
	WantToken(t, s, tok.Hash, &none)
}
