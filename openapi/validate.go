package openapi

import (
	"cmp"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	yaml "github.com/pb33f/go-yaml"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/portico-gw/portico"
)

// Problem is one way a request differs from the API's document.
type Problem struct {
	// In is where: "path", "query", "header", "cookie" or "body".
	In string `json:"in"`
	// Name is the parameter's name, "Content-Type" for the body's media
	// type, or for the body the JSON pointer (RFC 6901) of the value in
	// question ("" for the body as a whole; "/field" for a form's field).
	Name string `json:"name,omitempty"`
	// Message says what is wrong. It may quote a value of the request,
	// cut to a few hundred bytes.
	Message string `json:"message"`
}

// MaxProblems bounds the problems Validate returns.
const MaxProblems = 10

// Validator checks requests against an OpenAPI document: NewValidator
// compiles it once, and Validate may then be called from any number of
// goroutines at once.
type Validator struct {
	byLen map[int][]*vroute // path templates by segment count, most specific first
}

// vroute is one path of the document.
type vroute struct {
	template string
	segs     []segment
	ops      map[string]*vop // by method, upper case
}

// segment matches one segment of a path template: a literal, a lone
// expression ("{id}") or a mix ("{name}.json", "v{major}.{minor}").
type segment struct {
	lit   string
	name  string   // a lone expression's parameter
	lits  []string // a mix's literals, around and between its expressions
	names []string // a mix's parameters
}

// rank orders segments: literals before mixes before lone expressions.
func (s *segment) rank() int {
	switch {
	case s.names != nil:
		return 1
	case s.name != "":
		return 2
	}
	return 0
}

// vop is one operation.
type vop struct {
	method, template string
	pointer          string // in the document, for errors
	params           []*vparam
	body             *vbody // nil: the document declares no request body
}

// vparam is one parameter with what checking its values takes.
type vparam struct {
	name, in string
	required bool
	style    string
	explode  bool
	shape    byte    // 'p'rimitive, 'a'rray, 'o'bject, 'c'ontent
	kinds    kindSet // the types a primitive value may take
	items    kindSet // the types of an array's items
	fields   fieldSet
	media    string // a content parameter's media type, lower case
	schema   *compiled
}

// vbody is an operation's request body.
type vbody struct {
	required bool
	media    []*vmedia
}

// vmedia is one media type of a request body.
type vmedia struct {
	typ    string // lower case, as the document gives it: "application/json", "image/*", "*/*"
	shape  shape  // of its schema
	fields fieldSet
	schema *compiled // nil: no schema
}

// compiled is a schema compiled, with the bounds of what checking
// values against it costs (budget.go).
type compiled struct {
	schema *jsonschema.Schema
	bound  schemaBound
	graph  *costGraph // for the run-time budget
	// perByte bounds what a byte of an instance costs (each value, key
	// and string takes at least one): a body up to MaxRequestCost/perByte
	// bytes needs no pricing.
	perByte float64
}

// kindSet is a set of JSON types a parameter's text may be read as.
type kindSet uint8

const (
	kindString kindSet = 1 << iota
	kindNumber         // number or integer
	kindBoolean
	kindNull
	kindAny = kindString | kindNumber | kindBoolean | kindNull
)

// docURL names the document for the schema compiler.
const docURL = "mem:///openapi.json"

// NewValidator compiles doc, an API's stored document (Spec.Document:
// Swagger 2.0, OpenAPI 3.0 or 3.1 as JSON), into a Validator. Swagger 2.0
// is converted and 3.0 schemas upgraded as Export does. Every schema
// of every operation's parameters and request bodies is compiled here,
// and what checking a request against them can cost is bounded
// (budget.go): a document is refused, with an *Error naming the place
// in the document and what is wrong, when its schemas do not all
// compile (a $ref to nothing, a pattern Go's regexp does not take, such
// as one with a lookahead), when a pattern compiles to more than
// MaxPatternSize instructions, when checking one value of a request
// could cost more than MaxValueCost evaluations or one byte more than
// MaxPatternWork steps of regular expressions, or when a schema applies
// itself again to the same value. The errors are meant for the
// document's publisher: they quote the document, never the validator's
// internals.
func NewValidator(doc []byte) (*Validator, error) {
	if len(doc) > MaxDocumentBytes {
		return nil, &Error{Code: portico.ETooLarge, Message: fmt.Sprintf("the document is over %d bytes", MaxDocumentBytes)}
	}
	root, err := readJSON(doc)
	if err != nil || root.Kind != yaml.MappingNode {
		return nil, &Error{Code: portico.EInvalid, Message: "the document is not a JSON object"}
	}
	switch {
	case get(root, "swagger") != nil:
		csvDefault(root)
		enc := formEncodings(root)
		root = fromSwagger(root)
		setFormEncodings(root, enc)
	case strings.HasPrefix(text(get(root, "openapi")), "3.0"):
		upgrade30(root)
	}
	set(root, "openapi", str("3.1.0"))
	del(root, "jsonSchemaDialect")
	dropDialects(root, 0)
	inst, err := decodeJSON(appendJSON(nil, root, "", 0), MaxDepth+20)
	if err != nil {
		return nil, &Error{Code: portico.EInvalid, Message: "the document does not read as JSON: " + err.Error()}
	}
	b := &builder{root: root, v: &Validator{byLen: map[int][]*vroute{}}}
	if err := b.paths(); err != nil {
		return nil, err
	}
	if err := b.compileAll(inst); err != nil {
		return nil, err
	}
	if err := b.checkParameters(); err != nil {
		return nil, err
	}
	for _, rs := range b.v.byLen {
		slices.SortFunc(rs, func(a, b *vroute) int {
			for i := range a.segs {
				if c := cmp.Compare(a.segs[i].rank(), b.segs[i].rank()); c != 0 {
					return c
				}
			}
			return strings.Compare(a.template, b.template)
		})
	}
	return b.v, nil
}

