package soap_test

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/soap"
)

const (
	env11 = "http://schemas.xmlsoap.org/soap/envelope/"
	env12 = "http://www.w3.org/2003/05/soap-envelope"
)

// call is an envelope of the namespace ns calling {urn:b}Op, with a
// header of its own.
func call(ns, header string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>` + "\n<!-- c --><?pi x?>\n" +
		`<s:Envelope xmlns:s="` + ns + `" xmlns:b="urn:b"><s:Header>` + header + "</s:Header>\r\n\t" +
		`<s:Body s:id="1"> <!-- the call --> <b:Op><b:x>1</b:x></b:Op><b:Other/></s:Body></s:Envelope>`
}

// mtom is a multipart/related body of two parts, the envelope first, and
// its Content-Type.
func mtom(envelope string) (body, contentType string) {
	body = "\r\n--MIME_b\r\nContent-Type: application/xop+xml; charset=UTF-8; type=\"text/xml\"\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <root@x>\r\n\r\n" +
		envelope + "\r\n--MIME_b\r\nContent-Type: application/octet-stream\r\nContent-ID: <att@x>\r\n\r\n\x00\x01\x02\r\n--MIME_b--\r\n"
	return body, `multipart/related; type="application/xop+xml"; boundary="MIME_b"; start="<root@x>"; start-info="text/xml"`
}

// TestBodyElement checks the element BodyElement finds, or why it refuses.
func TestBodyElement(t *testing.T) {
	mBody, mType := mtom(call(env11, ""))
	for _, c := range []struct {
		name, contentType, body string
		want                    string // the element, or what the error says
		ok                      bool
	}{
		{"SOAP 1.1", "text/xml; charset=utf-8", call(env11, ""), "{urn:b}Op", true},
		{"SOAP 1.2", `application/soap+xml; charset="UTF-8"; action="urn:op"`, call(env12, ""), "{urn:b}Op", true},
		{"no Header, a default namespace, a byte order mark", "text/xml",
			"\ufeff<Envelope xmlns='" + env11 + "'><Body><Op xmlns='urn:c'/></Body></Envelope>", "{urn:c}Op", true},
		{"an element in no namespace", "text/xml", `<s:Envelope xmlns:s="` + env11 + `"><s:Body><Op/></s:Body></s:Envelope>`, "Op", true},
		{"a prefix rebound in the Header", "text/xml", call(env11, `<b:h xmlns:b="urn:other"/>`), "{urn:b}Op", true},
		{"a large Header", "text/xml", call(env11, "<w:Security xmlns:w='urn:wsse'>"+strings.Repeat("<w:t a='1'>x</w:t>", 5000)+"</w:Security>"), "{urn:b}Op", true},
		{"MTOM", mType, mBody, "{urn:b}Op", true},
		{"SOAP with attachments", `multipart/related; type="application/soap+xml"; boundary=MIME_b`, strings.Replace(mBody, "text/xml", "application/soap+xml", 1), "a SOAP 1.1 one", false},
		{"SOAP with attachments, SOAP 1.2", `multipart/related; type="application/soap+xml"; boundary=MIME_b`,
			strings.Replace(mBody, env11, env12, 1), "{urn:b}Op", true},

		{"not SOAP", "application/json", call(env11, ""), "not SOAP's", false},
		{"a charset other than UTF-8", "text/xml; charset=iso-8859-1", call(env11, ""), `the Content-Type's charset is "iso-8859-1"`, false},
		{"an encoding other than UTF-8", "text/xml", `<?xml version="1.0" encoding="UTF-16"?>` + call(env11, ""), "an encoding other than UTF-8", false},
		{"UTF-16", "text/xml", "\xff\xfe<\x00", "UTF-16", false},
		{"a SOAP 1.2 envelope as SOAP 1.1", "text/xml", call(env12, ""), "a SOAP 1.2 one, but the Content-Type is SOAP 1.1's (text/xml)", false},
		{"a SOAP 1.1 envelope as SOAP 1.2", "application/soap+xml", call(env11, ""), "a SOAP 1.1 one, but the Content-Type is SOAP 1.2's", false},
		{"another root", "text/xml", `<Op xmlns="urn:b"/>`, `the root element is "{urn:b}Op", not a SOAP 1.1 Envelope`, false},
		{"a DOCTYPE", "text/xml", `<!DOCTYPE s:Envelope [<!ENTITY x "y">]>` + call(env11, ""), "document type declaration", false},
		{"an undefined entity", "text/xml", call(env11, "<x>&x;</x>"), "invalid character entity", false},
		{"an undeclared prefix", "text/xml", `<s:Envelope xmlns:s="` + env11 + `"><s:Body><b:Op/></s:Body></s:Envelope>`, "undeclared namespace prefix", false},
		{"an end tag that does not match", "text/xml", call(env11, "<x></y>"), "does not match", false},
		{"two Headers", "text/xml", strings.Replace(call(env11, ""), "<s:Header>", "<s:Header/><s:Header>", 1), `the Envelope holds "{` + env11 + `}Header" where`, false},
		{"an element before the Body", "text/xml", strings.Replace(call(env11, ""), "<s:Body", "<b:Op/><s:Body", 1), `the Envelope holds "{urn:b}Op" where`, false},
		{"text in the Body", "text/xml", strings.Replace(call(env11, ""), "<b:Op>", "x<b:Op>", 1), "text in the Body", false},
		{"CDATA in the Body", "text/xml", strings.Replace(call(env11, ""), "<b:Op>", "<![CDATA[<b:Other/>]]><b:Op>", 1), "text in the Body", false},
		{"text in the Envelope", "text/xml", strings.Replace(call(env11, ""), "<s:Body", "x<s:Body", 1), "text in the Envelope", false},
		{"an empty Body", "text/xml", `<s:Envelope xmlns:s="` + env11 + `"><s:Body> </s:Body></s:Envelope>`, "the Body is empty", false},
		{"no Body", "text/xml", `<s:Envelope xmlns:s="` + env11 + `"><s:Header/></s:Envelope>`, "the envelope has no Body", false},
		{"cut off before the Body's child", "text/xml", call(env11, "")[:strings.Index(call(env11, ""), "<b:Op>")], "ends inside the element s:Body", false},
		{"empty", "text/xml", "", "the document is empty", false},
		{"cut off in a tag", "text/xml", call(env11, "")[:strings.Index(call(env11, ""), "<b:Op>")+3], "unexpected EOF", false},
		{"an element in a namespace with a brace", "text/xml", `<s:Envelope xmlns:s="` + env11 + `"><s:Body><b:Op xmlns:b="urn:}"/></s:Body></s:Envelope>`, "a namespace that holds control characters or braces", false},
		{"nested deeper than MaxDepth", "text/xml", call(env11, strings.Repeat("<x>", soap.MaxDepth)), "nest deeper than 100", false},

		{"MTOM, the root not first", strings.Replace(mType, "<root@x>", "<att@x>", 1), mBody, "is not the first part", false},
		{"MTOM, a preamble", mType, "preamble" + mBody, "does not start with its boundary", false},
		{"MTOM, more on the boundary line", mType, strings.Replace(mBody, "--MIME_b\r\n", "--MIME_b x\r\n", 1), "has more than spaces after its first boundary", false},
		{"MTOM, spaces on the boundary line", mType, strings.Replace(mBody, "--MIME_b\r\n", "--MIME_b \t\r\n", 1), "{urn:b}Op", true},
		{"MTOM, a CR alone on the boundary line", mType, strings.Replace(mBody, "--MIME_b\r\n", "--MIME_b\r \n", 1), "has more than spaces after its first boundary", false},
		{"MTOM, base64", mType, strings.Replace(mBody, "Content-Transfer-Encoding: binary", "Content-Transfer-Encoding: base64", 1), "encoded for transfer", false},
		{"MTOM, quoted-printable", mType, strings.Replace(mBody, "Content-Transfer-Encoding: binary", "Content-Transfer-Encoding: quoted-printable", 1), "encoded for transfer", false},
		{"MTOM, the root in Latin-1", mType, strings.Replace(mBody, "charset=UTF-8", "charset=ISO-8859-1", 1), "the root part's charset", false},
		{"MTOM, no boundary", `multipart/related; type="text/xml"`, mBody, "has no boundary", false},
		{"MTOM, no part", mType, "\r\n--MIME_b--\r\n", "has more than spaces after its first boundary", false},
		{"MTOM, a part without its header's end", mType, "\r\n--MIME_b\r\nContent-Type: text/xml\r\n", "first part does not read", false},
		{"MTOM, a SOAP 1.2 envelope as SOAP 1.1", mType, strings.Replace(mBody, env11, env12, 1), "a SOAP 1.2 one", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, dribble := range []bool{false, true} {
				var r io.Reader = strings.NewReader(c.body)
				if dribble {
					r = iotest.OneByteReader(r)
				}
				got, err := soap.BodyElement(r, c.contentType)
				if c.ok {
					if err != nil || got != c.want {
						t.Fatalf("dribbled %v: %q, %v; want %q", dribble, got, err, c.want)
					}
					continue
				}
				var e *soap.Error
				if !errors.As(err, &e) || e.Code != portico.EInvalid || !strings.Contains(e.Message, c.want) || got != "" {
					t.Fatalf("dribbled %v: %q, %v; want an error saying %q", dribble, got, err, c.want)
				}
			}
		})
	}
}

