package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/internal/storetest"
)

// open opens a new database in a temporary directory and closes it when
// the test ends.
func open(t testing.TB) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "portico.db")
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func TestOpenSetsPragmas(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	for _, tc := range []struct {
		db     *sql.DB
		pragma string
		want   string
	}{
		{db.w, "journal_mode", "wal"},
		{db.w, "synchronous", "2"}, // FULL
		{db.w, "busy_timeout", "5000"},
		{db.w, "user_version", fmt.Sprint(len(migrations))},
		{db.r, "query_only", "1"},
		{db.r, "busy_timeout", "5000"},
	} {
		var got string
		if err := tc.db.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("PRAGMA %s = %s, want %s", tc.pragma, got, tc.want)
		}
	}
}

func TestFilesPrivate(t *testing.T) {
	db, path := open(t)
	if _, err := db.Apply(context.Background(), 0, storetest.Entities()); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("%s has mode %v, want 0600", filepath.Base(p), m)
		}
	}
}

func TestTimesKeepTheirInstant(t *testing.T) {
	db, _ := open(t)
	local := time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("CET", 3600))
	if _, err := db.Apply(context.Background(), 0, []portico.Change{
		portico.Put(&portico.Application{ID: "a", CreatedAt: local, UpdatedAt: time.Now()}),
	}); err != nil {
		t.Fatal(err)
	}
	a := storetest.Load(t, db).Applications.Get("a")
	if !a.CreatedAt.Equal(local) {
		t.Errorf("CreatedAt = %v, want %v", a.CreatedAt, local)
	}
	if _, off := a.CreatedAt.Zone(); off != 3600 {
		t.Errorf("CreatedAt offset = %d, want 3600", off)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	db, path := open(t)
	if _, err := db.w.Exec(`PRAGMA user_version = 99`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if db, err := Open(context.Background(), path); err == nil {
		db.Close()
		t.Fatal("Open of a newer schema succeeded")
	}
}

// BenchmarkApply measures one Apply of one change: a transaction with a
// synced commit.
func BenchmarkApply(b *testing.B) {
	db, _ := open(b)
	ctx := context.Background()
	p := &portico.Plan{ID: "p", Name: "gold", RateLimit: &portico.RateLimit{Limit: 100, Per: portico.Second, Window: portico.Fixed}, CreatedAt: at(0)}
	changes := []portico.Change{portico.Put(p)}
	b.ReportAllocs()
	base := int64(0)
	for b.Loop() {
		if _, err := db.Apply(ctx, base, changes); err != nil {
			b.Fatal(err)
		}
		base++
	}
}

// BenchmarkLoad measures Load of a configuration of many APIs or many keys.
func BenchmarkLoad(b *testing.B) {
	for _, tc := range []struct {
		name string
		n    int
		put  func(i int) portico.Change
	}{
		{"apis=10000", 10000, func(i int) portico.Change {
			a := *storetest.Entities()[1].API
			a.ID, a.Context = fmt.Sprintf("api%d", i), fmt.Sprintf("/api%d/v1", i)
			return portico.Put(&a)
		}},
		{"keys=1000000", 1000000, func(i int) portico.Change {
			id := portico.NewID()
			return portico.Put(&portico.Key{ID: id, ApplicationID: "app1", Prefix: id[:8], Hash: portico.HashKey(id), CreatedAt: at(i)})
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			db, _ := open(b)
			ctx := context.Background()
			changes := make([]portico.Change, tc.n)
			for i := range changes {
				changes[i] = tc.put(i)
			}
			if _, err := db.Apply(ctx, 0, changes); err != nil {
				b.Fatal(err)
			}
			changes = nil
			b.ReportAllocs()
			for b.Loop() {
				c, err := db.Load(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if c.APIs.Len()+c.Keys.Len() != tc.n {
					b.Fatalf("loaded %d entities, want %d", c.APIs.Len()+c.Keys.Len(), tc.n)
				}
			}
		})
	}
}

// at is storetest.At: a UTC time with nanoseconds, which round-trips exactly.
func at(sec int) time.Time { return storetest.At(sec) }
