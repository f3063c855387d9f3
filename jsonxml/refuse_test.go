package jsonxml_test

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/jsonxml"
)

type refusal struct {
	name string
	in   string
	want string // in the message
}

// checkRefused checks that convert refuses each input with EInvalid, a
// message naming the fault, and writes nothing.
func checkRefused(t *testing.T, convert func(io.Writer, io.Reader, jsonxml.Options) error, tests []refusal) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			err := convert(&out, strings.NewReader(tt.in), jsonxml.Options{MaxDepth: 8})
			if portico.ErrorCodeOf(err) != portico.EInvalid {
				t.Fatalf("got %v (code %q), want EInvalid", err, portico.ErrorCodeOf(err))
			}
			if msg := portico.ErrorMessageOf(err); !strings.Contains(msg, tt.want) {
				t.Errorf("message %q does not say %q", msg, tt.want)
			}
			if out.Len() > 0 {
				t.Errorf("wrote %q", out.String())
			}
		})
	}
}

// TestRefuseDTD: no document type declaration, so no external entity (XXE)
// and no entity expansion (billion laughs); no entity but the predefined
// five.
func TestRefuseDTD(t *testing.T) {
	const dtd = "document type declarations"
	checkRefused(t, jsonxml.XMLToJSON, []refusal{
		{"doctype", `<!DOCTYPE r><r/>`, dtd},
		{"external entity", `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>`, dtd},
		{"external DTD", `<!DOCTYPE r SYSTEM "http://example.com/r.dtd"><r/>`, dtd},
		{"parameter entity", `<!DOCTYPE r [<!ENTITY % p SYSTEM "http://example.com/p">%p;]><r/>`, dtd},
		{"billion laughs", `<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><lolz>&lol3;</lolz>`, dtd},
		{"declaration inside the element", `<r><!ELEMENT r ANY></r>`, dtd},
		{"undeclared entity", `<r>&xxe;</r>`, "invalid character entity &xxe;"},
		{"HTML entity", `<r>&nbsp;</r>`, "invalid character entity &nbsp;"},
		{"entity in an attribute", `<r a="&x;"/>`, "invalid character entity &x;"},
	})
}

func TestRefuseMalformedXML(t *testing.T) {
	checkRefused(t, jsonxml.XMLToJSON, []refusal{
		{"empty", ``, "no document element"},
		{"white space only", " \n", "no document element"},
		{"text only", `hello`, "text outside the document element"},
		{"text after the element", `<r/>x`, "text outside the document element"},
		{"two elements", `<r/><s/>`, "a second document element <s>"},
		{"not closed", `<r><a>`, "element <a> is not closed"},
		{"end tag mismatch", `<r><a></b></r>`, "end tag </b> does not match <a>"},
		{"end tag alone", `</r>`, "without a start"},
		{"unquoted attribute", `<r a=1/>`, "unquoted or missing attribute value"},
		{"attribute twice", `<r a="1" a="2"/>`, "attribute a twice"},
		{"expanded name twice", `<r xmlns:a="u" xmlns:b="u" a:x="1" b:x="2"/>`, "expanded name of another"},
		{"undeclared element prefix", `<p:r/>`, "prefix p is not declared"},
		{"undeclared attribute prefix", `<r p:a="1"/>`, "prefix p is not declared"},
		{"prefix out of scope", `<r><a xmlns:p="u"/><p:b/></r>`, "prefix p is not declared"},
		{"empty prefix", `<r :a="1"/>`, "empty prefix or local part"},
		{"empty local name", `<r a:="1"/>`, "empty prefix or local part"},
		{"xmlns element prefix", `<xmlns:r/>`, "for declarations only"},
		{"xmlns declared", `<r xmlns:xmlns="u"/>`, "the prefix xmlns cannot be declared"},
		{"xml rebound", `<r xmlns:xml="u"/>`, "the prefix xml cannot be bound"},
		{"xml namespace to another prefix", `<r xmlns:x="http://www.w3.org/XML/1998/namespace"/>`, "cannot be bound to another prefix"},
		{"prefix undeclared", `<r xmlns:p=""/>`, "cannot be undeclared"},
		{"marker namespace as default", `<r xmlns="urn:portico:json"/>`, "cannot be the default namespace"},
		{"element in the marker namespace", `<r xmlns:j="urn:portico:json"><j:a/></r>`, "in the type marker namespace"},
		{"unknown marker attribute", `<r xmlns:j="urn:portico:json" j:kind="number"/>`, "unknown attribute j:kind"},
		{"unknown type", `<r xmlns:j="urn:portico:json" j:type="string"/>`, `unknown type marker j:type="string"`},
		{"number not a number", `<r xmlns:j="urn:portico:json" j:type="number">1,5</r>`, `marked number, holds "1,5"`},
		{"number with a plus", `<r xmlns:j="urn:portico:json" j:type="number">+1</r>`, "marked number"},
		{"boolean not a boolean", `<r xmlns:j="urn:portico:json" j:type="boolean">yes</r>`, "marked boolean"},
		{"null with text", `<r xmlns:j="urn:portico:json" j:type="null">x</r>`, "marked null"},
		{"number with an element", `<r xmlns:j="urn:portico:json" j:type="number"><a/></r>`, "marked number, holds an element"},
		{"array with text", `<r xmlns:j="urn:portico:json" j:type="array">x<item/></r>`, "marked array, holds text"},
		{"number with an attribute", `<r xmlns:j="urn:portico:json" j:type="number" a="1">1</r>`, "marked number, has attribute a"},
		{"too deep", strings.Repeat("<a>", 9) + strings.Repeat("</a>", 9), "nested deeper than 8"},
		{"not UTF-8", "<r>\xff</r>", "invalid UTF-8"},
		{"other encoding", `<?xml version="1.0" encoding="ISO-8859-1"?><r/>`, "only UTF-8"},
		{"XML 1.1", `<?xml version="1.1"?><r/>`, "only version 1.0"},
		{"late XML declaration", `<r><?xml version="1.0"?></r>`, "must start the document"},
		{"control character", "<r>&#1;</r>", "illegal character code U+0001"},
	})
}

