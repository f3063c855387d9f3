package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portico-gw/portico"
)

var _ portico.TokenStore = (*Store)(nil)

// token is the key of the bearer token with the given hash.
func (k keys) token(hash string) string { return k.prefix + "token:" + hash }

// PutToken stores t as the JSON of the portico.Token under its own key,
// replacing a token with the same hash, and has Redis delete the key at
// t.Expires (SET, then PEXPIREAT, in one MULTI/EXEC). A token that has
// already expired is deleted at once.
func (s *Store) PutToken(ctx context.Context, t *portico.Token) error {
	if t.Hash == "" {
		return errors.New("redisstore: put token: no hash")
	}
	body, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("redisstore: put token: %w", err)
	}
	key := s.k.token(t.Hash)
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, key, body, 0)
		p.PExpireAt(ctx, key, t.Expires)
		return nil
	})
	if err != nil {
		return wrap("put token", err)
	}
	return nil
}

// Token returns the token with the given hash, or nil when there is none
// (it was never stored, was deleted, or Redis expired it).
func (s *Store) Token(ctx context.Context, hash string) (*portico.Token, error) {
	b, err := s.rdb.Get(ctx, s.k.token(hash)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap("read token", err)
	}
	t := new(portico.Token)
	if err := json.Unmarshal(b, t); err != nil {
		return nil, fmt.Errorf("redisstore: read token: %w", err)
	}
	return t, nil
}

// touchTokenScript sets the expiry of a stored token in one step: the JSON is
// rewritten with the new expires (KEEPTTL keeps the key's own), then the
// key's expiry is moved. A missing key is left missing.
var touchTokenScript = redis.NewScript(`
local b = redis.call("GET", KEYS[1])
if not b then return 0 end
local t = cjson.decode(b)
t["expires"] = ARGV[1]
redis.call("SET", KEYS[1], cjson.encode(t), "KEEPTTL")
redis.call("PEXPIREAT", KEYS[1], ARGV[2])
return 1
`)

// TouchToken sets the expiry of the token with the given hash, if there
// is one, in one script: a token deleted meanwhile stays deleted.
func (s *Store) TouchToken(ctx context.Context, hash string, expires time.Time) error {
	at, err := expires.UTC().MarshalText()
	if err != nil {
		return fmt.Errorf("redisstore: touch token: %w", err)
	}
	if err := touchTokenScript.Run(ctx, s.rdb, []string{s.k.token(hash)}, string(at), expires.UnixMilli()).Err(); err != nil {
		return wrap("touch token", err)
	}
	return nil
}

// DeleteToken deletes the token with the given hash, if there is one: the
// next Token on any node finds none.
func (s *Store) DeleteToken(ctx context.Context, hash string) error {
	if err := s.rdb.Del(ctx, s.k.token(hash)).Err(); err != nil {
		return wrap("delete token", err)
	}
	return nil
}
