package openapi

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	yaml "github.com/pb33f/go-yaml"
)

// This file reads parameters' values by their style (OpenAPI 3.1,
// "Style Values") into the values their schemas check, and the fields
// of objects given as text: object parameters and form bodies.

// fieldSet says how to read the members of an object given as text.
type fieldSet struct {
	byName map[string]*field
	other  field // a member the schema does not name
}

// field is how one member is read.
type field struct {
	shape   byte    // 'p'rimitive, 'a'rray, 'o'bject
	kinds   kindSet // a primitive's types, or an array's items'
	json    bool    // the text is JSON (an object, or the encoding says so)
	binary  bool    // a binary string: the bytes as they come
	style   string  // a form field's: "form", "spaceDelimited", "pipeDelimited", "deepObject"
	explode bool
}

func (fs *fieldSet) get(name string) *field {
	if f := fs.byName[name]; f != nil {
		return f
	}
	return &fs.other
}

// fieldsOf returns how to read the members of object schema s (its
// properties, and those of its allOf, anyOf and oneOf members) given a
// form's encoding object.
func (b *builder) fieldsOf(s *yaml.Node, encoding *yaml.Node) fieldSet {
	fs := fieldSet{byName: map[string]*field{}, other: field{shape: 'p', kinds: kindAny, style: "form", explode: true}}
	var walk func(s *yaml.Node, depth int)
	walk = func(s *yaml.Node, depth int) {
		if props := get(s, "properties"); props != nil && props.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(props.Content); i += 2 {
				name := props.Content[i].Value
				if _, ok := fs.byName[name]; ok {
					continue
				}
				if ps := b.node(props.Content[i+1]); ps != nil {
					f := b.fieldOf(ps)
					fs.byName[name] = &f
				}
			}
		}
		if depth < 4 {
			for _, key := range []string{"allOf", "anyOf", "oneOf"} {
				if l := seqOf(get(s, key)); l != nil {
					for _, m := range l.Content {
						if mn := b.node(m); mn != nil {
							walk(mn, depth+1)
						}
					}
				}
			}
		}
	}
	walk(s, 0)
	if a := get(s, "additionalProperties"); a != nil && a.Kind == yaml.MappingNode {
		if as := b.node(a); as != nil {
			fs.other = b.fieldOf(as)
		}
	}
	if encoding != nil && encoding.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(encoding.Content); i += 2 {
			name, e := encoding.Content[i].Value, encoding.Content[i+1]
			f := fs.byName[name]
			if f == nil {
				c := fs.other
				f = &c
				fs.byName[name] = f
			}
			if ct := get(e, "contentType"); ct != nil {
				t := strings.ToLower(strings.TrimSpace(strings.Split(text(ct), ",")[0]))
				f.json = isJSONType(t)
			}
			if st := get(e, "style"); st != nil {
				f.style = text(st)
				f.explode = f.style == "form"
			}
			if ex := get(e, "explode"); ex != nil {
				f.explode = text(ex) == "true"
			}
		}
	}
	return fs
}

// fieldOf returns how to read a member of schema s.
func (b *builder) fieldOf(s *yaml.Node) field {
	f := field{shape: 'p', kinds: b.kinds(s, 0), style: "form", explode: true}
	switch {
	case hasType(s, "array"):
		f.shape, f.kinds = 'a', kindAny
		if it := get(s, "items"); it != nil {
			if in := b.node(it); in != nil {
				f.kinds = b.kinds(in, 0)
				f.json = hasType(in, "object") || hasType(in, "array")
				f.binary = b.shapeOf(in).binary
			}
		}
	case hasType(s, "object"):
		f.shape, f.json = 'o', true
	default:
		f.binary = b.shapeOf(s).binary
	}
	return f
}

// shape is what a media type's schema asks of a body.
type shape struct {
	trivial    bool // nothing: every value conforms
	stringOnly bool // a string, constrained by length at most
	binary     bool // a string marked binary (format, contentMediaType, contentEncoding)
}

// annotations are the keywords of a schema that assert nothing.
var annotations = []string{"title", "description", "default", "example", "examples", "readOnly", "writeOnly",
	"deprecated", "$comment", "xml", "externalDocs", "discriminator", "$id", "$anchor", "$schema", "$defs", "definitions"}

