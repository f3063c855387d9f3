package openapi

import (
	"cmp"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

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
	// question ("" for the body as a whole).
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
// expression ("{id}") or a mix ("{name}.json").
type segment struct {
	lit   string
	name  string         // a lone expression's parameter
	re    *regexp.Regexp // a mix's matcher, a group per name
	names []string
}

// rank orders segments: literals before mixes before lone expressions.
func (s *segment) rank() int {
	switch {
	case s.re != nil:
		return 1
	case s.name != "":
		return 2
	}
	return 0
}

// vop is one operation.
type vop struct {
	method, template string
	params           []*vparam
	body             *vbody // nil: the document declares no body
}

// vparam is one parameter with what checking its values takes.
type vparam struct {
	name, in string
	required bool
	style    string
	explode  bool
	shape    byte    // 'p'rimitive, 'a'rray, 'o'bject, 'c'ontent (not read)
	kinds    kindSet // the types a primitive value may take
	items    kindSet // the types of an array's items
	schema   *jsonschema.Schema
}

type vbody struct {
	required bool
	media    []*vmedia
}

type vmedia struct {
	typ    string // lower case, as the document gives it: "application/json", "image/*", "*/*"
	schema *jsonschema.Schema
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
// of every operation's parameters and JSON bodies is compiled here; a
// document whose schemas do not all compile (a $ref to nothing, a
// pattern Go's regexp does not take, such as one with a lookahead) is
// refused with an *Error naming the schema. Schemas' patterns run on
// Go's regexp, whose time is linear in the input.
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
		root = fromSwagger(root)
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
	v       *Validator
	pending []pending // the schemas to compile, once the walk is done
}

// pending is a schema to compile: the one at pointer p, into *dst.
type pending struct {
	p   string
	dst **jsonschema.Schema
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
		t := pointer(b.root, frag)
		if t == nil {
			return nil, "", &Error{Code: portico.EInvalid, Pointer: p, Message: fmt.Sprintf("$ref %.200q points to nothing in the document", ref)}
		}
		n, p = t, frag
	}
	return nil, "", &Error{Code: portico.EInvalid, Pointer: p, Message: fmt.Sprintf("a chain of more than %d $refs", maxRefHops)}
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
			var re strings.Builder
			re.WriteString("^")
			rest := s
			for {
				o := strings.IndexByte(rest, '{')
				if o < 0 {
					re.WriteString(regexp.QuoteMeta(rest))
					break
				}
				c := strings.IndexByte(rest, '}')
				re.WriteString(regexp.QuoteMeta(rest[:o]))
				re.WriteString("(.+?)")
				seg.names = append(seg.names, rest[o+1:c])
				rest = rest[c+1:]
			}
			re.WriteString("$")
			seg.re = regexp.MustCompile(re.String())
		}
		rt.segs = append(rt.segs, seg)
	}
	return rt, nil
}

// operation compiles the operation op at p; shared are its path item's
// parameters (at sp), which it inherits unless it has its own of the
// same name and place.
func (b *builder) operation(method, tpl string, op *yaml.Node, p string, shared *yaml.Node, sp string) (*vop, *Error) {
	vo := &vop{method: method, template: tpl}
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
				vm := &vmedia{typ: typ}
				if s := get(content.Content[i+1], "schema"); s != nil && isJSONType(typ) {
					b.compile(rp+path{"content", content.Content[i].Value, "schema"}.String(), &vm.schema)
				}
				vo.body.media = append(vo.body.media, vm)
			}
		}
		if len(vo.body.media) == 0 {
			vo.body = nil // nothing declared to check against
		}
	}
	return vo, nil
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
	s := get(pn, "schema")
	if s == nil {
		// A parameter by content (a media type): its value is JSON text
		// or other; only its presence is checked.
		vp.shape = 'c'
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
			if in, _, err := b.resolve(it, p); err == nil {
				vp.items = b.kinds(in, 0)
			}
		}
	case hasType(sn, "object"):
		vp.shape = 'o'
	}
	b.compile(p+"/schema", &vp.schema)
	return vp, nil
}

// compile notes that the schema at pointer p is to be compiled into
// *dst (by compileAll).
func (b *builder) compile(p string, dst **jsonschema.Schema) {
	b.pending = append(b.pending, pending{p, dst})
}