func TestRefuseMalformedJSON(t *testing.T) {
	checkRefused(t, jsonxml.JSONToXML, []refusal{
		{"empty", ``, "unexpected end"},
		{"two values", `1 2`, "text after the JSON value"},
		{"trailing comma", `[1,]`, "want a value"},
		{"missing colon", `{"a" 1}`, "want ':'"},
		{"single quotes", `{'a':1}`, "want a member name in quotes"},
		{"bare word", `nope`, "invalid literal"},
		{"leading zero", `01`, "text after the JSON value"},
		{"plus sign", `+1`, "invalid character '+'"},
		{"not closed", `{"a":[1`, "unexpected end in an array"},
		{"member name twice", `{"a":1,"b":2,"a":3}`, `member name "a" used twice`},
		{"member name twice, escaped", `{"a":1,"\u0061":2}`, `member name "a" used twice`},
		{"member name twice in a big object", `{` + manyMembers(20) + `,"k3":0}`, `member name "k3" used twice`},
		{"control character raw", "\"a\x01b\"", "control character U+0001"},
		{"control character escaped", `"a\u0001b"`, "U+0001, which XML 1.0 cannot carry"},
		{"NUL escaped", `{"a":"\u0000"}`, "U+0000, which XML 1.0 cannot carry"},
		{"form feed", `"\f"`, "U+000C, which XML 1.0 cannot carry"},
		{"U+FFFE", `"` + "\uFFFE" + `"`, "U+FFFE, which XML 1.0 cannot carry"},
		{"lone surrogate", `"\ud800"`, "lone surrogate"},
		{"lone low surrogate", `"\udc00x"`, "lone surrogate"},
		{"bad escape", `"\x"`, `invalid escape \x`},
		{"not UTF-8", "\"\xff\"", "invalid UTF-8"},
		{"too deep", strings.Repeat("[", 9) + strings.Repeat("]", 9), "nested deeper than 8"},
	})
}

