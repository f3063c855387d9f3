package openapi

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	yaml "github.com/pb33f/go-yaml"

	"github.com/portico-gw/portico"
)

// This file checks a plain tree: its $refs, and the parts of the
// document Portico reads, naming the place of the first problem.

// maxRefHops bounds a chain of $refs that point to $refs.
const maxRefHops = 32

// maxRefScan bounds the entries of mappings that resolving a document's
// distinct $refs scans: the OpenAPI parser (libopenapi) looks each one up
// by scanning every mapping on its way, so a document of n schemas that
// each refer to another costs n²/2 (10,000: 0.5 s; 30,000: 5 s; a
// probe's 100,000: 3 minutes of CPU and 1 GB). The check runs before the
// parser builds its model (TestRefScan). Real documents scan far less:
// at most 65,000 entries among the golden documents and the 10 MB
// document of TestParseLarge (measured); 60 million is a document of
// about 7,700 schemas each referred to.
const maxRefScan = 60_000_000

// scanCost returns the entries of the mappings that resolving pointer
// ptr scans: every mapping on its way, in full.
func scanCost(root *yaml.Node, ptr string, ix keyIndex) int {
	n, t := 0, root
	for tok := range strings.SplitSeq(ptr[1:], "/") {
		if t == nil {
			break
		}
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch t.Kind {
		case yaml.MappingNode:
			n += len(t.Content) / 2
			t = ix.get(t, tok)
		case yaml.SequenceNode:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(t.Content) {
				return n
			}
			t = t.Content[i]
		default:
			return n
		}
	}
	return n
}

// versionPattern is the openapi field Portico reads.
var versionPattern = regexp.MustCompile(`^3\.[01](\.[0-9]+)?([-+][0-9A-Za-z.-]+)?$`)

// Methods in the order OpenAPI lists them; Swagger 2.0 has no trace.
var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

type checker struct {
	spec     *Spec // what the checks read, filled as they go
	tags     tagList
	root     *yaml.Node
	version  string // "2.0", "3.0.3", …
	swagger  bool
	resolved map[string]*yaml.Node // $ref → its target
	ix       keyIndex              // for resolving $refs
	// refScan is what the parser's own resolution of the $refs resolved
	// so far scans (see maxRefScan).
	refScan  int
	opIDs    map[string]*yaml.Node // operationId → its node
	seen     map[*yaml.Node]bool   // path items and operations checked
	patterns map[*yaml.Node]string // path key node → its pattern
}

func (c *checker) check(refs []ref) *Error {
	r := c.root
	if r.Kind != yaml.MappingNode {
		return errorAt(nil, r, "the document must be a mapping at the top (an object in JSON)")
	}
	sw, oa := get(r, "swagger"), get(r, "openapi")
	switch {
	case sw != nil && oa != nil:
		return errorAt(path{"openapi"}, oa, `the document has both a "swagger" and an "openapi" field`)
	case sw != nil:
		if !isString(sw) || sw.Value != "2.0" {
			return errorAt(path{"swagger"}, sw, `swagger must be "2.0"; found %q`, truncate(sw.Value, 50))
		}
		c.version, c.swagger = "2.0", true
	case oa != nil:
		if !isString(oa) || !versionPattern.MatchString(oa.Value) {
			return errorAt(path{"openapi"}, oa, "Portico reads OpenAPI 3.0 and 3.1 (and Swagger 2.0); this document declares openapi %q", truncate(oa.Value, 50))
		}
		c.version = oa.Value
	default:
		return errorAt(nil, r, `the document has no "openapi" or "swagger" field at the top`)
	}
	c.spec = &Spec{OpenAPI: c.version}
	if err := c.checkRefs(refs); err != nil {
		return err
	}
	if err := c.checkInfo(); err != nil {
		return err
	}
	if err := c.checkTags(); err != nil {
		return err
	}
	if err := c.checkServers(); err != nil {
		return err
	}
	if err := c.checkPaths(); err != nil {
		return err
	}
	c.spec.Tags = c.tags.names
	return nil
}

