package configfile

import (
	"bytes"
	"cmp"
	"encoding/json"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Encode writes f as YAML, the same bytes for the same configuration:
// plans, groups, APIs, users and applications sorted by their names (an
// application's keys by hash, its subscriptions by API), fields in a
// fixed order, lists inside an entity (an API's plans and targets, a
// group's members) in their order. An OpenAPI document is written as a
// YAML mapping in the order of its JSON.
func Encode(f *File) []byte {
	c := *f
	c.FormatVersion = FormatVersion
	sortFile(&c)
	j, err := json.Marshal(&c)
	if err != nil {
		// Every field marshals; Content holds canonical JSON or text.
		panic("configfile: Encode: " + err.Error())
	}
	n, err := jsonToNode(j)
	if err != nil {
		panic("configfile: Encode: " + err.Error())
	}
	shortLists(n)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		panic("configfile: Encode: " + err.Error())
	}
	enc.Close()
	return b.Bytes()
}

// sortFile sorts the lists of f's copy c, copying each list first.
func sortFile(c *File) {
	if c.Plans != nil {
		s := slices.Clone(*c.Plans)
		slices.SortStableFunc(s, func(a, b SLAPlan) int { return cmp.Or(strings.Compare(a.Name, b.Name), foldCompare(a.Owner, b.Owner)) })
		c.Plans = &s
	}
	if c.Groups != nil {
		s := slices.Clone(*c.Groups)
		slices.SortStableFunc(s, func(a, b Group) int { return foldCompare(a.Name, b.Name) })
		c.Groups = &s
	}
	if c.APIs != nil {
		s := slices.Clone(*c.APIs)
		slices.SortStableFunc(s, func(a, b API) int {
			return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Version, b.Version))
		})
		c.APIs = &s
	}
	if c.Users != nil {
		s := slices.Clone(*c.Users)
		slices.SortStableFunc(s, func(a, b User) int { return foldCompare(a.Username, b.Username) })
		c.Users = &s
	}
	if c.Applications != nil {
		s := slices.Clone(*c.Applications)
		for i := range s {
			s[i].Keys = slices.Clone(s[i].Keys)
			slices.SortStableFunc(s[i].Keys, func(a, b Key) int { return strings.Compare(a.Hash, b.Hash) })
			s[i].Subscriptions = slices.Clone(s[i].Subscriptions)
			slices.SortStableFunc(s[i].Subscriptions, func(a, b Subscription) int {
				return cmp.Or(strings.Compare(a.API, b.API), strings.Compare(a.APIVersion, b.APIVersion))
			})
		}
		slices.SortStableFunc(s, func(a, b Application) int {
			return cmp.Or(foldCompare(a.Owner, b.Owner), strings.Compare(a.Name, b.Name))
		})
		c.Applications = &s
	}
}

// foldCompare orders names that are unique in any case: by their lower
// case, then as written.
func foldCompare(a, b string) int {
	return cmp.Or(strings.Compare(strings.ToLower(a), strings.ToLower(b)), strings.Compare(a, b))
}

// shortLists writes the short lists of plain words in n in flow style,
// on the line of their key: "plans: [gold, silver]".
func shortLists(n *yaml.Node) {
	if n.Kind == yaml.SequenceNode && len(n.Content) > 0 {
		width := 0
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode || strings.ContainsAny(c.Value, "\n,[]{}#:\"'") {
				width = -1
				break
			}
			width += len(c.Value) + 2
		}
		if width > 0 && width <= 72 {
			n.Style = yaml.FlowStyle
			return
		}
	}
	for _, c := range n.Content {
		shortLists(c)
	}
}
