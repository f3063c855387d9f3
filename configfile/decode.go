package configfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/portico-gw/portico"
)

// Bounds of a file Decode takes.
const (
	// MaxFileBytes bounds a file: its documents are each at most
	// portico.MaxDocumentBytes of JSON, a little more as YAML.
	MaxFileBytes = 64 << 20
	// MaxValues bounds the values (mappings, sequences and scalars, keys
	// included) of a file, counted before it is parsed (valueBound): a
	// parsed value costs about 330 bytes of memory while the file is
	// read, so a file at the bound takes about 500 MB (measured: 485 MB
	// for 1.49 million list items), less than an imported document at
	// openapi.MaxNodes. A file of 10,000 APIs counts
	// about 460,000; with 20,000 applications of subscribers, their
	// users, keys and subscriptions, 1.1 million. A larger configuration
	// is applied in parts: a file of some sections leaves the others as
	// they are.
	MaxValues = 1_500_000
	// MaxDepth bounds nesting: an OpenAPI document nests at most 100
	// levels (package openapi's bound), a few more in a file.
	MaxDepth = 110
	// MaxItems bounds each list of entities, and each list in an entity.
	MaxItems = 100000
)

// Decode reads a file strictly: YAML (JSON is YAML too) of one document,
// within MaxFileBytes, MaxValues and MaxDepth, without anchors, aliases,
// merge keys or tags other than YAML's own; format_version 1; no field
// this package does not know, each value of the type its field takes; a
// name for every entity, unique in its kind (plans by name, groups by
// name and users by username in any case, APIs by name and version,
// applications by owner and name, keys by hash, an application's
// subscriptions by API); no name twice in a list of names. It refuses with
// an *Error naming the line and the field.
//
// Decode does not check what the admin API checks (a plan's limits, an
// API's context, …): Plan's Validate does, with the admin API's rules.
func Decode(b []byte) (*File, error) {
	if len(b) > MaxFileBytes {
		return nil, &Error{Code: portico.ETooLarge, Message: fmt.Sprintf("the file is %d bytes; the limit is %d (%d MiB)", len(b), MaxFileBytes, MaxFileBytes>>20)}
	}
	if n := valueBound(b); n > MaxValues {
		return nil, &Error{Code: portico.ETooLarge, Message: fmt.Sprintf("the file may hold up to %d values; the limit is %d", n, MaxValues)}
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, errorf(0, "", "the file is empty; it starts with format_version: %d", FormatVersion)
		}
		return nil, yamlError(err)
	}
	var more yaml.Node
	if err := dec.Decode(&more); err != io.EOF {
		if err != nil {
			return nil, yamlError(err)
		}
		return nil, errorf(more.Line, "", "the file holds more than one YAML document (a line \"---\"); give one")
	}
	if err := checkTree(&doc); err != nil {
		return nil, err
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, errorf(root.Line, "", "the file must be a mapping, starting with format_version: %d", FormatVersion)
	}
	if err := checkFormatVersion(root); err != nil {
		return nil, err
	}
	d := &decoder{lines: map[string]int{}}
	f := &File{}
	if err := d.value(root, reflect.ValueOf(f).Elem(), ""); err != nil {
		return nil, err
	}
	f.lines = d.lines
	if err := f.check(); err != nil {
		return nil, err
	}
	return f, nil
}

// valueBound returns a bound of the number of values (the nodes the
// YAML parser makes: mappings, sequences and scalars, keys included) in
// the YAML b, in one pass without allocating, from the indicators that
// start them: the root; a ":" (a key and its value) and a "?" (an
// explicit key and its value), wherever they are; a block sequence's "-"
// followed by a space or a line's end (an item); a flow sequence's "["
// (itself and a first item), a flow mapping's "{" (itself and a first
// key given alone, with its empty value) and a ","  (the next item, or
// key and empty value). Every YAML construct that makes a node starts
// with one of these, at the counts given or fewer (a single-pair mapping
// in a flow sequence, [a: 1], makes three nodes of "," and ":"); those
// inside scalars and comments count too, which only raises the bound
// (a URL's colons, a description's commas).
func valueBound(b []byte) int {
	n := 1
	for i, c := range b {
		switch c {
		case '[', ',', ':', '?':
			n += 2
		case '{':
			n += 3
		case '-':
			if i+1 == len(b) || b[i+1] == ' ' || b[i+1] == '\t' || b[i+1] == '\n' || b[i+1] == '\r' {
				n++
			}
		}
	}
	return n
}

