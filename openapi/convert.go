package openapi

import (
	"slices"
	"strings"

	yaml "github.com/pb33f/go-yaml"
)

// This file brings a stored document to OpenAPI 3.1 for Export: Swagger
// 2.0 is converted, OpenAPI 3.0's schemas are upgraded to JSON Schema
// 2020-12 as 3.1 reads them. Servers and security are left to Export,
// which replaces them.

// fromSwagger returns the OpenAPI 3.1 form of a Swagger 2.0 document.
func fromSwagger(sw *yaml.Node) *yaml.Node {
	c := &swaggerConv{
		root:     sw,
		consumes: mediaTypes(get(sw, "consumes")),
		produces: mediaTypes(get(sw, "produces")),
	}
	out := mapping("openapi", str("3.1.0"))
	comps := mapping()
	for i := 0; i+1 < len(sw.Content); i += 2 {
		k, v := sw.Content[i].Value, sw.Content[i+1]
		switch {
		case k == "paths" && v.Kind == yaml.MappingNode:
			set(out, "paths", c.paths(v))
		case k == "definitions" && v.Kind == yaml.MappingNode:
			schemas := mapping()
			for j := 0; j+1 < len(v.Content); j += 2 {
				set(schemas, v.Content[j].Value, upgradeSchema(v.Content[j+1]))
			}
			set(comps, "schemas", schemas)
		case k == "parameters" && v.Kind == yaml.MappingNode:
			params, bodies := mapping(), mapping()
			for j := 0; j+1 < len(v.Content); j += 2 {
				name, p := v.Content[j].Value, v.Content[j+1]
				switch in := get(p, "in"); {
				case in == nil:
				case in.Value == "body":
					set(bodies, name, c.requestBody(p))
				case in.Value != "formData": // form fields are written into each operation's body
					set(params, name, c.parameter(p))
				}
			}
			if len(params.Content) > 0 {
				set(comps, "parameters", params)
			}
			if len(bodies.Content) > 0 {
				set(comps, "requestBodies", bodies)
			}
		case k == "responses" && v.Kind == yaml.MappingNode:
			rs := mapping()
			for j := 0; j+1 < len(v.Content); j += 2 {
				set(rs, v.Content[j].Value, c.response(v.Content[j+1], c.produces))
			}
			set(comps, "responses", rs)
		case k == "info" || k == "tags" || k == "externalDocs" || strings.HasPrefix(k, "x-"):
			set(out, k, v)
		}
	}
	if len(comps.Content) > 0 {
		set(out, "components", comps)
	}
	rewriteRefs(out, c.isBody)
	return out
}

type swaggerConv struct {
	root               *yaml.Node
	consumes, produces []string
}

// isBody reports whether "#/parameters/<name>" is a body parameter.
func (c *swaggerConv) isBody(name string) bool {
	in := get(get(get(c.root, "parameters"), name), "in")
	return in != nil && in.Value == "body"
}

// shared returns the global parameter a "#/parameters/<name>" $ref names.
func (c *swaggerConv) shared(ref string) (name string, p *yaml.Node) {
	name, ok := strings.CutPrefix(ref, "#/parameters/")
	if !ok {
		return "", nil
	}
	name = strings.ReplaceAll(strings.ReplaceAll(name, "~1", "/"), "~0", "~")
	return name, get(get(c.root, "parameters"), name)
}

func mediaTypes(n *yaml.Node) []string {
	var out []string
	if n != nil && n.Kind == yaml.SequenceNode {
		for _, x := range n.Content {
			out = append(out, x.Value)
		}
	}
	return out
}

func orJSON(types []string) []string {
	if len(types) == 0 {
		return []string{"application/json"}
	}
	return types
}

func (c *swaggerConv) paths(paths *yaml.Node) *yaml.Node {
	out := mapping()
	for i := 0; i+1 < len(paths.Content); i += 2 {
		k, item := paths.Content[i].Value, paths.Content[i+1]
		if item.Kind != yaml.MappingNode {
			continue
		}
		if r := get(item, "$ref"); r != nil {
			set(out, k, mapping("$ref", str(r.Value)))
			continue
		}
		shared := get(item, "parameters")
		pi := mapping()
		for j := 0; j+1 < len(item.Content); j += 2 {
			key, v := item.Content[j].Value, item.Content[j+1]
			switch {
			case slices.Contains(methods, key) && v.Kind == yaml.MappingNode:
				set(pi, key, c.operation(v, shared))
			case strings.HasPrefix(key, "x-"):
				set(pi, key, v)
			}
		}
		set(out, k, pi)
	}
	return out
}

