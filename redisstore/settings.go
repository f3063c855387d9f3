package redisstore

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"

	"github.com/portico-gw/portico"
)

var _ portico.SettingStore = (*Store)(nil)

// setting is the key of a cluster-wide run-time setting.
func (k keys) setting(name string) string { return k.prefix + "setting:" + name }

// Setting returns the cluster-wide run-time setting name (such as
// "analytics"), or "" when none was set.
func (s *Store) Setting(ctx context.Context, name string) (string, error) {
	v, err := s.rdb.Get(ctx, s.k.setting(name)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", wrap("reading setting "+name, err)
	}
	return v, nil
}

// SetSetting sets the cluster-wide run-time setting name. Nodes read it
// when they need it (sign-up) or poll it (analytics, every second) and
// apply a changed one.
func (s *Store) SetSetting(ctx context.Context, name, value string) error {
	if err := s.rdb.Set(ctx, s.k.setting(name), value, 0).Err(); err != nil {
		return wrap("writing setting "+name, err)
	}
	return nil
}
