package proxy

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/soap"
)

// checkedResources are the booking service's operations with the
// elements their envelopes start their Body with, as an import of a
// document/literal WSDL gives them.
var checkedResources = []portico.Resource{
	{Pattern: soap.ResourcePattern, OperationID: "GetBooking", SOAPAction: "urn:GetBooking", SOAPBody: "{" + svcNS + "}GetBooking"},
	{Pattern: soap.ResourcePattern, OperationID: "CancelBooking", SOAPAction: "urn:CancelBooking", SOAPBody: "{" + svcNS + "}CancelBooking"},
	{Pattern: soap.ResourcePattern, OperationID: "Fail", SOAPAction: "urn:Fail", SOAPBody: "{" + svcNS + "}Fail"},
}

// arrivals is a SOAP backend that also counts the requests that reach it,
// before it reads their bodies: a request the gateway aborted mid-body
// counts too.
type arrivals struct {
	*soapBackend
	n atomic.Int64
}

func newArrivals(t *testing.T) *arrivals {
	t.Helper()
	be := newSOAPBackend(t)
	a := &arrivals{soapBackend: be}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.n.Add(1)
		be.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	a.URL = srv.URL
	return a
}

// envelopeWorld is a gateway with three open SOAP APIs in front of one
// backend: /checked (checkedResources), /loose (the same and an
// operation Untagged without action, so the API is not strict) and
// /unchecked (bookingResources: no body elements).
func envelopeWorld(t *testing.T) (*world, *arrivals, *recorded) {
	t.Helper()
	w := newWorld(t)
	rec := &recorded{}
	w.gw.Recorder = rec
	be := newArrivals(t)
	open := portico.AuthMethods{portico.AuthNone}
	w.soapAPI("checked", "/checked", be.URL, open, func(a *portico.API) { a.Resources = checkedResources })
	w.soapAPI("loose", "/loose", be.URL, open, func(a *portico.API) {
		a.Resources = append(checkedResources[:len(checkedResources):len(checkedResources)],
			portico.Resource{Pattern: soap.ResourcePattern, OperationID: "Untagged", SOAPBody: "{" + svcNS + "}Untagged"})
	})
	w.soapAPI("unchecked", "/unchecked", be.URL, open, nil)
	return w, be, rec
}

// withHeader is envelope(v, op) whose Header holds n bytes of
// WS-Security-like elements.
func withHeader(v, op string, n int) string {
	var h strings.Builder
	h.WriteString(`<soapenv:Header><wsse:Security xmlns:wsse="urn:wsse">`)
	for h.Len() < n {
		h.WriteString(`<wsse:BinarySecurityToken wsse:Id="x">MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA</wsse:BinarySecurityToken>`)
	}
	h.WriteString(`</wsse:Security></soapenv:Header>`)
	return strings.Replace(envelope(v, op), "<soapenv:Header/>", h.String(), 1)
}

// mtomCall is envelope(v, op) as the root part of an MTOM request, and
// the request's Content-Type.
func mtomCall(v, op string) (body, contentType string) {
	ct := `multipart/related; type="application/xop+xml"; boundary="uuid:b"; start="<root>"; start-info="text/xml"`
	if v == soap.SOAP12 {
		ct = `multipart/related; type="application/xop+xml"; boundary="uuid:b"; start="<root>"; start-info="application/soap+xml; action=\"urn:` + op + `\""`
	}
	return "--uuid:b\r\nContent-Type: application/xop+xml; charset=UTF-8\r\nContent-ID: <root>\r\n\r\n" + envelope(v, op) +
		"\r\n--uuid:b\r\nContent-ID: <img>\r\n\r\n\x89PNG\r\n--uuid:b--\r\n", ct
}