// operation converts an operation; shared are its path item's
// parameters, which it inherits unless it has its own of the same name
// and place.
func (c *swaggerConv) operation(op, shared *yaml.Node) *yaml.Node {
	consumes := orJSON(c.consumes)
	if v := get(op, "consumes"); v != nil {
		consumes = orJSON(mediaTypes(v))
	}
	produces := c.produces
	if v := get(op, "produces"); v != nil {
		produces = mediaTypes(v)
	}
	// The parameters, resolved where they are shared ones, by name and place.
	type param struct {
		ref  string // the shared parameter's name, if a $ref
		node *yaml.Node
	}
	var params []param
	addParams := func(list *yaml.Node, override bool) {
		if list == nil || list.Kind != yaml.SequenceNode {
			return
		}
		for _, p := range list.Content {
			pr := param{node: p}
			if r := get(p, "$ref"); r != nil {
				pr.ref, pr.node = c.shared(r.Value)
				if pr.node == nil {
					continue
				}
			}
			key := func(n *yaml.Node) string { return text(get(n, "in")) + " " + text(get(n, "name")) }
			i := slices.IndexFunc(params, func(q param) bool { return key(q.node) == key(pr.node) })
			switch {
			case i < 0:
				params = append(params, pr)
			case override:
				params[i] = pr
			}
		}
	}
	addParams(shared, false)
	addParams(get(op, "parameters"), true)

	out := mapping()
	var list []*yaml.Node
	var body *yaml.Node
	form := mapping("type", str("object"), "properties", mapping())
	var required []*yaml.Node
	file := false
	for _, p := range params {
		switch text(get(p.node, "in")) {
		case "body":
			if p.ref != "" {
				body = mapping("$ref", str("#/components/requestBodies/"+escape(p.ref)))
			} else {
				body = c.requestBodyFor(p.node, consumes)
			}
		case "formData":
			name := text(get(p.node, "name"))
			s := paramSchema(p.node)
			if t := get(p.node, "type"); t != nil && t.Value == "file" {
				file = true
			}
			if d := get(p.node, "description"); d != nil {
				set(s, "description", d)
			}
			set(get(form, "properties"), name, s)
			if r := get(p.node, "required"); r != nil && r.Value == "true" {
				required = append(required, str(name))
			}
		default:
			if p.ref != "" {
				list = append(list, mapping("$ref", str("#/components/parameters/"+escape(p.ref))))
			} else {
				list = append(list, c.parameter(p.node))
			}
		}
	}
	if len(get(form, "properties").Content) > 0 {
		if len(required) > 0 {
			set(form, "required", seq(required...))
		}
		ct := "application/x-www-form-urlencoded"
		if file || slices.Contains(consumes, "multipart/form-data") {
			ct = "multipart/form-data"
		}
		body = mapping("content", mapping(ct, mapping("schema", form)))
	}
	for i := 0; i+1 < len(op.Content); i += 2 {
		k, v := op.Content[i].Value, op.Content[i+1]
		switch {
		case k == "parameters":
			if len(list) > 0 {
				set(out, "parameters", seq(list...))
			}
			if body != nil {
				set(out, "requestBody", body)
			}
		case k == "responses" && v.Kind == yaml.MappingNode:
			rs := mapping()
			for j := 0; j+1 < len(v.Content); j += 2 {
				set(rs, v.Content[j].Value, c.response(v.Content[j+1], produces))
			}
			set(out, "responses", rs)
		case k == "tags" || k == "summary" || k == "description" || k == "externalDocs" ||
			k == "operationId" || k == "deprecated" || strings.HasPrefix(k, "x-"):
			set(out, k, v)
		}
	}
	if get(op, "parameters") == nil { // inherited only
		if len(list) > 0 {
			set(out, "parameters", seq(list...))
		}
		if body != nil {
			set(out, "requestBody", body)
		}
	}
	return out
}

func (c *swaggerConv) requestBody(p *yaml.Node) *yaml.Node {
	return c.requestBodyFor(p, orJSON(c.consumes))
}