var yamlLine = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// yamlError turns a parse error of the YAML library into an *Error with
// the line it names.
func yamlError(err error) error {
	msg := strings.TrimSpace(err.Error())
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	return errorf(line, "", "the file is not valid YAML: %s", truncate(msg, 200))
}

// checkTree refuses what a file may not hold before anything is decoded:
// nesting deeper than MaxDepth, anchors and aliases, merge keys, tags
// other than YAML's own, mapping keys that are not plain scalars or given
// twice.
func checkTree(doc *yaml.Node) error {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return errorf(doc.Line, "", "the file is empty; it starts with format_version: %d", FormatVersion)
	}
	type item struct {
		n     *yaml.Node
		depth int
	}
	stack := []item{{doc.Content[0], 1}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n := it.n
		if it.depth > MaxDepth {
			return errorf(n.Line, "", "the file nests deeper than %d levels", MaxDepth)
		}
		if n.Kind == yaml.AliasNode {
			return errorf(n.Line, "", "aliases (*%s) are not taken: write the value out", truncate(n.Value, 40))
		}
		if n.Anchor != "" {
			return errorf(n.Line, "", "anchors (&%s) are not taken: write each value out", truncate(n.Anchor, 40))
		}
		switch n.Kind {
		case yaml.MappingNode:
			if t := n.ShortTag(); t != "!!map" {
				return errorf(n.Line, "", "the tag %s is not taken", truncate(t, 40))
			}
			seen := make(map[string]int, len(n.Content)/2)
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				if k.Kind != yaml.ScalarNode || k.Anchor != "" {
					return errorf(k.Line, "", "a mapping key must be a plain value")
				}
				switch k.ShortTag() {
				case "!!merge":
					return errorf(k.Line, "", "merge keys (<<) are not taken: write each value out")
				case "!!str", "!!int", "!!float", "!!bool", "!!null", "!!timestamp":
				default:
					return errorf(k.Line, "", "the tag %s is not taken", truncate(k.ShortTag(), 40))
				}
				if first, ok := seen[k.Value]; ok {
					return errorf(k.Line, "", "the key %s is given twice in a mapping (first at line %d)", quoteValue(k.Value), first)
				}
				seen[k.Value] = k.Line
				stack = append(stack, item{n.Content[i+1], it.depth + 1})
			}
		case yaml.SequenceNode:
			if t := n.ShortTag(); t != "!!seq" {
				return errorf(n.Line, "", "the tag %s is not taken", truncate(t, 40))
			}
			for _, c := range n.Content {
				stack = append(stack, item{c, it.depth + 1})
			}
		case yaml.ScalarNode:
			switch t := n.ShortTag(); t {
			case "!!str", "!!int", "!!float", "!!bool", "!!null", "!!timestamp":
			default:
				return errorf(n.Line, "", "the tag %s is not taken", truncate(t, 40))
			}
		}
	}
	return nil
}

// checkFormatVersion checks format_version first: a file of another
// version is refused as such, not for the fields this version lacks.
func checkFormatVersion(root *yaml.Node) error {
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "format_version" {
			continue
		}
		v := root.Content[i+1]
		n, err := strconv.Atoi(v.Value)
		if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int" || err != nil {
			return errorf(v.Line, "format_version", "format_version must be the number %d", FormatVersion)
		}
		if n != FormatVersion {
			return errorf(v.Line, "format_version", "format_version %d is not supported: this Portico reads and writes format_version %d", n, FormatVersion)
		}
		return nil
	}
	return errorf(root.Line, "format_version", "format_version is required: start the file with format_version: %d", FormatVersion)
}

// decoder decodes a checked node tree into Go values by their json tags,
// and remembers the line of each field it decodes.
type decoder struct {
	lines map[string]int
}

var (
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	contentType     = reflect.TypeFor[Content]()
)

