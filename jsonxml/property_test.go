package jsonxml_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/portico-gw/portico/jsonxml"
)

// Property tests on generated documents, from fixed seeds (a failure
// prints the document; the seed and index reproduce it).

// deep lets the later steps of a round trip nest deeper than the input:
// XMLToJSON may double the depth (doc.go).
var deep = jsonxml.Options{MaxDepth: 1 << 20}

// TestJSONRoundTrip: JSON → XML → JSON gives the same JSON value, on
// generated JSON values; the XML is namespace well-formed to encoding/xml;
// and XML → JSON → XML gives that XML again.
func TestJSONRoundTrip(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		g := jsonGen{r: rand.New(rand.NewPCG(seed, 0))}
		for i := range 400 {
			in := g.document()
			if err := checkJSONRoundTrip(in, jsonxml.Options{}); err != nil {
				t.Fatalf("seed %d, document %d: %v\n%s", seed, i, err, in)
			}
		}
	}
}

// TestXMLRoundTrip: XML → JSON → XML → JSON gives the same JSON value
// twice, on generated XML (attributes, namespaces, nesting, repeated
// elements, mixed content, markers), and from the XML of the second step
// on XML and JSON are fixed points, byte for byte.
func TestXMLRoundTrip(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		g := xmlGen{r: rand.New(rand.NewPCG(seed, 1))}
		for i := range 400 {
			in := g.document(false)
			if _, _, err := checkXMLRoundTrip(in, jsonxml.Options{}); err != nil {
				t.Fatalf("seed %d, document %d: %v\n%s", seed, i, err, in)
			}
		}
	}
}

// TestXMLDataRoundTrip: a document of data (no mixed content, repeated
// elements side by side, no comments, written as JSONToXML writes) comes
// back as written.
func TestXMLDataRoundTrip(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		g := xmlGen{r: rand.New(rand.NewPCG(seed, 2))}
		for i := range 400 {
			in := g.document(true)
			_, back, err := checkXMLRoundTrip(in, jsonxml.Options{Root: "doc"})
			if err != nil {
				t.Fatalf("seed %d, document %d: %v\n%s", seed, i, err, in)
			}
			if back != in {
				t.Fatalf("seed %d, document %d: changed\n got %s\nwant %s", seed, i, back, in)
			}
		}
	}
}

// checkJSONRoundTrip checks the JSON → XML → JSON properties on in, which
// JSONToXML must take.
func checkJSONRoundTrip(in string, opts jsonxml.Options) error {
	var x bytes.Buffer
	if err := jsonxml.JSONToXML(&x, strings.NewReader(in), opts); err != nil {
		return fmt.Errorf("JSONToXML: %v", err)
	}
	if err := wellFormed(x.String()); err != nil {
		return fmt.Errorf("encoding/xml refuses %s: %v", x.String(), err)
	}
	var j bytes.Buffer
	if err := jsonxml.XMLToJSON(&j, bytes.NewReader(x.Bytes()), deep); err != nil {
		return fmt.Errorf("XMLToJSON(%s): %v", x.String(), err)
	}
	if err := sameJSON(in, j.String()); err != nil {
		return fmt.Errorf("JSON → XML → JSON: %v\nXML: %s", err, x.String())
	}
	opts.MaxDepth = deep.MaxDepth
	var x2 bytes.Buffer
	if err := jsonxml.JSONToXML(&x2, bytes.NewReader(j.Bytes()), opts); err != nil {
		return fmt.Errorf("JSONToXML(%s): %v", j.String(), err)
	}
	if x2.String() != x.String() {
		return fmt.Errorf("XML → JSON → XML changed the XML:\n got %s\nwant %s", x2.String(), x.String())
	}
	return nil
}

