package soap_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/soap"
)

// base is a small valid WSDL document, one part a line: the root (line
// 1), types (2), a message (3), a port type (4), a SOAP 1.1 binding (5),
// a service (6). The refusals below change one thing in it.
const base = `<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/" xmlns:tns="urn:t" xmlns:xsd="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t" name="T">
<types><xsd:schema targetNamespace="urn:t"><xsd:element name="In" type="xsd:string"/></xsd:schema></types>
<message name="In"><part name="p" element="tns:In"/></message>
<portType name="P"><operation name="Op"><input message="tns:In"/></operation></portType>
<binding name="B" type="tns:P"><soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/><operation name="Op"><soap:operation soapAction="urn:op"/><input><soap:body use="literal"/></input></operation></binding>
<service name="S"><port name="Port" binding="tns:B"><soap:address location="http://backend.example/svc"/></port></service>
</definitions>
`

// with returns base with old replaced by new; old must be in base.
func with(pairs ...string) string {
	s := base
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			panic("not in base: " + pairs[i])
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	return s
}

const (
	pathPortType = `/definitions[@name="T"]/portType[@name="P"]`
	pathBinding  = `/definitions[@name="T"]/binding[@name="B"]`
	pathPort     = `/definitions[@name="T"]/service[@name="S"]/port[@name="Port"]`
)

// soap12Binding is a SOAP 1.2 binding B12 of the port type P.
const soap12Binding = `<binding name="B12" type="tns:P"><soap12:binding transport="http://schemas.xmlsoap.org/soap/http"/><operation name="Op"><soap12:operation soapAction="urn:op12"/></operation></binding>`

// refusal is a document ParseWSDL must refuse, and where and why.
type refusal struct {
	name string
	doc  string
	path string // the Error's Path
	line int    // its Line, when not 0
	says string // in its message
}