func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) error {
	if path != "" {
		d.lines[path] = n.Line
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		v.SetZero()
		return nil
	}
	if v.Kind() != reflect.Pointer && v.Addr().Type().Implements(unmarshalerType) {
		j, err := appendNodeJSON(nil, n)
		if err != nil {
			return located(err, n.Line, path)
		}
		if v.Type() == contentType && n.Kind == yaml.MappingNode {
			// A document as a mapping: appendNodeJSON writes canonical
			// JSON already (the tree is checked: no key twice, no
			// deeper than MaxDepth), which Content.UnmarshalJSON would
			// only read into a second tree to write again.
			v.Set(reflect.ValueOf(Content{json: true, b: j}))
			return nil
		}
		if err := v.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(j); err != nil {
			return errorf(n.Line, path, "%s", unmarshalMessage(path, err))
		}
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		if err := d.value(n, p.Elem(), path); err != nil {
			return err
		}
		v.Set(p)
		return nil
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return errorf(n.Line, path, "%s must be a mapping, not %s", nameOf(path), kindOf(n))
		}
		fields := fieldsOf(v.Type())
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			f, ok := fields.byName[k.Value]
			p := join(path, k.Value)
			if !ok {
				return errorf(k.Line, p, "unknown field %s%s", quoteValue(k.Value), fields.hint(k.Value))
			}
			if err := d.value(n.Content[i+1], v.FieldByIndex(f), p); err != nil {
				return err
			}
		}
		return nil
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return errorf(n.Line, path, "%s must be a list, not %s", nameOf(path), kindOf(n))
		}
		if len(n.Content) > MaxItems {
			return errorf(n.Line, path, "%s has %d items; the limit is %d", nameOf(path), len(n.Content), MaxItems)
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			if err := d.value(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return errorf(n.Line, path, "%s must be %s, not %s", nameOf(path), kindName(v.Kind()), kindOf(n))
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(n.Value)
		return nil
	case reflect.Bool:
		b, err := strconv.ParseBool(n.Value)
		if n.ShortTag() != "!!bool" || err != nil {
			return errorf(n.Line, path, "%s must be true or false, not %s", nameOf(path), quoteValue(n.Value))
		}
		v.SetBool(b)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var i int64
		if n.ShortTag() != "!!int" || n.Decode(&i) != nil || v.OverflowInt(i) {
			return errorf(n.Line, path, "%s must be an integer (of %d bits), not %s", nameOf(path), v.Type().Bits(), quoteValue(n.Value))
		}
		v.SetInt(i)
		return nil
	}
	return fmt.Errorf("configfile: cannot decode into %s", v.Type()) // a type this package does not use
}

// located gives an *Error without a place the line and field of where
// it happened.
func located(err error, line int, path string) error {
	var e *Error
	if errors.As(err, &e) {
		c := *e
		if c.Line == 0 {
			c.Line = line
		}
		if c.Field == "" {
			c.Field = path
		}
		return &c
	}
	return errorf(line, path, "%v", err)
}

// unmarshalMessage words an UnmarshalJSON error of the field at path.
func unmarshalMessage(path string, err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("%s must not be %s", nameOf(path), te.Value)
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return nameOf(path) + ": " + strings.TrimPrefix(err.Error(), "json: ")
}

// nameOf returns the last name of path, without indexes: "url" of
// "apis[0].endpoint.targets[1].url".
func nameOf(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		path = path[i+1:]
	}
	if i := strings.IndexByte(path, '['); i > 0 {
		path = path[:i]
	}
	if path == "" {
		return "the file"
	}
	return path
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func kindOf(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return quoteValue(n.Value)
}

func kindName(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	}
	return "a number"
}

// structFields are the fields of a struct type by json name.
type structFields struct {
	byName map[string][]int
	names  []string
}

// hint suggests the field meant by an unknown name given in another case
// or with dashes.
func (f *structFields) hint(name string) string {
	want := strings.ReplaceAll(strings.ToLower(name), "-", "_")
	for _, n := range f.names {
		if n == want {
			return fmt.Sprintf(" (did you mean %q?)", n)
		}
	}
	return "; known fields: " + strings.Join(f.names, ", ")
}

var fieldCache sync.Map // reflect.Type → *structFields

// fieldsOf returns the fields of struct type t by their json names, as
// encoding/json would take them: embedded structs' fields promoted,
// fields tagged "-" and unexported fields left out.
func fieldsOf(t reflect.Type) *structFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*structFields)
	}
	f := &structFields{byName: map[string][]int{}}
	var walk func(t reflect.Type, index []int)
	walk = func(t reflect.Type, index []int) {
		for i := range t.NumField() {
			sf := t.Field(i)
			idx := append(append([]int(nil), index...), i)
			tag := sf.Tag.Get("json")
			name, _, _ := strings.Cut(tag, ",")
			if sf.Anonymous && name == "" && sf.Type.Kind() == reflect.Struct {
				walk(sf.Type, idx)
				continue
			}
			if !sf.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			f.byName[name] = idx
			f.names = append(f.names, name)
		}
	}
	walk(t, nil)
	fieldCache.Store(t, f)
	return f
}
