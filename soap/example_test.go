package soap_test

import (
	"fmt"

	"github.com/portico-gw/portico/soap"
)

func ExampleParseWSDL() {
	doc := []byte(`<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:tns="urn:calc" targetNamespace="urn:calc">
  <portType name="Calc">
    <operation name="Add"><documentation>Adds two integers.</documentation></operation>
  </portType>
  <binding name="CalcSoap" type="tns:Calc">
    <soap:binding transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="Add"><soap:operation soapAction="urn:calc:Add"/></operation>
  </binding>
  <service name="Calculator">
    <port name="CalcSoap" binding="tns:CalcSoap"><soap:address location="https://calc.example.com/calc.asmx"/></port>
  </service>
</definitions>`)
	s, err := soap.ParseWSDL(doc)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Name, s.Endpoints[0].Address, s.Endpoints[0].Version)
	for _, r := range s.Resources() {
		fmt.Printf("%s %s %q %q\n", r.Pattern, r.OperationID, r.SOAPAction, r.Summary)
	}
	_, err = soap.ParseWSDL([]byte(`<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>`))
	fmt.Println(err)
	// Output:
	// Calculator https://calc.example.com/calc.asmx 1.1
	// POST / Add "urn:calc:Add" "Adds two integers."
	// (line 1, column 1): the document has a document type declaration (<!DOCTYPE) or another markup declaration: Portico refuses them all (no DTD, so no entity is ever defined or fetched)
}

func ExampleAction() {
	fmt.Println(soap.Action("text/xml; charset=utf-8", `"urn:calc:Add"`))
	fmt.Println(soap.Action(`application/soap+xml; charset=utf-8; action="urn:calc:Add"`, ""))
	fmt.Println(soap.Action("application/json", ""))
	// Output:
	// 1.1 urn:calc:Add true
	// 1.2 urn:calc:Add true
	//   false
}

func ExampleFault() {
	ct, body := soap.Fault(soap.SOAP11, 429, "rate_limited", "Rate limit exceeded: 10 requests per minute")
	fmt.Println(ct)
	fmt.Println(string(body))
	ct, body = soap.Fault(soap.SOAP12, 502, "bad_gateway", "The backend could not be reached")
	fmt.Println(ct)
	fmt.Println(string(body))
	// Output:
	// text/xml; charset=utf-8
	// <?xml version="1.0" encoding="UTF-8"?>
	// <soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode>soap:Client</faultcode><faultstring>Rate limit exceeded: 10 requests per minute</faultstring><detail><p:error xmlns:p="urn:portico:fault"><p:code>rate_limited</p:code><p:status>429</p:status></p:error></detail></soap:Fault></soap:Body></soap:Envelope>
	// application/soap+xml; charset=utf-8
	// <?xml version="1.0" encoding="UTF-8"?>
	// <env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><env:Fault><env:Code><env:Value>env:Receiver</env:Value></env:Code><env:Reason><env:Text xml:lang="en">The backend could not be reached</env:Text></env:Reason><env:Detail><p:error xmlns:p="urn:portico:fault"><p:code>bad_gateway</p:code><p:status>502</p:status></p:error></env:Detail></env:Fault></env:Body></env:Envelope>
}