// compileAll compiles the pending schemas of inst, the document as the
// compiler reads it. The compiler is given not the document but a
// resource of "$defs" alone: each schema to compile and each value a
// "$ref" points to, under its pointer in the document, every "$ref"
// rewritten to point there. Every schema is then a subschema the
// compiler finds in one pass over the resource; given the document, it
// would process each schema of it as a new location, copying what it
// had found so far each time (quadratic: 55 s for the 10 MB document
// of TestNewValidatorLarge).
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
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(noLoader{})
	if err := c.AddResource(docURL, map[string]any{"$defs": defs}); err != nil {
		return &Error{Code: portico.EInvalid, Message: err.Error()}
	}
	if _, err := c.Compile(docURL); err != nil {
		return schemaError(err)
	}
	for _, p := range b.pending {
		s, err := c.Compile(docURL + defRef(p.p))
		if err != nil {
			return &Error{Code: portico.EInvalid, Pointer: p.p, Message: truncate("the schema does not compile: "+err.Error(), 500)}
		}
		*p.dst = s
	}
	return nil
}

// schemaError names, of the compiler's refusal of a schema of the
// resource compileAll made, the place in the document and what is wrong.
func schemaError(err error) *Error {
	e := &Error{Code: portico.EInvalid, Message: truncate("the schemas do not compile: "+err.Error(), 500)}
	var se *jsonschema.SchemaValidationError
	var ve *jsonschema.ValidationError
	if !errors.As(err, &se) || !errors.As(se.Err, &ve) {
		return e
	}
	for len(ve.Causes) > 0 {
		ve = ve.Causes[0]
	}
	if loc := ve.InstanceLocation; len(loc) >= 2 && loc[0] == "$defs" {
		e.Pointer = loc[1] + path(loc[2:]).String()
		e.Message = truncate("the schema does not compile: "+ve.ErrorKind.LocalizedString(message.NewPrinter(language.English)), 500)
	}
	return e
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
					if mn, _, err := b.resolve(m, ""); err == nil {
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
// whose path template and method match (HEAD falls back to GET), the
// path, query, header and cookie parameters, and of the body: its
// presence when required, its Content-Type against the media types
// declared, and a JSON body against its schema. No operation is a
// problem; so are a query that does not parse, a body that is not JSON,
// gives a key twice, nests deeper than MaxDepth, or has a number over
// 1,000 characters or with an exponent over 1,000.
//
// Not checked: parameters the gateway consumes (the X-Api-Key header,
// the api_key query parameter) or OpenAPI ignores (Accept, Content-Type,
// Authorization headers); parameters given by content rather than
// schema, objects in deepObject style or exploded form style, beyond
// their presence; bodies of other media types than JSON, beyond their
// Content-Type; formats (annotations in JSON Schema 2020-12); security
// requirements (the gateway's auth applies instead).
func (v *Validator) Validate(r *http.Request, path string, body []byte) []Problem {
	op, vals, miss := v.find(r.Method, path)
	if op == nil {
		return []Problem{{In: "path", Message: miss}}
	}
	var ps problems
	var query url.Values
	for _, p := range op.params {
		if len(ps) >= MaxProblems {
			break
		}
		switch p.in {
		case "path":
			p.check(&ps, []string{vals[p.name]})
		case "query":
			if query == nil {
				var err error
				if query, err = url.ParseQuery(r.URL.RawQuery); err != nil {
					ps.add("query", "", "the query string does not parse: "+err.Error())
				}
			}
			p.presence(&ps, query[p.name])
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
	if op.body != nil && len(ps) < MaxProblems {
		op.body.check(&ps, r.Header, body)
	}
	return ps
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
		case s.re != nil:
			m := s.re.FindStringSubmatch(seg)
			if m == nil {
				return nil, false
			}
			for k, name := range s.names {
				if vals == nil {
					vals = map[string]string{}
				}
				vals[name] = m[k+1]
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

// problems collects Problems up to MaxProblems.
type problems []Problem

func (ps *problems) add(in, name, msg string) {
	if len(*ps) < MaxProblems {
		*ps = append(*ps, Problem{In: in, Name: name, Message: truncate(msg, 300)})
	}
}

// presence checks a parameter given the values vs the request has for
// it.
func (p *vparam) presence(ps *problems, vs []string) {
	if len(vs) == 0 {
		if p.required {
			ps.add(p.in, p.name, fmt.Sprintf("the required %s parameter is missing", p.in))
		}
		return
	}
	p.check(ps, vs)
}

// check checks the values of a parameter that is present.
func (p *vparam) check(ps *problems, vs []string) {
	if p.schema == nil {
		return
	}
	switch p.shape {
	case 'a':
		var items []string
		if p.in == "query" && p.explode && (p.style == "form" || p.style == "") {
			items = vs
		} else {
			sep := ","
			switch p.style {
			case "spaceDelimited":
				sep = " "
			case "pipeDelimited":
				sep = "|"
			case "label", "matrix":
				return // not read
			}
			for _, v := range vs {
				if v == "" {
					continue
				}
				for x := range strings.SplitSeq(v, sep) {
					if p.in == "header" {
						x = strings.TrimSpace(x)
					}
					items = append(items, x)
				}
			}
		}
		a := make([]any, len(items))
		for i, x := range items {
			a[i] = coerce(x, p.items)
		}
		p.validate(ps, a)
	case 'o':
		if (p.in == "query" || p.in == "cookie") && (p.explode || p.style == "deepObject") || p.style == "label" || p.style == "matrix" {
			return // not read
		}
		for _, v := range vs {
			m := map[string]any{}
			if p.explode { // simple style: k=v,k=v
				for kv := range strings.SplitSeq(v, ",") {
					k, x, _ := strings.Cut(kv, "=")
					m[k] = coerce(x, kindAny)
				}
			} else { // k,v,k,v
				parts := strings.Split(v, ",")
				for i := 0; i+1 < len(parts); i += 2 {
					m[parts[i]] = coerce(parts[i+1], kindAny)
				}
			}
			p.validate(ps, m)
		}
	case 'p':
		for _, v := range vs {
			if p.in == "header" {
				v = strings.TrimSpace(v)
			}
			p.validate(ps, coerce(v, p.kinds))
		}
	}
}

func (p *vparam) validate(ps *problems, v any) {
	if err := p.schema.Validate(v); err != nil {
		schemaProblems(ps, p.in, p.name, err)
	}
}

// coerce reads a parameter's text as the first of the kinds it may
// take: a number, a boolean, null, else the text itself.
func coerce(s string, k kindSet) any {
	if k&kindNumber != 0 {
		if n, ok := asNumber(s); ok {
			return n
		}
	}
	if k&kindBoolean != 0 && (s == "true" || s == "false") {
		return s == "true"
	}
	if k&kindNull != 0 && k&kindString == 0 && s == "null" {
		return nil
	}
	return s
}

// check checks a request's body against the operation's.
func (b *vbody) check(ps *problems, h http.Header, body []byte) {
	if len(body) == 0 {
		if b.required {
			ps.add("body", "", "the operation requires a request body")
		}
		return
	}
	cts := h["Content-Type"]
	if len(cts) != 1 {
		ps.add("header", "Content-Type", "a request body needs one Content-Type, one of "+b.types())
		return
	}
	typ, _, err := mime.ParseMediaType(cts[0])
	if err != nil {
		ps.add("header", "Content-Type", fmt.Sprintf("Content-Type %.100q is not a media type", cts[0]))
		return
	}
	var m *vmedia
	for _, want := range []func(string) bool{
		func(t string) bool { return t == typ },
		func(t string) bool { return strings.HasSuffix(t, "/*") && strings.HasPrefix(typ, t[:len(t)-1]) },
		func(t string) bool { return t == "*/*" },
	} {
		if i := slices.IndexFunc(b.media, func(x *vmedia) bool { return want(x.typ) }); i >= 0 {
			m = b.media[i]
			break
		}
	}
	if m == nil {
		ps.add("header", "Content-Type", fmt.Sprintf("the operation takes no %.100s body: it takes %s", typ, b.types()))
		return
	}
	if m.schema == nil || !isJSONType(typ) {
		return
	}
	inst, err := decodeJSON(body, MaxDepth)
	if err != nil {
		ps.add("body", "", "the body is not valid JSON: "+err.Error())
		return
	}
	if err := m.schema.Validate(inst); err != nil {
		schemaProblems(ps, "body", "", err)
	}
}

func (b *vbody) types() string {
	ts := make([]string, len(b.media))
	for i, m := range b.media {
		ts[i] = m.typ
	}
	return truncate(strings.Join(ts, ", "), 200)
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
	type leaf struct {
		loc []string
		e   *jsonschema.ValidationError
	}
	var leaves []leaf
	var walk func(e *jsonschema.ValidationError, depth int)
	walk = func(e *jsonschema.ValidationError, depth int) {
		if len(e.Causes) == 0 || depth > MaxDepth*2 {
			leaves = append(leaves, leaf{e.InstanceLocation, e})
			return
		}
		for _, c := range e.Causes {
			walk(c, depth+1)
		}
	}
	walk(ve, 0)
	slices.SortStableFunc(leaves, func(a, b leaf) int { return slices.Compare(a.loc, b.loc) })
	p := message.NewPrinter(language.English)
	for _, l := range leaves {
		if len(*ps) >= MaxProblems {
			return
		}
		var msg string
		if k, ok := l.e.ErrorKind.(*kind.Pattern); ok {
			// The value is the client's own, and may be long.
			msg = fmt.Sprintf("the value does not match pattern %.200q", k.Want)
		} else {
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
