package openapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	yaml "github.com/pb33f/go-yaml"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// This file checks request bodies: the media type, then the body read
// as the media type says against its schema.

// maxFormParts bounds the parts of a multipart body and the fields of a
// form that Validate reads.
const maxFormParts = 1000

// checkBody checks a request's body against the operation's.
func (op *vop) checkBody(ps *problems, h http.Header, body []byte) {
	b := op.body
	if len(body) == 0 {
		if b != nil && b.required {
			ps.add("body", "", "the operation requires a request body")
		}
		return
	}
	if b == nil {
		ps.add("body", "", "this operation takes no body")
		return
	}
	if len(b.media) == 0 {
		return // a body of no declared media type: anything
	}
	cts := h["Content-Type"]
	if len(cts) != 1 {
		ps.add("header", "Content-Type", "a request body needs one Content-Type, one of "+b.types())
		return
	}
	typ, params, err := mime.ParseMediaType(cts[0])
	if err != nil {
		ps.add("header", "Content-Type", fmt.Sprintf("Content-Type %.100q is not a media type", cts[0]))
		return
	}
	if strings.Contains(typ, "*") {
		ps.add("header", "Content-Type", fmt.Sprintf("Content-Type %.100q is a range: a body has one media type, one of %s", typ, b.types()))
		return
	}
	m := b.match(typ)
	if m == nil {
		ps.add("header", "Content-Type", fmt.Sprintf("the operation takes no %.100s body: it takes %s", typ, b.types()))
		return
	}
	if m.schema == nil {
		return // no schema, or one every body conforms to
	}
	switch {
	case m.shape.binary:
		m.checkSize(ps, body)
	case isJSONType(typ):
		inst, err := decodeJSON(body, MaxDepth)
		if err != nil {
			ps.add("body", "", "the body is not valid JSON: "+err.Error())
			return
		}
		m.checkValue(ps, inst, len(body))
	case typ == "application/x-www-form-urlencoded":
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			ps.add("body", "", "the form does not parse: "+err.Error())
			return
		}
		if obj, ok := m.formObject(ps, vals); ok {
			m.checkValue(ps, obj, len(body))
		}
	case typ == "multipart/form-data":
		if obj, ok := m.multipartObject(ps, body, params["boundary"]); ok {
			m.checkValue(ps, obj, len(body))
		}
	case strings.HasPrefix(typ, "text/"):
		if cs := strings.ToLower(params["charset"]); cs != "" && cs != "utf-8" && cs != "us-ascii" {
			ps.add("header", "Content-Type", fmt.Sprintf("the gateway checks text bodies in UTF-8, not %.50s", cs))
			return
		}
		if !utf8.Valid(body) {
			ps.add("body", "", "the text body is not UTF-8")
			return
		}
		m.checkValue(ps, string(body), len(body))
	case m.shape.stringOnly:
		m.checkSize(ps, body)
	default:
		ps.add("body", "", fmt.Sprintf("the gateway cannot check a %.100s body against the operation's schema: "+
			"send one it reads (JSON, a form, text)", typ))
	}
}

// match returns the media type declared for a body of type typ: the
// same, else its range ("image/*"), else "*/*".
func (b *vbody) match(typ string) *vmedia {
	major, _, _ := strings.Cut(typ, "/")
	for _, want := range []string{typ, major + "/*", "*/*"} {
		if i := slices.IndexFunc(b.media, func(x *vmedia) bool { return x.typ == want }); i >= 0 {
			return b.media[i]
		}
	}
	return nil
}

func (b *vbody) types() string {
	ts := make([]string, len(b.media))
	for i, m := range b.media {
		ts[i] = m.typ
	}
	return truncate(strings.Join(ts, ", "), 200)
}

// checkValue checks the body (of size bytes) read as inst, within
// MaxRequestCost.
func (m *vmedia) checkValue(ps *problems, inst any, size int) {
	if !m.schema.overBudget(ps, "body", "", inst, size) {
		m.schema.validate(ps, "body", "", inst)
	}
}

// checkSize checks a binary body's size against the minLength and
// maxLength of its schema, counted in bytes.
func (m *vmedia) checkSize(ps *problems, body []byte) {
	s := m.schema.schema
	for s.Ref != nil && s.MinLength == nil && s.MaxLength == nil {
		s = s.Ref
	}
	if s.MinLength != nil && len(body) < *s.MinLength {
		ps.add("body", "", fmt.Sprintf("the body is %d bytes, under the %d of minLength", len(body), *s.MinLength))
	}
	if s.MaxLength != nil && len(body) > *s.MaxLength {
		ps.add("body", "", fmt.Sprintf("the body is %d bytes, over the %d of maxLength", len(body), *s.MaxLength))
	}
}

