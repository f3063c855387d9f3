package soap_test

import (
	"strings"
	"testing"

	"github.com/portico-gw/portico/soap"
)

func TestAction(t *testing.T) {
	for _, c := range []struct {
		name, contentType, soapAction string
		version, action               string // version "" for a refusal
	}{
		{"SOAP 1.1", "text/xml; charset=utf-8", `"http://tempuri.org/Add"`, "1.1", "http://tempuri.org/Add"},
		{"SOAP 1.1, the empty action", "text/xml", `""`, "1.1", ""},
		{"SOAP 1.1, no SOAPAction", "text/xml", "", "1.1", ""},
		{"SOAP 1.1 in other cases", "Text/XML; Charset=UTF-8", `"urn:add"`, "1.1", "urn:add"},
		{"SOAP 1.1, a bare action", "text/xml", "urn:add", "1.1", "urn:add"},
		{"SOAP 1.1, spaces around", "text/xml", " \t\"urn:add\" ", "1.1", "urn:add"},
		{"SOAP 1.1, a quoted-pair", "text/xml", `"urn:a\"b\\c"`, "1.1", `urn:a"b\c`},
		{"SOAP 1.1, UTF-8", "text/xml", `"urn:café"`, "1.1", "urn:café"},
		{"SOAP 1.2", `application/soap+xml; charset=utf-8; action="urn:example:weather:Forecast"`, "", "1.2", "urn:example:weather:Forecast"},
		{"SOAP 1.2, a token action", "application/soap+xml;action=Forecast", "", "1.2", "Forecast"},
		{"SOAP 1.2, no action", "application/soap+xml", "", "1.2", ""},
		{"SOAP 1.2, the empty action", `application/soap+xml; action=""`, "", "1.2", ""},
		{"SOAP 1.2 ignores SOAPAction", `application/soap+xml; action="urn:b"`, `"urn:a"`, "1.2", "urn:b"},
		{"SOAP 1.2, an RFC 2231 action", "application/soap+xml; action*=utf-8''urn%3Acaf%C3%A9", "", "1.2", "urn:café"},
		{"SOAP 1.1 with attachments", `multipart/related; type="text/xml"; boundary=b; start="<root>"`, `"urn:a"`, "1.1", "urn:a"},
		{"SOAP 1.2 with attachments", `multipart/related; type="application/soap+xml"; boundary=b; action="urn:d"`, "", "1.2", "urn:d"},
		{"MTOM, SOAP 1.1", `multipart/related; type="application/xop+xml"; boundary=b; start="<root>"; start-info="text/xml"`, `"urn:a"`, "1.1", "urn:a"},
		{"MTOM, SOAP 1.2, action in start-info", `multipart/related; type="application/xop+xml"; boundary=b; start-info="application/soap+xml; action=\"urn:b\""`, "", "1.2", "urn:b"},
		{"MTOM, SOAP 1.2, action on the multipart", `multipart/related; type="application/xop+xml"; start-info="application/soap+xml"; action="urn:c"`, "", "1.2", "urn:c"},

		{"no content type", "", `"urn:a"`, "", ""},
		{"JSON", "application/json", `"urn:a"`, "", ""},
		{"plain XML", "application/xml", `"urn:a"`, "", ""},
		{"a content type that does not parse", "text/xml; charset", `"urn:a"`, "", ""},
		{"a content type over 4 KiB", "text/xml; x=" + strings.Repeat("a", 4096), `"urn:a"`, "", ""},
		{"SOAP 1.2, an action with a colon unquoted", "application/soap+xml; action=urn:x", "", "", ""},
		{"action twice", `application/soap+xml; action="urn:a"; action="urn:b"`, "", "", ""},
		{"SOAPAction not closed", "text/xml", `"urn:a`, "", ""},
		{"SOAPAction with more after the quote", "text/xml", `"urn:a" x`, "", ""},
		{"two SOAPActions joined", "text/xml", `"urn:a", "urn:b"`, "", ""},
		{"a bare SOAPAction with a space", "text/xml", "urn:a urn:b", "", ""},
		{"a bare SOAPAction with a comma", "text/xml", "urn:a,urn:b", "", ""},
		{"a bare SOAPAction with a quote", "text/xml", `urn:a"`, "", ""},
		{"SOAPAction ending in a backslash", "text/xml", `"urn:a\"`, "", ""},
		{"SOAPAction with a control character", "text/xml", "\"urn:a\x01\"", "", ""},
		{"SOAPAction with a line break", "text/xml", "\"urn:a\r\nX-Injected: 1\"", "", ""},
		{"SOAPAction with a C1 control", "text/xml", "\"urn:a\u0085\"", "", ""},
		{"SOAPAction not UTF-8", "text/xml", "\"urn:\xff\"", "", ""},
		{"SOAPAction over MaxActionBytes", "text/xml", `"urn:` + strings.Repeat("a", soap.MaxActionBytes) + `"`, "", ""},
		{"SOAP 1.2 action with a control character", "application/soap+xml; action=\"urn:a\u0085\"", "", "", ""},
		{"SOAP 1.2 action over MaxActionBytes", `application/soap+xml; action="` + strings.Repeat("a", soap.MaxActionBytes+1) + `"`, "", "", ""},
		{"SOAP 1.2 action not UTF-8", "application/soap+xml; action*=utf-8''urn%FF", "", "", ""},
		{"multipart without type", "multipart/related; boundary=b", `"urn:a"`, "", ""},
		{"multipart of another type", `multipart/related; type="application/json"`, `"urn:a"`, "", ""},
		{"MTOM without start-info", `multipart/related; type="application/xop+xml"`, `"urn:a"`, "", ""},
		{"MTOM with a start-info that does not parse", `multipart/related; type="application/xop+xml"; start-info="text/xml; x"`, `"urn:a"`, "", ""},
		{"MTOM of another type", `multipart/related; type="application/xop+xml"; start-info="application/json"`, `"urn:a"`, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			version, action, ok := soap.Action(c.contentType, c.soapAction)
			if ok != (c.version != "") || version != c.version || action != c.action {
				t.Errorf("Action(%q, %q) = %q, %q, %v; want %q, %q", c.contentType, c.soapAction, version, action, ok, c.version, c.action)
			}
		})
	}
}
