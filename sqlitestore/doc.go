// Package sqlitestore is Portico's embedded data store: SQLite in a single
// file in the data directory, through the pure-Go driver modernc.org/sqlite
// (no cgo, no server). It is what `portico serve` uses on a single node.
//
// A DB implements portico.Store (the configuration), portico.NotificationStore,
// portico.CounterStore (quota counters), portico.TokenStore (the admin
// API's bearer tokens, the gateway's OAuth2 access tokens) and
// portico.SettingStore (run-time settings such as the sign-up mode, in
// the table settings). Analytics, in a file of its own
// (analytics.db), implements portico.AnalyticsStore. The moving parts:
//
//   - db.go opens the file, sets the pragmas and migrates the schema. The
//     schema is a list of SQL migrations applied in order; PRAGMA
//     user_version records how many have run.
//   - check.go is what Open does first: PRAGMA quick_check over the file
//     and its write-ahead log, through a read-only connection. A damaged
//     file (ErrCorrupt) is refused before anything reads a row of it: a
//     scan of a table with a damaged page can end early without an error,
//     and a node would serve part of its configuration. With the option
//     Existing, a file that holds no store (ErrNoStore) is refused too
//     instead of being made a new one.
//   - store.go keeps every configuration entity as one row of the table
//     entities (kind, id, created_at, JSON body) and the configuration
//     version in the table meta. Apply checks the version and writes its
//     changes in one transaction. Load is strict: a row that does not
//     decode, carries another ID or has an unknown kind fails it.
//   - notify.go and counters.go keep notifications and quota counters.
//   - token.go keeps bearer tokens in the table tokens, by hash; issuing
//     a token deletes those that had expired by then.
//   - analytics.go keeps request records in the analytics file in chunks
//     of up to 8,192 records of one hour, one row each of the table
//     request_chunks (analytics_chunk.go: a column-by-column format with
//     dictionaries for names), indexed by their latest time. Write encodes
//     a batch into chunks and inserts them in one transaction; Query
//     (analytics_query.go) selects the chunks of its time range, decodes
//     in Go only the columns it needs and counts in Go; Prune deletes whole
//     chunks and rewrites those that straddle its limit, in small
//     transactions. The table requests, a row per record, holds what
//     earlier versions wrote; Query and Prune still read it.
//
// Entities and notifications are stored as the JSON of their domain types,
// so every field with a JSON name is kept, Key.Hash and User.PasswordHash
// included; the file is created with mode 0600. Times keep their instant
// and offset, and a time in UTC loads back identical.
//
// # Concurrency
//
// A DB holds two connection pools: one writer connection, so that writes
// queue in Go rather than spin on SQLite's lock, and a few read-only
// connections. The database is in WAL mode, so reads never wait for a write
// and a Load sees one consistent version. Write transactions start with
// BEGIN IMMEDIATE, so two processes that open the same file by mistake still
// cannot both apply a change to the same version.
//
// # Durability
//
// Writes run with PRAGMA synchronous=FULL: a commit returns only after the
// write-ahead log is synced to disk, so a configuration change that Apply
// accepted (and the admin API answered 201 for) survives a process kill and
// a power loss alike. WAL with synchronous=NORMAL would survive a process
// kill but could lose the last commits on power loss; the cost of FULL is
// one fsync per Apply, which is negligible for admin writes. Notifications
// and counter saves share the writer and so are synced too; both are rare
// and batched.
//
// The analytics file trades the other way: synchronous=NORMAL, so a commit
// is not synced (a process kill still loses nothing; a power loss may lose
// the last batches), because batches are frequent, an fsync each would cap
// the write rate, and a lost batch costs request records, not
// configuration. The two files share no transaction, connection or lock,
// so analytics writes never delay a configuration change.
package sqlitestore
