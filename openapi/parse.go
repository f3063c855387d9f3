package openapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"

	yaml "github.com/pb33f/go-yaml"
	"github.com/pb33f/libopenapi"
	"github.com/pb33f/libopenapi/datamodel"
	"github.com/pb33f/libopenapi/index"

	"github.com/portico-gw/portico"
)

// Spec is what Portico takes from an API description: the API's
// identity, where its backend says it is served, and its operations.
type Spec struct {
	// OpenAPI is the version the document declares: "2.0" for Swagger,
	// or the value of its "openapi" field, such as "3.0.3" or "3.1.0".
	OpenAPI     string
	Title       string // info.title
	Version     string // info.version
	Description string // info.description
	// Tags are the names of the document's tags, then those its
	// operations use without declaring them, in order of appearance.
	Tags []string
	// Servers are the backend's base URLs: the servers' URLs with their
	// variables at their defaults, or for Swagger 2.0 each of schemes
	// (https when none) with host and basePath. They may be relative
	// ("/v1") when the document gives no host.
	Servers []string
	// Operations are the document's operations in order: paths as
	// written, and in each the methods in the order OpenAPI lists them
	// (get, put, post, delete, options, head, patch, trace). Webhooks
	// are not operations of the API and are left out.
	Operations []Operation
	// Document is the document as JSON: as given for a JSON document, and
	// for YAML the same tree with aliases and merge keys expanded. It is
	// what Portico stores, serves and exports from.
	Document []byte
}

// Operation is one method on one path of a document.
type Operation struct {
	Method string `json:"method"` // upper case, such as "GET"
	// Path is the path template as written, such as "/pets/{id}".
	Path string `json:"path"`
	// Pattern is the resource pattern the gateway matches for Path (see
	// portico.ValidateResourcePattern): each segment holding a template
	// expression is "*", such as "/pets/*", and a segment a resource
	// pattern cannot name literally (one with spaces, control characters
	// or a "*") is "*" too. Operations on different paths may share a
	// Pattern ("/pets/{id}" and "/pets/{id}.json").
	Pattern     string `json:"pattern"`
	OperationID string `json:"operation_id,omitempty"`
	Summary     string `json:"summary,omitempty"`
}

// Resource returns the operation's resource pattern with its method,
// such as "GET /pets/*".
func (o Operation) Resource() string { return o.Method + " " + o.Pattern }

// Parse reads an API description: Swagger 2.0, OpenAPI 3.0 or 3.1, in
// YAML or JSON (a document starting with "{" is read as JSON), whose
// $refs point inside it. It never reads a file or the network, and
// refuses what it cannot take whole with an *Error naming the place:
//   - a document over MaxDocumentBytes (portico.ETooLarge);
//   - YAML or JSON that does not parse, a key twice in a mapping, a
//     mapping key that is not a string;
//   - nesting deeper than MaxDepth, YAML aliases that expand the
//     document beyond about twice the size bound ("billion laughs"), an
//     alias inside its own anchor;
//   - a $ref outside the document (a file or a URL), a $ref to nothing,
//     to the whole document, or in a cycle of $refs that never reaches a
//     value (recursion through a schema's properties is fine);
//   - no "swagger: 2.0" or "openapi: 3.0.x/3.1.x" field, and the parts
//     Portico reads in a form OpenAPI does not allow: info and its title
//     and version, tags, servers (or host, basePath and schemes), paths,
//     path items, operations and their operationId (unique), summary,
//     tags and parameters, and path templates;
//   - what the parser (libopenapi) finds wrong when it builds its model,
//     but for circular references, which are legal in schemas.
//
// Parse checks the document as far as Portico uses it; it does not check
// every schema against the OpenAPI meta-schema.
func Parse(doc []byte) (spec *Spec, err error) {
	defer func() {
		// The parser is outside code reading outside input: should it
		// panic, the document is refused rather than the process lost.
		if p := recover(); p != nil {
			spec, err = nil, &Error{Code: portico.EInvalid, Message: "the parser failed on the document; check it with an OpenAPI validator"}
		}
	}()
	if len(doc) > MaxDocumentBytes {
		return nil, &Error{Code: portico.ETooLarge, Message: fmt.Sprintf("the document is %d bytes; the limit is %d (16 MiB)", len(doc), MaxDocumentBytes)}
	}
	doc = bytes.TrimPrefix(doc, []byte("\xef\xbb\xbf"))
	start := bytes.TrimLeft(doc, " \t\r\n")
	isJSON := len(start) > 0 && start[0] == '{'
	if isJSON {
		err = checkJSONSyntax(doc)
	} else {
		err = checkOneDocument(doc)
	}
	if err != nil {
		return nil, err
	}
	if n := countNodes(doc, isJSON); n > 2*MaxNodes {
		return nil, &Error{Code: portico.EInvalid, Message: fmt.Sprintf("the document holds about %d values, keys and items; Portico imports documents of up to %d", n, MaxNodes)}
	}
	d, err := newDocument(doc)
	if err != nil {
		return nil, err
	}
	root := d.GetSpecInfo().RootNode
	if root == nil || root.Kind != yaml.DocumentNode || len(root.Content) != 1 {
		return nil, &Error{Code: portico.EInvalid, Message: "the document is empty or holds more than one YAML document"}
	}
	top := root.Content[0]
	s := &scanner{}
	if err := s.scan(top, 0); err != nil {
		return nil, err
	}
	var normalized []byte
	if s.expand {
		// The parser reads a plain tree: the expanded one, as JSON.
		top = expandTree(top)
		normalized = appendJSON(nil, top, "", 0)
		if d, err = newDocument(normalized); err != nil {
			return nil, err
		}
	}
	c := &checker{root: top}
	if err := c.check(s.refs); err != nil {
		return nil, err
	}
	if err := buildModel(d, c.swagger); err != nil {
		return nil, err
	}
	spec = c.spec
	switch {
	case normalized != nil:
		spec.Document = normalized
	case isJSON:
		spec.Document = bytes.Clone(doc)
	default:
		spec.Document = appendJSON(nil, top, "", 0)
	}
	return spec, nil
}