var refusals = []refusal{
	// Not XML, or not XML Portico reads.
	{"empty", "", "", 0, "the document is empty"},
	{"blank", " \n", "", 0, "the document is empty"},
	{"JSON", `{"openapi": "3.0.0"}`, "", 1, "text outside the root element"},
	{"unquoted attribute", with(`name="Op"`, `name=Op`), `/definitions[@name="T"]/portType[@name="P"]`, 4, "not well-formed XML"},
	{"end tag that does not match", with(`</portType>`, `</binding>`), pathPortType, 4, "does not match the start tag <portType>"},
	{"truncated", strings.TrimSuffix(base, "</definitions>\n"), `/definitions[@name="T"]`, 7, "ends inside the element definitions"},
	{"truncated in a tag", base[:len(base)-20], `/definitions[@name="T"]/service[@name="S"]`, 6, "unexpected EOF"},
	{"second root", base + "<definitions/>", "", 8, "a second root element"},
	{"text after the root", base + "x", "", 8, "text outside the root element"},
	{"end tag after the root", base + "</definitions>", "", 8, "the end tag </definitions> closes no element"},
	{"invalid UTF-8", with("name=\"Op\"", "name=\"O\xffp\""), pathPortType, 4, "invalid UTF-8"},
	{"control character by reference", with(`name="Op"`, `name="O&#1;p"`), pathPortType, 4, "illegal character code U+0001"},
	{"undefined entity", with(`name="Op"`, `name="&lol;"`), pathPortType, 4, "invalid character entity &lol;"},
	{"XML 1.1", `<?xml version="1.1"?>` + base, "", 1, "only version 1.0"},
	{"ISO-8859-1", `<?xml version="1.0" encoding="ISO-8859-1"?>` + base, "", 1, "an encoding other than UTF-8"},
	{"US-ASCII with a byte over 0x7F", `<?xml version="1.0" encoding="US-ASCII"?>` + with(`name="Op"`, "name=\"Op\xc3\xa9\""), "", 0, "US-ASCII but holds a byte over 0x7F"},
	{"UTF-16", "\xff\xfe<\x00d\x00", "", 1, "UTF-16"},

	// No DTD, no entities.
	{"billion laughs", `<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]>
` + with(`name="S"`, `name="&lol2;"`), "", 2, "document type declaration (<!DOCTYPE)"},
	{"XXE", `<!DOCTYPE definitions [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>` + with(`name="S"`, `name="&xxe;"`), "", 1, "document type declaration (<!DOCTYPE)"},
	{"external DTD", `<!DOCTYPE definitions SYSTEM "http://attacker.example/x.dtd">` + base, "", 1, "document type declaration (<!DOCTYPE)"},
	{"parameter entity", `<!DOCTYPE definitions [<!ENTITY % ext SYSTEM "http://attacker.example/x.dtd"> %ext;]>` + base, "", 1, "document type declaration (<!DOCTYPE)"},
	{"entity declaration alone", `<!ENTITY a "b">` + base, "", 1, "markup declaration"},

	// Limits.
	{"nesting beyond MaxDepth", with(`<xsd:element name="In" type="xsd:string"/>`, strings.Repeat("<x>", soap.MaxDepth)+strings.Repeat("</x>", soap.MaxDepth)),
		`/definitions[@name="T"]/types/xsd:schema` + strings.Repeat("/x", soap.MaxDepth-3), 2, "nest deeper than 100"},
	{"more than MaxNodes", with(`<xsd:element name="In" type="xsd:string"/>`, strings.Repeat("<x/>", soap.MaxNodes)), `/definitions[@name="T"]/types/xsd:schema`, 2, "more than 1048576 elements and attributes"},

	// Namespaces.
	{"undeclared element prefix", with(`<types>`, `<types><wsx:x/>`), `/definitions[@name="T"]/types/wsx:x`, 2, `the element "wsx:x" has an undeclared namespace prefix`},
	{"undeclared attribute prefix", with(`<portType name="P">`, `<portType name="P" wsx:a="1">`), "", 4, `the attribute "wsx:a" has an undeclared namespace prefix`},
	{"empty prefixed namespace", with(`<types>`, `<types xmlns:a="">`), "", 2, `xmlns:a="" is not allowed`},
	{"xml prefix rebound", with(`<types>`, `<types xmlns:xml="urn:x">`), "", 2, "binds a reserved prefix or namespace"},
	{"xmlns namespace bound", with(`<types>`, `<types xmlns:x="http://www.w3.org/2000/xmlns/">`), "", 2, "binds a reserved prefix or namespace"},
	{"attribute twice", with(`<portType name="P">`, `<portType name="P" name="Q">`), "", 4, `the attribute "name" is given twice`},
	{"attribute twice by namespace", with(`<portType name="P">`, `<portType name="P" xmlns:a="urn:a" xmlns:b="urn:a" a:x="1" b:x="2">`), "", 4, `the attribute "x" is given twice`},
	{"attribute twice among many", with(`<portType name="P">`, `<portType name="P"`+func() string {
		var b strings.Builder
		for i := range 20 {
			fmt.Fprintf(&b, ` a%d="1"`, i)
		}
		return b.String()
	}()+` a7="2">`), "", 4, `the attribute "a7" is given twice`},
	{"element name with a colon at the end", with(`<types>`, `<types><x:/>`), "", 2, `the element "x:" has an undeclared namespace prefix or is not a qualified name`},

	// Not WSDL 1.1.
	{"WSDL 2.0", `<description xmlns="http://www.w3.org/ns/wsdl" targetNamespace="urn:t"/>`, "/description", 1, "WSDL 2.0"},
	{"definitions in no namespace", `<definitions name="T"/>`, `/definitions[@name="T"]`, 1, "in no namespace"},
	{"definitions in another namespace", `<definitions xmlns="http://schemas.xmlsoap.org/wsdl/2"/>`, "/definitions", 1, `in the namespace "http://schemas.xmlsoap.org/wsdl/2"`},
	{"a SOAP envelope", `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body/></soap:Envelope>`, "/soap:Envelope", 1, "not a WSDL 1.1 document"},
	{"WSDL namespace by another prefix only", strings.ReplaceAll(base, `xmlns="http://schemas.xmlsoap.org/wsdl/"`, `xmlns:w="http://schemas.xmlsoap.org/wsdl/"`), `/definitions[@name="T"]`, 1, "in no namespace"},
	{"targetNamespace with a control character", with(`targetNamespace="urn:t"`, "targetNamespace=\"urn:t\u0085\""), `/definitions[@name="T"]`, 1, "targetNamespace"},

	// Imports.
	{"wsdl:import", with(`<types>`, `<import namespace="urn:other" location="http://attacker.example/other.wsdl"/><types>`), `/definitions[@name="T"]/import`, 2, `imports "http://attacker.example/other.wsdl": Portico does not follow imports`},
	{"wsdl:import without location", with(`<types>`, `<import namespace="urn:other"/><types>`), `/definitions[@name="T"]/import`, 2, "Portico does not follow imports"},
	{"xsd:import with a location", with(`<xsd:element`, `<xsd:import namespace="urn:x" schemaLocation="file:///etc/passwd"/><xsd:element`), `/definitions[@name="T"]/types/xsd:schema/xsd:import`, 2, `the schema imports "file:///etc/passwd"`},
	{"xsd:include", with(`<xsd:element`, `<xsd:include schemaLocation="more.xsd"/><xsd:element`), `/definitions[@name="T"]/types/xsd:schema/xsd:include`, 2, `the schema includes "more.xsd"`},
	{"xsd:redefine", with(`<xsd:element`, `<xsd:redefine schemaLocation="more.xsd"/><xsd:element`), `/definitions[@name="T"]/types/xsd:schema/xsd:redefine`, 2, `the schema redefines "more.xsd"`},
	{"old XML Schema import", with(`<types>`, `<types><s:schema xmlns:s="http://www.w3.org/1999/XMLSchema"><s:import schemaLocation="x.xsd"/></s:schema>`), `/definitions[@name="T"]/types/s:schema/s:import`, 2, "Portico does not follow imports"},

	// Names.
	{"port type without a name", with(`<portType name="P">`, `<portType>`), "", 4, "the port type has no name"},
	{"empty operation name", with(`<operation name="Op"><input`, `<operation name=""><input`), "", 4, "the operation has no name"},
	{"name with a space", with(`<operation name="Op"><input`, `<operation name="O p"><input`), "", 4, `the operation's name "O p" holds spaces`},
	{"name with a line feed", with(`<operation name="Op"><input`, `<operation name="O&#10;p"><input`), "", 4, `the operation's name "O\np" holds spaces`},
	{"name with a C1 control", with(`<operation name="Op"><input`, "<operation name=\"O\u0085p\"><input"), "", 4, "control characters"},
	{"name with a colon", with(`<service name="S">`, `<service name="a:S">`), "", 6, "colons"},
	{"name over MaxNameBytes", with(`<port name="Port"`, `<port name="`+strings.Repeat("p", soap.MaxNameBytes+1)+`"`), "", 6, "the port's name is over 200 bytes"},
	{"port type twice", with(`<binding name="B"`, `<portType name="P"/><binding name="B"`), "", 5, `a second port type named "P"`},
	{"binding twice", with(`<service`, `<binding name="B" type="tns:P"/><service`), "", 6, `a second binding named "B"`},
	{"service twice", with(`</definitions>`, `<service name="S"/></definitions>`), "", 7, `a second service named "S"`},
	{"port twice", with(`</service>`, `<port name="Port" binding="tns:B"/></service>`), "", 6, `a second port named "Port"`},
	{"overloaded operation", with(`</operation></portType>`, `</operation><operation name="Op"/></portType>`), pathPortType + `/operation[@name="Op"]`, 4, "overloaded operations"},
	{"overloaded binding operation", with(`</operation></binding>`, `</operation><operation name="Op"/></binding>`), pathBinding + `/operation[@name="Op"]`, 5, "overloaded operations"},

	// Bindings.
	{"binding type with an undeclared prefix", with(`type="tns:P"`, `type="x:P"`), pathBinding, 5, `the binding's type "x:P" is not a qualified name`},
	{"binding of an unknown port type", with(`type="tns:P"`, `type="tns:Q"`), pathBinding, 5, `the binding's type "Q" is no port type of the document`},
	{"binding of a port type in another namespace", with(`type="tns:P"`, `xmlns:o="urn:o" type="o:P"`), pathBinding, 5, `it names the namespace "urn:o"`},
	{"unknown port type of an unused binding", with(`<service`, `<binding name="H" type="tns:Nothing"><http:binding xmlns:http="http://schemas.xmlsoap.org/wsdl/http/" verb="GET"/></binding><service`), `/definitions[@name="T"]/binding[@name="H"]`, 6, "no port type of the document"},
	{"two soap:bindings", with(`<operation name="Op"><soap:operation`, `<soap12:binding/><operation name="Op"><soap:operation`), pathBinding + "/soap12:binding", 5, "a second soap:binding or soap12:binding"},
	{"bad binding style", with(`style="document"`, `style="message"`), pathBinding + "/soap:binding", 5, `the style "message" is neither document nor rpc`},
	{"bad operation style", with(`soapAction="urn:op"`, `soapAction="urn:op" style="RPC"`), pathBinding + `/operation[@name="Op"]/soap:operation`, 5, `the style "RPC"`},
	{"two soap:operations", with(`<input><soap:body`, `<soap:operation/><input><soap:body`), pathBinding + `/operation[@name="Op"]/soap:operation`, 5, "a second soap:operation"},
	{"soapAction over MaxActionBytes", with(`soapAction="urn:op"`, `soapAction="urn:`+strings.Repeat("a", soap.MaxActionBytes)+`"`), pathBinding + `/operation[@name="Op"]/soap:operation`, 5, "the soapAction is over 2048 bytes"},
	{"soapAction with a control character", with(`soapAction="urn:op"`, "soapAction=\"urn:o\u0085p\""), pathBinding + `/operation[@name="Op"]/soap:operation`, 5, "control characters"},
	{"binding operation its port type lacks", with(`</operation></binding>`, `</operation><operation name="Other"/></binding>`), pathBinding + `/operation[@name="Other"]`, 5, `the binding lists the operation "Other", which its port type "P" lacks`},
	{"operation with no SOAP binding", with(`</operation></portType>`, `</operation><operation name="Unbound"/></portType>`), pathBinding, 5, `the operation "Unbound" of the port type "P" has no operation in this SOAP binding`},
	{"soap12:operation in a SOAP 1.1 binding", with(`<soap:operation soapAction="urn:op"/>`, `<soap12:operation soapAction="urn:op"/>`), pathBinding + `/operation[@name="Op"]`, 5, "a SOAP 1.2 soap:operation in a SOAP 1.1 binding"},
	{"one operation, two SOAP 1.1 actions", with(`<service`, strings.NewReplacer("B12", "B2", "soap12:", "soap:", "urn:op12", "urn:other").Replace(soap12Binding)+`<service`,
		`</port>`, `</port><port name="Port2" binding="tns:B2"><soap:address location="http://backend.example/svc2"/></port>`),
		`/definitions[@name="T"]/binding[@name="B2"]/operation[@name="Op"]`, 6, `the operation "Op" has the SOAP 1.1 action "urn:op" in the binding "B" and "urn:other" in the binding "B2"`},

	// Messages, and the references that give an operation's body element.
	{"message twice", with(`<portType`, `<message name="In"/><portType`), "", 4, `a second message named "In"`},
	{"message without a name", with(`<message name="In">`, `<message>`), "", 3, "the message has no name"},
	{"part twice", with(`<part name="p" element="tns:In"/>`, `<part name="p" element="tns:In"/><part name="p" type="xsd:string"/>`), `/definitions[@name="T"]/message[@name="In"]/part[@name="p"]`, 3, `the message has two parts named "p"`},
	{"part without a name", with(`<part name="p" element="tns:In"/>`, `<part element="tns:In"/>`), "", 3, "the part has no name"},
	{"part name with a space", with(`<part name="p"`, `<part name="p q"`), "", 3, `the part's name "p q" holds spaces`},
	{"part with an element and a type", with(`element="tns:In"`, `element="tns:In" type="xsd:string"`), "", 3, "both an element and a type"},
	{"part element with an undeclared prefix", with(`element="tns:In"`, `element="x:In"`), `/definitions[@name="T"]/message[@name="In"]/part[@name="p"]`, 3, `the part's element "x:In" is not a qualified name with a declared prefix`},
	{"part element that is no QName", with(`element="tns:In"`, `element="tns:a:b"`), "", 3, "is not a qualified name"},
	{"part element in a namespace with a brace", with(`element="tns:In"`, `xmlns:b="urn:}" element="b:In"`), "", 3, "braces"},
	{"part element in a namespace over MaxActionBytes", with(`element="tns:In"`, `xmlns:b="urn:`+strings.Repeat("n", soap.MaxActionBytes)+`" element="b:In"`), "", 3, "a namespace of over 2048 bytes"},
	{"input twice in a port type", with(`<input message="tns:In"/>`, `<input message="tns:In"/><input message="tns:In"/>`), pathPortType + `/operation[@name="Op"]/input`, 4, "a second input"},
	{"input message with an undeclared prefix", with(`<input message="tns:In"/>`, `<input message="x:In"/>`), pathPortType + `/operation[@name="Op"]/input`, 4, `the input's message "x:In" is not a qualified name`},
	{"input without a message", with(`<input message="tns:In"/>`, `<input/>`), "", 4, `the input's message "" is not a qualified name`},
	{"input of an unknown message", with(`<input message="tns:In"/>`, `<input message="tns:Out"/>`), pathPortType + `/operation[@name="Op"]/input`, 4, `the input's message "Out" is no message of the document`},
	{"input of a message in another namespace", with(`<input message="tns:In"/>`, `<input xmlns:o="urn:o" message="o:In"/>`), pathPortType + `/operation[@name="Op"]/input`, 4, `it names the namespace "urn:o"`},
	{"input twice in a binding", with(`<input><soap:body use="literal"/></input>`, `<input/><input/>`), pathBinding + `/operation[@name="Op"]/input`, 5, "a second input"},
	{"soap:body twice", with(`<soap:body use="literal"/>`, `<soap:body/><soap:body/>`), pathBinding + `/operation[@name="Op"]/input/soap:body`, 5, "a second soap:body"},
	{"soap12:body in a SOAP 1.1 binding", with(`<soap:body use="literal"/>`, `<soap12:body use="literal"/>`), pathBinding + `/operation[@name="Op"]/input/soap12:body`, 5, "a SOAP 1.2 soap:body in a SOAP 1.1 binding"},
	{"soap:body parts naming a part the message lacks", with(`<soap:body use="literal"/>`, `<soap:body parts="p q" use="literal"/>`), pathBinding + `/operation[@name="Op"]/input/soap:body`, 5, `the soap:body's parts name "q", which the message "In" lacks`},
	{"soap:body use neither literal nor encoded", with(`use="literal"`, `use="literally"`), "", 5, `the use "literally" is neither literal nor encoded`},
	{"soap:body namespace with a control character", with(`use="literal"`, "use=\"literal\" namespace=\"urn:\u0085x\""), "", 5, "control characters or braces"},
	{"soap:body namespace over MaxActionBytes", with(`use="literal"`, `use="literal" namespace="urn:`+strings.Repeat("n", soap.MaxActionBytes)+`"`), "", 5, "over 2048 bytes"},

	// Services and ports.
	{"no service", with(`<service name="S"><port name="Port" binding="tns:B"><soap:address location="http://backend.example/svc"/></port></service>`, ``), "", 0, "no service of the document has a SOAP port"},
	{"no SOAP port", with(`<soap:address location="http://backend.example/svc"/>`, `<http:address xmlns:http="http://schemas.xmlsoap.org/wsdl/http/" location="http://backend.example/svc"/>`), "", 0, "no service of the document has a SOAP port"},
	{"port binding with an undeclared prefix", with(`binding="tns:B"`, `binding="x:B"`), pathPort, 6, `the port's binding "x:B" is not a qualified name`},
	{"port of an unknown binding", with(`binding="tns:B"`, `binding="tns:C"`), pathPort, 6, `the port's binding "C" is no binding of the document`},
	{"SOAP port of a binding that is not SOAP", with(`<soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>`, ``), pathPort, 6, `its binding "B" is no SOAP binding`},
	{"SOAP 1.2 address for a SOAP 1.1 binding", with(`<soap:address`, `<soap12:address`), pathPort, 6, `the port has a SOAP 1.2 address but its binding "B" is a SOAP 1.1 binding`},
	{"two SOAP addresses", with(`</port>`, `<soap:address location="http://backend.example/2"/></port>`), pathPort + "/soap:address", 6, "a second SOAP address"},
	{"address placeholder", with(`http://backend.example/svc`, `REPLACE_WITH_ACTUAL_URL`), pathPort, 6, `the SOAP address "REPLACE_WITH_ACTUAL_URL" is not an absolute http or https URL`},
	{"address without location", with(`<soap:address location="http://backend.example/svc"/>`, `<soap:address/>`), pathPort, 6, "is empty"},
	{"relative address", with(`http://backend.example/svc`, `/svc`), pathPort, 6, "is not an absolute http or https URL"},
	{"address of another scheme", with(`http://backend.example/svc`, `jms:queue:orders`), pathPort, 6, "is not an absolute http or https URL"},
	{"address without a host", with(`http://backend.example/svc`, `http:///svc`), pathPort, 6, "is not an absolute http or https URL"},
	{"address with credentials", with(`http://backend.example/svc`, `https://user:secret@backend.example/svc`), pathPort, 6, "carries credentials"},
	{"address with a query", with(`http://backend.example/svc`, `http://backend.example/svc?wsdl`), pathPort, 6, "has a query or a fragment"},
	{"address with a fragment", with(`http://backend.example/svc`, `http://backend.example/svc#x`), pathPort, 6, "has a query or a fragment"},
	{"address with a space", with(`http://backend.example/svc`, `http://backend.example/s vc`), pathPort, 6, "holds spaces or control characters"},
	{"address over MaxAddressBytes", with(`http://backend.example/svc`, `http://backend.example/`+strings.Repeat("a", soap.MaxAddressBytes)), pathPort, 6, "is over 2000 bytes"},
	{"more than MaxResources operations", func() string {
		var pt, b strings.Builder
		for i := range portico.MaxResources + 1 {
			fmt.Fprintf(&pt, `<operation name="Op%d"/>`, i)
			fmt.Fprintf(&b, `<operation name="Op%d"/>`, i)
		}
		return with(`<operation name="Op"><input message="tns:In"/></operation></portType>`, pt.String()+`</portType>`,
			`<operation name="Op"><soap:operation soapAction="urn:op"/><input><soap:body use="literal"/></input></operation></binding>`, b.String()+`</binding>`)
	}(), "", 0, "the service has 5001 operations; Portico takes at most 5000"},
}