func (c *swaggerConv) requestBodyFor(p *yaml.Node, consumes []string) *yaml.Node {
	out := mapping()
	if d := get(p, "description"); d != nil {
		set(out, "description", d)
	}
	content := mapping()
	schema := get(p, "schema")
	if schema == nil {
		schema = mapping()
	}
	for _, ct := range consumes {
		set(content, ct, mapping("schema", upgradeSchema(schema)))
	}
	set(out, "content", content)
	if r := get(p, "required"); r != nil {
		set(out, "required", r)
	}
	return out
}

// parameter converts a query, header or path parameter.
func (c *swaggerConv) parameter(p *yaml.Node) *yaml.Node {
	out := mapping()
	for _, k := range []string{"name", "in", "description", "required", "allowEmptyValue"} {
		if v := get(p, k); v != nil {
			set(out, k, v)
		}
	}
	if in := get(p, "in"); in != nil && in.Value == "path" {
		set(out, "required", boolean(true))
	}
	switch cf := get(p, "collectionFormat"); {
	case cf == nil:
	case cf.Value == "multi":
		set(out, "style", str("form"))
		set(out, "explode", boolean(true))
	case cf.Value == "ssv":
		set(out, "style", str("spaceDelimited"))
		set(out, "explode", boolean(false))
	case cf.Value == "pipes":
		set(out, "style", str("pipeDelimited"))
		set(out, "explode", boolean(false))
	case cf.Value == "csv":
		set(out, "explode", boolean(false))
	}
	set(out, "schema", paramSchema(p))
	for i := 0; i+1 < len(p.Content); i += 2 {
		if k := p.Content[i].Value; strings.HasPrefix(k, "x-") {
			set(out, k, p.Content[i+1])
		}
	}
	return out
}

// schemaKeys are the keywords a Swagger 2.0 parameter, header or items
// object shares with a schema.
var schemaKeys = []string{"type", "format", "items", "default", "maximum", "exclusiveMaximum", "minimum",
	"exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems", "minItems", "uniqueItems", "enum", "multipleOf"}

// paramSchema returns the schema of a Swagger 2.0 parameter, header or
// items object.
func paramSchema(p *yaml.Node) *yaml.Node {
	s := mapping()
	for _, k := range schemaKeys {
		v := get(p, k)
		switch {
		case v == nil:
		case k == "items" && v.Kind == yaml.MappingNode:
			set(s, k, paramSchema(v))
		default:
			set(s, k, v)
		}
	}
	return upgradeSchema(s)
}

func (c *swaggerConv) response(r *yaml.Node, produces []string) *yaml.Node {
	if ref := get(r, "$ref"); ref != nil {
		return mapping("$ref", str(ref.Value))
	}
	out := mapping()
	d := get(r, "description")
	if d == nil {
		d = str("")
	}
	set(out, "description", d)
	if hs := get(r, "headers"); hs != nil && hs.Kind == yaml.MappingNode {
		headers := mapping()
		for i := 0; i+1 < len(hs.Content); i += 2 {
			h := hs.Content[i+1]
			oh := mapping()
			if hd := get(h, "description"); hd != nil {
				set(oh, "description", hd)
			}
			set(oh, "schema", paramSchema(h))
			set(headers, hs.Content[i].Value, oh)
		}
		set(out, "headers", headers)
	}
	if s := get(r, "schema"); s != nil {
		content := mapping()
		examples := get(r, "examples")
		for _, ct := range orJSON(produces) {
			mt := mapping("schema", upgradeSchema(s))
			if ex := get(examples, ct); ex != nil {
				set(mt, "example", ex)
			}
			set(content, ct, mt)
		}
		set(out, "content", content)
	}
	for i := 0; i+1 < len(r.Content); i += 2 {
		if k := r.Content[i].Value; strings.HasPrefix(k, "x-") {
			set(out, k, r.Content[i+1])
		}
	}
	return out
}

// rewriteRefs points the $refs of a converted document at components.
func rewriteRefs(n *yaml.Node, isBody func(string) bool) {
	switch n.Kind {
	case yaml.SequenceNode:
		for _, c := range n.Content {
			rewriteRefs(c, isBody)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "$ref" && v.Kind == yaml.ScalarNode {
				if rest, ok := strings.CutPrefix(v.Value, "#/definitions/"); ok {
					n.Content[i+1] = str("#/components/schemas/" + rest)
				} else if rest, ok := strings.CutPrefix(v.Value, "#/responses/"); ok {
					n.Content[i+1] = str("#/components/responses/" + rest)
				} else if rest, ok := strings.CutPrefix(v.Value, "#/parameters/"); ok {
					to := "#/components/parameters/"
					if isBody(strings.ReplaceAll(strings.ReplaceAll(rest, "~1", "/"), "~0", "~")) {
						to = "#/components/requestBodies/"
					}
					n.Content[i+1] = str(to + rest)
				}
				continue
			}
			rewriteRefs(v, isBody)
		}
	}
}