// TestSOAPEnvelopeChecked: a call naming an operation with a body
// element reaches the backend, byte for byte, only when its envelope's
// Body starts with that element; any other is refused with a 400 fault
// of its version (415 for a body that is not SOAP's, or encoded) before
// the backend gets a byte, in SOAP 1.1 and 1.2, with a Header of up to
// 64 KiB before the Body. An empty body passes: it calls nothing.
func TestSOAPEnvelopeChecked(t *testing.T) {
	w, be, _ := envelopeWorld(t)
	for _, v := range []string{soap.SOAP11, soap.SOAP12} {
		mtomOK, mtomType := mtomCall(v, "GetBooking")
		mtomOther, _ := mtomCall(v, "CancelBooking")
		for _, tc := range []struct {
			name, path, action, body string
			hdr                      []string // replacing the SOAP fields
			status                   int
			says                     string // in the fault
		}{
			{name: "the operation's envelope", body: envelope(v, "GetBooking"), status: 200},
			{name: "another operation's envelope", body: envelope(v, "CancelBooking"), status: 400,
				says: `the envelope's Body starts with "{urn:example:booking}CancelBooking", but the request's action names the operation GetBooking, whose envelope's Body starts with {urn:example:booking}GetBooking`},
			{name: "the element in another namespace", body: strings.Replace(envelope(v, "GetBooking"), `xmlns:b="`+svcNS, `xmlns:b="urn:other`, 1), status: 400, says: `"{urn:other}GetBooking"`},
			{name: "a Header of 60 KiB", body: withHeader(v, "GetBooking", 60<<10), status: 200},
			{name: "a Header of 70 KiB", body: withHeader(v, "GetBooking", 70<<10), status: 400, says: "no element within its first 64 KiB"},
			{name: "a DOCTYPE", body: `<!DOCTYPE x [<!ENTITY e "GetBooking">]>` + envelope(v, "GetBooking"), status: 400, says: "document type declaration"},
			{name: "an envelope of the other version", body: envelope(map[string]string{soap.SOAP11: soap.SOAP12, soap.SOAP12: soap.SOAP11}[v], "GetBooking"), status: 400, says: "but the Content-Type is SOAP " + v},
			{name: "text before the call", body: strings.Replace(envelope(v, "GetBooking"), "<!-- the call -->", "<![CDATA[<b:CancelBooking/>]]>", 1), status: 400, says: "text in the Body"},
			{name: "an empty Body", body: strings.Replace(envelope(v, "GetBooking"), envelope(v, "GetBooking")[strings.Index(envelope(v, "GetBooking"), "<b:GetBooking>"):strings.Index(envelope(v, "GetBooking"), "</soapenv:Body>")], "", 1), status: 400, says: "the Body is empty"},
			{name: "MTOM", body: mtomOK, hdr: []string{"Content-Type", mtomType}, status: 200},
			{name: "MTOM with another operation's envelope", body: mtomOther, hdr: []string{"Content-Type", mtomType}, status: 400, says: "CancelBooking"},
			{name: "JSON", body: `{"GetBooking": {}}`, hdr: []string{"Content-Type", "application/json"}, status: 415, says: "a SOAP API takes SOAP messages"},
			{name: "gzip", body: envelope(v, "GetBooking"), hdr: []string{"Content-Encoding", "gzip"}, status: 415, says: "without a Content-Encoding"},
			{name: "no body: nothing to run", body: "", status: 200},
			{name: "an operation without body element elsewhere", path: "/unchecked", action: "urn:GetBooking", body: envelope(v, "CancelBooking"), status: 200},
		} {
			t.Run(v+"/"+tc.name, func(t *testing.T) {
				path, action := cmp.Or(tc.path, "/checked"), cmp.Or(tc.action, "urn:GetBooking")
				hdr := soapHeaders(v, action)
				for i := 0; i+1 < len(tc.hdr); i += 2 {
					if tc.hdr[i] == "Content-Type" && v == soap.SOAP11 {
						hdr[1] = tc.hdr[i+1]
					} else if tc.hdr[i] == "Content-Type" {
						hdr = replaceField(hdr, "Content-Type", tc.hdr[i+1])
					} else {
						hdr = append(hdr, tc.hdr[i], tc.hdr[i+1])
					}
				}
				n, arrived := be.count(), be.n.Load()
				resp, body := do(t, "POST", w.srv.URL+path, strings.NewReader(tc.body), hdr...)
				if tc.status == 200 { // the backend's answer, whatever its status
					if be.count() != n+1 {
						t.Fatalf("%d %s: the backend got %d requests", resp.StatusCode, body, be.count()-n)
					}
					if got := be.last(t).body; string(got) != tc.body {
						t.Errorf("the backend got\n%q\nnot what was sent\n%q", got, tc.body)
					}
					return
				}
				fv := v
				if tc.status == 415 && v == soap.SOAP12 && !strings.HasPrefix(hdr[1], "application/soap+xml") {
					fv = soap.SOAP11 // the request is not SOAP 1.2's
				}
				checkFault(t, resp, body, fv, tc.status, map[int]portico.ErrorCode{400: portico.EInvalid, 415: portico.EUnsupported}[tc.status])
				if !strings.Contains(body, xmlEscape(tc.says)) {
					t.Errorf("the fault does not say %q: %s", tc.says, body)
				}
				if be.n.Load() != arrived {
					t.Error("the request reached the backend")
				}
			})
		}
	}
}

