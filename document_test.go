package portico_test

import (
	"strings"
	"testing"

	"github.com/portico-gw/portico"
)

// TestCheckResources: each refusal of an API's resources names its
// field; bidirectional controls are refused as control characters are,
// for a summary shown on the portal's pages reads as written.
func TestCheckResources(t *testing.T) {
	ok := []portico.Resource{
		{Pattern: "GET /pets/*", Path: "/pets/{id}", OperationID: "showPet", Summary: "Info for a pet — «ça va»"},
		{Pattern: "POST /", OperationID: "GetBooking", SOAPAction: "http://tempuri.org/GetBooking", SOAPBody: "{http://tempuri.org/}GetBooking"},
		{Pattern: "POST /", OperationID: "Ping", SOAPBody: "ping"},
	}
	if err := portico.CheckResources(ok); err != nil {
		t.Fatalf("CheckResources(ok) = %v", err)
	}
	for _, tc := range []struct {
		name  string
		r     portico.Resource
		field string
	}{
		{"bad pattern", portico.Resource{Pattern: "pets"}, "resources[3].pattern"},
		{"control in summary", portico.Resource{Pattern: "/a", Summary: "a\nb"}, "resources[3].summary"},
		{"bidi override in summary", portico.Resource{Pattern: "/a", Summary: "sum\u202Egnp.exe"}, "resources[3].summary"},
		{"bidi isolate in operation ID", portico.Resource{Pattern: "/a", OperationID: "op\u2066id"}, "resources[3].operation_id"},
		{"bidi in path", portico.Resource{Pattern: "/a", Path: "/a\u202E/{id}"}, "resources[3].path"},
		{"operation ID twice", portico.Resource{Pattern: "/a", OperationID: "showPet"}, "resources[3].operation_id"},
		{"action twice", portico.Resource{Pattern: "POST /", SOAPAction: "http://tempuri.org/GetBooking"}, "resources[3].soap_action"},
		{"SOAP body with an empty namespace", portico.Resource{Pattern: "POST /", SOAPBody: "{}Op"}, "resources[3].soap_body"},
		{"SOAP body without its brace", portico.Resource{Pattern: "POST /", SOAPBody: "{urn:x Op"}, "resources[3].soap_body"},
		{"SOAP body without a local name", portico.Resource{Pattern: "POST /", SOAPBody: "{urn:x}"}, "resources[3].soap_body"},
		{"SOAP body as a prefixed name", portico.Resource{Pattern: "POST /", SOAPBody: "tns:Op"}, "resources[3].soap_body"},
		{"SOAP body with a control", portico.Resource{Pattern: "POST /", SOAPBody: "{urn:\u0085}Op"}, "resources[3].soap_body"},
		{"SOAP body too long", portico.Resource{Pattern: "POST /", SOAPBody: "{urn:" + strings.Repeat("x", portico.MaxSOAPBodyBytes) + "}Op"}, "resources[3].soap_body"},
		{"summary too long", portico.Resource{Pattern: "/a", Summary: strings.Repeat("x", 1001)}, "resources[3].summary"},
	} {
		err := portico.CheckResources(append(append([]portico.Resource{}, ok...), tc.r))
		if f := portico.ErrorFieldOf(err); f != tc.field {
			t.Errorf("%s: %v (field %q), want field %q", tc.name, err, f, tc.field)
		}
	}
	if err := portico.CheckResources(make([]portico.Resource, portico.MaxResources+1)); portico.ErrorFieldOf(err) != "resources" {
		t.Errorf("too many resources: %v", err)
	}
}