// escape escapes a name for a JSON pointer.
func escape(name string) string {
	return strings.ReplaceAll(strings.ReplaceAll(name, "~", "~0"), "/", "~1")
}

// upgrade30 upgrades the schemas of an OpenAPI 3.0 document, in place,
// to the JSON Schema OpenAPI 3.1 uses.
func upgrade30(n *yaml.Node) {
	switch n.Kind {
	case yaml.SequenceNode:
		for _, c := range n.Content {
			upgrade30(c)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i].Value, n.Content[i+1]
			switch {
			case k == "schema":
				n.Content[i+1] = upgradeSchema(v)
			case k == "schemas" && v.Kind == yaml.MappingNode:
				for j := 1; j < len(v.Content); j += 2 {
					v.Content[j] = upgradeSchema(v.Content[j])
				}
			case k == "example" || k == "examples" || strings.HasPrefix(k, "x-"):
				// values, not description
			default:
				upgrade30(v)
			}
		}
	}
}

// upgradeSchema returns s, changed in place where Swagger 2.0 and
// OpenAPI 3.0 schemas differ from JSON Schema 2020-12: nullable and
// x-nullable become a "null" type, boolean exclusiveMinimum and
// exclusiveMaximum take their bound's value, type "file" is a binary
// string, a discriminator's property name a discriminator object, and
// an items list prefixItems. It recurses into subschemas.
func upgradeSchema(s *yaml.Node) *yaml.Node {
	if s == nil || s.Kind != yaml.MappingNode {
		return s
	}
	for _, key := range []string{"nullable", "x-nullable"} {
		if v := del(s, key); v != nil && v.Value == "true" {
			switch t := get(s, "type"); {
			case t == nil:
			case t.Kind == yaml.ScalarNode:
				set(s, "type", seq(str(t.Value), str("null")))
			case t.Kind == yaml.SequenceNode && !slices.ContainsFunc(t.Content, func(x *yaml.Node) bool { return x.Value == "null" }):
				t.Content = append(t.Content, str("null"))
			}
		}
	}
	for _, b := range [][2]string{{"exclusiveMinimum", "minimum"}, {"exclusiveMaximum", "maximum"}} {
		if ex := get(s, b[0]); ex != nil && ex.Tag == "!!bool" {
			bound := del(s, b[1])
			del(s, b[0])
			if ex.Value == "true" && bound != nil {
				set(s, b[0], bound)
			} else if bound != nil {
				set(s, b[1], bound)
			}
		}
	}
	if t := get(s, "type"); t != nil && t.Kind == yaml.ScalarNode && t.Value == "file" {
		set(s, "type", str("string"))
		set(s, "format", str("binary"))
	}
	if d := get(s, "discriminator"); d != nil && d.Kind == yaml.ScalarNode {
		set(s, "discriminator", mapping("propertyName", str(d.Value)))
	}
	if it := get(s, "items"); it != nil && it.Kind == yaml.SequenceNode {
		del(s, "items")
		set(s, "prefixItems", it)
	}
	for i := 0; i+1 < len(s.Content); i += 2 {
		k, v := s.Content[i].Value, s.Content[i+1]
		switch k {
		case "properties", "patternProperties", "definitions", "$defs", "dependentSchemas":
			if v.Kind == yaml.MappingNode {
				for j := 1; j < len(v.Content); j += 2 {
					v.Content[j] = upgradeSchema(v.Content[j])
				}
			}
		case "allOf", "anyOf", "oneOf", "prefixItems":
			if v.Kind == yaml.SequenceNode {
				for j := range v.Content {
					v.Content[j] = upgradeSchema(v.Content[j])
				}
			}
		case "items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames",
			"unevaluatedItems", "unevaluatedProperties", "additionalItems":
			s.Content[i+1] = upgradeSchema(v)
		}
	}
	return s
}
