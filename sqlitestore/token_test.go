package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/portico-gw/portico/internal/storetest"
)

// TestTokenScopeMigration: a database of schema version 3 (tokens without
// a scope column) is brought up to date by Open, once: its tokens read
// back with no scope, a scoped token can then be stored, and opening the
// file again changes nothing.
func TestTokenScopeMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "portico.db")
	old, err := sql.Open("sqlite", fileURL(path))
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctx, old, migrations[:3]); err != nil {
		t.Fatal(err)
	}
	tok := storetest.NewToken("before", time.Now(), time.Hour)
	if _, err := old.Exec(`INSERT INTO tokens (hash, user_id, password, created_at, expires) VALUES (?, ?, ?, ?, ?)`,
		tok.Hash, tok.UserID, tok.PasswordFingerprint, nanos(tok.CreatedAt), nanos(tok.Expires)); err != nil {
		t.Fatal(err)
	}
	old.Close()

	for i := range 2 {
		db, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		var v int
		if err := db.r.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil || v != len(migrations) {
			t.Fatalf("open %d: user_version %d (%v), want %d", i, v, err, len(migrations))
		}
		storetest.WantToken(t, db, tok.Hash, tok)
		scoped := storetest.NewToken(fmt.Sprint("after", i), time.Now(), time.Hour)
		scoped.Hash, scoped.Scope = "oauth2:"+scoped.Hash, []string{"p1", "p2"}
		storetest.PutToken(t, db, scoped)
		storetest.WantToken(t, db, scoped.Hash, scoped)
		db.Close()
	}
}
