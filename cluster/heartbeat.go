package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/portico-gw/portico"
)

// leaveTimeout bounds the Registry.Leave call made when Run stops.
const leaveTimeout = 2 * time.Second

// Heartbeat keeps a node in its cluster's member list and keeps the
// node's view of that list: the last list read (Nodes) and the nodes file
// in DataDir (see the package documentation for its format).
//
// Set the fields, then call Run once. Nodes may be called at any time.
type Heartbeat struct {
	// Registry records heartbeats and lists the members. Required.
	Registry portico.Registry

	// Self returns this node's current facts: name, gateway and admin
	// addresses, version, start time, lb factor and request rate. It is
	// called on Run's goroutine before each heartbeat and once when Run
	// stops. An empty Status is sent as "up". Required.
	Self func() portico.Node

	// Interval is the time between heartbeats. If zero or negative, 1s is
	// used. It should be well below the Registry's expiry.
	Interval time.Duration

	// DataDir is the directory of the nodes file, cluster.xml. If empty,
	// no file is written.
	DataDir string

	// Cluster is the cluster's name, written in the nodes file. If empty,
	// "default" is used.
	Cluster string

	// Logger receives outages of the Registry (once each), their end, and
	// failures to write the nodes file. If nil, nothing is logged.
	Logger *slog.Logger

	// OnChange, if not nil, is called on Run's goroutine with the member
	// list (sorted by name) whenever it changed: the first list read, then
	// any change of a node's name, addresses, lb factor, status, version
	// or start time. It must not block for long. It gets a copy of the
	// list, which it may keep.
	OnChange func([]portico.Node)

	mu    sync.Mutex
	nodes []portico.Node
}

// Nodes returns the last member list that Run read from the Registry,
// sorted by name; while the Registry is unreachable it keeps returning it.
// Before the first successful read it returns the list of the nodes file
// that Run found at start with the same cluster name, if any, else nil.
// The slice is a copy.
func (h *Heartbeat) Nodes() []portico.Node {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.nodes)
}

func (h *Heartbeat) setNodes(nodes []portico.Node) {
	h.mu.Lock()
	h.nodes = nodes
	h.mu.Unlock()
}

// Run heartbeats at once and then every Interval until ctx ends. After
// each heartbeat it reads the member list; when that changed, it rewrites
// the nodes file atomically and calls OnChange. A failing Registry is
// logged once per outage and tried again at the next Interval; Nodes
// keeps the last list meanwhile. When ctx ends, Run removes the node from
// the Registry with Leave (bounded by a 2 s timeout) and returns nil, or
// the error of Leave. It returns an error at once only when a required
// field is missing.
func (h *Heartbeat) Run(ctx context.Context) error {
	if h.Registry == nil || h.Self == nil {
		return errors.New("cluster: Heartbeat needs Registry and Self")
	}
	log := h.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	interval := h.Interval
	if interval <= 0 {
		interval = time.Second
	}
	b := beater{
		Heartbeat: h,
		log:       log,
		cluster:   h.Cluster,
		timeout:   max(interval, time.Second),
		down:      &outage{log: log, what: "cluster membership"},
	}
	if b.cluster == "" {
		b.cluster = "default"
	}
	if h.DataDir != "" {
		b.path = filepath.Join(h.DataDir, NodesFileName)
		if name, nodes, err := ReadNodesFile(b.path); err == nil && name == b.cluster {
			nodes = sortedNodes(nodes)
			b.written = b.key(nodes)
			h.setNodes(nodes)
		}
	}

	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		b.beat(ctx)
		select {
		case <-ctx.Done():
			return b.leave(ctx)
		case <-t.C:
		}
	}
}

// beater is the state of one Run.
type beater struct {
	*Heartbeat
	log          *slog.Logger
	cluster      string
	path         string // nodes file, or "" for none
	timeout      time.Duration
	down         *outage
	name         string // this node's name at the last heartbeat
	announced    []byte // key of the list last passed to OnChange
	written      []byte // key of the list in the nodes file
	writeFailing bool
}

// beat sends one heartbeat and refreshes the member list.
func (b *beater) beat(ctx context.Context) {
	self := b.Self()
	if self.Status == "" {
		self.Status = StatusUp
	}
	b.name = self.Name
	cctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	err := b.Registry.Heartbeat(cctx, self)
	var nodes []portico.Node
	if err == nil {
		nodes, err = b.Registry.Nodes(cctx)
	}
	if err != nil {
		if ctx.Err() == nil {
			b.down.fail(time.Now(), fmt.Errorf("heartbeat: %w", err))
		}
		return
	}
	b.down.ok(time.Now())
	nodes = sortedNodes(nodes)
	b.setNodes(nodes)
	key := b.key(nodes)
	if b.path != "" && !bytes.Equal(key, b.written) {
		if err := WriteNodesFile(b.path, b.cluster, nodes, time.Now()); err != nil {
			if !b.writeFailing {
				b.log.Error("writing the nodes file", "err", err)
			}
			b.writeFailing = true
		} else {
			if b.writeFailing {
				b.log.Info("nodes file written again", "path", b.path)
			}
			b.writeFailing = false
			b.written = key
		}
	}
	if b.OnChange != nil && !bytes.Equal(key, b.announced) {
		b.announced = key
		b.OnChange(slices.Clone(nodes))
	}
}

// key is what the nodes file would hold for nodes, without the time.
func (b *beater) key(nodes []portico.Node) []byte {
	return encodeNodes(b.cluster, nodes, time.Time{})
}

// leave removes this node from the Registry after ctx ended.
func (b *beater) leave(ctx context.Context) error {
	name := b.name
	if name == "" {
		name = b.Self().Name
	}
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leaveTimeout)
	defer cancel()
	if err := b.Registry.Leave(lctx, name); err != nil {
		return fmt.Errorf("leaving the cluster: %w", err)
	}
	return nil
}