// checkRefs resolves every $ref inside the document and refuses the
// others, then refuses cycles of $refs that never reach a value.
func (c *checker) checkRefs(refs []ref) *Error {
	c.resolved = map[string]*yaml.Node{}
	c.ix = keyIndex{}
	for _, rf := range refs {
		if rf.value.Kind != yaml.ScalarNode || rf.value.Tag != "!!str" {
			continue // not a reference: a schema property named "$ref", say
		}
		if _, err := c.resolve(rf.p, rf.value); err != nil {
			return err
		}
	}
	ok := map[string]bool{}
	for _, rf := range refs {
		if rf.value.Kind != yaml.ScalarNode || rf.value.Tag != "!!str" || ok[rf.value.Value] {
			continue
		}
		chain := []string{rf.value.Value}
		for t := c.resolved[rf.value.Value]; ; {
			next := get(t, "$ref")
			if next == nil || next.Kind != yaml.ScalarNode || next.Tag != "!!str" || ok[next.Value] {
				break
			}
			if slices.Contains(chain, next.Value) {
				chain = append(chain, next.Value)
				return errorAt(rf.p, rf.value, "$ref %q is in a cycle of $refs that never reaches a value: %s",
					truncate(rf.value.Value, 200), truncate(strings.Join(chain, " → "), 500))
			}
			if len(chain) >= maxRefHops {
				return errorAt(rf.p, rf.value, "$ref %q starts a chain of more than %d $refs to $refs", truncate(rf.value.Value, 200), maxRefHops)
			}
			chain = append(chain, next.Value)
			t = c.resolved[next.Value]
		}
		for _, s := range chain {
			ok[s] = true
		}
	}
	return nil
}

// resolve returns the node $ref v (at p) points to.
func (c *checker) resolve(p path, v *yaml.Node) (*yaml.Node, *Error) {
	s := v.Value
	if t, ok := c.resolved[s]; ok {
		return t, nil
	}
	q := truncate(s, 200)
	if !strings.HasPrefix(s, "#") {
		return nil, errorAt(p, v, "$ref %q points outside the document: Portico imports one self-contained document "+
			"and never reads files or URLs for it; bundle the document first (for example with redocly bundle or swagger-cli bundle)", q)
	}
	frag, err := url.PathUnescape(s[1:])
	switch {
	case err != nil:
		return nil, errorAt(p, v, "$ref %q is not a valid URI fragment", q)
	case frag == "" || frag == "/":
		return nil, errorAt(p, v, "$ref %q points to the whole document", q)
	case frag[0] != '/':
		return nil, errorAt(p, v, "$ref %q is not a JSON pointer such as \"#/components/schemas/Pet\" (plain-name fragments are not supported)", q)
	}
	t := pointer(c.root, frag, c.ix)
	if t == nil {
		return nil, errorAt(p, v, "$ref %q points to nothing in the document", q)
	}
	c.refScan += scanCost(c.root, frag, c.ix)
	if c.refScan > maxRefScan {
		return nil, errorAt(p, v, "the document's $refs point into mappings so large that resolving them would take the parser minutes "+
			"(each $ref to a distinct place scans the mappings on its way, here over %d entries in all): "+
			"Portico imports documents whose $refs scan up to %d", c.refScan, maxRefScan)
	}
	c.resolved[s] = t
	return t, nil
}

// target returns n, or what it points to if it is a $ref (the chain
// followed to its end: checkRefs bounded it).
func (c *checker) target(n *yaml.Node) *yaml.Node {
	for range maxRefHops + 1 {
		r := get(n, "$ref")
		if r == nil || r.Kind != yaml.ScalarNode || c.resolved[r.Value] == nil {
			return n
		}
		n = c.resolved[r.Value]
	}
	return n
}

func (c *checker) checkInfo() *Error {
	info := get(c.root, "info")
	if info == nil {
		return errorAt(nil, c.root, `the document has no "info"`)
	}
	if info.Kind != yaml.MappingNode {
		return errorAt(path{"info"}, info, "info must be a mapping")
	}
	if t := get(info, "title"); !isString(t) || strings.TrimSpace(t.Value) == "" {
		return errorAt(path{"info", "title"}, either(t, info), "info.title is required: the API's name")
	}
	if v := get(info, "version"); !isString(v) || strings.TrimSpace(v.Value) == "" {
		return errorAt(path{"info", "version"}, either(v, info), "info.version is required: the version of the API")
	}
	if d := get(info, "description"); d != nil && !isString(d) {
		return errorAt(path{"info", "description"}, d, "info.description must be a string")
	}
	c.spec.Title, c.spec.Version = text(get(info, "title")), text(get(info, "version"))
	c.spec.Description = text(get(info, "description"))
	return nil
}

func (c *checker) checkTags() *Error {
	tags := get(c.root, "tags")
	if tags == nil {
		return nil
	}
	if tags.Kind != yaml.SequenceNode {
		return errorAt(path{"tags"}, tags, "tags must be a sequence")
	}
	for i, t := range tags.Content {
		p := path{"tags", strconv.Itoa(i)}
		if t.Kind != yaml.MappingNode {
			return errorAt(p, t, "a tag must be a mapping with a name")
		}
		if n := get(t, "name"); !isString(n) {
			return errorAt(p.with("name"), either(n, t), "a tag must have a name")
		}
		c.tags.add(text(get(t, "name")))
	}
	return nil
}