// noLoader refuses every URL: the document is one self-contained
// resource, and nothing is fetched for it.
type noLoader struct{}

func (noLoader) Load(u string) (any, error) {
	return nil, fmt.Errorf("%.200q is outside the document and is not read", u)
}

// csvDefault gives the array parameters of a Swagger 2.0 document their
// default collectionFormat, csv, which fromSwagger reads as OpenAPI 3's
// form style without explode (OpenAPI 3's default explodes).
func csvDefault(sw *yaml.Node) {
	fix := func(list *yaml.Node) {
		if list == nil {
			return
		}
		for _, p := range list.Content {
			if get(p, "type") != nil && text(get(p, "type")) == "array" && get(p, "collectionFormat") == nil {
				set(p, "collectionFormat", str("csv"))
			}
		}
	}
	if ps := get(sw, "parameters"); ps != nil && ps.Kind == yaml.MappingNode {
		for i := 1; i < len(ps.Content); i += 2 {
			fix(&yaml.Node{Content: []*yaml.Node{ps.Content[i]}})
		}
	}
	paths := get(sw, "paths")
	if paths == nil || paths.Kind != yaml.MappingNode {
		return
	}
	for i := 1; i < len(paths.Content); i += 2 {
		item := paths.Content[i]
		if item.Kind != yaml.MappingNode {
			continue
		}
		fix(seqOf(get(item, "parameters")))
		for _, m := range methods {
			fix(seqOf(get(get(item, m), "parameters")))
		}
	}
}

func seqOf(n *yaml.Node) *yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n
}

// dropDialects removes the "$schema" of schemas that name OpenAPI's own
// dialect (the compiler would have to fetch it; it is JSON Schema
// 2020-12 with annotations only).
func dropDialects(n *yaml.Node, depth int) {
	if depth > MaxDepth+20 {
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		if s := get(n, "$schema"); s != nil && strings.HasPrefix(text(s), "https://spec.openapis.org/") {
			del(n, "$schema")
		}
		for i := 1; i < len(n.Content); i += 2 {
			dropDialects(n.Content[i], depth+1)
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			dropDialects(c, depth+1)
		}
	}
}

// builder walks the converted document's paths.
type builder struct {
	root    *yaml.Node
	ix      keyIndex
	v       *Validator
	pending []pending // the schemas to compile, once the walk is done
}

// pending is a schema to compile: the one at pointer p, into *dst;
// depth is how deep the values checked against it nest.
type pending struct {
	p     string
	dst   **compiled
	depth int
}

// resolve follows n's $ref chain from pointer p and returns the node
// reached and its pointer.
func (b *builder) resolve(n *yaml.Node, p string) (*yaml.Node, string, *Error) {
	for range maxRefHops + 1 {
		r := get(n, "$ref")
		if r == nil {
			return n, p, nil
		}
		ref := text(r)
		frag, err := url.PathUnescape(strings.TrimPrefix(ref, "#"))
		if !strings.HasPrefix(ref, "#/") || err != nil {
			return nil, "", &Error{Code: portico.EInvalid, Pointer: p, Message: fmt.Sprintf("$ref %.200q is not a pointer into the document", ref)}
		}
		if b.ix == nil {
			b.ix = keyIndex{}
		}
		t := pointer(b.root, frag, b.ix)
		if t == nil {
			return nil, "", &Error{Code: portico.EInvalid, Pointer: p, Message: fmt.Sprintf("$ref %.200q points to nothing in the document", ref)}
		}
		n, p = t, frag
	}
	return nil, "", &Error{Code: portico.EInvalid, Pointer: p, Message: fmt.Sprintf("a chain of more than %d $refs", maxRefHops)}
}