func xmlEscape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// TestSOAPEnvelopeLoose: on an API with an operation without action,
// a request naming no operation (no action, an undeclared one) passes —
// unless its envelope calls an operation whose action it could have
// named, which it would dodge the limits of; an operation without
// action can only be called so.
func TestSOAPEnvelopeLoose(t *testing.T) {
	w, be, _ := envelopeWorld(t)
	for _, tc := range []struct {
		name, action, op string
		ok               bool
	}{
		{"no action, an operation without action", "", "Untagged", true},
		{"no action, an operation with one", "", "CancelBooking", false},
		{"an undeclared action, an operation with one", "urn:Other", "GetBooking", false},
		{"an undeclared action, an unknown element", "urn:Other", "Unknown", true},
		{"a declared action, its envelope", "urn:CancelBooking", "CancelBooking", true},
		{"a declared action, another operation's", "urn:CancelBooking", "GetBooking", false},
		{"a declared action, the operation without action's", "urn:CancelBooking", "Untagged", false},
	} {
		for _, v := range []string{soap.SOAP11, soap.SOAP12} {
			t.Run(tc.name+"/"+v, func(t *testing.T) {
				arrived := be.n.Load()
				resp, body := do(t, "POST", w.srv.URL+"/loose", strings.NewReader(envelope(v, tc.op)), soapHeaders(v, tc.action)...)
				if tc.ok {
					if be.n.Load() != arrived+1 || resp.StatusCode == 400 {
						t.Errorf("%d %s: the backend did not get the request", resp.StatusCode, body)
					}
					return
				}
				checkFault(t, resp, body, v, 400, portico.EInvalid)
				if be.n.Load() != arrived {
					t.Error("the request reached the backend")
				}
			})
		}
	}
}

// TestSOAPEnvelopeRPC: an rpc-style service imported from its WSDL: the
// Body starts with the operation's name in the soap:body namespace.
func TestSOAPEnvelopeRPC(t *testing.T) {
	const wsdl = `<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:tns="urn:t" xmlns:xsd="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t">
<message name="Req"><part name="id" type="xsd:string"/></message>
<portType name="P"><operation name="GetBooking"><input message="tns:Req"/></operation><operation name="CancelBooking"><input message="tns:Req"/></operation></portType>
<binding name="B" type="tns:P"><soap:binding style="rpc" transport="http://schemas.xmlsoap.org/soap/http"/>
<operation name="GetBooking"><soap:operation soapAction="urn:GetBooking"/><input><soap:body use="literal" namespace="` + svcNS + `"/></input></operation>
<operation name="CancelBooking"><soap:operation soapAction="urn:CancelBooking"/><input><soap:body use="encoded" namespace="` + svcNS + `" encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"/></input></operation></binding>
<service name="S"><port name="Port" binding="tns:B"><soap:address location="http://backend.example/svc"/></port></service>
</definitions>`
	svc, err := soap.ParseWSDL([]byte(wsdl))
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t)
	be := newArrivals(t)
	w.soapAPI("rpc", "/rpc", be.URL, portico.AuthMethods{portico.AuthNone}, func(a *portico.API) { a.Resources = svc.Resources() })
	for _, v := range []string{soap.SOAP11, soap.SOAP12} {
		resp, body := do(t, "POST", w.srv.URL+"/rpc", strings.NewReader(envelope(v, "CancelBooking")), soapHeaders(v, "urn:CancelBooking")...)
		if resp.StatusCode != 200 || string(be.last(t).body) != envelope(v, "CancelBooking") {
			t.Errorf("%s: %d %s", v, resp.StatusCode, body)
		}
		arrived := be.n.Load()
		resp, body = do(t, "POST", w.srv.URL+"/rpc", strings.NewReader(envelope(v, "CancelBooking")), soapHeaders(v, "urn:GetBooking")...)
		checkFault(t, resp, body, v, 400, portico.EInvalid)
		if be.n.Load() != arrived {
			t.Errorf("%s: the request reached the backend", v)
		}
	}
}

