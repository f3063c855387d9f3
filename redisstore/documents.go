package redisstore

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"

	"github.com/portico-gw/portico"
)

var _ portico.DocumentStore = (*Store)(nil)

// document is the key of an API's imported document.
func (k keys) document(api, sha string) string { return k.prefix + "document:" + api + ":" + sha }

// PutDocument stores doc under api and sha. A document is one string
// value (at most portico.MaxDocumentBytes), written before the change
// that refers to it.
func (s *Store) PutDocument(ctx context.Context, api, sha string, doc []byte) error {
	if err := s.rdb.Set(ctx, s.k.document(api, sha), doc, 0).Err(); err != nil {
		return wrap("writing document", err)
	}
	return nil
}

// Document returns the document stored under api and sha.
func (s *Store) Document(ctx context.Context, api, sha string) ([]byte, error) {
	b, err := s.rdb.Get(ctx, s.k.document(api, sha)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, portico.Errorf(portico.ENotFound, "no document %s of API %s", sha, api)
	}
	if err != nil {
		return nil, wrap("reading document", err)
	}
	return b, nil
}

// DeleteDocument removes the document under api and sha.
func (s *Store) DeleteDocument(ctx context.Context, api, sha string) error {
	if err := s.rdb.Del(ctx, s.k.document(api, sha)).Err(); err != nil {
		return wrap("deleting document", err)
	}
	return nil
}