// node resolves n's $ref chain, or returns nil when it leads nowhere.
func (b *builder) node(n *yaml.Node) *yaml.Node {
	r, _, err := b.resolve(n, "")
	if err != nil {
		return nil
	}
	return r
}

func (b *builder) paths() *Error {
	paths := get(b.root, "paths")
	if paths == nil || paths.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(paths.Content); i += 2 {
		tpl := paths.Content[i].Value
		if !strings.HasPrefix(tpl, "/") {
			continue // an extension
		}
		p := path{"paths", tpl}.String()
		item, ip, err := b.resolve(paths.Content[i+1], p)
		if err != nil {
			return err
		}
		if item.Kind != yaml.MappingNode {
			continue
		}
		rt, err := compileTemplate(tpl, p)
		if err != nil {
			return err
		}
		shared := get(item, "parameters")
		for _, m := range methods {
			op := get(item, m)
			if op == nil || op.Kind != yaml.MappingNode {
				continue
			}
			vo, err := b.operation(strings.ToUpper(m), tpl, op, ip+"/"+m, shared, ip+"/parameters")
			if err != nil {
				return err
			}
			rt.ops[vo.method] = vo
		}
		if len(rt.ops) > 0 {
			b.v.byLen[len(rt.segs)] = append(b.v.byLen[len(rt.segs)], rt)
		}
	}
	return nil
}

// compileTemplate makes the matcher of path template tpl (at p).
func compileTemplate(tpl, p string) (*vroute, *Error) {
	if msg := checkTemplate(tpl); msg != "" {
		return nil, &Error{Code: portico.EInvalid, Pointer: p, Message: msg}
	}
	rt := &vroute{template: tpl, ops: map[string]*vop{}}
	for s := range strings.SplitSeq(tpl[1:], "/") {
		var seg segment
		switch open := strings.IndexByte(s, '{'); {
		case open < 0:
			seg.lit = s
		case open == 0 && strings.IndexByte(s, '}') == len(s)-1:
			seg.name = s[1 : len(s)-1]
		default:
			rest := s
			for {
				o := strings.IndexByte(rest, '{')
				if o < 0 {
					seg.lits = append(seg.lits, rest)
					break
				}
				c := strings.IndexByte(rest, '}')
				seg.lits = append(seg.lits, rest[:o])
				seg.names = append(seg.names, rest[o+1:c])
				rest = rest[c+1:]
			}
		}
		rt.segs = append(rt.segs, seg)
	}
	return rt, nil
}

// operation compiles the operation op at p; shared are its path item's
// parameters (at sp), which it inherits unless it has its own of the
// same name and place.
func (b *builder) operation(method, tpl string, op *yaml.Node, p string, shared *yaml.Node, sp string) (*vop, *Error) {
	vo := &vop{method: method, template: tpl, pointer: p}
	for _, list := range []struct {
		n *yaml.Node
		p string
	}{{get(op, "parameters"), p + "/parameters"}, {shared, sp}} {
		if list.n == nil || list.n.Kind != yaml.SequenceNode {
			continue
		}
		for i, pn := range list.n.Content {
			vp, err := b.parameter(pn, list.p+"/"+strconv.Itoa(i))
			if err != nil {
				return nil, err
			}
			if vp == nil || slices.ContainsFunc(vo.params, func(q *vparam) bool {
				return q.in == vp.in && (q.name == vp.name || vp.in == "header" && strings.EqualFold(q.name, vp.name))
			}) {
				continue
			}
			vo.params = append(vo.params, vp)
		}
	}
	// Path, query, header, cookie: the order problems are listed in.
	order := map[string]int{"path": 0, "query": 1, "header": 2, "cookie": 3}
	slices.SortStableFunc(vo.params, func(a, b *vparam) int { return cmp.Compare(order[a.in], order[b.in]) })

	if rb := get(op, "requestBody"); rb != nil {
		rb, rp, err := b.resolve(rb, p+"/requestBody")
		if err != nil {
			return nil, err
		}
		vo.body = &vbody{required: text(get(rb, "required")) == "true"}
		content := get(rb, "content")
		if content != nil && content.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(content.Content); i += 2 {
				typ := strings.ToLower(strings.TrimSpace(content.Content[i].Value))
				if t, _, err := mime.ParseMediaType(typ); err == nil {
					typ = t
				}
				mp := rp + path{"content", content.Content[i].Value}.String()
				vm, err := b.media(typ, content.Content[i+1], mp)
				if err != nil {
					return nil, err
				}
				vo.body.media = append(vo.body.media, vm)
			}
		}
	}
	return vo, nil
}

