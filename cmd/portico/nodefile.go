package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/redisstore"
)

// Datastore implements admin.DatastoreController: the data store this
// node runs on, and the one its node file records for the next start,
// their passwords hidden.
func (m *Main) Datastore() (running, next string) {
	next = m.Config.Datastore
	if nf, err := readNodeFile(m.Config.DataDir); err == nil {
		if v, ok := nf["datastore"].(string); ok {
			next = v
		}
	}
	return redact(m.Config.Datastore), redact(next)
}

// SetDatastore records addr as the data store of the next start in the
// node file (data dir/node.yaml), keeping its other settings.
func (m *Main) SetDatastore(_ context.Context, addr string) error {
	nf, err := readNodeFile(m.Config.DataDir)
	if err != nil {
		return &portico.Error{Code: portico.EInternal, Message: "reading the node config failed", Err: err}
	}
	nf["datastore"] = addr
	b, err := yaml.Marshal(nf)
	if err == nil {
		path := filepath.Join(m.Config.DataDir, NodeFile)
		tmp := path + ".tmp"
		if err = os.WriteFile(tmp, b, 0o600); err == nil {
			err = os.Rename(tmp, path)
		}
	}
	if err != nil {
		return &portico.Error{Code: portico.EInternal, Message: "writing the node config failed", Err: err}
	}
	m.logger.Info("data store recorded for the next start", "datastore", redact(addr), "file", NodeFile)
	return nil
}

func readNodeFile(dataDir string) (map[string]any, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, NodeFile))
	if errors.Is(err, os.ErrNotExist) {
		return map[string]any{}, nil
	}
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", NodeFile, err)
	}
	return m, nil
}

// redact hides the secrets of a data store URL for logs.
func redact(addr string) string { return redisstore.RedactURL(addr) }
