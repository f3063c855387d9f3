package storetest

import (
	"context"
	"testing"

	"github.com/portico-gw/portico"
)

// SettingOpener returns a new, empty setting store for one test, and
// arranges for it to be closed when t ends.
type SettingOpener func(t *testing.T) portico.SettingStore

// SettingReopener closes s and returns a setting store on the same
// backing data, closed when t ends.
type SettingReopener func(t *testing.T, s portico.SettingStore) portico.SettingStore

// RunSettings runs the contract of portico.SettingStore: a setting never
// set reads "", a set one reads back as written (any text, JSON with
// every kind of character included), the last write wins, settings do not
// mix, and they survive a reopen.
func RunSettings(t *testing.T, open SettingOpener, reopen SettingReopener) {
	ctx := context.Background()
	want := func(t *testing.T, s portico.SettingStore, name, value string) {
		t.Helper()
		got, err := s.Setting(ctx, name)
		if err != nil || got != value {
			t.Fatalf("Setting(%q) = %q, %v; want %q", name, got, err, value)
		}
	}
	set := func(t *testing.T, s portico.SettingStore, name, value string) {
		t.Helper()
		if err := s.SetSetting(ctx, name, value); err != nil {
			t.Fatalf("SetSetting(%q): %v", name, err)
		}
	}
	t.Run("SettingUnset", func(t *testing.T) {
		want(t, open(t), "signup", "")
	})
	t.Run("SettingRoundTrip", func(t *testing.T) {
		s := open(t)
		v := `{"mode":"approval","note":"é \"quoted\" \u0000 ✓"}`
		set(t, s, "signup", v)
		want(t, s, "signup", v)
		want(t, s, "other", "")
		set(t, s, "other", "x")
		set(t, s, "signup", `{"mode":"open"}`)
		want(t, s, "signup", `{"mode":"open"}`)
		want(t, s, "other", "x")
	})
	t.Run("SettingReopen", func(t *testing.T) {
		s := open(t)
		set(t, s, "signup", `{"mode":"open"}`)
		s = reopen(t, s)
		want(t, s, "signup", `{"mode":"open"}`)
	})
}
