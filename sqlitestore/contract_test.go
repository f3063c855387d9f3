package sqlitestore_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/internal/storetest"
	"github.com/portico-gw/portico/sqlitestore"
)

// TestContract runs the data store, token store and setting store
// contracts on the embedded store.
func TestContract(t *testing.T) {
	var (
		mu    sync.Mutex
		paths = map[*sqlitestore.DB]string{}
	)
	openAt := func(t *testing.T, path string) *sqlitestore.DB {
		db, err := sqlitestore.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		mu.Lock()
		paths[db] = path
		mu.Unlock()
		return db
	}
	open := func(t *testing.T) portico.Store {
		return openAt(t, filepath.Join(t.TempDir(), "portico.db"))
	}
	storetest.Run(t, open)
	reopen := func(t *testing.T, db *sqlitestore.DB) *sqlitestore.DB {
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		path := paths[db]
		mu.Unlock()
		return openAt(t, path)
	}
	storetest.RunReopen(t, open, func(t *testing.T, s portico.Store) portico.Store {
		return reopen(t, s.(*sqlitestore.DB))
	})
	storetest.RunTokens(t,
		func(t *testing.T) portico.TokenStore { return openAt(t, filepath.Join(t.TempDir(), "portico.db")) },
		func(t *testing.T, s portico.TokenStore) portico.TokenStore { return reopen(t, s.(*sqlitestore.DB)) })
	storetest.RunDocuments(t,
		func(t *testing.T) portico.DocumentStore { return openAt(t, filepath.Join(t.TempDir(), "portico.db")) },
		func(t *testing.T, s portico.DocumentStore) portico.DocumentStore {
			return reopen(t, s.(*sqlitestore.DB))
		})
	storetest.RunSettings(t,
		func(t *testing.T) portico.SettingStore { return openAt(t, filepath.Join(t.TempDir(), "portico.db")) },
		func(t *testing.T, s portico.SettingStore) portico.SettingStore { return reopen(t, s.(*sqlitestore.DB)) })
}
