package openapi

import (
	"net/url"
	"strings"

	yaml "github.com/pb33f/go-yaml"

	"github.com/portico-gw/portico"
)

// Reference is what a reader of an API's documentation needs of each of
// its operations: what Describe takes from an OpenAPI 3.1 document
// (Export's) for the developer portal's pages.
type Reference struct {
	Operations []OperationDoc
}

// OperationDoc is one operation's documentation.
type OperationDoc struct {
	Method      string // upper case
	Path        string // the path template
	OperationID string
	Summary     string
	Description string
	Deprecated  bool
	Parameters  []ParameterDoc
	// Requests are the request body's media types; RequestRequired says
	// the body is required.
	Requests        []MediaDoc
	RequestRequired bool
	Responses       []ResponseDoc
}

// ParameterDoc is one parameter: in path, query, header or cookie.
type ParameterDoc struct {
	Name, In    string
	Required    bool
	Type        string // the schema's type and format, such as "integer (int32)"
	Description string
	Example     string // as JSON
}

// MediaDoc is one media type of a request or response body.
type MediaDoc struct {
	Type    string // such as "application/json"
	Schema  string // the schema as indented JSON, $refs inlined up to a bound
	Example string // as indented JSON
	// LeftOut says the document has a schema or example that the bound
	// of what Describe writes left out.
	LeftOut bool
}

// ResponseDoc is one response.
type ResponseDoc struct {
	Status      string // "200", "4XX", "default"
	Description string
	Bodies      []MediaDoc
}

// Bounds of what Describe writes: a schema or example is at most
// maxInlineNodes nodes ($refs inlined up to maxInlineDepth levels) and
// maxDocText bytes, and all of them together maxReferenceNodes nodes, so
// that a page of the portal stays a few megabytes whatever the document.
const (
	maxInlineDepth    = 8
	maxInlineNodes    = 400
	maxDocText        = 16 << 10
	maxReferenceNodes = 200_000
)

// Describe reads the operations of an OpenAPI 3.1 JSON document, such as
// Export gives, in the order of its paths. Its error is EInvalid when the
// document is not a JSON object. What is not in the form OpenAPI gives it
// is left out, not refused: the document was checked on import.
func Describe(doc []byte) (*Reference, error) {
	root, err := readJSON(doc)
	if err != nil || root.Kind != yaml.MappingNode {
		return nil, portico.FieldErrorf(portico.EInvalid, "document", "the document is not a JSON object")
	}
	d := describer{root: root}
	ref := &Reference{}
	paths := get(root, "paths")
	if paths == nil || paths.Kind != yaml.MappingNode {
		return ref, nil
	}
	for i := 0; i+1 < len(paths.Content); i += 2 {
		path, item := paths.Content[i].Value, d.deref(paths.Content[i+1])
		shared := get(item, "parameters")
		for _, m := range methods {
			op := get(item, m)
			if op == nil || op.Kind != yaml.MappingNode {
				continue
			}
			ref.Operations = append(ref.Operations, d.operation(strings.ToUpper(m), path, op, shared))
		}
	}
	return ref, nil
}

type describer struct {
	root  *yaml.Node
	ix    keyIndex
	spent int // nodes written into texts so far (see json)
}

// deref follows n's $ref inside the document (a chain of at most 32),
// or returns n.
func (d *describer) deref(n *yaml.Node) *yaml.Node {
	for range 32 {
		r := text(get(n, "$ref"))
		if r == "" {
			return n
		}
		t := d.pointer(r)
		if t == nil {
			return n
		}
		n = t
	}
	return n
}

// pointer resolves a "#/…" reference in the document, nil if none.
func (d *describer) pointer(ref string) *yaml.Node {
	if !strings.HasPrefix(ref, "#/") {
		return nil
	}
	frag, err := url.PathUnescape(ref[1:])
	if err != nil {
		return nil
	}
	if d.ix == nil {
		d.ix = keyIndex{}
	}
	return pointer(d.root, frag, d.ix)
}

func (d *describer) operation(method, path string, op, shared *yaml.Node) OperationDoc {
	o := OperationDoc{
		Method: method, Path: clipText(path),
		OperationID: clipText(text(get(op, "operationId"))),
		Summary:     clipText(text(get(op, "summary"))),
		Description: clipText(text(get(op, "description"))),
		Deprecated:  text(get(op, "deprecated")) == "true",
	}
	seen := map[string]bool{}
	for _, list := range []*yaml.Node{get(op, "parameters"), shared} { // the operation's win
		if list == nil || list.Kind != yaml.SequenceNode {
			continue
		}
		for _, p := range list.Content {
			p = d.deref(p)
			name, in := text(get(p, "name")), text(get(p, "in"))
			if name == "" || seen[in+" "+name] {
				continue
			}
			seen[in+" "+name] = true
			pd := ParameterDoc{Name: clipText(name), In: clipText(in), Required: text(get(p, "required")) == "true",
				Description: clipText(text(get(p, "description")))}
			if s := d.deref(get(p, "schema")); s != nil {
				pd.Type = typeOf(s)
			}
			if ex := get(p, "example"); ex != nil {
				pd.Example = d.json(ex, false)
			}
			o.Parameters = append(o.Parameters, pd)
		}
	}
	if body := d.deref(get(op, "requestBody")); body != nil {
		o.RequestRequired = text(get(body, "required")) == "true"
		o.Requests = d.media(get(body, "content"))
	}
	if rs := get(op, "responses"); rs != nil && rs.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(rs.Content); i += 2 {
			r := d.deref(rs.Content[i+1])
			o.Responses = append(o.Responses, ResponseDoc{
				Status:      clipText(rs.Content[i].Value),
				Description: clipText(text(get(r, "description"))),
				Bodies:      d.media(get(r, "content")),
			})
		}
	}
	return o
}