func manyMembers(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"k` + string(rune('0'+i%10)) + string(rune('a'+i/10)) + `":0`)
	}
	return strings.Replace(b.String(), `"k3a"`, `"k3"`, 1)
}

// TestNamesTakeAnyCharacter: member names may hold what string values may
// not; they are escaped.
func TestNamesTakeAnyCharacter(t *testing.T) {
	in := `{"\u0000\u0001\f":"x","\uFFFE":"y"}`
	x := toXML(t, in, jsonxml.Options{})
	if want := decl + `<root><_x0000__x0001__x000C_>x</_x0000__x0001__x000C_><_xFFFE_>y</_xFFFE_></root>`; x != want {
		t.Errorf("got %s, want %s", x, want)
	}
	if got := toJSON(t, x, jsonxml.Options{}); got != `{"\u0000\u0001\f":"x","`+"\uFFFE"+`":"y"}` {
		t.Errorf("back: %s", got)
	}
}

// TestTooLarge: a body over MaxBytes is refused with ETooLarge, one of
// exactly MaxBytes taken.
func TestTooLarge(t *testing.T) {
	for _, tt := range []struct {
		name    string
		convert func(io.Writer, io.Reader, jsonxml.Options) error
		in      string
	}{
		{"JSON", jsonxml.JSONToXML, `{"a":"0123456789"}`},
		{"XML", jsonxml.XMLToJSON, `<r><a>0123456789</a></r>`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := int64(len(tt.in))
			var out strings.Builder
			if err := tt.convert(&out, strings.NewReader(tt.in), jsonxml.Options{MaxBytes: n}); err != nil {
				t.Fatalf("at the limit: %v", err)
			}
			out.Reset()
			err := tt.convert(&out, strings.NewReader(tt.in), jsonxml.Options{MaxBytes: n - 1})
			if portico.ErrorCodeOf(err) != portico.ETooLarge {
				t.Fatalf("one byte over: got %v, want ETooLarge", err)
			}
			if out.Len() > 0 {
				t.Errorf("wrote %q", out.String())
			}
			// A reader that never ends is cut at the limit.
			err = tt.convert(&out, endless{}, jsonxml.Options{MaxBytes: 1 << 16})
			if portico.ErrorCodeOf(err) != portico.ETooLarge {
				t.Fatalf("endless body: got %v, want ETooLarge", err)
			}
		})
	}
	// The zero Options take the policy's default.
	big := `"` + strings.Repeat("x", portico.DefaultConversionMaxBytes) + `"`
	if err := jsonxml.JSONToXML(io.Discard, strings.NewReader(big), jsonxml.Options{}); portico.ErrorCodeOf(err) != portico.ETooLarge {
		t.Errorf("over the default: got %v, want ETooLarge", err)
	}
}

type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

// TestIOErrors: an error reading the body or writing the output is
// returned wrapped, not as a client's fault.
func TestIOErrors(t *testing.T) {
	boom := errors.New("boom")
	err := jsonxml.JSONToXML(io.Discard, iotest.ErrReader(boom), jsonxml.Options{})
	if !errors.Is(err, boom) || portico.ErrorCodeOf(err) != portico.EInternal {
		t.Errorf("read error: got %v", err)
	}
	err = jsonxml.XMLToJSON(io.Discard, iotest.ErrReader(boom), jsonxml.Options{})
	if !errors.Is(err, boom) || portico.ErrorCodeOf(err) != portico.EInternal {
		t.Errorf("read error: got %v", err)
	}
	err = jsonxml.JSONToXML(failWriter{boom}, strings.NewReader(`{"a":1}`), jsonxml.Options{})
	if !errors.Is(err, boom) {
		t.Errorf("write error: got %v", err)
	}
	err = jsonxml.XMLToJSON(failWriter{boom}, strings.NewReader(`<r/>`), jsonxml.Options{})
	if !errors.Is(err, boom) {
		t.Errorf("write error: got %v", err)
	}
	// A refusal from a reader in front (a body limit of the gateway)
	// keeps its code.
	limit := portico.Errorf(portico.ETooLarge, "body over the API's limit")
	err = jsonxml.JSONToXML(io.Discard, iotest.ErrReader(limit), jsonxml.Options{})
	if portico.ErrorCodeOf(err) != portico.ETooLarge {
		t.Errorf("limit error: got %v", err)
	}
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

// TestOptionsFor: a policy's root and bound reach the converter.
func TestOptionsFor(t *testing.T) {
	c := portico.Conversion{Request: portico.ConvertJSONToXML, Root: "order", MaxBytes: 64}
	opts := jsonxml.OptionsFor(&c)
	if got := toXML(t, `"x"`, opts); got != decl+`<order>x</order>` {
		t.Errorf("got %s", got)
	}
	err := jsonxml.JSONToXML(io.Discard, strings.NewReader(`"`+strings.Repeat("x", 64)+`"`), opts)
	if portico.ErrorCodeOf(err) != portico.ETooLarge {
		t.Errorf("got %v, want ETooLarge", err)
	}
	if got := jsonxml.OptionsFor(&portico.Conversion{}); got.Root != portico.DefaultConversionRoot || got.MaxBytes != portico.DefaultConversionMaxBytes {
		t.Errorf("defaults: got %+v", got)
	}
}

// TestNoStateLeftOver: a conversion that fails half-way leaves nothing
// for the next one (the converters keep their memory for reuse): no
// namespace declaration in scope, no open element, no text.
func TestNoStateLeftOver(t *testing.T) {
	for range 3 {
		err := jsonxml.XMLToJSON(io.Discard, strings.NewReader(`<r xmlns:p="urn:p"><a>text<b></r>`), jsonxml.Options{})
		if portico.ErrorCodeOf(err) != portico.EInvalid {
			t.Fatalf("got %v", err)
		}
		err = jsonxml.XMLToJSON(io.Discard, strings.NewReader(`<p:r/>`), jsonxml.Options{})
		if !strings.Contains(portico.ErrorMessageOf(err), "prefix p is not declared") {
			t.Fatalf("a declaration was left in scope: %v", err)
		}
		if got := toJSON(t, `<r>x</r>`, jsonxml.Options{}); got != `"x"` {
			t.Fatalf("got %s", got)
		}
		err = jsonxml.JSONToXML(io.Discard, strings.NewReader(`{"a":[1,2,{"b":`), jsonxml.Options{})
		if portico.ErrorCodeOf(err) != portico.EInvalid {
			t.Fatalf("got %v", err)
		}
		if got := toXML(t, `"y"`, jsonxml.Options{}); got != decl+`<root>y</root>` {
			t.Fatalf("got %s", got)
		}
	}
}