// media compiles the media type object mn of a request body, at p.
func (b *builder) media(typ string, mn *yaml.Node, p string) (*vmedia, *Error) {
	vm := &vmedia{typ: typ}
	s := get(mn, "schema")
	if s == nil {
		return vm, nil
	}
	sn, _, err := b.resolve(s, p+"/schema")
	if err != nil {
		return nil, err
	}
	vm.shape = b.shapeOf(sn)
	if vm.shape.trivial {
		return vm, nil // every body conforms
	}
	if typ == "application/x-www-form-urlencoded" || typ == "multipart/form-data" || typ == "*/*" ||
		typ == "application/*" || typ == "multipart/*" {
		vm.fields = b.fieldsOf(sn, get(mn, "encoding"))
	}
	b.compile(p+"/schema", &vm.schema, MaxDepth)
	return vm, nil
}

// parameter compiles the parameter pn at p; nil for one the gateway does
// not check (see Validate).
func (b *builder) parameter(pn *yaml.Node, p string) (*vparam, *Error) {
	pn, p, err := b.resolve(pn, p)
	if err != nil {
		return nil, err
	}
	vp := &vparam{name: text(get(pn, "name")), in: text(get(pn, "in")), required: text(get(pn, "required")) == "true"}
	switch vp.in {
	case "path":
		vp.required = true
		vp.style = "simple"
	case "query", "cookie":
		vp.style = "form"
	case "header":
		vp.style = "simple"
		switch http.CanonicalHeaderKey(vp.name) {
		case "Accept", "Content-Type", "Authorization", apiKeyHeader:
			return nil, nil
		}
	default:
		return nil, nil
	}
	if vp.in == "query" && vp.name == apiKeyQuery {
		return nil, nil
	}
	if s := get(pn, "style"); s != nil {
		vp.style = text(s)
	}
	vp.explode = vp.style == "form"
	if e := get(pn, "explode"); e != nil {
		vp.explode = text(e) == "true"
	}
	if !slices.Contains(paramStyles, vp.style) {
		return nil, &Error{Code: portico.EInvalid, Pointer: p + "/style", Message: fmt.Sprintf("style %.50q is not one of %s",
			vp.style, strings.Join(paramStyles, ", "))}
	}
	s := get(pn, "schema")
	if s == nil {
		// A parameter by content: one media type, whose schema checks
		// the value (JSON read as JSON, any other as text).
		vp.shape = 'c'
		content := get(pn, "content")
		if content == nil || content.Kind != yaml.MappingNode || len(content.Content) != 2 {
			return vp, nil // neither schema nor content: any value
		}
		vp.media = strings.ToLower(strings.TrimSpace(content.Content[0].Value))
		if t, _, err := mime.ParseMediaType(vp.media); err == nil {
			vp.media = t
		}
		if cs := get(content.Content[1], "schema"); cs != nil {
			b.compile(p+path{"content", content.Content[0].Value, "schema"}.String(), &vp.schema, MaxDepth)
		}
		return vp, nil
	}
	sn, _, rerr := b.resolve(s, p+"/schema")
	if rerr != nil {
		return nil, rerr
	}
	vp.kinds = b.kinds(sn, 0)
	vp.shape = 'p'
	switch {
	case hasType(sn, "array"):
		vp.shape = 'a'
		vp.items = kindAny
		if it := get(sn, "items"); it != nil {
			if in := b.node(it); in != nil {
				vp.items = b.kinds(in, 0)
			}
		}
	case hasType(sn, "object"):
		vp.shape = 'o'
		vp.fields = b.fieldsOf(sn, nil)
	}
	b.compile(p+"/schema", &vp.schema, 2) // an object's member given twice is an array
	return vp, nil
}

// paramStyles are the styles of parameters. OpenAPI gives each place of
// parameter some of them; converted Swagger 2.0 documents also put the
// delimited ones in paths and headers, which read them as in a query.
var paramStyles = []string{"simple", "label", "matrix", "form", "spaceDelimited", "pipeDelimited", "deepObject"}

// compile notes that the schema at pointer p is to be compiled into
// *dst (by compileAll), for values nesting depth levels.
func (b *builder) compile(p string, dst **compiled, depth int) {
	b.pending = append(b.pending, pending{p, dst, depth})
}