// media reads a content map: each media type's schema and example (its
// example, else the first of its examples, else the schema's example).
func (d *describer) media(content *yaml.Node) []MediaDoc {
	if content == nil || content.Kind != yaml.MappingNode {
		return nil
	}
	var out []MediaDoc
	for i := 0; i+1 < len(content.Content); i += 2 {
		mt, m := content.Content[i].Value, content.Content[i+1]
		md := MediaDoc{Type: clipText(mt)}
		schema := get(m, "schema")
		if schema != nil {
			md.Schema = d.json(schema, true)
			md.LeftOut = md.Schema == ""
		}
		switch ex := get(m, "example"); {
		case ex != nil:
			md.Example = d.json(ex, false)
		case get(m, "examples") != nil && get(m, "examples").Kind == yaml.MappingNode && len(get(m, "examples").Content) >= 2:
			if v := get(d.deref(get(m, "examples").Content[1]), "value"); v != nil {
				md.Example = d.json(v, false)
			}
		case schema != nil && get(d.deref(schema), "example") != nil:
			md.Example = d.json(get(d.deref(schema), "example"), false)
		}
		md.LeftOut = md.LeftOut || (md.Example == "" && d.spent >= maxReferenceNodes && (get(m, "example") != nil || get(m, "examples") != nil))
		out = append(out, md)
	}
	return out
}

// json writes n as indented JSON, at most maxInlineNodes of it (the
// rest "…"); inline replaces $refs by what they point at, within
// maxInlineDepth, never one that is being inlined already (a recursive
// schema). What all the document's texts may take together is bounded
// too (maxReferenceNodes): past that, "" — the page then points to the
// document.
func (d *describer) json(n *yaml.Node, inline bool) string {
	if d.spent >= maxReferenceNodes {
		return ""
	}
	budget := maxInlineNodes
	c := d.copyBounded(n, 0, &budget, map[string]bool{}, inline)
	d.spent += maxInlineNodes - budget
	b := appendJSON(nil, c, "  ", 0)
	if len(b) > maxDocText {
		return clipText(string(b[:maxDocText])) + "\n…"
	}
	return clipText(string(b))
}

// copyBounded copies n, with at most *budget nodes: past it, a node is
// "…".
func (d *describer) copyBounded(n *yaml.Node, depth int, budget *int, open map[string]bool, inline bool) *yaml.Node {
	if n == nil {
		return n
	}
	if *budget <= 0 {
		return str("…")
	}
	*budget--
	if r := text(get(n, "$ref")); inline && r != "" {
		t := d.pointer(r)
		if t == nil || open[r] || depth >= maxInlineDepth {
			return n
		}
		open[r] = true
		defer delete(open, r)
		return d.copyBounded(t, depth+1, budget, open, inline)
	}
	if n.Kind != yaml.MappingNode && n.Kind != yaml.SequenceNode {
		return n
	}
	c := *n
	c.Content = make([]*yaml.Node, 0, len(n.Content))
	for i, x := range n.Content {
		if *budget <= 0 {
			switch {
			case n.Kind == yaml.SequenceNode:
				c.Content = append(c.Content, str("…"))
			case len(c.Content)%2 == 0:
				c.Content = append(c.Content, str("…"), str("…"))
			}
			break
		}
		if n.Kind == yaml.MappingNode && i%2 == 0 {
			c.Content = append(c.Content, x)
			continue
		}
		c.Content = append(c.Content, d.copyBounded(x, depth, budget, open, inline))
	}
	if len(c.Content)%2 != 0 && n.Kind == yaml.MappingNode { // a key whose value the budget left out
		c.Content = append(c.Content, str("…"))
	}
	return &c
}

// typeOf says a schema's type in a few words: "integer (int32)",
// "array of string", "string, one of a, b".
func typeOf(s *yaml.Node) string {
	t := text(get(s, "type"))
	if ts := get(s, "type"); ts != nil && ts.Kind == yaml.SequenceNode {
		var parts []string
		for _, x := range ts.Content {
			parts = append(parts, text(x))
		}
		t = strings.Join(parts, " or ")
	}
	if t == "array" {
		if items := get(s, "items"); items != nil && text(get(items, "type")) != "" {
			t += " of " + text(get(items, "type"))
		}
	}
	if f := text(get(s, "format")); f != "" {
		t += " (" + f + ")"
	}
	if e := get(s, "enum"); e != nil && e.Kind == yaml.SequenceNode {
		var vs []string
		for i, x := range e.Content {
			if i == 10 {
				vs = append(vs, "…")
				break
			}
			vs = append(vs, text(x))
		}
		t += ", one of " + strings.Join(vs, ", ")
	}
	return clipText(t)
}

// clipText bounds a text of the document at maxDocText bytes, without
// the bidirectional controls that would make it read other than it is.
func clipText(s string) string {
	if strings.IndexFunc(s, portico.IsBidiControl) >= 0 {
		s = strings.Map(func(r rune) rune {
			if portico.IsBidiControl(r) {
				return -1
			}
			return r
		}, s)
	}
	if len(s) <= maxDocText {
		return s
	}
	cut := maxDocText
	for cut > 0 && s[cut]&0xc0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
