package jsonxml_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/jsonxml"
)

// fuzzOptions keep the fuzzer's inputs small and shallow, so it looks at
// structure rather than size.
var fuzzOptions = jsonxml.Options{MaxBytes: 64 << 10, MaxDepth: 64}

var jsonSeeds = []string{
	`"x"`, `""`, `1.5e3`, `-0`, `true`, `null`, `{}`, `[]`, `[[]]`, `[1,[2,[3]]]`,
	`{"@id":"7","customer":"Ann","total":12.50,"items":["pen","ink"],"note":null}`,
	`{"a":["x"],"b":[],"c":{},"$":"t","@x":1,"1st":"a","a b":"c","":"e","p:q":"r"}`,
	`{"@xmlns:p":"urn:p","p:a":{"@p:b":"1","p:c":["x","y"]},"@xmlns":"urn:d"}`,
	`{"@xmlns:j":"urn:x","j:a":1,"@xmlns:m":"urn:portico:json"}`,
	`{"_x0041_":"a","a_x0041b":"b","_x_":"c","😀":"\ud83d\ude00","\u0000":"\t\n\r"}`,
	`{"a":1,"a":2}`, `"\u0001"`, `"\ud800"`, `[1,]`, `{"a" 1}`, "\"\xff\"",
}

var xmlSeeds = []string{
	`<r>x</r>`, `<r/>`, `<?xml version="1.0"?><r a="1">t<b/>u</r>`,
	`<order id="7" xmlns:p="urn:p"><p:item>a</p:item><p:item>b</p:item><note>hi <b>there</b></note></order>`,
	`<r xmlns:j="urn:portico:json" j:type="array"><item j:type="number">1</item><item j:type="null"/><a j:type="object"/></r>`,
	`<r><_x0040_x>1</_x0040_x><_x0024_> </_x0024_><_x_/><p_x003A_q/></r>`,
	`<r><![CDATA[<a>]]><!-- c --><?pi x?>&amp;&#x1F600;</r>`,
	`<!DOCTYPE r [<!ENTITY e "x">]><r>&e;</r>`, `<r>&e;</r>`, `<p:r/>`, `<r a="1" a="2"/>`,
	`<r xmlns:a="u" xmlns:b="u" a:x="1" b:x="2"/>`, `<r><a></b></r>`, `<r/><r/>`, `x<r/>`,
}

// FuzzJSONToXML: JSONToXML takes only JSON that encoding/json takes,
// refuses with EInvalid or ETooLarge, and what it takes comes back from
// XMLToJSON as the same JSON value, through XML that encoding/xml reads
// and that is a fixed point.
func FuzzJSONToXML(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var x bytes.Buffer
		err := jsonxml.JSONToXML(&x, bytes.NewReader(in), fuzzOptions)
		if err != nil {
			if c := portico.ErrorCodeOf(err); c != portico.EInvalid && c != portico.ETooLarge {
				t.Fatalf("error of code %s: %v", c, err)
			}
			if x.Len() > 0 {
				t.Fatalf("wrote %q before failing", x.String())
			}
			return
		}
		if !json.Valid(in) {
			t.Fatalf("took JSON encoding/json refuses: %q", in)
		}
		if err := checkJSONRoundTrip(string(in), fuzzOptions); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzXMLToJSON: XMLToJSON refuses with EInvalid or ETooLarge and writes
// valid JSON, and XML → JSON → XML → JSON is stable on whatever it
// takes.
func FuzzXMLToJSON(f *testing.F) {
	for _, s := range xmlSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var j bytes.Buffer
		err := jsonxml.XMLToJSON(&j, bytes.NewReader(in), fuzzOptions)
		if err != nil {
			if c := portico.ErrorCodeOf(err); c != portico.EInvalid && c != portico.ETooLarge {
				t.Fatalf("error of code %s: %v", c, err)
			}
			if j.Len() > 0 {
				t.Fatalf("wrote %q before failing", j.String())
			}
			return
		}
		if _, _, err := checkXMLRoundTrip(string(in), fuzzOptions); err != nil {
			t.Fatal(err)
		}
	})
}