var schemes = []string{"http", "https", "ws", "wss"}

func (c *checker) checkServers() *Error {
	r := c.root
	if c.swagger {
		if h := get(r, "host"); h != nil && (!isString(h) || strings.ContainsAny(h.Value, "/ ") || h.Value == "") {
			return errorAt(path{"host"}, h, "host must be a host name and optional port, without a scheme or a path")
		}
		if b := get(r, "basePath"); b != nil && (!isString(b) || !strings.HasPrefix(b.Value, "/")) {
			return errorAt(path{"basePath"}, b, `basePath must start with "/"`)
		}
		var list []string
		if s := get(r, "schemes"); s != nil {
			if s.Kind != yaml.SequenceNode {
				return errorAt(path{"schemes"}, s, "schemes must be a sequence")
			}
			for i, x := range s.Content {
				if !isString(x) || !slices.Contains(schemes, x.Value) {
					return errorAt(path{"schemes", strconv.Itoa(i)}, x, "a scheme must be one of http, https, ws or wss")
				}
				list = append(list, x.Value)
			}
		}
		c.spec.Servers = swaggerServers(list, text(get(r, "host")), text(get(r, "basePath")))
		return nil
	}
	servers := get(r, "servers")
	if err := c.checkServerList(path{"servers"}, servers); err != nil {
		return err
	}
	if servers != nil {
		for _, s := range servers.Content {
			c.spec.Servers = append(c.spec.Servers, serverURL(s))
		}
	}
	return nil
}

func (c *checker) checkServerList(p path, servers *yaml.Node) *Error {
	if servers == nil {
		return nil
	}
	if servers.Kind != yaml.SequenceNode {
		return errorAt(p, servers, "servers must be a sequence")
	}
	for i, s := range servers.Content {
		sp := p.with(strconv.Itoa(i))
		if s.Kind != yaml.MappingNode {
			return errorAt(sp, s, "a server must be a mapping with a url")
		}
		if u := get(s, "url"); !isString(u) {
			return errorAt(sp.with("url"), either(u, s), "a server must have a url")
		}
		vars := get(s, "variables")
		if vars == nil {
			continue
		}
		if vars.Kind != yaml.MappingNode {
			return errorAt(sp.with("variables"), vars, "variables must be a mapping")
		}
		for j := 0; j+1 < len(vars.Content); j += 2 {
			vp := sp.with("variables", vars.Content[j].Value)
			v := vars.Content[j+1]
			if v.Kind != yaml.MappingNode {
				return errorAt(vp, v, "a server variable must be a mapping with a default")
			}
			if d := get(v, "default"); !isString(d) {
				return errorAt(vp.with("default"), either(d, v), "a server variable must have a default")
			}
		}
	}
	return nil
}

func (c *checker) checkPaths() *Error {
	paths := get(c.root, "paths")
	if paths == nil {
		if c.swagger || strings.HasPrefix(c.version, "3.0") {
			return errorAt(nil, c.root, `the document has no "paths"`)
		}
		return nil // OpenAPI 3.1 may describe webhooks or components only
	}
	if paths.Kind != yaml.MappingNode {
		return errorAt(path{"paths"}, paths, "paths must be a mapping of paths to path items")
	}
	c.opIDs = map[string]*yaml.Node{}
	c.seen = map[*yaml.Node]bool{}
	for i := 0; i+1 < len(paths.Content); i += 2 {
		k, item := paths.Content[i], paths.Content[i+1]
		p := path{"paths", k.Value}
		if strings.HasPrefix(k.Value, "x-") {
			continue
		}
		if !strings.HasPrefix(k.Value, "/") {
			return errorAt(p, k, "a path must start with \"/\"")
		}
		if msg := checkTemplate(k.Value); msg != "" {
			return errorAt(p, k, "%s", msg)
		}
		pat := patternOf(k.Value)
		if err := portico.ValidateResourcePattern("pattern", pat); err != nil {
			return errorAt(p, k, "Portico cannot make a resource pattern of this path: %s", portico.ErrorMessageOf(err))
		}
		if err := c.checkPathItem(p, item); err != nil {
			return err
		}
		// The operations: the item's, then those of the item it points
		// to for the other methods.
		target := c.target(item)
		for _, m := range methods {
			op := get(item, m)
			if op == nil {
				op = get(target, m)
			}
			if op == nil || (m == "trace" && c.swagger) {
				continue
			}
			c.spec.Operations = append(c.spec.Operations, Operation{
				Method: strings.ToUpper(m), Path: k.Value, Pattern: pat,
				OperationID: text(get(op, "operationId")), Summary: text(get(op, "summary")),
			})
			if tags := get(op, "tags"); tags != nil {
				for _, t := range tags.Content {
					c.tags.add(t.Value)
				}
			}
		}
	}
	return nil
}

