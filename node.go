package portico

import (
	"context"
	"time"
)

// Node describes one running Portico process of a cluster.
type Node struct {
	Name        string    `json:"name"`
	GatewayAddr string    `json:"gateway_addr"`
	AdminAddr   string    `json:"admin_addr"`
	AJPAddr     string    `json:"ajp_addr,omitempty"` // the AJP/1.3 listener, if the node has one
	Version     string    `json:"version"`
	StartedAt   time.Time `json:"started_at"`
	LastSeen    time.Time `json:"last_seen"`
	LBFactor    int       `json:"lb_factor"`
	RequestRate float64   `json:"request_rate"` // requests per second, recent
	Status      string    `json:"status"`       // "up" or "down"

	// ConfigVersion is the config version the node routes by; after a
	// Redis that lost its data comes back, the node with the highest one
	// gives the config back (see cluster.Sync).
	ConfigVersion int64 `json:"config_version"`
}

// Membership lists the nodes of the cluster this node belongs to.
type Membership interface {
	Nodes(ctx context.Context) ([]Node, error)
}
