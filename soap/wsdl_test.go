package soap_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/soap"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// golden compares got with testdata/golden/name, or writes it there
// with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	file := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; got:\n%s", name, got)
	}
}

// summary is what the golden files keep of a Service and its resources.
type summary struct {
	Name            string             `json:"name,omitempty"`
	TargetNamespace string             `json:"target_namespace,omitempty"`
	Documentation   string             `json:"documentation,omitempty"`
	Endpoints       []soap.Endpoint    `json:"endpoints,omitempty"`
	Operations      []soap.Operation   `json:"operations,omitempty"`
	Resources       []portico.Resource `json:"resources,omitempty"`
	Error           string             `json:"error,omitempty"`
}

func summarize(s *soap.Service, err error) []byte {
	var sum summary
	if err != nil {
		sum.Error = err.Error()
	} else {
		sum = summary{s.Name, s.TargetNamespace, s.Documentation, s.Endpoints, s.Operations, s.Resources(), ""}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	enc.Encode(sum)
	return b.Bytes()
}

// documents are the documents of testdata (README says where they come
// from).
func documents(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/*.wsdl")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("%d documents in testdata", len(files))
	}
	return files
}

// TestParseWSDLGolden parses the documents of testdata and compares what
// Portico takes of each, and the resources it makes, with its golden
// file; the resources of each pass portico.CheckResources.
func TestParseWSDLGolden(t *testing.T) {
	for _, file := range documents(t) {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			doc, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			s, err := soap.ParseWSDL(doc)
			golden(t, name+".golden", summarize(s, err))
			if err == nil {
				checkService(t, s)
			}
		})
	}
}

// checkService checks what must hold of every Service ParseWSDL returns.
func checkService(t testing.TB, s *soap.Service) {
	t.Helper()
	if len(s.Endpoints) == 0 {
		t.Errorf("no endpoint")
	}
	rs := s.Resources()
	if len(rs) != len(s.Operations) {
		t.Errorf("%d resources for %d operations", len(rs), len(s.Operations))
	}
	if err := portico.CheckResources(rs); err != nil {
		t.Errorf("the resources do not pass CheckResources: %v", err)
	}
	for _, o := range s.Operations {
		if len(o.Versions) == 0 || (o.Style != "document" && o.Style != "rpc") {
			t.Errorf("operation %+v", o)
		}
	}
}

// TestParseWSDLReads checks what ParseWSDL takes from documents made to
// show one thing each.
func TestParseWSDLReads(t *testing.T) {
	for _, c := range []struct {
		name string
		doc  string
		want string // the Service and resources, summarized as JSON on one line
	}{
		{"base", base, `{"name":"S","target_namespace":"urn:t","endpoints":[{"port":"Port","binding":"B","address":"http://backend.example/svc","version":"1.1"}],` +
			`"operations":[{"name":"Op","versions":["1.1"],"soap_action":"urn:op","style":"document","body_element":"{urn:t}In"}],"resources":[{"pattern":"POST /","operation_id":"Op","soap_action":"urn:op","soap_body":"{urn:t}In"}]}`},
		{"elements of other namespaces under the WSDL's usual prefixes are not WSDL's",
			with(`<service name="S">`, `<wsdl:portType xmlns:wsdl="urn:fake" name="P"><wsdl:operation name="Fake"/></wsdl:portType><service name="S">`,
				`<soap:address location="http://backend.example/svc"/>`, `<soap:address location="http://backend.example/svc"/><soap:address xmlns:soap="urn:fake" location="x"/>`),
			`{"name":"S","target_namespace":"urn:t","endpoints":[{"port":"Port","binding":"B","address":"http://backend.example/svc","version":"1.1"}],` +
				`"operations":[{"name":"Op","versions":["1.1"],"soap_action":"urn:op","style":"document","body_element":"{urn:t}In"}],"resources":[{"pattern":"POST /","operation_id":"Op","soap_action":"urn:op","soap_body":"{urn:t}In"}]}`},
		{"SOAP 1.1 and 1.2 with different actions", with(`<service`, soap12Binding+`<service`,
			`</port>`, `</port><port name="Port12" binding="tns:B12"><soap12:address location="http://backend.example/svc12"/></port>`),
			`{"name":"S","target_namespace":"urn:t","endpoints":[{"port":"Port","binding":"B","address":"http://backend.example/svc","version":"1.1"},` +
				`{"port":"Port12","binding":"B12","address":"http://backend.example/svc12","version":"1.2"}],` +
				`"operations":[{"name":"Op","versions":["1.1","1.2"],"soap_action":"urn:op","soap12_action":"urn:op12","style":"document"}],` +
				`"resources":[{"pattern":"POST /","operation_id":"Op"}]}`},
		{"SOAP 1.2 port first, SOAP 1.1 action empty", with(`soapAction="urn:op"`, `soapAction=""`, `<service`, soap12Binding+`<service`,
			`<port name="Port"`, `<port name="Port12" binding="tns:B12"><soap12:address location="http://backend.example/svc12"/></port><port name="Port"`),
			`{"name":"S","target_namespace":"urn:t","endpoints":[{"port":"Port12","binding":"B12","address":"http://backend.example/svc12","version":"1.2"},` +
				`{"port":"Port","binding":"B","address":"http://backend.example/svc","version":"1.1"}],` +
				`"operations":[{"name":"Op","versions":["1.1","1.2"],"soap12_action":"urn:op12","style":"document"}],` +
				`"resources":[{"pattern":"POST /","operation_id":"Op"}]}`},
		{"the first service with a SOAP port; other services and HTTP ports left out",
			with(`<service name="S">`, `<service name="First"><port name="Get" binding="tns:B"><http:address xmlns:http="http://schemas.xmlsoap.org/wsdl/http/" location="http://x/"/></port></service><service name="S">`,
				`</definitions>`, `<service name="Last"><port name="Other" binding="tns:B"><soap:address location="http://other.example/"/></port></service></definitions>`),
			`{"name":"S","target_namespace":"urn:t","endpoints":[{"port":"Port","binding":"B","address":"http://backend.example/svc","version":"1.1"}],` +
				`"operations":[{"name":"Op","versions":["1.1"],"soap_action":"urn:op","style":"document","body_element":"{urn:t}In"}],"resources":[{"pattern":"POST /","operation_id":"Op","soap_action":"urn:op","soap_body":"{urn:t}In"}]}`},
		{"a prefix rebound inside the document, a default namespace undeclared",
			with(`<binding name="B" type="tns:P">`, `<binding xmlns:tns="urn:other" xmlns:t2="urn:t" name="B" type="t2:P">`,
				`<service name="S">`, `<service xmlns="" name="Ignored"/><service name="S">`),
			`{"name":"S","target_namespace":"urn:t","endpoints":[{"port":"Port","binding":"B","address":"http://backend.example/svc","version":"1.1"}],` +
				`"operations":[{"name":"Op","versions":["1.1"],"soap_action":"urn:op","style":"document","body_element":"{urn:t}In"}],"resources":[{"pattern":"POST /","operation_id":"Op","soap_action":"urn:op","soap_body":"{urn:t}In"}]}`},
		{"rpc style from the binding, no soap:operation, documentation in both places",
			with(`style="document"`, `style="rpc"`, `<soap:operation soapAction="urn:op"/>`, `<documentation>From the binding.</documentation>`,
				`<operation name="Op"><input`, "<operation name=\"Op\"><documentation>\n  Line one,\n\n\n  line <b xmlns=\"urn:x\">two</b>\u0080.\n</documentation><documentation>More.</documentation><input"),
			`{"name":"S","target_namespace":"urn:t","endpoints":[{"port":"Port","binding":"B","address":"http://backend.example/svc","version":"1.1"}],` +
				`"operations":[{"name":"Op","versions":["1.1"],"style":"rpc","documentation":"Line one,\n\nline two` + "\u0080" + `.\n\nMore."}],` +
				`"resources":[{"pattern":"POST /","operation_id":"Op","summary":"Line one, line two. More."}]}`},
		{"a byte order mark, an XML declaration, comments, processing instructions, CDATA",
			"\ufeff<?xml version=\"1.0\" encoding=\"US-ASCII\"?>\n<!-- c -->\n<?pi x?>\n" + with(`<operation name="Op"><input`, `<operation name="Op"><documentation><![CDATA[a <b> & c]]></documentation><input`),
			`{"name":"S","target_namespace":"urn:t","endpoints":[{"port":"Port","binding":"B","address":"http://backend.example/svc","version":"1.1"}],` +
				`"operations":[{"name":"Op","versions":["1.1"],"soap_action":"urn:op","style":"document","documentation":"a <b> & c","body_element":"{urn:t}In"}],` +
				`"resources":[{"pattern":"POST /","operation_id":"Op","summary":"a <b> & c","soap_action":"urn:op","soap_body":"{urn:t}In"}]}`},
		{"xsd:import without a location, spaces around the address and action",
			with(`<xsd:element`, `<xsd:import namespace="http://schemas.xmlsoap.org/soap/encoding/"/><xsd:element`,
				`"http://backend.example/svc"`, `" https://backend.example:8443/a/b/ "`, `"urn:op"`, `"  urn:op "`),
			`{"name":"S","target_namespace":"urn:t","endpoints":[{"port":"Port","binding":"B","address":"https://backend.example:8443/a/b/","version":"1.1"}],` +
				`"operations":[{"name":"Op","versions":["1.1"],"soap_action":"urn:op","style":"document","body_element":"{urn:t}In"}],"resources":[{"pattern":"POST /","operation_id":"Op","soap_action":"urn:op","soap_body":"{urn:t}In"}]}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := soap.ParseWSDL([]byte(c.doc))
			if err != nil {
				t.Fatal(err)
			}
			checkService(t, s)
			var got bytes.Buffer
			if err := json.Compact(&got, summarize(s, nil)); err != nil {
				t.Fatal(err)
			}
			if got.String() != c.want {
				t.Errorf("got\n%s\nwant\n%s", got.String(), c.want)
			}
		})
	}
}

// TestResourcesSummary checks a long documentation's summary: at most
// 1,000 bytes, cut between characters.
func TestResourcesSummary(t *testing.T) {
	long := strings.Repeat("é", 600) // 1,200 bytes
	s, err := soap.ParseWSDL([]byte(with(`<operation name="Op"><input`, `<operation name="Op"><documentation>`+long+`</documentation><input`)))
	if err != nil {
		t.Fatal(err)
	}
	sum := s.Resources()[0].Summary
	if len(sum) > 1000 || !utf8.ValidString(sum) || !strings.HasSuffix(sum, "é…") || s.Operations[0].Documentation != long {
		t.Errorf("summary of %d bytes: %q", len(sum), sum)
	}
}

// TestParseWSDLBodyElement checks the element an operation's requests
// start their Body with, as the document tells it or not, and that its
// resource carries it.
func TestParseWSDLBodyElement(t *testing.T) {
	for _, c := range bodyElements {
		t.Run(c.name, func(t *testing.T) {
			s, err := soap.ParseWSDL([]byte(c.doc))
			if err != nil {
				t.Fatal(err)
			}
			checkService(t, s)
			if got := s.Operations[0].BodyElement; got != c.want {
				t.Errorf("BodyElement %q, want %q", got, c.want)
			}
			if got := s.Resources()[0].SOAPBody; got != c.want {
				t.Errorf("the resource's SOAPBody %q, want %q", got, c.want)
			}
		})
	}
}

const message2 = `<message name="In"><part name="p" element="tns:In"/><part name="h" element="tns:Head"/></message>`

// bodyElements are documents and the body element of their operation;
// FuzzParseWSDL starts from them too.
var bodyElements = []struct {
	name string
	doc  string
	want string
}{
	{"document style: the part's element", base, "{urn:t}In"},
	{"an element in another namespace, an unprefixed QName in the default namespace",
		with(`<message name="In"><part name="p" element="tns:In"/>`, `<message name="In"><w:part xmlns:w="http://schemas.xmlsoap.org/wsdl/" xmlns="urn:types" name="p" element="Req"/>`), "{urn:types}Req"},
	{"an element in no namespace", with(`<message name="In"><part name="p" element="tns:In"/>`, `<message name="In"><w:part xmlns:w="http://schemas.xmlsoap.org/wsdl/" xmlns="" name="p" element="Req"/>`), "Req"},
	{"two parts, one in the body", with(`<message name="In"><part name="p" element="tns:In"/></message>`, message2,
		`<soap:body use="literal"/>`, `<soap:header message="tns:In" part="h" use="literal"/><soap:body parts="p" use="literal"/>`), "{urn:t}In"},
	{"two parts in the body", with(`<message name="In"><part name="p" element="tns:In"/></message>`, message2), ""},
	{"no part in the body", with(`<soap:body use="literal"/>`, `<soap:body parts="" use="literal"/>`), ""},
	{"a message without parts", with(`<message name="In"><part name="p" element="tns:In"/></message>`, `<message name="In"/>`), ""},
	{"a part with a type", with(`<part name="p" element="tns:In"/>`, `<part name="p" type="xsd:string"/>`), ""},
	{"a part with neither", with(`<part name="p" element="tns:In"/>`, `<part name="p"/>`), ""},
	{"no soap:body", with(`<input><soap:body use="literal"/></input>`, `<input/>`), ""},
	{"no input in the binding", with(`<input><soap:body use="literal"/></input>`, ``), ""},
	{"a one-way operation's output alone", with(`<input message="tns:In"/>`, `<output message="tns:In"/>`), ""},
	{"rpc style: the operation in the soap:body's namespace", with(`style="document"`, `style="rpc"`, `<soap:body use="literal"/>`, `<soap:body use="literal" namespace=" urn:rpc "/>`), "{urn:rpc}Op"},
	{"rpc style of the operation", with(`soapAction="urn:op"`, `soapAction="urn:op" style="rpc"`, `<soap:body use="literal"/>`, `<soap:body use="encoded" namespace="urn:rpc" encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"/>`), "{urn:rpc}Op"},
	{"rpc style without a namespace", with(`style="document"`, `style="rpc"`), ""},
	{"SOAP with attachments: the soap:body in a MIME part", with(`<soap:body use="literal"/>`,
		`<mime:multipartRelated xmlns:mime="http://schemas.xmlsoap.org/wsdl/mime/"><mime:part><soap:body parts="p" use="literal"/></mime:part><mime:part><mime:content part="att" type="image/png"/></mime:part></mime:multipartRelated>`,
		`<part name="p" element="tns:In"/>`, `<part name="p" element="tns:In"/><part name="att" type="xsd:base64Binary"/>`), "{urn:t}In"},
	{"SOAP 1.1 and 1.2 bindings that agree", with(`<service`, strings.Replace(soap12Binding, `</operation>`, `<input><soap12:body use="literal"/></input></operation>`, 1)+`<service`,
		`</port>`, `</port><port name="Port12" binding="tns:B12"><soap12:address location="http://backend.example/svc12"/></port>`), "{urn:t}In"},
	{"SOAP 1.1 and 1.2 bindings that do not", with(`<service`, strings.Replace(soap12Binding, `</operation>`, `<input><soap12:body use="literal" parts=""/></input></operation>`, 1)+`<service`,
		`</port>`, `</port><port name="Port12" binding="tns:B12"><soap12:address location="http://backend.example/svc12"/></port>`), ""},
	{"two SOAP 1.1 bindings that do not", with(`<service`, strings.NewReplacer("B12", "B2", "soap12:", "soap:", "urn:op12", "urn:op", `</operation>`, `<input><soap:body parts=""/></input></operation>`).Replace(soap12Binding)+`<service`,
		`</port>`, `</port><port name="Port2" binding="tns:B2"><soap:address location="http://backend.example/svc2"/></port>`), ""},
}
