package jsonxml_test

import (
	"strings"
	"testing"

	"github.com/portico-gw/portico/jsonxml"
)

const (
	decl = `<?xml version="1.0" encoding="UTF-8"?>`
	jns  = ` xmlns:j="urn:portico:json"`
)

func toXML(t *testing.T, in string, opts jsonxml.Options) string {
	t.Helper()
	var out strings.Builder
	if err := jsonxml.JSONToXML(&out, strings.NewReader(in), opts); err != nil {
		t.Fatalf("JSONToXML(%s): %v", in, err)
	}
	return out.String()
}

func toJSON(t *testing.T, in string, opts jsonxml.Options) string {
	t.Helper()
	var out strings.Builder
	if err := jsonxml.XMLToJSON(&out, strings.NewReader(in), opts); err != nil {
		t.Fatalf("XMLToJSON(%s): %v", in, err)
	}
	return out.String()
}

// TestMapping: pairs that map onto each other exactly, both ways.
func TestMapping(t *testing.T) {
	tests := []struct {
		name string
		json string
		xml  string // after the XML declaration
		root string
	}{
		{"string", `"x"`, `<root>x</root>`, ""},
		{"empty string", `""`, `<root/>`, ""},
		{"white space string", `" \n "`, "<root> \n </root>", ""},
		{"number kept as written", `-0.50e+10`, `<root` + jns + ` j:type="number">-0.50e+10</root>`, ""},
		{"number beyond float64", `123456789012345678901234567890`, `<root` + jns + ` j:type="number">123456789012345678901234567890</root>`, ""},
		{"true", `true`, `<root` + jns + ` j:type="boolean">true</root>`, ""},
		{"false", `false`, `<root` + jns + ` j:type="boolean">false</root>`, ""},
		{"null", `null`, `<root` + jns + ` j:type="null"/>`, ""},
		{"empty object", `{}`, `<root` + jns + ` j:type="object"/>`, ""},
		{"empty array", `[]`, `<root` + jns + ` j:type="array"/>`, ""},
		{"object of text only", `{"$":"x"}`, `<root` + jns + ` j:type="object">x</root>`, ""},
		{"attribute", `{"@a":"1"}`, `<root a="1"/>`, ""},
		{"attribute and text", `{"@a":"1","$":"x"}`, `<root a="1">x</root>`, ""},
		{"repeated elements", `{"a":["x","y"]}`, `<root><a>x</a><a>y</a></root>`, ""},
		{"array of one", `{"a":["x"]}`, `<root` + jns + `><a j:type="array"><item>x</item></a></root>`, ""},
		{"arrays in an array", `{"a":[["x"],["y","z"]]}`, `<root` + jns + `><a j:type="array"><item>x</item></a><a j:type="array"><item>y</item><item>z</item></a></root>`, ""},
		{"document array", `[{"a":"1"},{"a":"2"}]`, `<root` + jns + ` j:type="array"><item><a>1</a></item><item><a>2</a></item></root>`, ""},
		{"namespaces", `{"@xmlns":"urn:d","@xmlns:p":"urn:p","p:a":{"@p:b":"1","$":"t"},"c":""}`, `<root xmlns="urn:d" xmlns:p="urn:p"><p:a p:b="1">t</p:a><c/></root>`, ""},
		{"xml prefix bound", `{"@xml:lang":"en","$":"hi"}`, `<root xml:lang="en">hi</root>`, ""},
		{"prefix declared on its element", `{"p:a":{"@xmlns:p":"urn:p","$":"x"}}`, `<root><p:a xmlns:p="urn:p">x</p:a></root>`, ""},
		{"default namespace undeclared", `{"a":{"@xmlns":"","$":"x"}}`, `<root><a xmlns="">x</a></root>`, ""},
		{"undeclared prefix escaped", `{"p:a":"x"}`, `<root><p_x003A_a>x</p_x003A_a></root>`, ""},
		{"attribute of undeclared prefix", `{"@p:a":"x"}`, `<root><_x0040_p_x003A_a>x</_x0040_p_x003A_a></root>`, ""},
		{"attribute that is no string", `{"@n":1}`, `<root` + jns + `><_x0040_n j:type="number">1</_x0040_n></root>`, ""},
		{"attribute that is no name", `{"@1":"x","@":"y"}`, `<root><_x0040_1>x</_x0040_1><_x0040_>y</_x0040_></root>`, ""},
		{"xmlns prefix declared", `{"@xmlns:xmlns":"urn:x"}`, `<root><_x0040_xmlns_x003A_xmlns>urn:x</_x0040_xmlns_x003A_xmlns></root>`, ""},
		{"prefix undeclared", `{"@xmlns:p":""}`, `<root><_x0040_xmlns_x003A_p/></root>`, ""},
		{"white space text beside elements", `{"$":" ","a":""}`, `<root><_x0024_> </_x0024_><a/></root>`, ""},
		{"text between elements", `{"a":"1","$":"t","b":"2"}`, `<root><a>1</a>t<b>2</b></root>`, ""},
		{"text that is no string", `{"$":1,"a":""}`, `<root` + jns + `><_x0024_ j:type="number">1</_x0024_><a/></root>`, ""},
		{"escapes", `{"@q":"a\"b<&>\t\n\r","t":"<&>\r\n]]>"}`, `<root q="a&quot;b&lt;&amp;&gt;&#x9;&#xA;&#xD;"><t>&lt;&amp;&gt;&#xD;` + "\n" + `]]&gt;</t></root>`, ""},
		{"underscores that would read as escapes", `{"_x0041_":"a","a_x0041b":"b","_x_":"c","_x0041_x0042_":"d"}`, `<root><_x005F_x0041_>a</_x005F_x0041_><a_x0041b>b</a_x0041b><_x005F_x_>c</_x005F_x_><_x005F_x0041_x005F_x0042_>d</_x005F_x0041_x005F_x0042_></root>`, ""},
		{"underscore before an escaped character", `{"a_x0041:":"x"}`, `<root><a_x005F_x0041_x003A_>x</a_x005F_x0041_x003A_></root>`, ""},
		{"names beyond ASCII", `{"prénom":"Zoë","名前":"x","a·b":"y"}`, `<root><prénom>Zoë</prénom><名前>x</名前><a·b>y</a·b></root>`, ""},
		{"names escaped beyond the BMP", `{"😀":"x","-a":"y","a b":"z"}`, `<root><_x0001F600_>x</_x0001F600_><_x002D_a>y</_x002D_a><a_x0020_b>z</a_x0020_b></root>`, ""},
		{"empty name", `{"":"x"}`, `<root><_x_>x</_x_></root>`, ""},
		{"marker prefix taken", `{"@xmlns:j":"urn:x","j:a":1}`, `<root xmlns:j="urn:x" xmlns:j1="urn:portico:json"><j:a j1:type="number">1</j:a></root>`, ""},
		{"marker namespace not declarable", `{"@xmlns:m":"urn:portico:json"}`, `<root><_x0040_xmlns_x003A_m>urn:portico:json</_x0040_xmlns_x003A_m></root>`, ""},
		{"expanded name twice", `{"@xmlns:a":"u","@xmlns:b":"u","@a:x":"1","@b:x":"2"}`, `<root xmlns:a="u" xmlns:b="u" a:x="1"><_x0040_b_x003A_x>2</_x0040_b_x003A_x></root>`, ""},
		{"prefixed root", `{"@xmlns:s":"urn:s","s:Body":"x"}`, `<s:Env xmlns:s="urn:s"><s:Body>x</s:Body></s:Env>`, "s:Env"},
		{"root of undeclared prefix", `"x"`, `<s_x003A_Env>x</s_x003A_Env>`, "s:Env"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := jsonxml.Options{Root: tt.root}
			if got := toXML(t, tt.json, opts); got != decl+tt.xml {
				t.Errorf("JSONToXML(%s)\n got %s\nwant %s", tt.json, got, decl+tt.xml)
			}
			if got := toJSON(t, decl+tt.xml, opts); got != tt.json {
				t.Errorf("XMLToJSON(%s)\n got %s\nwant %s", tt.xml, got, tt.json)
			}
		})
	}
}

