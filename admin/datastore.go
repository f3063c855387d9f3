package admin

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/portico-gw/portico"
)

// DatastoreSetting is the body of GET and PUT /api/v1/settings/datastore.
type DatastoreSetting struct {
	// Datastore is "embedded", redis://[user:pass@]host:port/db (or rediss://)
	// or redis-sentinel://[user:pass@]host:port[,host:port…]/master/db
	// or redis-cluster://[user:pass@]host:port[,host:port…].
	Datastore string `json:"datastore"`
	// Running is the data store the node runs on now (answers only).
	Running string `json:"running,omitempty"`
	// Message says when a change takes effect (answers only).
	Message string `json:"message,omitempty"`
}

// DatastoreController records the data store a node uses from its next
// start (the post-install path of joining a cluster).
type DatastoreController interface {
	// Datastore returns the running data store and the one recorded for
	// the next start.
	Datastore() (running, next string)
	// SetDatastore records addr for the next start.
	SetDatastore(ctx context.Context, addr string) error
}

func (s *Server) getDatastoreSetting(w http.ResponseWriter, r *http.Request, c *call) error {
	if !isAdmin(c.user) {
		return forbidden("only admins read settings")
	}
	if s.DatastoreSettings == nil {
		return portico.Errorf(portico.ENotFound, "this node has no data store settings")
	}
	running, next := s.DatastoreSettings.Datastore()
	writeJSON(w, http.StatusOK, DatastoreSetting{Datastore: next, Running: running})
	return nil
}

func (s *Server) putDatastoreSetting(w http.ResponseWriter, r *http.Request, c *call) error {
	if !isAdmin(c.user) {
		return forbidden("only admins change settings")
	}
	if s.DatastoreSettings == nil {
		return portico.Errorf(portico.ENotFound, "this node has no data store settings")
	}
	var in DatastoreSetting
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.Running != "" || in.Message != "" {
		return invalid("running", "only datastore can be set")
	}
	if err := validDatastore(in.Datastore); err != nil {
		return err
	}
	if err := s.DatastoreSettings.SetDatastore(r.Context(), in.Datastore); err != nil {
		return err
	}
	running, next := s.DatastoreSettings.Datastore()
	writeJSON(w, http.StatusOK, DatastoreSetting{Datastore: next, Running: running,
		Message: "recorded in the node config; takes effect when this node restarts"})
	return nil
}

func validDatastore(v string) error {
	if v == "embedded" {
		return nil
	}
	// Options in the query are only for the Sentinels' credentials: what
	// is recorded here must open at the next start.
	if scheme, rest, _ := strings.Cut(v, "://"); scheme == "redis-sentinel" || scheme == "rediss-sentinel" {
		rest, query, _ := strings.Cut(rest, "?")
		rest = rest[strings.LastIndex(rest, "@")+1:]
		hosts, path, _ := strings.Cut(rest, "/")
		master, db, _ := strings.Cut(path, "/")
		if hosts == "" || strings.Contains(","+hosts+",", ",,") || master == "" || strings.Trim(db, "0123456789") != "" || !sentinelQuery(query) {
			return invalid("datastore", "a data store behind Redis Sentinel is redis-sentinel://[user:pass@]host:port[,host:port…]/master/db[?sentinel_username=…&sentinel_password=…]")
		}
		return nil
	}
	if scheme, rest, _ := strings.Cut(v, "://"); scheme == "redis-cluster" || scheme == "rediss-cluster" {
		rest = rest[strings.LastIndex(rest, "@")+1:]
		hosts, db, _ := strings.Cut(rest, "/")
		if hosts == "" || strings.ContainsAny(hosts, "?#") || strings.Contains(","+hosts+",", ",,") || (db != "" && db != "0") {
			return invalid("datastore", "a Redis Cluster data store is redis-cluster://[user:pass@]host:port[,host:port…] (database 0 only)")
		}
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return invalid("datastore", "datastore must be embedded, redis://[user:pass@]host:port/db or redis-sentinel://[user:pass@]host:port[,host:port…]/master/db")
	}
	if db := strings.TrimPrefix(u.Path, "/"); db != "" && strings.Trim(db, "0123456789") != "" {
		return invalid("datastore", "the database in a redis:// URL is a number, as in redis://host:6379/0")
	}
	return nil
}

// sentinelQuery reports whether query holds only Sentinel credentials.
func sentinelQuery(query string) bool {
	q, err := url.ParseQuery(query)
	if err != nil {
		return false
	}
	for k := range q {
		if k != "sentinel_username" && k != "sentinel_password" {
			return false
		}
	}
	return true
}
