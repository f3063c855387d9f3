package sqlitestore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/internal/storetest"
)

// manyEntities returns n copies of storetest.Entities, 6n entities, their
// IDs numbered.
func manyEntities(n int) []portico.Change {
	var out []portico.Change
	for i := range n {
		for _, ch := range storetest.Entities() {
			id := fmt.Sprintf("%s-%03d", ch.ID, i)
			ch.ID = id
			switch {
			case ch.Plan != nil:
				ch.Plan.ID = id
			case ch.API != nil:
				ch.API.ID = id
			case ch.User != nil:
				ch.User.ID = id
			case ch.Application != nil:
				ch.Application.ID = id
			case ch.Key != nil:
				ch.Key.ID = id
			case ch.Subscription != nil:
				ch.Subscription.ID = id
			case ch.Group != nil:
				ch.Group.ID = id
			}
			out = append(out, ch)
		}
	}
	return out
}

// storeFile writes a closed store of 357 entities in a new directory and
// returns its path.
func storeFile(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "portico.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Apply(ctx, 0, manyEntities(51)); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestOpenRefusesDamagedFile overwrites 4 KiB of a store of 357 entities
// with zeros, 0xff or random bytes, at a fifth to four fifths of the file:
// Open refuses every one with ErrCorrupt, names the problem, and leaves
// the file as it was. Before the check, Open accepted such files and Load
// returned part of the entities (279 of 306, before groups, for random bytes at 35 %)
// without an error.
func TestOpenRefusesDamagedFile(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(14, 7))
	for _, fill := range []string{"zeros", "ff", "random"} {
		for _, at := range []float64{0.2, 0.35, 0.5, 0.65, 0.8} {
			t.Run(fmt.Sprintf("%s at %.0f%%", fill, at*100), func(t *testing.T) {
				path := storeFile(t)
				before, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				junk := make([]byte, 4096)
				switch fill {
				case "ff":
					for i := range junk {
						junk[i] = 0xff
					}
				case "random":
					for i := range junk {
						junk[i] = byte(rng.IntN(256))
					}
				}
				off := int(float64(len(before)) * at)
				damaged := slices.Clone(before)
				copy(damaged[off:], junk)
				if err := os.WriteFile(path, damaged, 0o600); err != nil {
					t.Fatal(err)
				}
				db, err := Open(ctx, path)
				if err == nil {
					c, lerr := db.Load(ctx)
					n := 0
					if c != nil {
						n = c.Len()
					}
					db.Close()
					t.Fatalf("Open of a damaged file succeeded; Load: %d of 357 entities, err %v", n, lerr)
				}
				if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) {
					t.Fatalf("Open: %v; want ErrCorrupt naming %s", err, path)
				}
				t.Log(err)
				after, _ := os.ReadFile(path)
				if !bytes.Equal(after, damaged) {
					t.Error("Open changed the damaged file")
				}
				// The read-only check may leave SQLite's index of the log
				// and an empty log; nothing else.
				entries, _ := os.ReadDir(filepath.Dir(path))
				for _, e := range entries {
					fi, _ := e.Info()
					if e.Name() != "portico.db" && e.Name() != "portico.db-shm" && (e.Name() != "portico.db-wal" || fi.Size() > 0) {
						t.Errorf("Open left %s (%d bytes) behind", e.Name(), fi.Size())
					}
				}
			})
		}
	}
}

// TestOpenRefusesNonDatabase: a file whose header is not SQLite's is
// ErrCorrupt too, not another kind of failure.
func TestOpenRefusesNonDatabase(t *testing.T) {
	path := storeFile(t)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt(bytes.Repeat([]byte("x"), 100), 0)
	f.Close()
	if db, err := Open(context.Background(), path); !errors.Is(err, ErrCorrupt) {
		if err == nil {
			db.Close()
		}
		t.Fatalf("Open: %v, want ErrCorrupt", err)
	}
}

// TestOpenExisting: with Existing, Open refuses a file that holds no store
// (and creates nothing); without it, it creates one there.
func TestOpenExisting(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, path string)
		want    error
	}{
		{"missing", func(t *testing.T, path string) {}, ErrNoStore},
		{"empty", func(t *testing.T, path string) { os.WriteFile(path, nil, 0o600) }, ErrNoStore},
		{"new database", func(t *testing.T, path string) {
			// What SQLite leaves of a database it created but never wrote a
			// table into: a header.
			u, _ := createFile(path)
			raw, err := sql.Open("sqlite", u+"?_journal_mode=WAL")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := raw.Exec(`PRAGMA user_version = 0`); err != nil {
				t.Fatal(err)
			}
			raw.Close()
			if fi, _ := os.Stat(path); fi.Size() == 0 {
				t.Fatal("SQLite wrote no header")
			}
		}, ErrNoStore},
		{"tables dropped", func(t *testing.T, path string) {
			db, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			for _, table := range []string{"meta", "entities", "notifications", "counters", "tokens", "settings", "documents"} {
				if _, err := db.w.Exec(`DROP TABLE ` + table); err != nil {
					t.Fatal(err)
				}
			}
			db.Close()
		}, ErrNoStore},
		{"a store", func(t *testing.T, path string) {
			db, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			db.Close()
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "portico.db")
			tc.prepare(t, path)
			before, _ := os.ReadFile(path)
			db, err := Open(ctx, path, Existing())
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open(Existing): %v, want %v", err, tc.want)
			}
			if err == nil {
				db.Close()
				return
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
				t.Error("Open(Existing) changed the file")
			}
			db, err = Open(ctx, path)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer db.Close()
			if c := storetest.Load(t, db); c.Len() != 0 || c.Version != 0 {
				t.Errorf("new store: %d entities, version %d", c.Len(), c.Version)
			}
		})
	}
}