// TestMappingAttributesFirst: members written as attributes come first on
// the way back; the JSON value is the same.
func TestMappingAttributesFirst(t *testing.T) {
	in := `{"a":"1","@id":"7","b":{"c":"2","@x":"y"}}`
	x := toXML(t, in, jsonxml.Options{})
	if want := decl + `<root id="7"><a>1</a><b x="y"><c>2</c></b></root>`; x != want {
		t.Errorf("got %s, want %s", x, want)
	}
	if got, want := toJSON(t, x, jsonxml.Options{}), `{"@id":"7","a":"1","b":{"@x":"y","c":"2"}}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// TestReadXML: documents as found in the wild, their JSON, and the XML
// that JSON gives back (normalised as doc.go says).
func TestReadXML(t *testing.T) {
	tests := []struct {
		name string
		xml  string
		json string
		back string // after the XML declaration; Root "r"
	}{
		{"indentation dropped",
			"<r>\n  <a>1</a>\n  <b x='2'>\n  </b>\n</r>",
			`{"a":"1","b":{"@x":"2"}}`,
			`<r><a>1</a><b x="2"/></r>`},
		{"comments and processing instructions dropped",
			`<?xml version="1.0" encoding="utf-8"?><!-- c --><?pi x?><r><!-- c --><a>x<!-- c -->y</a><?pi?></r><!-- c -->`,
			`{"a":"xy"}`,
			`<r><a>xy</a></r>`},
		{"CDATA is text",
			`<r><a><![CDATA[<b>&amp;</b>]]></a></r>`,
			`{"a":"<b>&amp;</b>"}`,
			`<r><a>&lt;b&gt;&amp;amp;&lt;/b&gt;</a></r>`},
		{"CDATA joins its text",
			`<r>x<![CDATA[ ]]>y<a/></r>`,
			`{"$":"x y","a":""}`,
			`<r>x y<a/></r>`},
		{"references",
			`<r a="&lt;&#65;&#x42;&apos;&quot;">&amp;&gt;&#x1F600;</r>`,
			`{"@a":"<AB'\"","$":"&>😀"}`,
			`<r a="&lt;AB'&quot;">&amp;&gt;😀</r>`},
		{"line ends",
			"<r>a\r\nb\rc&#xD;</r>",
			`"a\nb\nc\r"`,
			"<r>a\nb\nc&#xD;</r>"},
		{"byte order mark",
			"\xEF\xBB\xBF<r>x</r>",
			`"x"`,
			`<r>x</r>`},
		{"mixed content joined",
			`<r><p>Hello <b>you</b>!</p></r>`,
			`{"p":{"$":"Hello !","b":"you"}}`,
			`<r><p>Hello !<b>you</b></p></r>`},
		{"repeated elements gathered",
			`<r><a>1</a><b/><a>2</a></r>`,
			`{"a":["1","2"],"b":""}`,
			`<r><a>1</a><a>2</a><b/></r>`},
		{"attribute and element of one member name",
			`<r x="1"><_x0040_x>2</_x0040_x></r>`,
			`{"@x":["1","2"]}`,
			`<r><_x0040_x>1</_x0040_x><_x0040_x>2</_x0040_x></r>`},
		{"text and element of one member name",
			`<r>t<_x0024_>u</_x0024_></r>`,
			`{"$":["t","u"]}`,
			`<r><_x0024_>t</_x0024_><_x0024_>u</_x0024_></r>`},
		{"marker namespace under another prefix",
			`<r xmlns:t="urn:portico:json"><a t:type="number"> 5 </a><b t:type="object"/></r>`,
			`{"a":5,"b":{}}`,
			`<r` + jns + `><a j:type="number">5</a><b j:type="object"/></r>`},
		{"declarations on a marked element dropped",
			`<r xmlns:j="urn:portico:json" j:type="array" xmlns:p="urn:p"><p:x>1</p:x><y j:type="null"> </y></r>`,
			`["1",null]`,
			`<r` + jns + ` j:type="array"><item>1</item><item j:type="null"/></r>`},
		{"item names of an array ignored",
			`<r xmlns:j="urn:portico:json" j:type="array"><a>1</a><b>2</b></r>`,
			`["1","2"]`,
			`<r` + jns + ` j:type="array"><item>1</item><item>2</item></r>`},
		{"escapes in another form",
			`<r><_x0041_>a</_x0041_><b_x002f_>b</b_x002f_></r>`,
			`{"A":"a","b/":"b"}`,
			`<r><A>a</A><b_x002F_>b</b_x002F_></r>`},
		{"prefix of an escaped local name",
			`<r xmlns:p="urn:p"><p:a_x0020_b/><p:_x_/></r>`,
			`{"@xmlns:p":"urn:p","p:a b":"","p:":""}`,
			`<r xmlns:p="urn:p"><p:a_x0020_b/><p:_x_/></r>`},
		{"root name dropped",
			`<a:order xmlns:a="urn:a" a:id="1"/>`,
			`{"@xmlns:a":"urn:a","@a:id":"1"}`,
			`<r xmlns:a="urn:a" a:id="1"/>`},
		{"empty element in two forms",
			`<r><a></a><b/></r>`,
			`{"a":"","b":""}`,
			`<r><a/><b/></r>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := jsonxml.Options{Root: "r"}
			j := toJSON(t, tt.xml, opts)
			if j != tt.json {
				t.Errorf("XMLToJSON\n got %s\nwant %s", j, tt.json)
			}
			back := toXML(t, j, opts)
			if back != decl+tt.back {
				t.Errorf("JSONToXML(%s)\n got %s\nwant %s", j, back, decl+tt.back)
			}
			if again := toJSON(t, back, opts); again != j {
				t.Errorf("not stable: XMLToJSON(%s) = %s, want %s", back, again, j)
			}
		})
	}
}
