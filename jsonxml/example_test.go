package jsonxml_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/jsonxml"
)

// A JSON request body on its way to an XML backend: strings are text,
// other types carry a marker, "@" members are attributes, an array of two
// items is two elements.
func ExampleJSONToXML() {
	in := `{"@id":"7","customer":"Ann","total":12.50,"paid":false,"items":["pen","ink"],"note":null}`
	err := jsonxml.JSONToXML(os.Stdout, strings.NewReader(in), jsonxml.Options{Root: "order"})
	if err != nil {
		fmt.Println(err)
	}
	// Output:
	// <?xml version="1.0" encoding="UTF-8"?><order id="7" xmlns:j="urn:portico:json"><customer>Ann</customer><total j:type="number">12.50</total><paid j:type="boolean">false</paid><items>pen</items><items>ink</items><note j:type="null"/></order>
}

// An XML response on its way to a JSON client: attributes and namespace
// declarations become "@" members, repeated elements an array, text next
// to child elements "$"; the document element's name is dropped.
func ExampleXMLToJSON() {
	in := `<?xml version="1.0"?>
<order id="7" xmlns:p="urn:parts">
  <p:item sku="a1">pen</p:item>
  <p:item sku="b2">ink</p:item>
  <note>fragile <b>glass</b></note>
  <gift/>
</order>`
	if err := jsonxml.XMLToJSON(os.Stdout, strings.NewReader(in), jsonxml.Options{}); err != nil {
		fmt.Println(err)
	}
	// Output:
	// {"@id":"7","@xmlns:p":"urn:parts","p:item":[{"@sku":"a1","$":"pen"},{"@sku":"b2","$":"ink"}],"note":{"$":"fragile ","b":"glass"},"gift":""}
}

// The type markers keep what XML alone would lose: numbers, booleans,
// null, empty objects and arrays, and arrays of one item.
func ExampleJSONToXML_markers() {
	in := `{"n":1e3,"one":["x"],"none":[],"empty":{},"nested":[[1,2]]}`
	if err := jsonxml.JSONToXML(os.Stdout, strings.NewReader(in), jsonxml.Options{}); err != nil {
		fmt.Println(err)
	}
	// Output:
	// <?xml version="1.0" encoding="UTF-8"?><root xmlns:j="urn:portico:json"><n j:type="number">1e3</n><one j:type="array"><item>x</item></one><none j:type="array"/><empty j:type="object"/><nested j:type="array"><item j:type="array"><item j:type="number">1</item><item j:type="number">2</item></item></nested></root>
}

// Member names that are no XML names are escaped, and unescaped on the
// way back.
func ExampleJSONToXML_names() {
	in := `{"1st":"a","a b":"c","$":" ","":"e","p:q":"r"}`
	var xml strings.Builder
	if err := jsonxml.JSONToXML(&xml, strings.NewReader(in), jsonxml.Options{}); err != nil {
		fmt.Println(err)
	}
	fmt.Println(xml.String())
	if err := jsonxml.XMLToJSON(os.Stdout, strings.NewReader(xml.String()), jsonxml.Options{}); err != nil {
		fmt.Println(err)
	}
	// Output:
	// <?xml version="1.0" encoding="UTF-8"?><root><_x0031_st>a</_x0031_st><a_x0020_b>c</a_x0020_b><_x0024_> </_x0024_><_x_>e</_x_><p_x003A_q>r</p_x003A_q></root>
	// {"1st":"a","a b":"c","$":" ","":"e","p:q":"r"}
}

// A document type declaration is refused before anything is written: no
// external entity, no entity expansion.
func ExampleXMLToJSON_doctype() {
	in := `<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>`
	err := jsonxml.XMLToJSON(os.Stdout, strings.NewReader(in), jsonxml.Options{})
	fmt.Println(portico.ErrorCodeOf(err))
	// Output:
	// invalid
}
