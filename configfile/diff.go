package configfile

import (
	"encoding/json"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/portico-gw/portico"
)

// Action is what an apply does to an entity.
type Action string

// Actions.
const (
	Create Action = "create"
	Update Action = "update"
	Delete Action = "delete"
)

// Difference is what an apply changes of one entity: it creates it,
// deletes it, or updates the fields of Fields.
type Difference struct {
	Action Action       `json:"action"`
	Kind   portico.Kind `json:"kind"`
	// Name is how the file knows the entity: "gold" (a plan), "weather
	// 1.0" (an API: name and version), "sam-app (sam)" (an application
	// and its owner), "pk_Ab3dE… (sam-app (sam))" (a key),
	// "sam-app (sam) → weather 1.0" (a subscription).
	Name   string        `json:"name"`
	Fields []FieldChange `json:"fields,omitempty"`
}

// FieldChange is one field an update changes, with its values as a file
// writes them (secrets as "(secret)"), shortened when long.
type FieldChange struct {
	Field string `json:"field"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// Lines returns d as lines for people: "create plan gold", "delete api
// weather 1.0", and for an update one line per field, "api weather 1.0:
// plans: [gold] → [gold silver]".
func (d Difference) Lines() []string {
	if d.Action != Update {
		return []string{fmt.Sprintf("%s %s %s", d.Action, d.Kind, d.Name)}
	}
	out := make([]string, 0, len(d.Fields))
	for _, f := range d.Fields {
		out = append(out, fmt.Sprintf("%s %s: %s: %s → %s", d.Kind, d.Name, f.Field, f.From, f.To))
	}
	return out
}

// fieldChanges returns how cur differs from old, both file forms of an
// entity, field by field.
func fieldChanges(old, cur any) []FieldChange {
	a, b := fileNode(old), fileNode(cur)
	var out []FieldChange
	compareNodes("", a, b, &out)
	return out
}

func fileNode(v any) *yaml.Node {
	j, err := json.Marshal(v)
	if err != nil {
		panic("configfile: " + err.Error()) // file forms always marshal
	}
	n, err := jsonToNode(j)
	if err != nil {
		panic("configfile: " + err.Error())
	}
	return n
}

func compareNodes(path string, a, b *yaml.Node, out *[]FieldChange) {
	switch {
	case a == nil && b == nil:
		return
	case a == nil || b == nil || a.Kind != b.Kind:
	case a.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(b.Content); i += 2 {
			k := b.Content[i].Value
			compareNodes(join(path, k), lookup(a, k), b.Content[i+1], out)
		}
		for i := 0; i+1 < len(a.Content); i += 2 {
			if k := a.Content[i].Value; lookup(b, k) == nil {
				compareNodes(join(path, k), a.Content[i+1], nil, out)
			}
		}
		return
	case a.Kind == yaml.SequenceNode:
		if len(a.Content) == len(b.Content) && !scalars(a) && !scalars(b) {
			for i := range a.Content {
				compareNodes(fmt.Sprintf("%s[%d]", path, i), a.Content[i], b.Content[i], out)
			}
			return
		}
		if sameNode(a, b) {
			return
		}
	default:
		if a.Tag == b.Tag && a.Value == b.Value {
			return
		}
	}
	*out = append(*out, FieldChange{Field: path, From: render(a), To: render(b)})
}

func lookup(m *yaml.Node, key string) *yaml.Node {
	if m == nil {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func scalars(n *yaml.Node) bool {
	for _, c := range n.Content {
		if c.Kind != yaml.ScalarNode {
			return false
		}
	}
	return true
}

func sameNode(a, b *yaml.Node) bool {
	if a.Kind != b.Kind || a.Tag != b.Tag || a.Value != b.Value || len(a.Content) != len(b.Content) {
		return false
	}
	for i := range a.Content {
		if !sameNode(a.Content[i], b.Content[i]) {
			return false
		}
	}
	return true
}

// render shows a value in a line: a scalar as written, a list of
// scalars as [a b], anything else in YAML's flow style, cut at 120
// bytes; nothing as (none).
func render(n *yaml.Node) string {
	if n == nil {
		return "(none)"
	}
	switch {
	case n.Kind == yaml.ScalarNode && n.Value == "" && n.Tag == "!!str":
		return `""`
	case n.Kind == yaml.ScalarNode:
		return truncate(n.Value, 120)
	case n.Kind == yaml.SequenceNode && scalars(n):
		vs := make([]string, len(n.Content))
		for i, c := range n.Content {
			vs[i] = c.Value
		}
		return truncate("["+strings.Join(vs, " ")+"]", 120)
	}
	b, err := yaml.Marshal(flow(n))
	if err != nil {
		return "(changed)"
	}
	return truncate(strings.TrimSpace(string(b)), 120)
}

// flow returns a copy of n in flow style.
func flow(n *yaml.Node) *yaml.Node {
	c := *n
	if c.Kind != yaml.ScalarNode {
		c.Style = yaml.FlowStyle
	}
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, k := range n.Content {
		c.Content[i] = flow(k)
	}
	return &c
}