// compileAll compiles the pending schemas of inst, the document as the
// compiler reads it, and bounds what they cost (budget.go). The compiler
// is given not the document but a resource of "$defs" alone: each
// schema to compile and each value a "$ref" points to, under its
// pointer in the document, every "$ref" rewritten to point there. Every
// schema is then a subschema the compiler finds in one pass over the
// resource; given the document, it would process each schema of it as
// a new location, copying what it had found so far each time
// (quadratic: 55 s for the 10 MB document of TestNewValidatorLarge).
func (b *builder) compileAll(inst any) *Error {
	defs := map[string]any{}
	var work []string // defs whose $refs are still to rewrite
	for _, p := range b.pending {
		t, ok := lookupPointer(inst, p.p)
		if !ok {
			return &Error{Code: portico.EInvalid, Pointer: p.p, Message: "the schema is not in the document"}
		}
		if _, seen := defs[p.p]; !seen {
			defs[p.p] = t
			work = append(work, p.p)
		}
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				ref, ok := x.(string)
				if k != "$ref" || !ok {
					walk(x)
					continue
				}
				ptr, err := url.PathUnescape(strings.TrimPrefix(ref, "#"))
				if !strings.HasPrefix(ref, "#") || err != nil || ptr != "" && ptr[0] != '/' {
					continue // left as it is: the compiler refuses it
				}
				t, ok := lookupPointer(inst, ptr)
				if !ok {
					continue // as above
				}
				if _, seen := defs[ptr]; !seen {
					defs[ptr] = t
					work = append(work, ptr)
				}
				v[k] = defRef(ptr)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	for len(work) > 0 {
		p := work[len(work)-1]
		work = work[:len(work)-1]
		walk(defs[p])
	}
	eng := &patternEngine{}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(noLoader{})
	c.UseRegexpEngine(eng.compile)
	c.AssertFormat()
	for _, f := range extraFormats {
		c.RegisterFormat(f)
	}
	if err := c.AddResource(docURL, map[string]any{"$defs": defs}); err != nil {
		return &Error{Code: portico.EInvalid, Message: cleanMessage("the schemas cannot be read: " + err.Error())}
	}
	if _, err := c.Compile(docURL); err != nil {
		return schemaError(err, inst)
	}
	g := newCostGraph()
	roots := make([]*costRoot, len(b.pending))
	for i, p := range b.pending {
		s, err := c.Compile(docURL + defRef(p.p))
		if err != nil {
			e := schemaError(err, inst)
			if e.Pointer == "" {
				e.Pointer = p.p
			}
			return e
		}
		cs := &compiled{schema: s, graph: g}
		*p.dst = cs
		n, cerr := g.add(s)
		if cerr != nil {
			return cerr
		}
		roots[i] = &costRoot{node: n, depth: p.depth, bound: &cs.bound}
	}
	eng.done.Store(true) // from now on it checks format "regex" values only
	if ce := g.bounds(roots); ce != nil {
		root := ""
		if ce.root >= 0 {
			root = b.pending[ce.root].p
		}
		return g.errorOf(ce, root)
	}
	for _, p := range b.pending {
		f, x := (*p.dst).bound.max()
		// A number costs up to 5 units a byte beyond costParse each time
		// it is read ("1e999"), and is read at most f/costParse times.
		(*p.dst).perByte = f + f/costParse*5 + x/workPerUnit
	}
	return nil
}

// checkParameters bounds what an operation's parameters cost together:
// each can read every byte of its place (an exploded object reads the
// whole query), so their costs add.
func (b *builder) checkParameters() *Error {
	for _, rs := range b.v.byLen {
		for _, rt := range rs {
			for _, op := range rt.ops {
				var value, work float64
				for _, p := range op.params {
					if p.schema != nil {
						f, x := p.schema.bound.max()
						value, work = value+f+1, work+x
					}
				}
				if value > MaxValueCost || work > MaxPatternWork {
					return &Error{Code: portico.EInvalid, Pointer: op.pointer + "/parameters", Message: fmt.Sprintf(
						"checking the operation's parameters can cost %s schema evaluations a value and %s regular-expression steps a byte, "+
							"over the %d and %d the validator allows (openapi.MaxValueCost, openapi.MaxPatternWork)",
						fmtCost(value), fmtCost(work), MaxValueCost, MaxPatternWork)}
				}
			}
		}
	}
	return nil
}

// schemaError names, of the compiler's refusal of a schema of the
// resource compileAll made, the place in the document and what is wrong,
// in the document's terms.
func schemaError(err error, inst any) *Error {
	e := &Error{Code: portico.EInvalid, Message: truncate(cleanMessage("the schema does not compile: "+err.Error()), 500)}
	var se *jsonschema.SchemaValidationError
	var ve *jsonschema.ValidationError
	if !errors.As(err, &se) {
		return e
	}
	e.Pointer = docPointer(se.URL)
	if !errors.As(se.Err, &ve) {
		return e
	}
	// The deepest place in the resource on the way to the first leaf, and
	// the key of an object when a key is what is wrong (propertyNames).
	var loc []string
	key := ""
	for {
		if l := ve.InstanceLocation; len(l) >= 2 && l[0] == "$defs" {
			loc, key = l, ""
		}
		if k, ok := ve.ErrorKind.(*kind.PropertyNames); ok {
			key = k.Property
		}
		if len(ve.Causes) == 0 {
			break
		}
		ve = ve.Causes[0]
	}
	if loc == nil {
		return e
	}
	e.Pointer = loc[1] + path(loc[2:]).String()
	if key != "" {
		// The library's place for a key is not to be trusted (it shares
		// the slice it appends to): find the key among patternProperties,
		// the keys the dialect checks.
		e.Pointer = loc[1]
		if def, ok := lookupPointer(inst, loc[1]); ok {
			if p, ok := findKey(def, "patternProperties", key, 0); ok {
				e.Pointer += p.String()
			}
		}
	}
	msg := ve.ErrorKind.LocalizedString(message.NewPrinter(language.English))
	if k, ok := ve.ErrorKind.(*kind.Format); ok {
		var big *errPatternSize
		if errors.As(k.Err, &big) {
			msg = big.Error()
		}
	}
	e.Message = truncate(cleanMessage("the schema does not compile: "+msg), 500)
	return e
}

// findKey returns the path in v to member key of a member named holder.
func findKey(v any, holder, key string, depth int) (path, bool) {
	if depth > MaxDepth {
		return nil, false
	}
	switch v := v.(type) {
	case map[string]any:
		if h, ok := v[holder].(map[string]any); ok {
			if _, ok := h[key]; ok {
				return path{holder, key}, true
			}
		}
		for _, k := range sortedKeys(v) {
			if p, ok := findKey(v[k], holder, key, depth+1); ok {
				return append(path{k}, p...), true
			}
		}
	case []any:
		for i, m := range v {
			if p, ok := findKey(m, holder, key, depth+1); ok {
				return append(path{strconv.Itoa(i)}, p...), true
			}
		}
	}
	return nil, false
}

// cleanMessage rewrites a message of the schema compiler in the
// document's terms: the URLs of its resource (docURL#/$defs/…) and the
// pointers into it (/$defs/…) become the JSON pointers of the document
// they stand for, and only the first line is kept.
func cleanMessage(msg string) string {
	msg, _, _ = strings.Cut(msg, "\n")
	var b strings.Builder
	for {
		i := strings.Index(msg, docURL)
		j := strings.Index(msg, "/$defs/")
		if i < 0 && j < 0 {
			b.WriteString(msg)
			return b.String()
		}
		skip := len(docURL)
		if i < 0 || j >= 0 && j < i {
			i, skip = j, 0
		}
		b.WriteString(msg[:i])
		rest := msg[i+skip:]
		end := strings.IndexAny(rest, " \"'`,;)]}>")
		if end < 0 {
			end = len(rest)
		}
		frag := rest[:end]
		if skip == 0 {
			frag = "#" + frag
		}
		b.WriteString("#" + docPointer(frag))
		msg = rest[end:]
	}
}

// defRef returns the "$ref" to the value at pointer p of the document in
// the compiler's resource.
func defRef(p string) string {
	return "#/$defs/" + url.PathEscape(strings.NewReplacer("~", "~0", "/", "~1").Replace(p))
}

// lookupPointer returns the value at JSON pointer p in v.
func lookupPointer(v any, p string) (any, bool) {
	if p == "" {
		return v, true
	}
	for tok := range strings.SplitSeq(p[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[tok]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) || tok != strconv.Itoa(i) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// kinds returns the JSON types a schema's values may have: its "type",
// or the types of its allOf, anyOf and oneOf members, or any.
func (b *builder) kinds(s *yaml.Node, depth int) kindSet {
	var k kindSet
	switch t := get(s, "type"); {
	case t == nil:
	case t.Kind == yaml.ScalarNode:
		return kindOf(t.Value)
	case t.Kind == yaml.SequenceNode:
		for _, x := range t.Content {
			k |= kindOf(x.Value)
		}
		return k
	}
	if depth < 4 {
		for _, key := range []string{"allOf", "anyOf", "oneOf"} {
			if l := seqOf(get(s, key)); l != nil {
				for _, m := range l.Content {
					if mn := b.node(m); mn != nil {
						k |= b.kinds(mn, depth+1)
					}
				}
			}
		}
	}
	if k == 0 {
		return kindAny
	}
	return k
}

func kindOf(t string) kindSet {
	switch t {
	case "string":
		return kindString
	case "number", "integer":
		return kindNumber
	case "boolean":
		return kindBoolean
	case "null":
		return kindNull
	}
	return kindAny // array, object: the shapes handle them
}

func hasType(s *yaml.Node, name string) bool {
	switch t := get(s, "type"); {
	case t == nil:
	case t.Kind == yaml.ScalarNode:
		return t.Value == name
	case t.Kind == yaml.SequenceNode:
		return slices.ContainsFunc(t.Content, func(x *yaml.Node) bool { return x.Value == name })
	}
	return false
}

// isJSONType reports whether a media type (lower case, no parameters)
// is JSON: application/json or a +json suffix.
func isJSONType(t string) bool {
	return t == "application/json" || strings.HasSuffix(t, "+json")
}

// Validate checks request r, whose path inside the API (the part after
// its context, decoded, as in r.URL.Path) is path and whose whole body
// is body, against the document, and returns its first problems, at
// most MaxProblems; none when it conforms. It checks, of the operation
// whose path template and method match (HEAD falls back to GET):
//
//   - the path, query, header and cookie parameters against their
//     schemas, read by their style (simple, label, matrix, form with and
//     without explode, spaceDelimited, pipeDelimited, deepObject; an
//     exploded form object is the query's parameters the operation does
//     not declare otherwise) or by their content (JSON read as JSON,
//     other media types as text);
//   - the body: its presence when required, and its absence when the
//     operation declares no request body; its Content-Type, one media
//     type, against those declared (exact, then "type/*", then "*/*");
//     and against the media type's schema, a JSON body as JSON, an
//     application/x-www-form-urlencoded or multipart/form-data body as an
//     object of its fields (by the encoding's style and explode, a JSON
//     part or field of object type as JSON), a text/* body in UTF-8 as a
//     string, and any body whose schema is a binary string
//     (format "binary", contentMediaType, contentEncoding) by its size
//     in bytes against minLength and maxLength. A body the gateway
//     cannot read against a schema that constrains it (an XML body, say)
//     is a problem, never let through unchecked;
//   - formats: date-time, date, time, duration, email, hostname, ipv4,
//     ipv6, uri, uri-reference, iri, uuid, json-pointer, regex and the
//     others of the schema library, and OpenAPI's int32 and int64 (the
//     range of a number); other formats (float, double, byte, binary,
//     password…) are annotations.
//
// No operation is a problem; so are a query that does not parse, a body
// that is not JSON, gives a key twice, nests deeper than MaxDepth, or
// has a number over 1,000 characters or with an exponent over 1,000,
// and a body whose values would cost more than MaxRequestCost to check.
// When r's context is done, Validate stops between parameters and
// before the body, with a problem.
//
// Not checked: parameters the gateway consumes (the X-Api-Key header,
// the api_key query parameter) or OpenAPI ignores (Accept, Content-Type,
// Authorization headers); security requirements (the gateway's auth
// applies instead); the headers of multipart parts beyond their
// Content-Type; responses.
func (v *Validator) Validate(r *http.Request, path string, body []byte) []Problem {
	op, vals, miss := v.find(r.Method, path)
	if op == nil {
		return []Problem{{In: "path", Message: miss}}
	}
	ctx := r.Context()
	var ps problems
	q := &queryParams{raw: r.URL.RawQuery, op: op}
	for _, p := range op.params {
		if len(ps) >= MaxProblems {
			break
		}
		if ctx.Err() != nil {
			return cancelled(ps)
		}
		switch p.in {
		case "path":
			p.checkPath(&ps, vals[p.name])
		case "query":
			p.checkQuery(&ps, q)
		case "header":
			p.presence(&ps, r.Header.Values(p.name))
		case "cookie":
			var vs []string
			for _, c := range r.CookiesNamed(p.name) {
				vs = append(vs, c.Value)
			}
			p.presence(&ps, vs)
		}
	}
	if len(ps) < MaxProblems {
		if ctx.Err() != nil {
			return cancelled(ps)
		}
		op.checkBody(&ps, r.Header, body)
	}
	return ps
}

// cancelled returns ps with the problem of a request whose context ended.
func cancelled(ps problems) []Problem {
	if len(ps) >= MaxProblems {
		ps = ps[:MaxProblems-1]
	}
	return append(ps, Problem{In: "body", Message: "the request ended before it was checked"})
}

// find returns the operation for method and path with the values of
// its path's expressions, or a message saying there is none.
func (v *Validator) find(method, p string) (*vop, map[string]string, string) {
	n := strings.Count(p, "/")
	if p == "" || p == "/" {
		n = 1
	}
	matched := false
	for _, m := range []string{method, "GET"} {
		for _, rt := range v.byLen[n] {
			vals, ok := rt.match(p)
			if !ok {
				continue
			}
			matched = true
			if op := rt.ops[m]; op != nil {
				return op, vals, ""
			}
		}
		if method != http.MethodHead {
			break
		}
	}
	if p == "" {
		p = "/"
	}
	if matched {
		return nil, nil, fmt.Sprintf("no operation %.20s %s in the API's document (the path has other methods)", method, truncate(p, 200))
	}
	return nil, nil, fmt.Sprintf("no operation %.20s %s in the API's document", method, truncate(p, 200))
}

// match reports whether path matches the route's template, and the
// values of its expressions.
func (rt *vroute) match(p string) (map[string]string, bool) {
	if p == "" {
		p = "/"
	}
	var vals map[string]string
	rest := p[1:]
	for i := range rt.segs {
		s := &rt.segs[i]
		seg := rest
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			seg, rest = rest[:j], rest[j+1:]
		} else {
			rest = ""
		}
		switch {
		case s.names != nil:
			if vals == nil {
				vals = map[string]string{}
			}
			if !s.matchMix(seg, vals) {
				return nil, false
			}
		case s.name != "":
			if seg == "" {
				return nil, false
			}
			if vals == nil {
				vals = map[string]string{}
			}
			vals[s.name] = seg
		case seg != s.lit:
			return nil, false
		}
	}
	return vals, true
}

// matchMix matches seg against a segment of literals and expressions,
// each expression taking at least one character and as few as the rest
// allows (as the regular expression ^lit(.+?)lit(.+?)lit$ would, in
// linear time), and sets the expressions' values in vals.
func (s *segment) matchMix(seg string, vals map[string]string) bool {
	first, last := s.lits[0], s.lits[len(s.lits)-1]
	if len(seg) < len(first)+len(last)+len(s.names) || !strings.HasPrefix(seg, first) || !strings.HasSuffix(seg, last) {
		return false
	}
	mid := seg[len(first) : len(seg)-len(last)]
	for i, name := range s.names {
		if i == len(s.names)-1 {
			if mid == "" || strings.ContainsRune(mid, '\n') {
				return false
			}
			vals[name] = mid
			break
		}
		if mid == "" {
			return false
		}
		_, size := utf8.DecodeRuneInString(mid)
		j := strings.Index(mid[size:], s.lits[i+1])
		if j < 0 {
			return false
		}
		val := mid[:size+j]
		if strings.ContainsRune(val, '\n') {
			return false
		}
		vals[name] = val
		mid = mid[size+j+len(s.lits[i+1]):]
	}
	return true
}

// problems collects Problems up to MaxProblems.
type problems []Problem

func (ps *problems) add(in, name, msg string) {
	if len(*ps) < MaxProblems {
		*ps = append(*ps, Problem{In: in, Name: name, Message: truncate(msg, 300)})
	}
}

// schemaProblems adds the leaves of a schema validation error, ordered
// by where in the value they are. For the body, the name is the JSON
// pointer of the value; for a parameter, its name, and the message says
// where in its value when not at the top.
func schemaProblems(ps *problems, in, name string, err error) {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		ps.add(in, name, err.Error())
		return
	}
	// The first leaves by place, in the order found among those of one
	// place: a bounded insertion, not a sort of every leaf (a body can
	// fail tens of thousands of schemas).
	type leaf struct {
		loc []string
		e   *jsonschema.ValidationError
	}
	room := MaxProblems - len(*ps)
	leaves := make([]leaf, 0, room+1)
	var walk func(e *jsonschema.ValidationError, depth int)
	walk = func(e *jsonschema.ValidationError, depth int) {
		if len(e.Causes) == 0 || depth > MaxDepth*2 {
			i := len(leaves)
			for i > 0 && slices.Compare(leaves[i-1].loc, e.InstanceLocation) > 0 {
				i--
			}
			if i < room {
				leaves = slices.Insert(leaves, i, leaf{e.InstanceLocation, e})
				if len(leaves) > room {
					leaves = leaves[:room]
				}
			}
			return
		}
		for _, c := range e.Causes {
			walk(c, depth+1)
		}
	}
	walk(ve, 0)
	p := message.NewPrinter(language.English)
	for _, l := range leaves {
		if len(*ps) >= MaxProblems {
			return
		}
		var msg string
		switch k := l.e.ErrorKind.(type) {
		case *kind.Pattern:
			// The value is the client's own, and may be long.
			msg = fmt.Sprintf("the value does not match pattern %.200q", k.Want)
		case *kind.Format:
			msg = fmt.Sprintf("the value is not a valid %.50s", k.Want)
			if k.Err != nil {
				msg += ": " + truncate(k.Err.Error(), 150)
			}
		default:
			msg = l.e.ErrorKind.LocalizedString(p)
		}
		ptr := path(l.loc).String()
		if in == "body" {
			ps.add(in, ptr, msg)
		} else if ptr != "" {
			ps.add(in, name, "at "+ptr+": "+msg)
		} else {
			ps.add(in, name, msg)
		}
	}
}

// validate checks value v against c, adding what is wrong to ps.
func (c *compiled) validate(ps *problems, in, name string, v any) {
	if err := c.schema.Validate(v); err != nil {
		schemaProblems(ps, in, name, err)
	}
}

// overBudget reports whether checking v, read from size bytes, costs
// more than MaxRequestCost, adding the problem when it does.
func (c *compiled) overBudget(ps *problems, in, name string, v any, size int) bool {
	if !c.graph.unique && float64(size+1)*c.perByte <= MaxRequestCost {
		return false
	}
	pr := pricer{g: c.graph, limit: MaxRequestCost}
	pr.price(c.schema, v)
	if pr.total <= MaxRequestCost {
		return false
	}
	ps.add(in, name, fmt.Sprintf("the value is too large to check against the operation's schema: checking it could cost over %d units "+
		"(openapi.MaxRequestCost); send a smaller one", MaxRequestCost))
	return true
}
