package redisstore_test

import (
	"context"
	"testing"

	"github.com/portico-gw/portico/internal/redistest"
	"github.com/portico-gw/portico/redisstore"
)

func TestSettings(t *testing.T) {
	rs := redistest.Start(t)
	ctx := context.Background()
	a, err := redisstore.Open(ctx, rs.URL(), "one")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := redisstore.Open(ctx, rs.URL(), "two")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if v, err := a.Setting(ctx, "analytics"); err != nil || v != "" {
		t.Fatalf("unset setting: %q, %v", v, err)
	}
	if err := a.SetSetting(ctx, "analytics", `{"addresses":["h:1"]}`); err != nil {
		t.Fatal(err)
	}
	if v, _ := a.Setting(ctx, "analytics"); v != `{"addresses":["h:1"]}` {
		t.Fatalf("setting %q", v)
	}
	if v, _ := b.Setting(ctx, "analytics"); v != "" {
		t.Fatalf("another cluster sees %q", v)
	}
}
