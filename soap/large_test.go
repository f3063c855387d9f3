package soap_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/soap"
)

// largeWSDL returns a generated WSDL of ops operations in the form
// ASP.NET publishes (see testdata/inventory-asmx.wsdl): for each
// operation a request and a response element with fields of nested
// types, two messages, a documented port type operation, and an
// operation in a SOAP 1.1 and a SOAP 1.2 binding; a service with a port
// of each.
func largeWSDL(ops int) []byte {
	var types, msgs, pt, b11, b12 strings.Builder
	text := "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore."
	for i := range ops {
		fmt.Fprintf(&types, `
      <s:element name="Op%d"><s:complexType><s:sequence>
        <s:element minOccurs="0" maxOccurs="1" name="id" type="s:string"/>
        <s:element minOccurs="1" maxOccurs="1" name="count" type="s:int"/>
        <s:element minOccurs="0" maxOccurs="1" name="filter"><s:complexType><s:sequence>
          <s:element minOccurs="0" maxOccurs="unbounded" name="term" type="s:string"/>
        </s:sequence></s:complexType></s:element>
      </s:sequence></s:complexType></s:element>
      <s:element name="Op%dResponse"><s:complexType><s:sequence>
        <s:element minOccurs="0" maxOccurs="1" name="Op%dResult" type="tns:Record"/>
      </s:sequence></s:complexType></s:element>`, i, i, i)
		fmt.Fprintf(&msgs, `
  <wsdl:message name="Op%dSoapIn"><wsdl:part name="parameters" element="tns:Op%d"/></wsdl:message>
  <wsdl:message name="Op%dSoapOut"><wsdl:part name="parameters" element="tns:Op%dResponse"/></wsdl:message>`, i, i, i, i)
		fmt.Fprintf(&pt, `
    <wsdl:operation name="Op%d">
      <wsdl:documentation xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/">Operation %d. %s</wsdl:documentation>
      <wsdl:input message="tns:Op%dSoapIn"/>
      <wsdl:output message="tns:Op%dSoapOut"/>
    </wsdl:operation>`, i, i, text, i, i)
		for _, x := range []struct {
			b      *strings.Builder
			prefix string
		}{{&b11, "soap"}, {&b12, "soap12"}} {
			fmt.Fprintf(x.b, `
    <wsdl:operation name="Op%d">
      <%s:operation soapAction="http://large.example.com/Op%d" style="document"/>
      <wsdl:input><%s:body use="literal"/></wsdl:input>
      <wsdl:output><%s:body use="literal"/></wsdl:output>
    </wsdl:operation>`, i, x.prefix, i, x.prefix, x.prefix)
		}
	}
	return []byte(`<?xml version="1.0" encoding="utf-8"?>
<wsdl:definitions xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:tns="http://large.example.com/" xmlns:s="http://www.w3.org/2001/XMLSchema"
    xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/" targetNamespace="http://large.example.com/" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/">
  <wsdl:types>
    <s:schema elementFormDefault="qualified" targetNamespace="http://large.example.com/">
      <s:complexType name="Record"><s:sequence>
        <s:element minOccurs="0" maxOccurs="1" name="Id" type="s:string"/>
        <s:element minOccurs="1" maxOccurs="1" name="Updated" type="s:dateTime"/>
      </s:sequence></s:complexType>` + types.String() + `
    </s:schema>
  </wsdl:types>` + msgs.String() + `
  <wsdl:portType name="LargeSoap">` + pt.String() + `
  </wsdl:portType>
  <wsdl:binding name="LargeSoap" type="tns:LargeSoap">
    <soap:binding transport="http://schemas.xmlsoap.org/soap/http"/>` + b11.String() + `
  </wsdl:binding>
  <wsdl:binding name="LargeSoap12" type="tns:LargeSoap">
    <soap12:binding transport="http://schemas.xmlsoap.org/soap/http"/>` + b12.String() + `
  </wsdl:binding>
  <wsdl:service name="Large">
    <wsdl:port name="LargeSoap" binding="tns:LargeSoap"><soap:address location="https://large.example.com/large.asmx"/></wsdl:port>
    <wsdl:port name="LargeSoap12" binding="tns:LargeSoap12"><soap12:address location="https://large.example.com/large.asmx"/></wsdl:port>
  </wsdl:service>
</wsdl:definitions>
`)
}