// TestBodyElementReadsNoFurther: BodyElement stops at the Body's first
// child, reading no more than the decoder read ahead; and it returns the
// reader's own error as it is.
func TestBodyElementReadsNoFurther(t *testing.T) {
	env := call(env11, "")
	r := io.MultiReader(iotest.OneByteReader(strings.NewReader(env[:strings.Index(env, "<b:x>")])), iotest.ErrReader(errors.New("read past the call")))
	if got, err := soap.BodyElement(r, "text/xml"); err != nil || got != "{urn:b}Op" {
		t.Errorf("%q, %v", got, err)
	}
	errCut := errors.New("the client went away")
	r = io.MultiReader(strings.NewReader(env[:40]), iotest.ErrReader(errCut))
	if _, err := soap.BodyElement(r, "text/xml"); err != errCut {
		t.Errorf("got %v, want the reader's error", err)
	}
	body, ct := mtom(env)
	r = io.MultiReader(strings.NewReader(body[:20]), iotest.ErrReader(errCut))
	if _, err := soap.BodyElement(r, ct); err != errCut {
		t.Errorf("multipart: got %v, want the reader's error", err)
	}
}

// bodyElementOf is what encoding/xml's own namespace handling makes of
// an envelope: the name of the Body's first child, as a backend that
// unmarshals envelopes with it dispatches; "" when it finds none.
func bodyElementOf(env []byte) string {
	d := xml.NewDecoder(strings.NewReader(string(env)))
	depth, inBody := 0, false
	for {
		tok, err := d.Token()
		if err != nil {
			return ""
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case depth == 2 && t.Name.Local == "Body":
				inBody = true
			case depth == 3 && inBody:
				if t.Name.Space == "" {
					return t.Name.Local
				}
				return "{" + t.Name.Space + "}" + t.Name.Local
			}
		case xml.EndElement:
			depth--
		}
	}
}

