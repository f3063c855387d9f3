package cluster

import (
	"bytes"
	"cmp"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portico-gw/portico"
)

// NodesFileName is the name of the nodes file in a node's data directory.
const NodesFileName = "cluster.xml"

// NodesFileVersion is the format version written in the nodes file's
// version attribute. ReadNodesFile rejects files of a newer format.
const NodesFileVersion = 1

// maxNodesFile bounds what ReadNodesFile reads.
const maxNodesFile = 8 << 20

// The nodes file, as encoding/xml reads it. Unknown attributes and
// elements are ignored, so that a newer writer can add some.
type xmlCluster struct {
	XMLName xml.Name  `xml:"cluster"`
	Name    string    `xml:"name,attr"`
	Version string    `xml:"version,attr"`
	Updated string    `xml:"updated,attr"`
	Nodes   []xmlNode `xml:"node"`
}

type xmlNode struct {
	Name     string `xml:"name,attr"`
	Gateway  string `xml:"gateway,attr"`
	Admin    string `xml:"admin,attr"`
	AJP      string `xml:"ajp,attr,omitempty"`
	LBFactor string `xml:"lbfactor,attr"`
	Status   string `xml:"status,attr"`
	Version  string `xml:"version,attr"`
	Started  string `xml:"started,attr"`
}

// ReadNodesFile reads the nodes file at path (see the package
// documentation for its format) and returns the cluster's name and its
// nodes, in the file's order, with Name, GatewayAddr, AdminAddr, AJPAddr (when set), LBFactor,
// Status, Version and StartedAt set. It is what the front-end web server
// config generator reads on a machine that cannot reach the data store.
func ReadNodesFile(path string) (cluster string, nodes []portico.Node, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	cluster, nodes, err = decodeNodes(io.LimitReader(f, maxNodesFile))
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", path, err)
	}
	return cluster, nodes, nil
}

// decodeNodes parses and checks a nodes file.
func decodeNodes(r io.Reader) (string, []portico.Node, error) {
	var doc xmlCluster
	if err := xml.NewDecoder(r).Decode(&doc); err != nil {
		return "", nil, fmt.Errorf("not a nodes file: %w", err)
	}
	if doc.Version != "" {
		v, err := strconv.Atoi(doc.Version)
		if err != nil || v < 1 {
			return "", nil, fmt.Errorf("bad format version %q", doc.Version)
		}
		if v > NodesFileVersion {
			return "", nil, fmt.Errorf("format version %d is newer than this program reads (%d)", v, NodesFileVersion)
		}
	}
	if doc.Updated != "" {
		if _, err := time.Parse(time.RFC3339, doc.Updated); err != nil {
			return "", nil, fmt.Errorf("bad updated time %q", doc.Updated)
		}
	}
	nodes := make([]portico.Node, 0, len(doc.Nodes))
	seen := map[string]bool{}
	for i, x := range doc.Nodes {
		n, err := x.node()
		if err != nil {
			return "", nil, fmt.Errorf("node %d: %w", i+1, err)
		}
		if seen[n.Name] {
			return "", nil, fmt.Errorf("node %d: name %q listed twice", i+1, n.Name)
		}
		seen[n.Name] = true
		nodes = append(nodes, n)
	}
	return doc.Name, nodes, nil
}

func (x xmlNode) node() (portico.Node, error) {
	n := portico.Node{
		Name:        x.Name,
		GatewayAddr: x.Gateway,
		AdminAddr:   x.Admin,
		AJPAddr:     x.AJP,
		Version:     x.Version,
		LBFactor:    1,
		Status:      x.Status,
	}
	if n.Name == "" {
		return n, errors.New("no name")
	}
	if n.GatewayAddr == "" {
		return n, fmt.Errorf("%s: no gateway address", n.Name)
	}
	if x.LBFactor != "" {
		f, err := strconv.Atoi(x.LBFactor)
		if err != nil || f < 1 {
			return n, fmt.Errorf("%s: lbfactor %q is not a positive integer", n.Name, x.LBFactor)
		}
		n.LBFactor = f
	}
	switch n.Status {
	case "":
		n.Status = StatusUp
	case StatusUp, StatusDown:
	default:
		return n, fmt.Errorf("%s: status %q is neither %q nor %q", n.Name, n.Status, StatusUp, StatusDown)
	}
	if x.Started != "" {
		t, err := time.Parse(time.RFC3339, x.Started)
		if err != nil {
			return n, fmt.Errorf("%s: bad started time %q", n.Name, x.Started)
		}
		n.StartedAt = t
	}
	return n, nil
}

// Node statuses, as in portico.Node.Status.
const (
	StatusUp   = "up"
	StatusDown = "down"
)

// WriteNodesFile writes the nodes file at path atomically: it writes a
// temporary file in the same directory (created if missing), fsyncs it,
// renames it over path and fsyncs the directory, so that a reader sees
// either the old file or the new one, never a part. Nodes are written
// sorted by name; updated is the time written in the updated attribute.
// An LBFactor below 1 is written as 1 and an empty Status as "up".
func WriteNodesFile(path, cluster string, nodes []portico.Node, updated time.Time) error {
	data := encodeNodes(cluster, nodes, updated)
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // fails harmlessly once renamed
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // best effort: makes the rename durable where supported
		d.Close()
	}
	return nil
}

// encodeNodes returns the nodes file's bytes. It writes the XML itself
// (escaping with encoding/xml) so that nodes are empty elements and the
// attribute order is fixed, as documented.
func encodeNodes(cluster string, nodes []portico.Node, updated time.Time) []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString(`<cluster name="`)
	attr(&b, cluster)
	fmt.Fprintf(&b, `" version="%d" updated="%s">`+"\n", NodesFileVersion, fileTime(updated))
	for _, n := range sortedNodes(nodes) {
		b.WriteString(`  <node name="`)
		attr(&b, n.Name)
		b.WriteString(`" gateway="`)
		attr(&b, n.GatewayAddr)
		b.WriteString(`" admin="`)
		attr(&b, n.AdminAddr)
		if n.AJPAddr != "" {
			b.WriteString(`" ajp="`)
			attr(&b, n.AJPAddr)
		}
		fmt.Fprintf(&b, `" lbfactor="%d" status="`, max(n.LBFactor, 1))
		attr(&b, cmp.Or(n.Status, StatusUp))
		b.WriteString(`" version="`)
		attr(&b, n.Version)
		b.WriteString(`"`)
		if !n.StartedAt.IsZero() {
			fmt.Fprintf(&b, ` started="%s"`, fileTime(n.StartedAt))
		}
		b.WriteString("/>\n")
	}
	b.WriteString("</cluster>\n")
	return b.Bytes()
}

func attr(b *bytes.Buffer, s string) { xml.EscapeText(b, []byte(s)) }

func fileTime(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }

// sortedNodes returns a copy of nodes sorted by name.
func sortedNodes(nodes []portico.Node) []portico.Node {
	out := slices.Clone(nodes)
	slices.SortFunc(out, func(a, b portico.Node) int { return strings.Compare(a.Name, b.Name) })
	return out
}
