package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/portico-gw/portico"
)

// DocumentOpener returns a new, empty document store for one test, and
// arranges for it to be closed when t ends.
type DocumentOpener func(t *testing.T) portico.DocumentStore

// DocumentReopener closes s and returns a document store on the same
// backing data, closed when t ends.
type DocumentReopener func(t *testing.T, s portico.DocumentStore) portico.DocumentStore

// RunDocuments runs the contract of portico.DocumentStore: a document
// never put is ENotFound; one put reads back byte for byte (binary
// bytes and a large one included) under its API and SHA only; putting
// it twice is no error; a deleted one is gone (deleting twice is no
// error); documents survive a reopen.
func RunDocuments(t *testing.T, open DocumentOpener, reopen DocumentReopener) {
	ctx := context.Background()
	sum := func(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }
	want := func(t *testing.T, s portico.DocumentStore, api string, doc []byte) {
		t.Helper()
		got, err := s.Document(ctx, api, sum(doc))
		if err != nil || !bytes.Equal(got, doc) {
			t.Fatalf("Document(%s) = %d bytes, %v; want the %d bytes put", api, len(got), err, len(doc))
		}
	}
	missing := func(t *testing.T, s portico.DocumentStore, api, sha string) {
		t.Helper()
		if b, err := s.Document(ctx, api, sha); portico.ErrorCodeOf(err) != portico.ENotFound {
			t.Fatalf("Document(%s, %s) = %d bytes, %v; want ENotFound", api, sha, len(b), err)
		}
	}
	put := func(t *testing.T, s portico.DocumentStore, api string, doc []byte) {
		t.Helper()
		if err := s.PutDocument(ctx, api, sum(doc), doc); err != nil {
			t.Fatalf("PutDocument(%s): %v", api, err)
		}
	}
	small := []byte(`{"openapi":"3.1.0","info":{"title":"é \u0000","version":"1"}}`)
	binary := []byte{0, 0xff, 0xfe, '\n', 0, 'x'}
	large := bytes.Repeat([]byte("0123456789abcdef"), 1<<20) // 16 MiB
	t.Run("DocumentRoundTrip", func(t *testing.T) {
		s := open(t)
		missing(t, s, "a1", sum(small))
		put(t, s, "a1", small)
		put(t, s, "a1", small)
		put(t, s, "a1", binary)
		put(t, s, "a2", large)
		want(t, s, "a1", small)
		want(t, s, "a1", binary)
		want(t, s, "a2", large)
		missing(t, s, "a2", sum(small)) // under its API only
		if err := s.DeleteDocument(ctx, "a1", sum(small)); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteDocument(ctx, "a1", sum(small)); err != nil {
			t.Fatalf("deleting twice: %v", err)
		}
		missing(t, s, "a1", sum(small))
		want(t, s, "a1", binary)
	})
	t.Run("DocumentReopen", func(t *testing.T) {
		s := open(t)
		put(t, s, "a1", small)
		s = reopen(t, s)
		want(t, s, "a1", small)
	})
}