// checkXMLRoundTrip checks the XML → JSON → XML → JSON properties on in,
// which XMLToJSON must take, and returns the JSON and the XML it gives
// back.
func checkXMLRoundTrip(in string, opts jsonxml.Options) (string, string, error) {
	var j1 bytes.Buffer
	if err := jsonxml.XMLToJSON(&j1, strings.NewReader(in), opts); err != nil {
		return "", "", fmt.Errorf("XMLToJSON: %v", err)
	}
	if !json.Valid(j1.Bytes()) {
		return "", "", fmt.Errorf("XMLToJSON wrote invalid JSON %s", j1.String())
	}
	opts.MaxDepth = deep.MaxDepth
	var x2 bytes.Buffer
	if err := jsonxml.JSONToXML(&x2, bytes.NewReader(j1.Bytes()), opts); err != nil {
		return "", "", fmt.Errorf("JSONToXML(%s): %v", j1.String(), err)
	}
	var j2 bytes.Buffer
	if err := jsonxml.XMLToJSON(&j2, bytes.NewReader(x2.Bytes()), opts); err != nil {
		return "", "", fmt.Errorf("XMLToJSON(%s): %v", x2.String(), err)
	}
	if err := sameJSON(j1.String(), j2.String()); err != nil {
		return "", "", fmt.Errorf("not stable: %v\nXML %s", err, x2.String())
	}
	// From here on, byte for byte.
	var x3, j3 bytes.Buffer
	if err := jsonxml.JSONToXML(&x3, bytes.NewReader(j2.Bytes()), opts); err != nil {
		return "", "", fmt.Errorf("JSONToXML(%s): %v", j2.String(), err)
	}
	if x3.String() != x2.String() {
		return "", "", fmt.Errorf("XML not a fixed point:\n got %s\nwant %s", x3.String(), x2.String())
	}
	if err := jsonxml.XMLToJSON(&j3, bytes.NewReader(x3.Bytes()), opts); err != nil {
		return "", "", fmt.Errorf("XMLToJSON(%s): %v", x3.String(), err)
	}
	if j3.String() != j2.String() {
		return "", "", fmt.Errorf("JSON not a fixed point:\n got %s\nwant %s", j3.String(), j2.String())
	}
	return j1.String(), x2.String(), nil
}