// formObject reads an application/x-www-form-urlencoded body's fields
// into an object, each by its field's style.
func (m *vmedia) formObject(ps *problems, vals url.Values) (map[string]any, bool) {
	if len(vals) > maxFormParts {
		ps.add("body", "", fmt.Sprintf("the form has over %d fields", maxFormParts))
		return nil, false
	}
	obj := map[string]any{}
	for _, k := range sortedKeys(vals) {
		vs := vals[k]
		if i := strings.IndexByte(k, '['); i > 0 && strings.HasSuffix(k, "]") && m.fields.get(k[:i]).style == "deepObject" {
			name, member := k[:i], k[i+1:len(k)-1]
			if strings.ContainsAny(member, "[]") {
				ps.add("body", "/"+escapeToken(name), fmt.Sprintf("%.100q: a deepObject field's members are written %s[NAME], one level", k, name))
				return nil, false
			}
			o, _ := obj[name].(map[string]any)
			if o == nil {
				o = map[string]any{}
				obj[name] = o
			}
			o[member] = (&field{shape: 'p', kinds: kindAny}).values(vs)
			continue
		}
		v, ok := m.fields.get(k).read(ps, k, vs)
		if !ok {
			return nil, false
		}
		obj[k] = v
	}
	return obj, true
}

// read reads a form field given as vs.
func (f *field) read(ps *problems, name string, vs []string) (any, bool) {
	at := "/" + escapeToken(name)
	one := func(v string) (any, bool) {
		switch {
		case f.json:
			inst, err := decodeJSON([]byte(v), MaxDepth-2)
			if err != nil {
				ps.add("body", at, "the field is not valid JSON: "+err.Error())
				return nil, false
			}
			return inst, true
		case f.binary:
			return v, true
		}
		return coerce(v, f.kinds), true
	}
	if f.shape != 'a' {
		if len(vs) != 1 {
			ps.add("body", at, fmt.Sprintf("the field is given %d times", len(vs)))
			return nil, false
		}
		return one(vs[0])
	}
	var items []string
	if f.explode && (f.style == "form" || f.style == "") {
		items = vs
	} else {
		sep := map[string]string{"spaceDelimited": " ", "pipeDelimited": "|", "tabDelimited": "\t"}[f.style]
		if sep == "" {
			sep = ","
		}
		for _, v := range vs {
			if v != "" {
				items = append(items, strings.Split(v, sep)...)
			}
		}
	}
	a := make([]any, 0, len(items))
	for _, x := range items {
		v, ok := one(x)
		if !ok {
			return nil, false
		}
		a = append(a, v)
	}
	return a, true
}

// multipartObject reads a multipart/form-data body's parts into an
// object of its fields: a part of type JSON, or for a field of object
// type, as JSON; a binary field as its bytes; another as text, by its
// field's types. A field given in several parts is an array.
func (m *vmedia) multipartObject(ps *problems, body []byte, boundary string) (map[string]any, bool) {
	if boundary == "" {
		ps.add("header", "Content-Type", "a multipart/form-data body needs its boundary in the Content-Type")
		return nil, false
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	parts := map[string][]any{}
	var names []string
	for n := 0; ; n++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			ps.add("body", "", "the multipart body does not parse: "+err.Error())
			return nil, false
		}
		if n >= maxFormParts {
			ps.add("body", "", fmt.Sprintf("the multipart body has over %d parts", maxFormParts))
			return nil, false
		}
		name := part.FormName()
		if name == "" {
			ps.add("body", "", "a part of the multipart body names no form field")
			return nil, false
		}
		data, err := io.ReadAll(part)
		if err != nil {
			ps.add("body", "", "the multipart body does not parse: "+err.Error())
			return nil, false
		}
		f := m.fields.get(name)
		at := "/" + escapeToken(name)
		var v any
		ct := part.Header.Get("Content-Type")
		pt, _, _ := mime.ParseMediaType(ct)
		switch {
		case f.binary:
			v = string(data)
		case isJSONType(pt) || f.json || f.shape == 'o':
			if ct != "" && !isJSONType(pt) {
				ps.add("body", at, fmt.Sprintf("the gateway cannot check a part of type %.100s against the field's schema", pt))
				return nil, false
			}
			inst, err := decodeJSON(data, MaxDepth-2)
			if err != nil {
				ps.add("body", at, "the part is not valid JSON: "+err.Error())
				return nil, false
			}
			v = inst
		default:
			v = coerce(string(data), f.kinds)
		}
		if _, ok := parts[name]; !ok {
			names = append(names, name)
		}
		parts[name] = append(parts[name], v)
	}
	obj := map[string]any{}
	for _, name := range names {
		vs := parts[name]
		if m.fields.get(name).shape == 'a' || len(vs) > 1 {
			obj[name] = vs
		} else {
			obj[name] = vs[0]
		}
	}
	return obj, true
}