// TestSOAPEnvelopeDribbled: a body sent a byte at a time, in chunks of
// unknown length, is decided as a whole one is, passes whole, and
// counts its bytes once in the record.
func TestSOAPEnvelopeDribbled(t *testing.T) {
	w, be, rec := envelopeWorld(t)
	for _, tc := range []struct {
		op string
		ok bool
	}{{"GetBooking", true}, {"CancelBooking", false}} {
		t.Run(tc.op, func(t *testing.T) {
			sent := envelope(soap.SOAP11, tc.op)
			pr, pw := io.Pipe()
			go func() {
				for i := range len(sent) {
					if _, err := pw.Write([]byte{sent[i]}); err != nil {
						return // the gateway answered and went away
					}
				}
				pw.Close()
			}()
			rec.mu.Lock()
			n := len(rec.recs)
			rec.mu.Unlock()
			arrived := be.n.Load()
			resp, body := do(t, "POST", w.srv.URL+"/checked", pr, soapHeaders(soap.SOAP11, "urn:GetBooking")...)
			pr.Close()
			if !tc.ok {
				checkFault(t, resp, body, soap.SOAP11, 400, portico.EInvalid)
				if be.n.Load() != arrived {
					t.Error("the request reached the backend")
				}
				return
			}
			if resp.StatusCode != 200 || string(be.last(t).body) != sent {
				t.Fatalf("%d %s; the backend got %q", resp.StatusCode, body, be.last(t).body)
			}
			waitRecords(t, rec, n+1)
			if r := rec.last(t); r.RequestBytes != int64(len(sent)) || r.Resource != "POST / GetBooking" {
				t.Errorf("recorded %d bytes (sent %d), resource %q", r.RequestBytes, len(sent), r.Resource)
			}
		})
	}
}

// countingReader counts the reads of a reader.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.n++
	return c.r.Read(p)
}

// TestReadEnvelopeWork: read a byte at a time, the envelope costs one
// read of the body for each byte up to the Body's first element and a
// few more, whatever the size of the Header before it; and the body
// given back is the body sent.
func TestReadEnvelopeWork(t *testing.T) {
	for _, size := range []int{0, 1 << 10, 32 << 10, 60 << 10} {
		sent := withHeader(soap.SOAP11, "GetBooking", size)
		src := &countingReader{r: iotest.OneByteReader(strings.NewReader(sent))}
		r := httptest.NewRequest("POST", "/", nil)
		r.Body = &requestBody{ReadCloser: io.NopCloser(src)}
		r.ContentLength = -1
		r.Header.Set("Content-Type", "text/xml")
		rw := httptest.NewRecorder()
		got, whole, ok := readEnvelope(rw, r, errorForm{fault: soap.SOAP11})
		if !ok || got != "{"+svcNS+"}GetBooking" || whole {
			t.Fatalf("Header of %d bytes: %q %v %v (%d %s)", size, got, whole, ok, rw.Code, rw.Body)
		}
		upTo := strings.Index(sent, "<b:GetBooking>") + len("<b:GetBooking>")
		t.Logf("Header of %d bytes: %d reads for %d bytes up to the element", size, src.n, upTo)
		if src.n > upTo+2 {
			t.Errorf("Header of %d bytes: %d reads for %d bytes", size, src.n, upTo)
		}
		all, err := io.ReadAll(r.Body)
		if err != nil || string(all) != sent {
			t.Errorf("the body given back differs (%v)", err)
		}
		if n := r.Body.(*requestBody).n.Load(); n != int64(len(sent)) {
			t.Errorf("the body counts %d bytes, not %d", n, len(sent))
		}
	}
}

