package soap_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/soap"
)

// FuzzParseWSDL feeds documents to ParseWSDL, starting from those of
// testdata, the refusals and the documents of the body elements. It must
// not panic; it must refuse only with an *soap.Error that places itself
// consistently; and what it accepts must hold what checkService checks:
// among it, that its resources (their SOAPBody included) pass
// portico.CheckResources.
func FuzzParseWSDL(f *testing.F) {
	for _, file := range documents(f) {
		doc, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(doc)
	}
	f.Add([]byte(base))
	for _, c := range bodyElements {
		f.Add([]byte(c.doc))
	}
	for _, r := range refusals {
		if len(r.doc) < 4<<10 {
			f.Add([]byte(r.doc))
		}
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		s, err := soap.ParseWSDL(doc)
		if err != nil {
			var e *soap.Error
			if !errors.As(err, &e) || e.Message == "" || (e.Code != portico.EInvalid && e.Code != portico.ETooLarge) ||
				(e.Line == 0) != (e.Column == 0) || e.Line < 0 || e.Column < 0 {
				t.Fatalf("refused with %#v", err)
			}
			return
		}
		checkService(t, s)
		if s.Name == "" || len(s.Operations) > portico.MaxResources {
			t.Fatalf("service %q with %d operations", s.Name, len(s.Operations))
		}
		for _, e := range s.Endpoints {
			if !strings.HasPrefix(e.Address, "http://") && !strings.HasPrefix(e.Address, "https://") ||
				strings.ContainsAny(e.Address, "?# \t\r\n") || !utf8.ValidString(e.Address) {
				t.Fatalf("endpoint %+v", e)
			}
		}
	})
}

// FuzzAction feeds request headers to Action: it must not panic, and an
// action it takes is one a Resource may hold.
func FuzzAction(f *testing.F) {
	for _, s := range [][2]string{
		{"text/xml; charset=utf-8", `"urn:a"`}, {"text/xml", "urn:a"}, {"text/xml", `"a\"b"`}, {`application/soap+xml; action="urn:b"`, ""},
		{"application/soap+xml; action*=utf-8''a%C3%A9", ""}, {`multipart/related; type="application/xop+xml"; start-info="application/soap+xml; action=\"x\""`, ""},
		{`multipart/related; type="text/xml"`, `""`}, {"text/xml", "\"a\r\nb\""}, {"application/json", ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, contentType, soapAction string) {
		version, action, ok := soap.Action(contentType, soapAction)
		if !ok {
			if version != "" || action != "" {
				t.Fatalf("refused with %q, %q", version, action)
			}
			return
		}
		if version != soap.SOAP11 && version != soap.SOAP12 {
			t.Fatalf("version %q", version)
		}
		if err := portico.CheckResources([]portico.Resource{{Pattern: soap.ResourcePattern, SOAPAction: action}}); err != nil {
			t.Fatalf("action %q: %v", action, err)
		}
	})
}