// Formats.

// extraFormats are the formats OpenAPI defines that the schema library
// does not: the integer ranges.
var extraFormats = []*jsonschema.Format{
	intFormat("int32", 32),
	intFormat("int64", 64),
}

// knownFormats are the formats Validate asserts.
var knownFormats = map[string]bool{
	"json-pointer": true, "relative-json-pointer": true, "uuid": true, "duration": true, "period": true,
	"ipv4": true, "ipv6": true, "hostname": true, "email": true, "date": true, "time": true, "date-time": true,
	"uri": true, "iri": true, "uri-reference": true, "iri-reference": true, "uri-template": true, "semver": true,
	"regex": true, "int32": true, "int64": true,
}

// intFormat checks that a number is an integer within a signed range of
// bits.
func intFormat(name string, bits uint) *jsonschema.Format {
	lo := new(big.Int).Neg(new(big.Int).Lsh(big.NewInt(1), bits-1))
	hi := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), bits-1), big.NewInt(1))
	return &jsonschema.Format{Name: name, Validate: func(v any) error {
		n, ok := v.(json.Number)
		if !ok {
			return nil
		}
		if _, err := strconv.ParseInt(string(n), 10, int(bits)); err == nil {
			return nil
		}
		r, ok := new(big.Rat).SetString(string(n))
		if !ok {
			return nil // not a number: the type says so
		}
		if !r.IsInt() {
			return errors.New("not an integer")
		}
		if i := r.Num(); i.Cmp(lo) < 0 || i.Cmp(hi) > 0 {
			return fmt.Errorf("out of the %s range", name)
		}
		return nil
	}}
}

// Swagger 2.0 form fields.

// formEncodings returns, of a Swagger 2.0 document, the collectionFormat
// of each formData array parameter, by path, method and name: the
// conversion to OpenAPI 3 writes form fields into a schema, without it.
func formEncodings(sw *yaml.Node) map[[3]string]string {
	out := map[[3]string]string{}
	paths := get(sw, "paths")
	if paths == nil || paths.Kind != yaml.MappingNode {
		return out
	}
	shared := get(sw, "parameters")
	resolve := func(p *yaml.Node) *yaml.Node {
		if r := text(get(p, "$ref")); strings.HasPrefix(r, "#/parameters/") {
			name, _ := url.PathUnescape(strings.TrimPrefix(r, "#/parameters/"))
			return get(shared, strings.NewReplacer("~1", "/", "~0", "~").Replace(name))
		}
		return p
	}
	for i := 0; i+1 < len(paths.Content); i += 2 {
		tpl, item := paths.Content[i].Value, paths.Content[i+1]
		for _, m := range methods {
			op := get(item, m)
			if op == nil {
				continue
			}
			for _, list := range []*yaml.Node{seqOf(get(item, "parameters")), seqOf(get(op, "parameters"))} {
				if list == nil {
					continue
				}
				for _, p := range list.Content {
					p = resolve(p)
					if text(get(p, "in")) == "formData" && text(get(p, "type")) == "array" {
						out[[3]string{tpl, m, text(get(p, "name"))}] = text(get(p, "collectionFormat"))
					}
				}
			}
		}
	}
	return out
}

// setFormEncodings writes the collectionFormats formEncodings found as
// the encoding of the converted document's form bodies.
func setFormEncodings(root *yaml.Node, enc map[[3]string]string) {
	styles := map[string][2]string{"csv": {"form", "false"}, "ssv": {"spaceDelimited", "false"},
		"pipes": {"pipeDelimited", "false"}, "tsv": {"tabDelimited", "false"}, "multi": {"form", "true"}}
	for _, k := range slices.SortedFunc(func(yield func([3]string) bool) {
		for k := range enc {
			if !yield(k) {
				return
			}
		}
	}, func(a, b [3]string) int { return slices.Compare(a[:], b[:]) }) {
		st, ok := styles[enc[k]]
		if !ok {
			st = styles["csv"]
		}
		content := get(get(get(get(get(root, "paths"), k[0]), k[1]), "requestBody"), "content")
		if content == nil || content.Kind != yaml.MappingNode {
			continue
		}
		for i := 1; i < len(content.Content); i += 2 {
			mt := content.Content[i]
			e := get(mt, "encoding")
			if e == nil {
				e = mapping()
				set(mt, "encoding", e)
			}
			set(e, k[2], mapping("style", str(st[0]), "explode", boolean(st[1] == "true")))
		}
	}
}