// shapeOf returns the shape of schema s.
func (b *builder) shapeOf(s *yaml.Node) shape {
	if s == nil {
		return shape{trivial: true}
	}
	if s.Kind == yaml.ScalarNode {
		return shape{trivial: s.Value == "true"}
	}
	if s.Kind != yaml.MappingNode {
		return shape{}
	}
	sh := shape{trivial: true, stringOnly: true}
	for i := 0; i+1 < len(s.Content); i += 2 {
		k, v := s.Content[i].Value, s.Content[i+1]
		switch {
		case strings.HasPrefix(k, "x-") || slices.Contains(annotations, k):
		case k == "type":
			sh.trivial = false
			if !(text(v) == "string" || v.Kind == yaml.SequenceNode && len(v.Content) == 1 && text(v.Content[0]) == "string") {
				sh.stringOnly = false
			}
		case k == "format":
			// An annotation unless the validator knows the format.
			if _, known := knownFormats[text(v)]; known {
				sh.trivial = false
			}
			if text(v) == "binary" {
				sh.binary = true
			}
		case k == "contentMediaType" || k == "contentEncoding":
			sh.binary = true
		case k == "minLength" || k == "maxLength":
			sh.trivial = false
		default:
			sh.trivial, sh.stringOnly = false, false
		}
	}
	sh.binary = sh.binary && sh.stringOnly
	return sh
}

// queryParams is a request's query, parsed once for its parameters.
type queryParams struct {
	raw    string
	op     *vop
	vals   url.Values
	parsed bool
}

// values returns the query's parameters, and adds the problem of a
// query that does not parse (once; what parsed is checked).
func (q *queryParams) values(ps *problems) url.Values {
	if !q.parsed {
		q.parsed = true
		var err error
		if q.vals, err = url.ParseQuery(q.raw); err != nil {
			ps.add("query", "", "the query string does not parse: "+err.Error())
		}
	}
	return q.vals
}

// checkQuery checks a query parameter.
func (p *vparam) checkQuery(ps *problems, q *queryParams) {
	vals := q.values(ps)
	if p.shape == 'o' && p.style == "deepObject" {
		obj := map[string]any{}
		for _, k := range sortedKeys(vals) {
			member, ok := strings.CutPrefix(k, p.name+"[")
			if !ok {
				continue
			}
			if !strings.HasSuffix(member, "]") || strings.ContainsAny(member[:len(member)-1], "[]") {
				ps.add("query", p.name, fmt.Sprintf("%.100q: a deepObject parameter's members are written %s[NAME], one level", k, p.name))
				return
			}
			member = member[:len(member)-1]
			obj[member] = p.fields.get(member).values(vals[k])
		}
		p.checkObject(ps, obj)
		return
	}
	if p.shape == 'o' && p.style == "form" && p.explode {
		// The members are the query's parameters the operation does not
		// declare otherwise.
		obj := map[string]any{}
		for _, k := range sortedKeys(vals) {
			if k == apiKeyQuery || slices.ContainsFunc(q.op.params, func(o *vparam) bool {
				return o != p && o.in == "query" && (o.name == k || o.style == "deepObject" && strings.HasPrefix(k, o.name+"["))
			}) {
				continue
			}
			obj[k] = p.fields.get(k).values(vals[k])
		}
		p.checkObject(ps, obj)
		return
	}
	p.presence(ps, vals[p.name])
}

// checkObject checks an object read from several of the query's
// parameters: absent when it has no member.
func (p *vparam) checkObject(ps *problems, obj map[string]any) {
	if len(obj) == 0 {
		if p.required {
			ps.add(p.in, p.name, fmt.Sprintf("the required %s parameter is missing", p.in))
		}
		return
	}
	if p.schema != nil {
		p.schema.validate(ps, p.in, p.name, obj)
	}
}

// values reads a member given as one or more texts: an array's items,
// else the text (a member given twice is an array, which a schema for
// one value refuses).
func (f *field) values(vs []string) any {
	if f.shape == 'a' || len(vs) > 1 {
		a := make([]any, len(vs))
		for i, v := range vs {
			a[i] = coerce(v, f.kinds)
		}
		return a
	}
	if len(vs) == 0 {
		return ""
	}
	return coerce(vs[0], f.kinds)
}