// checkPathItem checks a path item and, if it is a $ref, the one it
// points to.
func (c *checker) checkPathItem(p path, item *yaml.Node) *Error {
	if item.Kind != yaml.MappingNode {
		return errorAt(p, item, "a path item must be a mapping")
	}
	if c.seen[item] {
		return nil
	}
	c.seen[item] = true
	if err := c.checkParameters(p.with("parameters"), get(item, "parameters")); err != nil {
		return err
	}
	if !c.swagger {
		if err := c.checkServerList(p.with("servers"), get(item, "servers")); err != nil {
			return err
		}
	}
	for _, m := range methods {
		op := get(item, m)
		if op == nil || (m == "trace" && c.swagger) {
			continue
		}
		if err := c.checkOperation(p.with(m), op); err != nil {
			return err
		}
	}
	if t := c.target(item); t != item {
		return c.checkPathItem(p.with("$ref"), t)
	}
	return nil
}

func (c *checker) checkOperation(p path, op *yaml.Node) *Error {
	if op.Kind != yaml.MappingNode {
		return errorAt(p, op, "an operation must be a mapping")
	}
	if c.seen[op] {
		return nil
	}
	c.seen[op] = true
	if id := get(op, "operationId"); id != nil {
		if !isString(id) {
			return errorAt(p.with("operationId"), id, "operationId must be a string")
		}
		if prev := c.opIDs[id.Value]; prev != nil {
			return errorAt(p.with("operationId"), id, "operationId %q is also the id of the operation at line %d; ids must be unique", truncate(id.Value, 100), prev.Line)
		}
		c.opIDs[id.Value] = id
	}
	if s := get(op, "summary"); s != nil && !isString(s) {
		return errorAt(p.with("summary"), s, "summary must be a string")
	}
	if tags := get(op, "tags"); tags != nil {
		if tags.Kind != yaml.SequenceNode {
			return errorAt(p.with("tags"), tags, "tags must be a sequence of tag names")
		}
		for i, t := range tags.Content {
			if !isString(t) {
				return errorAt(p.with("tags", strconv.Itoa(i)), t, "a tag must be a name")
			}
		}
	}
	if r := get(op, "responses"); r != nil && r.Kind != yaml.MappingNode {
		return errorAt(p.with("responses"), r, "responses must be a mapping of status codes to responses")
	}
	return c.checkParameters(p.with("parameters"), get(op, "parameters"))
}

func (c *checker) checkParameters(p path, params *yaml.Node) *Error {
	if params == nil {
		return nil
	}
	if params.Kind != yaml.SequenceNode {
		return errorAt(p, params, "parameters must be a sequence")
	}
	in := []string{"query", "header", "path", "cookie"}
	if c.swagger {
		in = []string{"query", "header", "path", "formData", "body"}
	}
	for i, x := range params.Content {
		pp := p.with(strconv.Itoa(i))
		x = c.target(x)
		if x.Kind != yaml.MappingNode {
			return errorAt(pp, x, "a parameter must be a mapping")
		}
		if n := get(x, "name"); !isString(n) {
			return errorAt(pp.with("name"), either(n, x), "a parameter must have a name")
		}
		if w := get(x, "in"); !isString(w) || !slices.Contains(in, w.Value) {
			return errorAt(pp.with("in"), either(w, x), "a parameter's \"in\" must be one of %s", strings.Join(in, ", "))
		}
	}
	return nil
}

// checkTemplate returns what is wrong with path template t, or "".
func checkTemplate(t string) string {
	open := false
	start := 0
	for i := 0; i < len(t); i++ {
		switch t[i] {
		case '{':
			if open {
				return fmt.Sprintf("the path has a \"{\" inside a template expression at byte %d", i)
			}
			open, start = true, i
		case '}':
			if !open {
				return fmt.Sprintf("the path has a \"}\" without a \"{\" at byte %d", i)
			}
			if i == start+1 {
				return fmt.Sprintf("the path has an empty template expression \"{}\" at byte %d", start)
			}
			open = false
		case '/':
			if open {
				return fmt.Sprintf("the path's template expression at byte %d holds a \"/\"", start)
			}
		}
	}
	if open {
		return fmt.Sprintf("the path's template expression at byte %d has no \"}\"", start)
	}
	return ""
}

// either returns n, or else (for a missing value's position) parent.
func either(n, parent *yaml.Node) *yaml.Node {
	if n != nil {
		return n
	}
	return parent
}
