package main

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// usedDataDir returns the data dir of a node that was given 150 plans and
// 150 APIs through the admin API (301 entities with the admin user) and
// stopped.
func usedDataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	m := startNode(t, dir)
	admin := client{t, "http://" + m.AdminAddr + "/api/v1", "admin", adminPassword}
	description := strings.Repeat("A plan with a long description, so that the store spans many pages. ", 6)
	for i := range 150 {
		admin.call("POST", "/plans", map[string]any{"name": fmt.Sprintf("plan-%03d", i), "description": description,
			"rate_limit": map[string]any{"limit": 10, "per": "second", "window": "fixed"}}, 201)
		admin.call("POST", "/apis", map[string]any{"name": fmt.Sprintf("api-%03d", i), "version": "v1", "context": fmt.Sprintf("/api-%03d", i),
			"auth": "none", "endpoint": map[string]any{"type": "single", "targets": []any{map[string]any{"url": "http://127.0.0.1:9"}}}}, 201)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// copyDir copies the files of src into a new directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// serveExit runs `portico serve` in the test's process on dir with free
// ports and extra flags, as main does, and returns its exit code and
// what it printed on stderr. It is for starts that must fail: one that
// succeeds would serve until the process gets a signal.
func serveExit(t *testing.T, dir string, extra ...string) (int, string) {
	t.Helper()
	t.Setenv("PORTICO_ADMIN_PASSWORD", adminPassword)
	var stderr bytes.Buffer
	args := append([]string{"serve", "--data-dir", dir, "--gateway-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"}, extra...)
	code := run(args, io.Discard, &stderr)
	return code, stderr.String()
}

// damage overwrites 4 KiB of the file at path, from pct percent of its
// length on, with bytes of a random source seeded with seed, and returns
// what the file holds then.
func damage(t *testing.T, path string, pct int, seed uint64) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 4096))
	off := len(b) * pct / 100
	for i := off; i < off+4096 && i < len(b); i++ {
		b[i] = byte(rng.IntN(256))
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDamagedStoreRefused: a node whose store of 301 entities has 4 KiB
// overwritten with random bytes, anywhere from a fifth to four fifths of
// the file, does not start: exit 1, a message naming the file and what to
// do, nothing served, the file left as it was; --force-new-store (which
// is for a missing store) changes nothing. Before, 6 of these 26 starts
// served part of the configuration (152 of 301 entities: 1 of the 150
// plans) and the others failed with "the data store is unavailable ...
// try again later".
func TestDamagedStoreRefused(t *testing.T) {
	used := usedDataDir(t)
	for seed := uint64(1); seed <= 2; seed++ {
		for pct := 20; pct <= 80; pct += 5 {
			t.Run(fmt.Sprintf("seed %d at %d%%", seed, pct), func(t *testing.T) {
				dir := copyDir(t, used)
				path := filepath.Join(dir, StoreFile)
				damaged := damage(t, path, pct, seed)
				m := newTestNode(t, dir, nil)
				err := m.Run(t.Context())
				m.Close()
				if err == nil {
					t.Fatalf("the node started with %d entities", m.config.Load().Len())
				}
				for _, want := range []string{path, "is damaged", "PRAGMA quick_check", "backup", ".recover", "move it away and start once with --force-new-store"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("the message lacks %q: %v", want, err)
					}
				}
				if m.GatewayAddr != "" || m.AdminAddr != "" {
					t.Errorf("listeners opened: %q %q", m.GatewayAddr, m.AdminAddr)
				}
				if after, _ := os.ReadFile(path); !bytes.Equal(after, damaged) {
					t.Error("the refused start changed the damaged file")
				}
			})
		}
	}
	t.Run("exit", func(t *testing.T) {
		dir := copyDir(t, used)
		path := filepath.Join(dir, StoreFile)
		damage(t, path, 50, 1)
		for _, flags := range [][]string{nil, {"--force-new-store"}} {
			code, stderr := serveExit(t, dir, flags...)
			t.Logf("portico serve %v: exit %d\n%s", flags, code, stderr)
			if code != 1 || !strings.Contains(stderr, "is damaged") {
				t.Fatalf("exit %d, want 1 and the message", code)
			}
			if strings.Contains(stderr, "portico serving") {
				t.Error("the node served")
			}
		}
		// The way out the message gives: move the file away, start once
		// with --force-new-store.
		if err := os.Rename(path, path+".damaged"); err != nil {
			t.Fatal(err)
		}
		startNodeWith(t, dir, func(c *Config) { c.ForceNewStore = true })
	})
}

// TestDamagedRowRefused: a store whose pages are sound (PRAGMA
// quick_check passes) but one of whose rows does not decode, here 8 bytes
// of an application's JSON overwritten in portico.db, stops the node with
// the message of a damaged store, not the admin API's "unavailable ... try
// again later" of a store that may come back. Before, it printed
// "loading config: unavailable: the data store is unavailable: loading
// the configuration failed; try again later: sqlitestore: load
// application ...".
func TestDamagedRowRefused(t *testing.T) {
	dir := t.TempDir()
	m := startNode(t, dir)
	admin := client{t, "http://" + m.AdminAddr + "/api/v1", "admin", adminPassword}
	admin.call("POST", "/applications", map[string]any{"name": "row-to-damage"}, 201)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, StoreFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The row's JSON has the same length after, so its record, its page
	// and quick_check are content.
	at := bytes.Index(b, []byte(`"name":"row-to-damage"`))
	if at < 0 || bytes.Count(b, []byte(`"name":"row-to-damage"`)) != 1 {
		t.Fatal("the application is not once in the checkpointed store file")
	}
	copy(b[at:], "ZZZZZZZZ")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}

	code, stderr := serveExit(t, dir)
	t.Logf("exit %d\n%s", code, stderr)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{path, "is damaged", `load application "`, "invalid character 'Z'",
		"Keep a copy", "backup", "sqlite3 " + path + " .recover | sqlite3 recovered.db", "move it away and start once with --force-new-store"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("the message lacks %q", want)
		}
	}
	for _, not := range []string{"unavailable", "try again later", "portico serving"} {
		if strings.Contains(stderr, not) {
			t.Errorf("the message says %q", not)
		}
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, b) {
		t.Error("the refused start changed the damaged file")
	}
}