// typical is a SOAP 1.1 call of about 2 KiB: WS-Addressing headers, and
// a payload.
func typical() string {
	env := envelope(soap.SOAP11, "GetBooking")
	env = strings.Replace(env, "<soapenv:Header/>", `<soapenv:Header xmlns:wsa="http://www.w3.org/2005/08/addressing">`+
		`<wsa:Action>urn:GetBooking</wsa:Action><wsa:MessageID>urn:uuid:6f1c2e2a-3b0e-4a8e-9d7c-1b9f0c7c2a11</wsa:MessageID>`+
		`<wsa:To>http://backend.example/booking</wsa:To><wsa:ReplyTo><wsa:Address>http://www.w3.org/2005/08/addressing/anonymous</wsa:Address></wsa:ReplyTo>`+
		`</soapenv:Header>`, 1)
	var pad strings.Builder
	for len(env)+pad.Len() < 2048 {
		pad.WriteString(`<b:guest><b:name>Ada Lovelace</b:name><b:room>17</b:room></b:guest>`)
	}
	return strings.Replace(env, "<b:id>B-17</b:id>", "<b:id>B-17</b:id>"+pad.String(), 1)
}

// BenchmarkSOAPEnvelope measures the gateway's check of a typical 2 KiB
// envelope alone (check: reading it into the held buffer, finding the
// Body's element, comparing, putting it back), and the same request
// through the gateway to a backend on an API that checks envelopes and
// on one that does not: the difference is the check's cost per request.
func BenchmarkSOAPEnvelope(b *testing.B) {
	env := []byte(typical())
	b.Logf("envelope of %d bytes", len(env))
	api := &portico.API{Document: wsdlRef, Resources: checkedResources}
	ops := compileSOAP(api)
	b.Run("check", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(env)))
		for b.Loop() {
			r := httptest.NewRequest("POST", "/", nil)
			r.Body = &requestBody{ReadCloser: io.NopCloser(bytes.NewReader(env))}
			r.ContentLength = int64(len(env))
			r.Header = http.Header{"Content-Type": {"text/xml; charset=utf-8"}, "Soapaction": {`"urn:GetBooking"`}}
			var a reqAction
			if !ops.check(httptest.NewRecorder(), r, "/", a.of(r.Header), errorForm{fault: soap.SOAP11}) {
				b.Fatal("refused")
			}
		}
	})
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Write([]byte("<ok/>"))
	}))
	defer be.Close()
	w := &world{cfg: portico.NewConfig(), gw: &Gateway{}}
	defer w.gw.Close()
	open := portico.AuthMethods{portico.AuthNone}
	w.soapAPI("checked", "/checked", be.URL, open, func(a *portico.API) { a.Resources = checkedResources })
	w.soapAPI("unchecked", "/unchecked", be.URL, open, func(a *portico.API) {
		a.Resources = slices.Clone(checkedResources)
		for i := range a.Resources {
			a.Resources[i].SOAPBody = ""
		}
	})
	for _, path := range []string{"/unchecked", "/checked"} {
		b.Run("gateway"+path, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest("POST", path, bytes.NewReader(env))
				r.Header = http.Header{"Content-Type": {"text/xml; charset=utf-8"}, "Soapaction": {`"urn:GetBooking"`}}
				rw := httptest.NewRecorder()
				w.gw.ServeHTTP(rw, r)
				if rw.Code != 200 {
					b.Fatal(rw.Code, rw.Body)
				}
			}
		})
	}
}