// wellFormed reads s with encoding/xml's namespace-resolving Token, which
// checks that end tags match.
func wellFormed(s string) error {
	d := xml.NewDecoder(strings.NewReader(s))
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// sameJSON reports how JSON texts a and b differ as values: objects as
// sets of members, numbers by their literal text.
func sameJSON(a, b string) error {
	va, err := decodeJSON(a)
	if err != nil {
		return fmt.Errorf("want: %v", err)
	}
	vb, err := decodeJSON(b)
	if err != nil {
		return fmt.Errorf("got: %v", err)
	}
	if !reflect.DeepEqual(va, vb) {
		return fmt.Errorf("got %s, want %s", b, a)
	}
	return nil
}

func decodeJSON(s string) (any, error) {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

// jsonGen generates JSON documents that stress the mapping: member names
// that are attributes, text, escaped names, namespace declarations and
// prefixes; strings with markup, white space and characters beyond ASCII;
// arrays of zero, one and more items.
type jsonGen struct {
	r *rand.Rand
}

var (
	genKeys = []string{
		"a", "b", "item", "Name", "é", "名前", "a.b", "a-b", "_", "x1",
		"@id", "@a", "@b", "@xml:lang", "@xmlns", "@xmlns:p", "@xmlns:q", "@xmlns:j", "@p:at", "@q:at", "@j:x", "@1", "@",
		"$", "", "1x", "a b", "-", "p:x", "q:y", "j:z", "xmlns:p", "xml:x", "😀", "_x0041_", "a_x0041", "_x_", "_x0041_x",
		"a\u0000b", "tab\t", "\"quoted\"", "<tag>",
	}
	genStrings = []string{
		"", " ", "x", "hello world", "  padded  ", "<a>&amp;</a>", "]]>", "a\"b'c", "\t\n\r", "line\r\nend",
		"é", "名前", "😀", "urn:p", "urn:q", jsonxml.Namespace, "http://www.w3.org/XML/1998/namespace", "_x0041_", "\u00a0",
	}
	genNumbers = []string{"0", "-0", "1", "-12", "3.25", "1e3", "1E-2", "-0.0e+0", "123456789012345678901234567890", "0.1"}
)

func (g *jsonGen) document() string {
	var b strings.Builder
	g.value(&b, 0)
	return b.String()
}

func (g *jsonGen) value(b *strings.Builder, depth int) {
	n := 10
	if depth >= 3 {
		n = 5 // scalars only
	}
	switch g.r.IntN(n) {
	case 0, 1:
		b.WriteString(quote(genStrings[g.r.IntN(len(genStrings))]))
	case 2:
		b.WriteString(genNumbers[g.r.IntN(len(genNumbers))])
	case 3:
		b.WriteString([]string{"true", "false", "null"}[g.r.IntN(3)])
	case 4:
		b.WriteString(quote(string(rune('a' + g.r.IntN(26)))))
	case 5, 6:
		b.WriteByte('[')
		for i := range g.r.IntN(4) {
			if i > 0 {
				b.WriteByte(',')
			}
			g.value(b, depth+1)
		}
		b.WriteByte(']')
	default:
		b.WriteByte('{')
		used := map[string]bool{}
		for i := range g.r.IntN(6) {
			k := genKeys[g.r.IntN(len(genKeys))]
			if used[k] {
				continue
			}
			used[k] = true
			if i > 0 && len(used) > 1 {
				b.WriteByte(',')
			}
			b.WriteString(quote(k))
			b.WriteByte(':')
			if strings.HasPrefix(k, "@") && g.r.IntN(3) > 0 {
				b.WriteString(quote(genStrings[g.r.IntN(len(genStrings))])) // mostly attributes
				continue
			}
			g.value(b, depth+1)
		}
		b.WriteByte('}')
	}
}

// quote writes s as a JSON string, sometimes with every character
// escaped.
func quote(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// xmlGen generates XML documents.
type xmlGen struct {
	r    *rand.Rand
	data bool // only documents of data, written as JSONToXML writes them
}

var (
	genElements    = []string{"a", "b", "item", "é", "名前", "x.y", "_x0041_", "a_x0020_b", "_x_", "_x0031_st"}
	genAttributes  = []string{"id", "a", "b", "c", "é", "x.y", "_x0041_"}
	genText        = []string{"x", "hello", " spaced ", "&amp;&lt;&gt;&quot;&apos;", "&#65;&#x1F600;", "é", "a\nb"}
	genNamespaces  = []string{"urn:p", "urn:q", "urn:r", ""}
	genPrefixes    = []string{"p", "q", "j", "xml"}
	genMarkerTypes = []string{"number", "boolean", "null", "object", "array"}
)

// document returns a document, of data only when data.
func (g *xmlGen) document(data bool) string {
	g.data = data
	var b strings.Builder
	if data {
		b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
		g.element(&b, "doc", 0, []string{"xml"}, false)
		return b.String()
	}
	if g.r.IntN(2) == 0 {
		b.WriteString(`<?xml version="1.0"?>` + "\n")
	}
	if g.r.IntN(4) == 0 {
		b.WriteString("<!-- head -->\n")
	}
	marker := g.r.IntN(3) == 0
	g.element(&b, genElements[g.r.IntN(len(genElements))], 0, []string{"xml"}, marker)
	if g.r.IntN(4) == 0 {
		b.WriteString("\n<!-- tail -->\n")
	}
	return b.String()
}

// element writes an element named name with the prefixes in scope.
func (g *xmlGen) element(b *strings.Builder, name string, depth int, scope []string, marker bool) {
	// Namespace declarations.
	var attrs []string
	if g.r.IntN(4) == 0 {
		p := genPrefixes[g.r.IntN(3)] // not xml
		attrs = append(attrs, fmt.Sprintf(`xmlns:%s="%s"`, p, genNamespaces[g.r.IntN(3)]))
		scope = append(scope[:len(scope):len(scope)], p)
	}
	if g.r.IntN(6) == 0 {
		attrs = append(attrs, fmt.Sprintf(`xmlns="%s"`, genNamespaces[g.r.IntN(4)]))
	}
	if marker && !g.data {
		attrs = append(attrs, `xmlns:m="`+jsonxml.Namespace+`"`)
	}
	// A prefixed element name, when a prefix is in scope.
	if len(scope) > 1 && g.r.IntN(4) == 0 && !(g.data && depth == 0) {
		name = scope[1+g.r.IntN(len(scope)-1)] + ":" + name
	}
	// Attributes: unique expanded names (one prefix per local name).
	used := map[string]bool{}
	for range g.r.IntN(3) {
		local := genAttributes[g.r.IntN(len(genAttributes))]
		if used[local] {
			continue
		}
		used[local] = true
		if len(scope) > 0 && g.r.IntN(3) == 0 {
			local = scope[g.r.IntN(len(scope))] + ":" + local
		}
		attrs = append(attrs, fmt.Sprintf(`%s="%s"`, local, g.attrValue()))
	}
	typ := ""
	if marker && !g.data && g.r.IntN(3) == 0 {
		typ = genMarkerTypes[g.r.IntN(len(genMarkerTypes))]
	}
	if typ != "" && typ != "object" {
		// A marked element has no attribute but namespace declarations.
		kept := attrs[:0]
		for _, a := range attrs {
			if strings.HasPrefix(a, "xmlns") {
				kept = append(kept, a)
			}
		}
		attrs = kept
	}
	if typ != "" {
		attrs = append(attrs, `m:type="`+typ+`"`)
	}
	b.WriteString("<" + name)
	for _, a := range attrs {
		b.WriteString(" " + a)
	}
	switch typ {
	case "number":
		b.WriteString(">" + []string{"1", " -2.5e3 ", "0"}[g.r.IntN(3)] + "</" + name + ">")
		return
	case "boolean":
		b.WriteString(">" + []string{"true", "false", "\n true "}[g.r.IntN(3)] + "</" + name + ">")
		return
	case "null":
		b.WriteString([]string{"/>", "></" + name + ">", "> </" + name + ">"}[g.r.IntN(3)])
		return
	}
	// Content: text, child elements (some repeated), comments.
	var content []string
	kids := 0
	if depth < 3 {
		kids = g.r.IntN(4)
	}
	for range kids {
		child := genElements[g.r.IntN(len(genElements))]
		if g.data && child == "_x0041_" {
			child = "A_x002F_" // an escape in its canonical form only
		}
		reps := 1
		if g.r.IntN(3) == 0 {
			reps = 2 + g.r.IntN(2)
		}
		for range reps {
			var cb strings.Builder
			g.element(&cb, child, depth+1, scope, marker)
			content = append(content, cb.String())
		}
	}
	if g.data {
		// Repeated elements side by side, each name once.
		seen := map[string]int{}
		var grouped [][]string
		for _, c := range content {
			n := c[1:strings.IndexAny(c, " />")]
			if i, ok := seen[n]; ok {
				grouped[i] = append(grouped[i], c)
				continue
			}
			seen[n] = len(grouped)
			grouped = append(grouped, []string{c})
		}
		content = content[:0]
		for _, gr := range grouped {
			content = append(content, gr...)
		}
		if kids == 0 && g.r.IntN(2) == 0 {
			content = append(content, genText[g.r.IntN(2)]) // text alone, or beside attributes
		}
	} else if typ != "array" {
		for range g.r.IntN(3) {
			at := g.r.IntN(len(content) + 1)
			piece := g.text()
			content = append(content[:at], append([]string{piece}, content[at:]...)...)
		}
	} else if g.r.IntN(2) == 0 {
		content = append(content, " \n ")
	}
	if len(content) == 0 && (g.data || g.r.IntN(2) == 0) {
		b.WriteString("/>")
		return
	}
	b.WriteString(">")
	for _, c := range content {
		b.WriteString(c)
	}
	b.WriteString("</" + name + ">")
}

func (g *xmlGen) attrValue() string {
	if g.data {
		return []string{"", "1", "x y", "&amp;&lt;&gt;&quot;", "é"}[g.r.IntN(5)]
	}
	return []string{"", "1", "x y", "&amp;&lt;&gt;&quot;&apos;", "é", "&#9;&#10;&#13;", "'"}[g.r.IntN(7)]
}

// text returns character data in one of its forms.
func (g *xmlGen) text() string {
	switch g.r.IntN(6) {
	case 0:
		return "\n  "
	case 1:
		return "<![CDATA[" + []string{"<b>", " ", "]]", "x&y"}[g.r.IntN(4)] + "]]>"
	case 2:
		return "<!-- " + strconv.Itoa(g.r.IntN(10)) + " -->"
	case 3:
		return "<?pi data?>"
	}
	return genText[g.r.IntN(len(genText))]
}