// checkJSONSyntax refuses a document that starts like JSON but is not
// JSON, naming the line and column of the first error. (YAML would read
// some of these, such as a trailing comma; a JSON document's author
// wants to hear of them.)
func checkJSONSyntax(doc []byte) error {
	if json.Valid(doc) {
		return nil
	}
	var v json.RawMessage
	err := json.Unmarshal(doc, &v)
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return &Error{Code: portico.EInvalid, Message: "the document is not valid JSON"}
	}
	line, col := position(doc, int(se.Offset))
	return &Error{Code: portico.EInvalid, Line: line, Column: col, Message: "the document is not valid JSON: " + se.Error()}
}

// checkOneDocument refuses a YAML stream of more than one document (the
// parser would read the first and drop the rest): content after a line
// that starts with the marker "---" or "..." after content. Inside a
// scalar, such a line is indented or is not YAML.
func checkOneDocument(doc []byte) error {
	content, ended := false, 0
	refuse := func(line int) error {
		return &Error{Code: portico.EInvalid, Line: line, Column: 1, Message: "the document holds more than one YAML document; give one"}
	}
	for line, rest := 1, doc; len(rest) > 0; line++ {
		l, after, _ := bytes.Cut(rest, []byte("\n"))
		rest = after
		l = bytes.TrimRight(l, " \t\r")
		if t := bytes.TrimLeft(l, " \t"); len(t) == 0 || t[0] == '#' || l[0] == '%' {
			continue
		}
		if (bytes.HasPrefix(l, []byte("---")) || bytes.HasPrefix(l, []byte("..."))) &&
			(len(l) == 3 || l[3] == ' ' || l[3] == '\t') {
			inline := bytes.TrimSpace(l[3:])
			hasInline := len(inline) > 0 && inline[0] != '#'
			switch {
			case content && hasInline:
				return refuse(line)
			case content && ended == 0:
				ended = line
			case hasInline:
				content = true
			}
			continue
		}
		if ended > 0 {
			return refuse(ended)
		}
		content = true
	}
	return nil
}

// position returns the line and column (from 1, in characters) of byte
// offset off in doc.
func position(doc []byte, off int) (line, col int) {
	off = min(max(off, 0), len(doc))
	before := doc[:off]
	line = 1 + bytes.Count(before, []byte("\n"))
	lineStart := bytes.LastIndexByte(before, '\n') + 1
	return line, 1 + len([]rune(string(before[lineStart:])))
}

// newDocument gives doc to the parser, set never to follow a reference
// outside the document, not to log, and without its duplicate key scan
// (which takes time quadratic in a mapping's keys; the scanner does it).
func newDocument(doc []byte) (libopenapi.Document, error) {
	cfg := datamodel.NewDocumentConfiguration()
	cfg.Logger = slog.New(slog.DiscardHandler) // the default writes to stdout
	cfg.AllowFileReferences = false
	cfg.AllowRemoteReferences = false
	cfg.SkipJSONConversion = true
	cfg.SkipMetadataCollection = true
	d, err := libopenapi.NewDocumentWithConfiguration(doc, cfg)
	if err != nil {
		msg := err.Error()
		switch {
		case strings.Contains(msg, "spec type not supported"):
			msg = `the document has no "openapi" or "swagger" field at the top: it is not an OpenAPI or Swagger document`
		case strings.Contains(msg, "nothing in the spec"):
			msg = "the document is empty"
		case strings.Contains(msg, "spec is defined as") || strings.Contains(msg, "unable to extract version"):
			msg = "Portico reads OpenAPI 3.0 and 3.1 and Swagger 2.0; the document's version field names none of them (" + truncate(msg, 200) + ")"
		default:
			msg = "the document does not parse: " + truncate(msg, 500)
		}
		e := &Error{Code: portico.EInvalid, Message: msg}
		// The YAML parser says where as "at L8.C18" or, for a construct
		// it could not finish, "at L8.C18-L9.C3": where it stopped.
		if m := yamlPosition.FindAllStringSubmatch(err.Error(), -1); m != nil {
			last := m[len(m)-1]
			e.Line, _ = strconv.Atoi(last[1])
			e.Column, _ = strconv.Atoi(last[2])
		}
		return nil, e
	}
	return d, nil
}

var yamlPosition = regexp.MustCompile(`\bL([0-9]{1,9})\.C([0-9]{1,9})\b`)

// modelError turns what the parser says when it builds its model into a
// refusal, leaving out circular references, which schemas may have.
func modelError(err error) error {
	if err == nil {
		return nil
	}
	var msgs []string
	for _, e := range unwrapAll(err) {
		var re *index.ResolvingError
		if errors.As(e, &re) && re.CircularReference != nil {
			continue
		}
		msgs = append(msgs, e.Error())
	}
	if len(msgs) == 0 {
		return nil
	}
	return &Error{Code: portico.EInvalid, Message: truncate(strings.Join(msgs, "; "), 1000)}
}

// unwrapAll flattens errors.Join trees.
func unwrapAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unwrapAll(e)...)
		}
		return out
	}
	return []error{err}
}
