package soap

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"strconv"
)

// Content types of SOAP messages, as Fault gives them.
const (
	ContentType11 = "text/xml; charset=utf-8"
	ContentType12 = "application/soap+xml; charset=utf-8"
)

// FaultNamespace is the namespace of the detail Fault writes: an error
// element holding Portico's error code and the HTTP status.
const FaultNamespace = "urn:portico:fault"

// Fault writes the gateway's own error as a SOAP fault of version (SOAP12
// for a SOAP 1.2 fault; anything else gives a SOAP 1.1 fault), and
// returns its content type and body. A status of 500 or more is the
// server's fault (SOAP 1.1 faultcode soap:Server, SOAP 1.2 env:Receiver),
// any other the client's (soap:Client, env:Sender). message is the fault's
// text (faultstring; the SOAP 1.2 Reason's Text in English), the status's
// text when empty; code, Portico's error code such as "rate_limited", goes
// with the status into the detail:
//
//	<p:error xmlns:p="urn:portico:fault"><p:code>rate_limited</p:code><p:status>429</p:status></p:error>
//
// Both texts are escaped; characters XML cannot carry (control
// characters, bytes that are not UTF-8) become U+FFFD.
//
// The HTTP status to send is the caller's. SOAP 1.1 over HTTP sends
// every fault with 500 (WS-I Basic Profile R1126) and SOAP 1.2 a Sender
// fault with 400, and some clients read a fault only under those
// statuses; the gateway's own status (401, 429 with Retry-After, 504)
// tells more to everything else.
func Fault(version string, status int, code, message string) (contentType string, body []byte) {
	if message == "" {
		message = http.StatusText(status)
	}
	if message == "" {
		message = "error"
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	if version == SOAP12 {
		value := "env:Sender"
		if status >= 500 {
			value = "env:Receiver"
		}
		b.WriteString(`<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><env:Fault><env:Code><env:Value>` + value +
			`</env:Value></env:Code><env:Reason><env:Text xml:lang="en">`)
		xml.EscapeText(&b, []byte(message))
		b.WriteString(`</env:Text></env:Reason><env:Detail>`)
		detail(&b, status, code)
		b.WriteString(`</env:Detail></env:Fault></env:Body></env:Envelope>`)
		return ContentType12, b.Bytes()
	}
	faultcode := "soap:Client"
	if status >= 500 {
		faultcode = "soap:Server"
	}
	b.WriteString(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode>` + faultcode +
		`</faultcode><faultstring>`)
	xml.EscapeText(&b, []byte(message))
	b.WriteString(`</faultstring><detail>`)
	detail(&b, status, code)
	b.WriteString(`</detail></soap:Fault></soap:Body></soap:Envelope>`)
	return ContentType11, b.Bytes()
}

func detail(b *bytes.Buffer, status int, code string) {
	b.WriteString(`<p:error xmlns:p="` + FaultNamespace + `"><p:code>`)
	xml.EscapeText(b, []byte(code))
	b.WriteString(`</p:code><p:status>` + strconv.Itoa(status) + `</p:status></p:error>`)
}