// bodyElementOf is the name encoding/xml gives the first child of an
// envelope's Body, as the test backend dispatches on it; "" when
// encoding/xml finds none.
func bodyElementOf(env []byte) string {
	d := xml.NewDecoder(bytes.NewReader(env))
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

// FuzzSOAPEnvelope sends calls of any Content-Type, SOAPAction and body
// to a SOAP API whose operations have body elements: whatever reaches
// the backend naming a declared operation must start its Body, as
// encoding/xml reads it, with that operation's element (or be nothing
// encoding/xml reads as an envelope); every answer of the gateway's own
// must be a SOAP fault that reads.
func FuzzSOAPEnvelope(f *testing.F) {
	var got struct {
		reached bool
		body    []byte
	}
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.reached = true
		got.body, _ = io.ReadAll(r.Body)
		w.Header().Set("X-Backend", "1")
	}))
	defer be.Close()
	w := &world{cfg: portico.NewConfig(), gw: &Gateway{}}
	defer w.gw.Close()
	w.soapAPI("soap", "/soap", be.URL, portico.AuthMethods{portico.AuthNone}, func(a *portico.API) { a.Resources = checkedResources })
	elems := map[string]string{}
	for _, r := range checkedResources {
		elems[r.SOAPAction] = r.SOAPBody
	}
	for _, v := range []string{soap.SOAP11, soap.SOAP12} {
		h := soapHeaders(v, "urn:GetBooking")
		sa := ""
		if len(h) > 2 {
			sa = h[3]
		}
		f.Add(h[1], sa, envelope(v, "GetBooking"))
		f.Add(h[1], sa, envelope(v, "CancelBooking"))
		f.Add(h[1], sa, withHeader(v, "GetBooking", 1<<10))
		m, ct := mtomCall(v, "GetBooking")
		f.Add(ct, sa, m)
	}
	f.Add("text/xml", `"urn:Fail"`, `<Envelope xmlns="`+env11+`"><Body><Fail xmlns="`+svcNS+`"/></Body></Envelope>`)
	f.Fuzz(func(t *testing.T, contentType, soapAction, body string) {
		raw := "POST /soap HTTP/1.1\r\nHost: gw\r\nContent-Type: " + contentType + "\r\nSOAPAction: " + soapAction +
			"\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return
		}
		var a reqAction
		a.of(req.Header)
		got.reached, got.body = false, nil
		rec := httptest.NewRecorder()
		w.gw.ServeHTTP(rec, req)
		if got.reached {
			want, named := elems[a.action]
			if !a.ok || !named {
				t.Fatalf("a call naming no operation (%q, %q) reached the backend", contentType, soapAction)
			}
			if e := bodyElementOf(got.body); e != "" && e != want {
				t.Fatalf("a call naming %q with an envelope of %q reached the backend: %q", a.action, e, got.body)
			}
			return
		}
		var flt fault
		if err := xml.Unmarshal(rec.Body.Bytes(), &flt); err != nil || flt.Body.Fault.XMLName.Local != "Fault" {
			t.Fatalf("%d %q is not a SOAP fault (%v)", rec.Code, rec.Body.String(), err)
		}
	})
}

// TestSOAPEnvelopeExpectContinue: a client that waits for 100 Continue
// before it sends the body gets it from the gateway, which reads the
// envelope; the call then passes, or is refused, as any other.
func TestSOAPEnvelopeExpectContinue(t *testing.T) {
	w, be, _ := envelopeWorld(t)
	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Minute}}
	defer client.CloseIdleConnections()
	for _, op := range []string{"GetBooking", "CancelBooking"} {
		sent := envelope(soap.SOAP11, op)
		req, _ := http.NewRequest("POST", w.srv.URL+"/checked", strings.NewReader(sent))
		req.Header.Set("Expect", "100-continue")
		req.Header.Set("Content-Type", "text/xml")
		req.Header.Set("SOAPAction", `"urn:GetBooking"`)
		arrived := be.n.Load()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if op == "GetBooking" {
			if resp.StatusCode != 200 || string(be.last(t).body) != sent {
				t.Errorf("%s: %d %s", op, resp.StatusCode, body)
			}
			continue
		}
		checkFault(t, resp, string(body), soap.SOAP11, 400, portico.EInvalid)
		if be.n.Load() != arrived {
			t.Errorf("%s reached the backend", op)
		}
	}
}