// FuzzBodyElement feeds envelopes to BodyElement: it must not panic,
// must refuse with an *Error only, must give a name a Resource's
// SOAPBody may hold, and that name must be the one encoding/xml's own
// namespace handling finds.
func FuzzBodyElement(f *testing.F) {
	f.Add("text/xml", call(env11, ""))
	f.Add("application/soap+xml", call(env12, `<a:b xmlns:a="urn:a"/>`))
	f.Add("text/xml", "\ufeff<Envelope xmlns='"+env11+"'><Body><Op xmlns=''/></Body></Envelope>")
	f.Add("text/xml", `<s:Envelope xmlns:s="`+env11+`"><s:Body><b:Op xmlns:b="urn:}"/></s:Body></s:Envelope>`)
	f.Add("text/xml", `<!DOCTYPE x><s:Envelope xmlns:s="`+env11+`"/>`)
	body, ct := mtom(call(env11, ""))
	f.Add(ct, body)
	f.Fuzz(func(t *testing.T, contentType, env string) {
		got, err := soap.BodyElement(strings.NewReader(env), contentType)
		if err != nil {
			var e *soap.Error
			if !errors.As(err, &e) || e.Code != portico.EInvalid || e.Message == "" || got != "" {
				t.Fatalf("refused with %#v", err)
			}
			return
		}
		if err := portico.CheckResources([]portico.Resource{{Pattern: soap.ResourcePattern, SOAPBody: got}}); err != nil {
			t.Fatalf("%q: %v", got, err)
		}
		if m, _, _ := strings.Cut(contentType, ";"); strings.TrimSpace(m) == "text/xml" || strings.TrimSpace(m) == "application/soap+xml" {
			if want := bodyElementOf([]byte(env)); want != got && want != "" {
				t.Fatalf("BodyElement found %q, encoding/xml %q", got, want)
			}
		}
	})
}

// BenchmarkBodyElement reads the element of a SOAP 1.1 call of 2 KiB
// with WS-Addressing headers (the Body's element starts 700 bytes in).
func BenchmarkBodyElement(b *testing.B) {
	env := call(env11, `<wsa:Action xmlns:wsa="http://www.w3.org/2005/08/addressing">urn:GetBooking</wsa:Action>`+
		`<wsa:MessageID xmlns:wsa="http://www.w3.org/2005/08/addressing">urn:uuid:6f1c2e2a-3b0e-4a8e-9d7c-1b9f0c7c2a11</wsa:MessageID>`+
		`<wsa:To xmlns:wsa="http://www.w3.org/2005/08/addressing">http://backend.example/booking</wsa:To>`+
		`<wsa:ReplyTo xmlns:wsa="http://www.w3.org/2005/08/addressing"><wsa:Address>http://www.w3.org/2005/08/addressing/anonymous</wsa:Address></wsa:ReplyTo>`)
	env = strings.Replace(env, "<b:x>1</b:x>", strings.Repeat("<b:x>1</b:x>", (2048-len(env))/12+1), 1)
	b.Logf("%d bytes, the element at %d", len(env), strings.Index(env, "<b:Op>"))
	b.ReportAllocs()
	b.SetBytes(int64(strings.Index(env, "<b:Op>")))
	for b.Loop() {
		if got, err := soap.BodyElement(strings.NewReader(env), "text/xml; charset=utf-8"); err != nil || got != "{urn:b}Op" {
			b.Fatal(got, err)
		}
	}
}
