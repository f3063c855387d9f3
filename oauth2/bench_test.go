package oauth2

import (
	"context"
	"testing"
)

// BenchmarkVerifyCached measures the gateway's check of a token it has
// seen: the shape, a SHA-256 and a cache hit, no store read (doc.go's
// "≤ 1 µs").
func BenchmarkVerifyCached(b *testing.B) {
	s, store, _ := testServer()
	tok := issue(b, s, "&scope=gold")
	v := NewVerifier(store)
	ctx := context.Background()
	if _, err := v.VerifyToken(ctx, tok, t0); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.VerifyToken(ctx, tok, t0); err != nil {
			b.Fatal(err)
		}
	}
	if n := store.reads.Load(); n != 1 {
		b.Fatalf("%d store reads", n)
	}
}

// BenchmarkVerifyCachedParallel is BenchmarkVerifyCached from every CPU
// over 1000 tokens, as a busy gateway sees them.
func BenchmarkVerifyCachedParallel(b *testing.B) {
	s, store, _ := testServer()
	s.IssueRate, s.IssueBurst = 1e9, 1<<30
	v := NewVerifier(store)
	ctx := context.Background()
	toks := make([]string, 1000)
	for i := range toks {
		toks[i] = issue(b, s, "")
		if _, err := v.VerifyToken(ctx, toks[i], t0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := v.VerifyToken(ctx, toks[i%len(toks)], t0); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	if n := store.reads.Load(); n != int64(len(toks)) {
		b.Fatalf("%d store reads", n)
	}
}

// BenchmarkVerifyUnknown measures a well-formed token the store does not
// have, remembered by the negative cache.
func BenchmarkVerifyUnknown(b *testing.B) {
	store := newMemTokens()
	v := NewVerifier(store)
	tok := newToken()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		v.VerifyToken(ctx, tok, t0)
	}
	if n := store.reads.Load(); n != 1 {
		b.Fatalf("%d store reads", n)
	}
}

// BenchmarkIssue measures a token request on an in-memory store: form
// parsing, client authentication, the limiter and the answer
// (internal/storetest/oauth2_test.go measures it on the embedded store).
func BenchmarkIssue(b *testing.B) {
	s, _, _ := testServer()
	s.IssueRate, s.IssueBurst = 1e9, 1<<30
	authz := basic("app1", secret1)
	b.ReportAllocs()
	for b.Loop() {
		if w := post(s, "grant_type=client_credentials&scope=gold", authz); w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}