// checkPath checks a path parameter's value, written in its style.
func (p *vparam) checkPath(ps *problems, v string) {
	switch p.style {
	case "label":
		rest, ok := strings.CutPrefix(v, ".")
		if !ok {
			ps.add("path", p.name, "a label-style value starts with \".\"")
			return
		}
		v = rest
	case "matrix":
		rest, ok := strings.CutPrefix(v, ";")
		if !ok {
			ps.add("path", p.name, fmt.Sprintf("a matrix-style value starts with \";%s=\"", p.name))
			return
		}
		v = rest
	}
	p.check(ps, []string{v})
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

// check checks the values of a parameter that is present: one each
// time it is given, or an exploded query array's items.
func (p *vparam) check(ps *problems, vs []string) {
	if p.schema == nil {
		return
	}
	switch p.shape {
	case 'c':
		for _, v := range vs {
			if !isJSONType(p.media) {
				p.schema.validate(ps, p.in, p.name, v)
				continue
			}
			inst, err := decodeJSON([]byte(v), MaxDepth)
			if err != nil {
				ps.add(p.in, p.name, "the value is not valid JSON: "+err.Error())
				continue
			}
			if !p.schema.overBudget(ps, p.in, p.name, inst, len(v)) {
				p.schema.validate(ps, p.in, p.name, inst)
			}
		}
	case 'a':
		var items []string
		if p.in == "query" && p.explode && p.style != "deepObject" {
			items = vs
		} else {
			for _, v := range vs {
				if p.in == "header" {
					v = strings.TrimSpace(v)
				}
				var ok bool
				if items, ok = p.split(ps, v, items); !ok {
					return
				}
			}
		}
		a := make([]any, len(items))
		for i, x := range items {
			a[i] = coerce(x, p.items)
		}
		p.schema.validate(ps, p.in, p.name, a)
	case 'o':
		for _, v := range vs {
			if p.in == "header" {
				v = strings.TrimSpace(v)
			}
			parts, ok := p.split(ps, v, nil)
			if !ok {
				return
			}
			m := map[string]any{}
			if p.explode && (p.style == "simple" || p.style == "label" || p.style == "matrix") { // k=v
				for _, kv := range parts {
					k, x, _ := strings.Cut(kv, "=")
					m[k] = coerce(x, p.fields.get(k).kinds)
				}
			} else { // k,v,k,v
				if len(parts)%2 != 0 {
					ps.add(p.in, p.name, "an object's members are written as name,value pairs: one is left without its value")
					return
				}
				for i := 0; i+1 < len(parts); i += 2 {
					m[parts[i]] = coerce(parts[i+1], p.fields.get(parts[i]).kinds)
				}
			}
			p.schema.validate(ps, p.in, p.name, m)
		}
	case 'p':
		for _, v := range vs {
			if p.in == "header" {
				v = strings.TrimSpace(v)
			}
			if p.style == "matrix" {
				x, ok := strings.CutPrefix(v, p.name)
				if !ok || x != "" && x[0] != '=' {
					ps.add(p.in, p.name, fmt.Sprintf("a matrix-style value is written ;%s=VALUE", p.name))
					return
				}
				v = strings.TrimPrefix(x, "=")
			}
			p.schema.validate(ps, p.in, p.name, coerce(v, p.kinds))
		}
	}
}

// split splits an array's or object's value (v, without a label's "."
// or a matrix's ";") into its parts, in the parameter's style and
// explode, appending them to parts.
func (p *vparam) split(ps *problems, v string, parts []string) ([]string, bool) {
	if v == "" {
		return parts, true
	}
	sep := ","
	switch p.style {
	case "spaceDelimited":
		sep = " "
	case "pipeDelimited":
		sep = "|"
	case "label":
		if p.explode {
			sep = "."
		}
	case "matrix":
		if p.explode {
			// ;name=a;name=b for an array, ;k=v;k2=v2 for an object.
			for x := range strings.SplitSeq(v, ";") {
				if p.shape == 'a' {
					item, ok := strings.CutPrefix(x, p.name+"=")
					if !ok {
						ps.add(p.in, p.name, fmt.Sprintf("a matrix-style array is written ;%s=ITEM;%s=ITEM", p.name, p.name))
						return nil, false
					}
					x = item
				}
				parts = append(parts, x)
			}
			return parts, true
		}
		rest, ok := strings.CutPrefix(v, p.name+"=")
		if !ok {
			ps.add(p.in, p.name, fmt.Sprintf("a matrix-style value is written ;%s=VALUE", p.name))
			return nil, false
		}
		v = rest
	}
	for x := range strings.SplitSeq(v, sep) {
		if p.in == "header" {
			x = strings.TrimSpace(x)
		}
		parts = append(parts, x)
	}
	return parts, true
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
