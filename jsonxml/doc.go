// Package jsonxml converts bodies between JSON and XML by a mapping that
// round-trips: JSONToXML and XMLToJSON, configured by a
// portico.Conversion (OptionsFor).
//
// # The mapping
//
// One JSON value is one XML document. The document element stands for the
// value: JSONToXML names it Options.Root ("root" by default), XMLToJSON
// ignores its name. Everything else follows from how one element stands
// for one value.
//
// XML to JSON. An element with no attribute and no child element is a
// string, its text with its white space:
//
//	<a>x</a>  →  "x"          <a/>  →  ""          <a> </a>  →  " "
//
// Any other element is an object:
//   - Each attribute is a member "@" + its name as written, with the
//     attribute's value: "@id", "@xml:lang". Namespace declarations are
//     attributes too: "@xmlns", "@xmlns:p" (but for the declarations of
//     the type markers' namespace, below, which are dropped).
//   - Its text, when it has some other than white space, is the member
//     "$". Text that is only white space (the indentation between child
//     elements) is dropped; the other pieces of text of mixed content are
//     joined into one "$".
//   - Each child element is a member named by the element's name, the
//     prefix as written (prefixes are not resolved: "p:item"). An element
//     name that appears once gives the element's value; one that appears
//     several times gives an array of their values, in document order, at
//     the place of the first.
//   - The members come in the order attributes, then text and child
//     elements by first appearance. Members of one name from different
//     sources (an attribute id and an element named _x0040_id, see Names)
//     are gathered into one array like repeated elements.
//
// For example
//
//	<order id="7" xmlns:p="urn:p"><p:item>a</p:item><p:item>b</p:item><note>hi</note></order>
//	→ {"@id":"7","@xmlns:p":"urn:p","p:item":["a","b"],"note":"hi"}
//
// Text is always a string and a single element never an array: XML alone
// does not say that "7" is a number or that a list has one item, and
// guessing (as some converters do with "007" or "true") loses data. Where
// the JSON type is not the one the element would give, the element carries
// a type marker, the attribute type in the namespace Namespace
// ("urn:portico:json", written with the prefix j):
//
//	<a j:type="number">1.50</a>       →  1.50   (the literal as written, never through a float)
//	<a j:type="boolean">true</a>      →  true
//	<a j:type="null"/>                →  null
//	<a j:type="object"/>              →  {}
//	<a j:type="object">x</a>          →  {"$":"x"}
//	<a j:type="array"/>               →  []
//	<a j:type="array"><item>x</item></a>  →  ["x"]
//
// A number's text (white space around it aside) must be a JSON number, a
// boolean's true or false, a null's empty. In an element marked array each
// child element, whatever its name, is an item, and there is no other text
// than white space. An element marked number, boolean, null or array has
// no attribute but namespace declarations, which are dropped.
//
// JSON to XML is the same mapping the other way. A string is an element
// with that text; "" an empty element. A number, true and false are an
// element with the literal as text and the marker; null an empty element
// with the marker. An object is an element:
//   - A member "@name" whose value is a string is an attribute when name
//     can be one there: an XML name without a colon (not xmlns), a
//     prefix:local whose prefix is declared on this element or an
//     ancestor, or a namespace declaration ("@xmlns", "@xmlns:p") that
//     XML allows and that does not bind Namespace; and when no attribute
//     before it on the element has its expanded name. Any other "@…"
//     member is a child element (named _x0040_…, see Names).
//   - A member "$" whose value is a string with a character other than
//     white space is text, at its place among the child elements.
//   - A member whose value is an array of two or more items is one child
//     element per item, each named by the member (so repeated elements
//     come back as the same array); any other member is one child element.
//   - The object's element is marked object when nothing but "$" text
//     would be written (otherwise it would read as a string).
//
// An array that is not a member's array of two or more items (the document
// itself, an item of an array, a member's array of zero or one item) is
// one element marked array, its items elements named item.
//
// The marker's namespace is declared once, on the document element, and
// only when a marker is written; its prefix is j, or j1, j2, … when the
// document uses j. So JSON that came from XML goes back to XML without a
// single marker.
//
// Names. A member name that is an XML name (of XML 1.0, Fourth Edition,
// the names encoding/xml reads) is the element's name as it is; a prefixed name keeps its prefix when the prefix is declared in
// scope. Any other member name is escaped as in SQL/XML and .NET's
// XmlConvert: each character that may not stand where it is (a digit
// first, a space, '$', '@', a ':' whose prefix is not declared) is written
// _xHHHH_ (_xHHHHHHHH_ above U+FFFF) with upper-case hex digits, an '_'
// that would otherwise read as such an escape is written _x005F_, and the
// empty name is _x_. XMLToJSON unescapes the local part of every element
// name (not attribute names, which JSONToXML never escapes):
//
//	{"1st":"a","a b":"c","$":" ","":"e","p:q":"r"}  (p not declared)
//	→ <_x0031_st>a</_x0031_st><a_x0020_b>c</a_x0020_b><_x0024_> </_x0024_><_x_>e</_x_><p_x003A_q>r</p_x003A_q>
//
// # Why this mapping
//
// Established mappings each lose something one way. BadgerFish keeps all
// of an XML document of data ("@" for attributes, "$" for text, namespace
// declarations as members), but writes every text as {"$":"…"}, and JSON
// numbers, booleans, null and one-item arrays do not survive a trip
// through it. Parker (elements only) drops attributes and namespaces.
// Apigee's JSONToXML and XMLToJSON policies guess types and arrays from
// options (RecognizeNumber, TreatAsArray paths) and name a null with a
// sentinel, so neither direction round-trips in general. XPath 3.1's
// json-to-xml form (<map><number key="n">1</number></map>) round-trips
// JSON, but it is not the XML a backend expects, and it gives no JSON
// for other XML. This mapping takes BadgerFish's "@" and "$" with Parker's
// and Apigee's plain strings for text-only elements (what JSON clients
// expect), and adds a type marker in its own namespace only where the XML
// would otherwise not say the JSON type: XML of a backend converts to
// readable JSON and back without any marker, and any JSON survives a trip
// through XML.
//
// # Round trips
//
// JSON → XML → JSON gives the same JSON value: the same members with the
// same values (numbers with the same literal), arrays of any length stay
// arrays; the members keep their order but that "@" members written as
// attributes come first. The XML that JSON gives is a fixed point: read
// and written again, it comes back byte for byte.
//
// XML → JSON → XML → JSON gives the same JSON value twice, for every
// document XMLToJSON takes, and from the XML of the second step on, XML
// and JSON are fixed points byte for byte. (The second JSON can differ
// from the first in member order only: an element named _x0040_id
// read as the member "@id" is written back as the attribute id.) The XML
// of the second step is the first one up to normalisation:
//   - the document element is named Options.Root; an XML declaration
//     (version 1.0, UTF-8) starts the document;
//   - comments, processing instructions and a byte order mark are dropped;
//     CDATA sections become escaped text; character and entity references
//     are written only where needed (&amp; &lt; &gt; &quot;, and &#xD;,
//     &#x9;, &#xA; where a parser would change the character); attributes
//     in double quotes, empty elements as <a/>;
//   - in an element with attributes or child elements, text that is only
//     white space is dropped, and the pieces of mixed content are joined
//     into one at the place of the first (<p>Hello <b>you</b>!</p> becomes
//     <p>Hello !<b>you</b></p>): the mapping is for data, not for
//     documents;
//   - repeated elements are gathered at the place of the first
//     (<a/><b/><a/> becomes <a/><a/><b/>);
//   - declarations of the marker namespace are dropped, and written again
//     on the document element if needed; so are the namespace
//     declarations on an element marked number, boolean, null or array
//     (which has no place for them), and a name below it that used one is
//     then written escaped;
//   - an element name escaped in another way than JSONToXML escapes it
//     (_x0041_ for A) is written in its canonical form.
//
// A document of data (no mixed content, repeated elements side by side,
// no comments) with Root matching its document element comes back as
// written, but for the XML declaration and character escapes
// (TestXMLDataRoundTrip).
//
// # Limits and refusals
//
// The whole body is read before anything is written, at most
// Options.MaxBytes, and parsed into a compact form: a tape of 16 bytes per
// JSON value, 28 bytes per XML element, attribute or text and an arena of
// their text. A body made of the smallest values ("[0,0,…]",
// "<a/><a/>…") holds about 11 times its size while it is converted
// (TestMemoryBound), with the garbage collector's slack a peak of about 25
// times; an ordinary body a few times. The output goes to dst in pieces
// of 16 KiB as it is written; nothing is written unless the whole input
// converts. Output can be larger than input: the XML of JSON made of many
// small numbers is up to about 15 times its size (each item an element
// with a marker), so a backend's own body limit may need that room. Errors are *portico.Error values:
// ETooLarge for a body over MaxBytes; EInvalid, with a message fit for the
// client, for input that is malformed or beyond what the mapping carries:
//   - JSON: not RFC 8259 JSON in UTF-8; a member name used twice in one
//     object; a string value with a character XML 1.0 cannot hold
//     (U+0000–U+001F but tab, LF and CR; U+FFFE; U+FFFF; an escaped lone
//     surrogate); arrays and objects nested deeper than MaxDepth;
//   - XML: not well-formed or not namespace well-formed XML 1.0 (an
//     undeclared prefix, an attribute twice, xml or xmlns misused); not
//     UTF-8; a document type declaration (<!DOCTYPE …>) or any other <!…>
//     declaration, so no DTD, no external entity (XXE) and no entity
//     expansion (billion laughs); a reference to an entity other than the
//     predefined five; text or a second element outside the document
//     element; elements nested deeper than MaxDepth; a type marker its
//     element contradicts, or an unknown attribute in Namespace.
package jsonxml