// TestOpenReadsTheLog: a store whose rows are still in its write-ahead log
// (the process was killed before a checkpoint) opens whole, even when the
// main file is empty.
func TestOpenReadsTheLog(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "portico.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Apply(ctx, 0, manyEntities(51)); err != nil {
		t.Fatal(err)
	}
	// Copy the files as a kill would leave them: main file and log, no
	// checkpoint.
	crashed := filepath.Join(t.TempDir(), "portico.db")
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(path + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(crashed+suffix, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	if fi, _ := os.Stat(crashed + "-wal"); fi == nil || fi.Size() == 0 {
		t.Fatal("the store's rows are not in its log: the test checks nothing")
	}
	db, err = Open(ctx, crashed, Existing())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n := storetest.Load(t, db).Len(); n != 357 {
		t.Errorf("loaded %d entities, want 357", n)
	}
}

// TestLoadStrict: a row that does not decode, whose entity has another ID
// than its row, or of an unknown kind fails Load; no entity is skipped.
// A row that does not decode or has another ID is damage (ErrCorrupt), as
// Portico writes neither; an unknown kind is a newer Portico's.
func TestLoadStrict(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, kind, id, body, want string
		corrupt                    bool
	}{
		{"bad JSON", "api", "api-x", `{"id":"api-x",`, `load api "api-x": the database file is damaged`, true},
		{"overwritten", "application", "app-x", `{"id":"app-x","name":ZZZZZZZZ}`, `load application "app-x": the database file is damaged: invalid character`, true},
		{"wrong type", "plan", "plan-x", `{"id":"plan-x","rate_limit":"lots"}`, `load plan "plan-x": the database file is damaged`, true},
		{"null", "user", "user-x", `null`, `load user "user-x": the database file is damaged: its stored entity has ID ""`, true},
		{"other ID", "key", "key-x", `{"id":"key-y"}`, `load key "key-x": the database file is damaged: its stored entity has ID "key-y"`, true},
		{"unknown kind", "gadget", "g1", `{"id":"g1"}`, `kind "gadget", unknown`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, _ := open(t)
			if _, err := db.Apply(ctx, 0, manyEntities(3)); err != nil {
				t.Fatal(err)
			}
			if _, err := db.w.Exec(`INSERT INTO entities (kind, id, created_at, body) VALUES (?, ?, 0, ?)`, tc.kind, tc.id, tc.body); err != nil {
				t.Fatal(err)
			}
			c, err := db.Load(ctx)
			if err == nil {
				t.Fatalf("Load succeeded with %d entities", c.Len())
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load: %v, want it to say %s", err, tc.want)
			}
			if got := errors.Is(err, ErrCorrupt); got != tc.corrupt {
				t.Errorf("Load: %v: errors.Is(err, ErrCorrupt) = %v, want %v", err, got, tc.corrupt)
			}
			if portico.ErrorCodeOf(err) == portico.EUnavailable {
				t.Errorf("Load: %v is EUnavailable, which asks to try again later", err)
			}
		})
	}
}

// BenchmarkOpen measures Open of a store of a million keys: most of it is
// PRAGMA quick_check reading every page.
func BenchmarkOpen(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "portico.db")
	db, err := Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	changes := make([]portico.Change, 1_000_000)
	for i := range changes {
		id := portico.NewID()
		changes[i] = portico.Put(&portico.Key{ID: id, ApplicationID: "app1", Prefix: id[:8], Hash: portico.HashKey(id), CreatedAt: at(i)})
	}
	if _, err := db.Apply(ctx, 0, changes); err != nil {
		b.Fatal(err)
	}
	db.Close()
	changes = nil
	for b.Loop() {
		db, err := Open(ctx, path)
		if err != nil {
			b.Fatal(err)
		}
		db.Close()
	}
	fi, _ := os.Stat(path)
	b.ReportMetric(float64(fi.Size())/(1<<20), "MiB")
}