// hostileLarge returns documents near the limits, each refused or
// accepted only after reading all of it: the costliest shapes for the
// reader.
func hostileLarge() map[string][]byte {
	inTypes := func(s string) []byte {
		return []byte(strings.Replace(base, `<xsd:element name="In" type="xsd:string"/>`, s, 1))
	}
	nested := strings.Repeat("<x>", soap.MaxDepth-4) + strings.Repeat("</x>", soap.MaxDepth-4)
	return map[string][]byte{
		// Empty elements up to MaxNodes: 4 MB.
		"elements": inTypes(strings.Repeat("<x/>", soap.MaxNodes-100)),
		// Elements of 100 attributes each, up to MaxNodes: 6.8 MB.
		"attributes": inTypes(strings.Repeat("<x"+func() string {
			var b strings.Builder
			for i := range 99 {
				fmt.Fprintf(&b, ` a%d=""`, i)
			}
			return b.String()
		}()+"/>", soap.MaxNodes/100-1)),
		// Nesting to MaxDepth, over and over, near 16 MiB: refused at
		// MaxNodes, 7 MB in.
		"nesting": inTypes(strings.Repeat(nested, (portico.MaxDocumentBytes-2000)/len(nested))),
		// One text of 16 MiB.
		"text": inTypes("<x>" + strings.Repeat("a&amp;", (portico.MaxDocumentBytes-2000)/6) + "</x>"),
		// Namespace declarations, 1,000 on each of 90 nested elements.
		"namespaces": inTypes(strings.Repeat("<x"+func() string {
			var b strings.Builder
			for i := range 1000 {
				fmt.Fprintf(&b, ` xmlns:p%d="urn:%d"`, i, i)
			}
			return b.String()
		}()+">", 90) + strings.Repeat("</x>", 90)),
	}
}

// largeBudget bounds the time ParseWSDL takes on a large document, on a
// busy 2-core machine.
const largeBudget = 2 * time.Second

// TestParseWSDLLarge parses the generated document of 5,000 operations
// (portico.MaxResources) and the hostile shapes, and, without the race
// detector, checks each against largeBudget on the best of three runs.
// (With it, only the first and the namespaces, which take 10 times as
// long.)
func TestParseWSDLLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("documents of up to 16 MiB")
	}
	docs := hostileLarge()
	docs["5000 operations"] = largeWSDL(portico.MaxResources)
	for name, doc := range docs {
		if raceEnabled && name != "5000 operations" && name != "namespaces" {
			continue
		}
		best := time.Hour
		var err error
		var s *soap.Service
		for range 3 {
			start := time.Now()
			s, err = soap.ParseWSDL(doc)
			best = min(best, time.Since(start))
			if raceEnabled {
				break
			}
		}
		switch {
		case name == "5000 operations" && (err != nil || len(s.Operations) != portico.MaxResources):
			t.Fatalf("%s: %v", name, err)
		case name == "5000 operations":
			checkService(t, s)
		case name == "nesting":
			if err == nil || !strings.Contains(err.Error(), "more than 1048576 elements and attributes") {
				t.Errorf("%s: %v", name, err)
			}
		case err != nil:
			t.Errorf("%s: %v", name, err)
		}
		t.Logf("%s: %d bytes in %v", name, len(doc), best)
		if !raceEnabled && best > largeBudget {
			t.Errorf("%s: parsing %d bytes took %v, over %v", name, len(doc), best, largeBudget)
		}
	}
}

// BenchmarkParseWSDLLarge parses the generated document of 5,000
// operations.
func BenchmarkParseWSDLLarge(b *testing.B) {
	doc := largeWSDL(portico.MaxResources)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		s, err := soap.ParseWSDL(doc)
		if err != nil || len(s.Operations) != portico.MaxResources {
			b.Fatal(err)
		}
		if len(s.Resources()) != portico.MaxResources {
			b.Fatal("resources")
		}
	}
}