// TestLostStoreRefused: a data dir that held a store refuses to start
// when portico.db was emptied or removed, unless --force-new-store is
// given; a new data dir starts and records its store.
func TestLostStoreRefused(t *testing.T) {
	used := usedDataDir(t)
	if _, err := os.Stat(filepath.Join(used, StoreMarker)); err != nil {
		t.Fatalf("no %s in a used data dir: %v", StoreMarker, err)
	}
	for _, tc := range []struct {
		name string
		lose func(t *testing.T, dir string)
	}{
		{"emptied", func(t *testing.T, dir string) { os.Truncate(filepath.Join(dir, StoreFile), 0) }},
		{"removed", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, StoreFile)) }},
		{"removed with its marker", func(t *testing.T, dir string) {
			// A data dir of a Portico that wrote no marker: its other
			// files (analytics) still show it was used.
			os.Remove(filepath.Join(dir, StoreFile))
			os.Remove(filepath.Join(dir, StoreMarker))
		}},
		{"removed, log left", func(t *testing.T, dir string) {
			// Killed before a checkpoint, then the main file removed: the
			// log alone must not become a new store's first pages.
			os.Rename(filepath.Join(dir, StoreFile), filepath.Join(dir, StoreFile+"-wal"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, used)
			tc.lose(t, dir)
			code, stderr := serveExit(t, dir)
			t.Logf("exit %d\n%s", code, stderr)
			if code != 1 {
				t.Fatalf("exit %d, want 1", code)
			}
			for _, want := range []string{dir, "shows it held an embedded store", "removed or emptied", "--force-new-store", "backup"} {
				if !strings.Contains(stderr, want) {
					t.Errorf("the message lacks %q", want)
				}
			}
			if strings.Contains(stderr, "portico serving") {
				t.Error("the node served")
			}

			m := startNodeWith(t, dir, func(c *Config) { c.ForceNewStore = true })
			admin := client{t, "http://" + m.AdminAddr + "/api/v1", "admin", adminPassword}
			if items := admin.call("GET", "/plans", nil, 200)["items"].([]any); len(items) != 0 {
				t.Errorf("the new store has %d plans", len(items))
			}
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(dir, StoreMarker)); err != nil {
				t.Errorf("no marker after the new store: %v", err)
			}
			if strings.Contains(tc.name, "log left") {
				if aside, _ := filepath.Glob(filepath.Join(dir, StoreFile+"-wal.orphaned-*")); len(aside) != 1 {
					t.Errorf("the old log was not set aside: %v", aside)
				}
			}
			// The new store is the data dir's store now: no flag needed.
			startNode(t, dir)
		})
	}
	t.Run("new data dir", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "new")
		m := startNode(t, dir)
		admin := client{t, "http://" + m.AdminAddr + "/api/v1", "admin", adminPassword}
		admin.call("GET", "/users/me", nil, 200)
		if _, err := os.Stat(filepath.Join(dir, StoreMarker)); err != nil {
			t.Errorf("no marker in a new data dir: %v", err)
		}
	})
}

// TestForceNewStoreConfig: --force-new-store is a setting like the others
// (PORTICO_FORCE_NEW_STORE, force_new_store in the config file).
func TestForceNewStoreConfig(t *testing.T) {
	c, err := LoadConfig([]string{"--data-dir", t.TempDir()}, func(k string) (string, bool) {
		if k == "PORTICO_FORCE_NEW_STORE" {
			return "true", true
		}
		return "", false
	})
	if err != nil || !c.ForceNewStore {
		t.Fatalf("PORTICO_FORCE_NEW_STORE=true: %v %v", c.ForceNewStore, err)
	}
}

// TestMigrateNeedsAStore: `portico datastore migrate` from a data dir
// without a store, or with a damaged one, fails before it reaches the
// target (here an address where nothing listens) and creates nothing.
// Before, it created an empty store and copied nothing.
func TestMigrateNeedsAStore(t *testing.T) {
	damaged := copyDir(t, usedDataDir(t))
	damage(t, filepath.Join(damaged, StoreFile), 50, 1)
	empty := t.TempDir()
	for _, tc := range []struct{ dir, want string }{
		{empty, "no store"},
		{damaged, "is damaged"},
	} {
		var stderr bytes.Buffer
		code := run([]string{"datastore", "migrate", "--to", "redis://" + freeAddr(t) + "/0", "--data-dir", tc.dir}, io.Discard, &stderr)
		if code != 1 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("migrate from %s: exit %d: %s", tc.dir, code, stderr.String())
		}
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Errorf("migrate created %s in an empty data dir", entries[0].Name())
	}
}