// TestParseWSDLRefuses checks each refusal: an *Error naming the place
// and the problem, that unwraps to an EInvalid portico.Error on the
// field "document".
func TestParseWSDLRefuses(t *testing.T) {
	if _, err := soap.ParseWSDL([]byte(base)); err != nil {
		t.Fatalf("base: %v", err)
	}
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			s, err := soap.ParseWSDL([]byte(r.doc))
			if err == nil {
				t.Fatalf("accepted: %+v", s)
			}
			var e *soap.Error
			if !errors.As(err, &e) {
				t.Fatalf("refused with %T: %v", err, err)
			}
			if e.Code != portico.EInvalid || portico.ErrorCodeOf(err) != portico.EInvalid || portico.ErrorFieldOf(err) != "document" {
				t.Errorf("code %q, portico code %q, field %q", e.Code, portico.ErrorCodeOf(err), portico.ErrorFieldOf(err))
			}
			if e.Path != r.path && r.path != "" {
				t.Errorf("path %q, want %q", e.Path, r.path)
			}
			if r.line != 0 && e.Line != r.line {
				t.Errorf("line %d, want %d (%v)", e.Line, r.line, err)
			}
			if (e.Line == 0) != (e.Column == 0) {
				t.Errorf("line %d, column %d", e.Line, e.Column)
			}
			if !strings.Contains(e.Message, r.says) {
				t.Errorf("message %q, want it to say %q", e.Message, r.says)
			}
			if !strings.Contains(portico.ErrorMessageOf(err), e.Message) {
				t.Errorf("portico message %q", portico.ErrorMessageOf(err))
			}
		})
	}
}

// TestParseWSDLTooLarge refuses a document over MaxDocumentBytes before
// reading it.
func TestParseWSDLTooLarge(t *testing.T) {
	doc := []byte(base + strings.Repeat(" ", portico.MaxDocumentBytes))
	_, err := soap.ParseWSDL(doc)
	var e *soap.Error
	if !errors.As(err, &e) || e.Code != portico.ETooLarge || portico.ErrorCodeOf(err) != portico.ETooLarge || !strings.Contains(e.Message, "the limit is 16777216") {
		t.Fatalf("got %v", err)
	}
}
