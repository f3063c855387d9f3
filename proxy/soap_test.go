package proxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/soap"
)

// The SOAP envelope namespaces.
const (
	env11 = "http://schemas.xmlsoap.org/soap/envelope/"
	env12 = "http://www.w3.org/2003/05/soap-envelope"
	svcNS = "urn:example:booking"
)

// soapRequest is what the SOAP backend got: the headers and the body's
// bytes, as they arrived.
type soapRequest struct {
	header http.Header
	body   []byte
}

// soapBackend is a SOAP service, as JAX-WS ones are: it reads the
// envelope and dispatches on the first element of its Body, whatever the
// action. GetBooking and CancelBooking answer an envelope of their own
// formatting (the same bytes each time, see soapReply), Fail answers
// a fault of its own with 500, Slow answers when the client gives up.
type soapBackend struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []soapRequest
}

func newSOAPBackend(t *testing.T) *soapBackend {
	t.Helper()
	b := &soapBackend{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		b.mu.Lock()
		b.reqs = append(b.reqs, soapRequest{r.Header.Clone(), body})
		b.mu.Unlock()
		if r.Method == http.MethodGet {
			w.Header().Set("Content-Type", "text/xml")
			io.WriteString(w, "<definitions/>") // ?wsdl
			return
		}
		v := soap.SOAP11
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/soap+xml") {
			v = soap.SOAP12
		}
		var env struct {
			XMLName xml.Name `xml:"Envelope"`
			Body    struct {
				Op struct{ XMLName xml.Name } `xml:",any"`
			} `xml:"Body"`
		}
		if err := xml.Unmarshal(body, &env); err != nil {
			http.Error(w, "not an envelope", http.StatusBadRequest)
			return
		}
		ct := soap.ContentType11
		if v == soap.SOAP12 {
			ct = soap.ContentType12
		}
		w.Header().Set("Content-Type", ct)
		switch op := env.Body.Op.XMLName.Local; op {
		case "GetBooking", "CancelBooking", "Limited":
			w.Write(soapReply(v, op))
		case "Fail":
			w.WriteHeader(http.StatusInternalServerError)
			w.Write(backendFault(v))
		case "Slow":
			<-r.Context().Done()
		default:
			w.WriteHeader(http.StatusInternalServerError)
			w.Write(backendFault(v))
		}
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *soapBackend) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.reqs)
}

func (b *soapBackend) last(t *testing.T) soapRequest {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.reqs) == 0 {
		t.Fatal("the backend got no request")
	}
	return b.reqs[len(b.reqs)-1]
}

func envNS(v string) string {
	if v == soap.SOAP12 {
		return env12
	}
	return env11
}

// soapReply is the backend's answer to op: an envelope with an XML
// declaration, a comment, odd spaces and a character reference, which a
// gateway that rewrote it would not give back the same.
func soapReply(v, op string) []byte {
	return []byte("<?xml version='1.0' encoding='utf-8'?>\n<!-- reply -->\n<S:Envelope  xmlns:S=\"" + envNS(v) + "\" >" +
		"<S:Body>\n\t<b:" + op + "Response xmlns:b=\"" + svcNS + "\"><b:id>B&#x2D;17</b:id><b:note><![CDATA[<ok>]]></b:note></b:" + op + "Response>\n</S:Body></S:Envelope>")
}

// backendFault is the backend's own fault, which the gateway passes on.
func backendFault(v string) []byte {
	if v == soap.SOAP12 {
		return []byte(`<e:Envelope xmlns:e="` + env12 + `"><e:Body><e:Fault><e:Code><e:Value>e:Receiver</e:Value></e:Code>` +
			`<e:Reason><e:Text xml:lang="en">backend says no</e:Text></e:Reason></e:Fault></e:Body></e:Envelope>`)
	}
	return []byte(`<s:Envelope xmlns:s="` + env11 + `"><s:Body><s:Fault><faultcode>s:Server</faultcode>` +
		`<faultstring>backend says no</faultstring></s:Fault></s:Body></s:Envelope>`)
}

// envelope is a client's request calling op, in version v.
func envelope(v, op string) string {
	return "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<soapenv:Envelope xmlns:soapenv=\"" + envNS(v) + "\" xmlns:b=\"" + svcNS + "\">\r\n" +
		"  <soapenv:Header/>\n  <soapenv:Body>\n    <!-- the call -->\n    <b:" + op + "><b:id>B-17</b:id><b:text><![CDATA[a <b> & \"c\"]]> é 日本 &#128512;</b:text></b:" + op + ">\n" +
		"  </soapenv:Body>\n</soapenv:Envelope>\n"
}

// soapHeaders returns the header fields, as name, value pairs, of a
// request of version v naming action.
func soapHeaders(v, action string) []string {
	if v == soap.SOAP12 {
		return []string{"Content-Type", `application/soap+xml; charset=utf-8; action="` + action + `"`}
	}
	return []string{"Content-Type", "text/xml; charset=utf-8", "SOAPAction", `"` + action + `"`}
}

// bookingResources are the resources an import of the booking service
// gives: one operation each, "POST /" and its action.
var bookingResources = []portico.Resource{
	{Pattern: soap.ResourcePattern, OperationID: "GetBooking", SOAPAction: "urn:GetBooking"},
	{Pattern: soap.ResourcePattern, OperationID: "CancelBooking", SOAPAction: "urn:CancelBooking"},
	{Pattern: soap.ResourcePattern, OperationID: "Limited", SOAPAction: "urn:Limited"},
	{Pattern: soap.ResourcePattern, OperationID: "Fail", SOAPAction: "urn:Fail"},
	{Pattern: soap.ResourcePattern, OperationID: "Slow", SOAPAction: "urn:Slow"},
}

var wsdlRef = &portico.DocumentRef{Format: portico.FormatWSDL, Version: "1.1", SHA256: strings.Repeat("ab", 32), Size: 100}

// soapAPI puts a SOAP API (a WSDL document and its resources) of auth at
// ctx in front of target; change, when not nil, changes it first.
func (w *world) soapAPI(id, ctx, target string, auth portico.AuthMethods, change func(*portico.API)) *portico.API {
	return w.authAPI(id, ctx, target, auth, func(a *portico.API) {
		a.Document = wsdlRef
		a.Resources = bookingResources
		if change != nil {
			change(a)
		}
	})
}

// keyLimiter counts each key's requests without end and admits a request
// while every one of its keys is under its spec's limit.
type keyLimiter struct {
	mu    sync.Mutex
	taken map[string]int64
}

func (l *keyLimiter) Take(_ context.Context, _ time.Time, specs []portico.LimitSpec) (portico.Decision, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.taken == nil {
		l.taken = map[string]int64{}
	}
	for _, s := range specs {
		if l.taken[s.Key] >= s.Limit {
			return portico.Decision{Rejected: s.Key, Limit: s.Limit, RetryAfter: time.Second, Reset: time.Second}, nil
		}
	}
	for _, s := range specs {
		l.taken[s.Key]++
	}
	return portico.Decision{Allowed: true, Limit: specs[0].Limit, Remaining: specs[0].Limit - l.taken[specs[0].Key], Reset: time.Second}, nil
}

// soapWorld is a gateway with a SOAP API at /soap (api_key or basic,
// the booking service's resources, threat protection, a response timeout
// of 300 ms) and a plan limiting urn:Limited to one request; app "app"
// subscribes, "waiting" waits for approval.
func soapWorld(t *testing.T) (w *world, be *soapBackend, key, waitingKey string) {
	t.Helper()
	w = newWorld(t)
	w.gw.Limiter = &keyLimiter{}
	be = newSOAPBackend(t)
	w.soapAPI("soap", "/soap", be.URL, portico.AuthMethods{portico.AuthAPIKey, portico.AuthBasic}, func(a *portico.API) {
		a.Timeouts.Response = portico.Duration(300 * time.Millisecond)
		a.Policies = &portico.Policies{ThreatProtection: &portico.ThreatProtection{
			MaxBodyBytes: 4096, AllowedMethods: []string{"GET", "POST"},
			AllowedContentTypes: []string{"text/xml", "application/soap+xml"}, XML: portico.ThreatXMLLimits{MaxDepth: 8},
		}}
	})
	key = w.subscribe("app", "soap", portico.Approved)
	waitingKey = w.subscribe("waiting", "soap", portico.Pending)
	w.apply(portico.Put(&portico.Plan{ID: "plan", Name: "plan", RateLimit: &portico.RateLimit{Limit: 1000, Per: portico.Second, Window: portico.Fixed,
		Resources: []portico.ResourceLimit{{Pattern: "POST /", SOAPAction: "urn:Limited", Limit: 1, Per: portico.Second, Window: portico.Fixed}}}}))
	return w, be, key, waitingKey
}

// fault is a SOAP fault as encoding/xml reads it, in either version.
type fault struct {
	XMLName xml.Name // the Envelope
	Body    struct {
		XMLName xml.Name
		Fault   struct {
			XMLName     xml.Name
			FaultCode   string     `xml:"faultcode"`
			FaultString string     `xml:"faultstring"`
			Value       string     `xml:"Code>Value"`
			Text        string     `xml:"Reason>Text"`
			Detail      faultError `xml:"detail>error"`
			Detail12    faultError `xml:"Detail>error"`
		} `xml:"Fault"`
	} `xml:"Body"`
}

type faultError struct {
	XMLName xml.Name
	Code    string `xml:"urn:portico:fault code"`
	Status  int    `xml:"urn:portico:fault status"`
}

// checkFault checks that resp and body are a gateway fault of version v
// with status and Portico's code.
func checkFault(t *testing.T, resp *http.Response, body, v string, status int, code portico.ErrorCode) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, body)
	}
	wantCT := soap.ContentType11
	if v == soap.SOAP12 {
		wantCT = soap.ContentType12
	}
	if ct := resp.Header.Get("Content-Type"); ct != wantCT || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("Content-Type %q (nosniff %q), want %q: %s", ct, resp.Header.Get("X-Content-Type-Options"), wantCT, body)
	}
	var f fault
	if err := xml.Unmarshal([]byte(body), &f); err != nil {
		t.Fatalf("the fault does not read: %v: %s", err, body)
	}
	ns := envNS(v)
	if f.XMLName != (xml.Name{Space: ns, Local: "Envelope"}) || f.Body.XMLName.Space != ns || f.Body.Fault.XMLName != (xml.Name{Space: ns, Local: "Fault"}) {
		t.Fatalf("not a SOAP %s fault: %+v: %s", v, f, body)
	}
	ff := f.Body.Fault
	d := ff.Detail
	var gotCode, wantCode, text string
	if v == soap.SOAP12 {
		d, gotCode, text, wantCode = ff.Detail12, ff.Value, ff.Text, "env:Sender"
		if status >= 500 {
			wantCode = "env:Receiver"
		}
	} else {
		gotCode, text, wantCode = ff.FaultCode, ff.FaultString, "soap:Client"
		if status >= 500 {
			wantCode = "soap:Server"
		}
	}
	if gotCode != wantCode || text == "" {
		t.Errorf("code %q (want %q), text %q: %s", gotCode, wantCode, text, body)
	}
	if d.XMLName.Space != soap.FaultNamespace || d.Code != string(code) || d.Status != status {
		t.Errorf("detail %+v, want code %q and status %d: %s", d, code, status, body)
	}
}

// TestSOAPFaults: to a SOAP API's clients every answer the gateway makes
// itself is a SOAP fault of the request's version (SOAP 1.1 for a
// request that is not SOAP) with the HTTP status it gives in JSON
// elsewhere, and the fields that go with it (WWW-Authenticate,
// Retry-After, RateLimit-*) are kept.
func TestSOAPFaults(t *testing.T) {
	w, be, key, waitingKey := soapWorld(t)
	w.soapAPI("dead", "/dead", refusing(t), portico.AuthMethods{portico.AuthNone}, nil)
	w.soapAPI("rewritten", "/rewritten", refusing(t), portico.AuthMethods{portico.AuthNone}, func(a *portico.API) {
		// The fault answers the client's version, not the one the
		// backend was to get.
		a.Policies = &portico.Policies{Headers: &portico.HeaderRules{Request: []portico.HeaderOp{{Op: portico.HeaderSet, Name: "Content-Type", Value: "application/json"}}}}
	})
	w.soapAPI("validating", "/validating", be.URL, portico.AuthMethods{portico.AuthNone}, func(a *portico.API) {
		a.Policies = &portico.Policies{ValidateRequests: true} // a WSDL document does not validate: 503
	})
	deep := envelope(soap.SOAP11, "GetBooking")
	deep = strings.Replace(deep, "<b:id>", strings.Repeat("<b:x>", 10)+"<b:id>", 1)
	deep = strings.Replace(deep, "</b:id>", "</b:id>"+strings.Repeat("</b:x>", 10), 1)

	type call struct {
		method, path, action, op, body string
		hdr                            []string // after the SOAP fields, replacing them
		plain                          bool     // not a SOAP request: a SOAP 1.1 fault in either version
		multipart                      bool     // SOAP with attachments: multipart/related
		times                          int      // sent this many times; the last answer is checked
	}
	for _, tc := range []struct {
		name   string
		call   call
		status int
		code   portico.ErrorCode
		check  func(t *testing.T, h http.Header)
	}{
		{"401 no credentials", call{hdr: []string{"X-API-Key", ""}}, 401, portico.EUnauthorized, func(t *testing.T, h http.Header) {
			if v := h.Get("WWW-Authenticate"); !strings.HasPrefix(v, "Basic ") {
				t.Errorf("WWW-Authenticate %q", v)
			}
		}},
		{"401 bad key", call{hdr: []string{"X-API-Key", "nope"}}, 401, portico.EUnauthorized, nil},
		{"401 bad Basic credentials", call{hdr: []string{"X-API-Key", "", "Authorization", basic("app", "nope")}}, 401, portico.EUnauthorized, nil},
		{"401 on the fast engine: a GET", call{method: "GET", path: "/soap?wsdl", hdr: []string{"X-API-Key", ""}, plain: true}, 401, portico.EUnauthorized, nil},
		{"403 subscription waiting", call{hdr: []string{"X-API-Key", waitingKey}}, 403, portico.EForbidden, nil},
		{"400 unknown action", call{action: "urn:Nope"}, 400, portico.EInvalid, nil},
		{"400 action of another case", call{action: "urn:getbooking"}, 400, portico.EInvalid, nil},
		{"429 the operation's limit", call{action: "urn:Limited", op: "Limited", times: 2}, 429, portico.ERateLimited, func(t *testing.T, h http.Header) {
			if h.Get("Retry-After") != "1" || h.Get("RateLimit-Limit") != "1" || h.Get("RateLimit-Remaining") != "0" {
				t.Errorf("fields %v", h)
			}
		}},
		{"405 the gateway's: TRACE", call{method: "TRACE", body: "-", hdr: []string{"X-API-Key", ""}}, 405, portico.ENotAllowed, nil},
		{"405 threat protection", call{method: "OPTIONS", body: "-"}, 405, portico.ENotAllowed, nil},
		{"400 an envelope by PUT", call{method: "PUT"}, 400, portico.EInvalid, nil},
		{"415 threat protection: SOAP with attachments", call{multipart: true}, 415, portico.EUnsupported, nil},
		{"413 threat protection", call{body: strings.Repeat(" ", 5000)}, 413, portico.ETooLarge, nil},
		{"400 threat protection: nesting", call{body: deep}, 400, portico.EInvalid, nil},
		{"400 unclean path", call{path: "/soap//x"}, 400, portico.EInvalid, nil},
		{"508 loop", call{hdr: []string{"Via", via}}, 508, portico.ELoopDetected, nil},
		{"502 backend unreachable", call{path: "/dead"}, 502, portico.EBadGateway, nil},
		{"502 backend unreachable, the Content-Type rewritten", call{path: "/rewritten"}, 502, portico.EBadGateway, nil},
		{"502 backend unreachable on the fast engine: a GET", call{method: "GET", path: "/dead?wsdl", plain: true}, 502, portico.EBadGateway, nil},
		{"503 policies that cannot apply", call{path: "/validating"}, 503, portico.EUnavailable, nil},
		{"504 backend too slow", call{action: "urn:Slow", op: "Slow"}, 504, portico.EGatewayTimeout, nil},
	} {
		for _, v := range []string{soap.SOAP11, soap.SOAP12} {
			t.Run(tc.name+"/"+v, func(t *testing.T) {
				c := tc.call
				if c.method == "" {
					c.method = "POST"
				}
				if c.path == "" {
					c.path = "/soap"
				}
				if c.action == "" {
					c.action = "urn:GetBooking"
				}
				if c.op == "" {
					c.op = "GetBooking"
				}
				if c.body == "" && c.method != "GET" {
					c.body = envelope(v, c.op)
				}
				hdr := append(soapHeaders(v, c.action), "X-API-Key", key)
				switch {
				case c.method == "GET":
					hdr = []string{"X-API-Key", key}
				case c.multipart && v == soap.SOAP12:
					hdr[1] = `multipart/related; type="application/soap+xml"; action="` + c.action + `"; boundary=b`
				case c.multipart:
					hdr[1] = `multipart/related; type="text/xml"; boundary=b`
				}
				for i := 0; i+1 < len(c.hdr); i += 2 {
					hdr = replaceField(hdr, c.hdr[i], c.hdr[i+1])
				}
				var resp *http.Response
				var body string
				for range max(c.times, 1) {
					var rd io.Reader
					if c.body != "" && c.body != "-" {
						rd = strings.NewReader(c.body)
					}
					resp, body = do(t, c.method, w.srv.URL+c.path, rd, hdr...)
				}
				want := v
				if c.plain {
					want = soap.SOAP11
				}
				checkFault(t, resp, body, want, tc.status, tc.code)
				if tc.check != nil {
					tc.check(t, resp.Header)
				}
			})
		}
	}
	if n := be.count(); n != 3 {
		// The two Slow calls and the first Limited one; nothing else
		// reached the backend whole.
		t.Errorf("the backend got %d requests, want 3", n)
	}
}

// replaceField sets name to value in hdr (name, value pairs), removing
// it when value is "".
func replaceField(hdr []string, name, value string) []string {
	out := hdr[:0:0]
	for i := 0; i+1 < len(hdr); i += 2 {
		if !strings.EqualFold(hdr[i], name) {
			out = append(out, hdr[i], hdr[i+1])
		}
	}
	if value != "" {
		out = append(out, name, value)
	}
	return out
}

// TestSOAPPassThrough: envelopes go to the backend byte for byte with
// their fields, and the backend's answers — its faults included — come
// back untouched, in both versions, with and without policies that read
// the body (threat protection).
func TestSOAPPassThrough(t *testing.T) {
	w, be, key, _ := soapWorld(t)
	w.soapAPI("open", "/open", be.URL, portico.AuthMethods{portico.AuthNone}, nil)
	for _, path := range []string{"/soap", "/open"} {
		for _, v := range []string{soap.SOAP11, soap.SOAP12} {
			t.Run(path+"/"+v, func(t *testing.T) {
				for _, op := range []string{"GetBooking", "CancelBooking", "Fail"} {
					sent := envelope(v, op)
					hdr := append(soapHeaders(v, "urn:"+op), "X-API-Key", key)
					resp, body := do(t, "POST", w.srv.URL+path, strings.NewReader(sent), hdr...)
					got := be.last(t)
					if !bytes.Equal(got.body, []byte(sent)) {
						t.Errorf("%s: the backend got\n%q\nnot what was sent\n%q", op, got.body, sent)
					}
					if v == soap.SOAP11 && got.header.Get("SOAPAction") != `"urn:`+op+`"` || got.header.Get("Content-Type") != hdr[1] {
						t.Errorf("%s: the backend got the fields %v", op, got.header)
					}
					want, status := soapReply(v, op), 200
					if op == "Fail" {
						want, status = backendFault(v), 500
					}
					if resp.StatusCode != status || body != string(want) {
						t.Errorf("%s: the client got %d\n%q\nnot the backend's %d\n%q", op, resp.StatusCode, body, status, want)
					}
					if ct := resp.Header.Get("Content-Type"); (v == soap.SOAP11) != (ct == soap.ContentType11) {
						t.Errorf("%s: Content-Type %q", op, ct)
					}
				}
			})
		}
	}
}

// TestSOAPLimitsPerOperation: a plan's limit on one operation's action
// refuses its calls over the limit (a 429 fault of the caller's
// version) while the API's other operations pass; a request that is not
// SOAP, or names another action, is not counted against it, on a SOAP
// API or any other.
func TestSOAPLimitsPerOperation(t *testing.T) {
	w, be, key, _ := soapWorld(t)
	rest := echo(t, "rest")
	w.api("rest", "/rest", portico.AuthAPIKey, rest.URL)
	restKey := w.subscribe("app", "rest", portico.Approved)
	plan := &portico.Plan{ID: "plan", Name: "plan", RateLimit: &portico.RateLimit{Limit: 1000, Per: portico.Second, Window: portico.Fixed,
		Resources: []portico.ResourceLimit{{Pattern: "POST /", SOAPAction: "urn:CancelBooking", Limit: 3, Per: portico.Second, Window: portico.Fixed}}}}
	w.apply(portico.Put(plan))

	for i := range 3 {
		v := []string{soap.SOAP11, soap.SOAP12}[i%2] // either version counts
		resp, body := do(t, "POST", w.srv.URL+"/soap", strings.NewReader(envelope(v, "CancelBooking")), append(soapHeaders(v, "urn:CancelBooking"), "X-API-Key", key)...)
		if resp.StatusCode != 200 || resp.Header.Get("RateLimit-Limit") != "3" {
			t.Fatalf("call %d of CancelBooking: %d %v %s", i+1, resp.StatusCode, resp.Header, body)
		}
	}
	for _, v := range []string{soap.SOAP11, soap.SOAP12} {
		resp, body := do(t, "POST", w.srv.URL+"/soap", strings.NewReader(envelope(v, "CancelBooking")), append(soapHeaders(v, "urn:CancelBooking"), "X-API-Key", key)...)
		checkFault(t, resp, body, v, 429, portico.ERateLimited)
	}
	n := be.count()
	for i := range 5 {
		resp, body := do(t, "POST", w.srv.URL+"/soap", strings.NewReader(envelope(soap.SOAP12, "GetBooking")), append(soapHeaders(soap.SOAP12, "urn:GetBooking"), "X-API-Key", key)...)
		if resp.StatusCode != 200 || resp.Header.Get("RateLimit-Limit") != "1000" {
			t.Fatalf("call %d of GetBooking: %d %s", i+1, resp.StatusCode, body)
		}
	}
	if be.count() != n+5 {
		t.Errorf("the backend got %d of the 5 calls of GetBooking", be.count()-n)
	}

	// On a REST API the limit counts the requests naming the action
	// alone: JSON ones pass, and its errors stay JSON.
	for i := range 5 {
		resp, body := do(t, "POST", w.srv.URL+"/rest", strings.NewReader(`{}`), "Content-Type", "application/json", "X-API-Key", restKey)
		if resp.StatusCode != 200 {
			t.Fatalf("REST call %d: %d %s", i+1, resp.StatusCode, body)
		}
	}
	for i := range 4 {
		resp, body := do(t, "POST", w.srv.URL+"/rest", strings.NewReader(envelope(soap.SOAP11, "CancelBooking")),
			append(soapHeaders(soap.SOAP11, "urn:CancelBooking"), "X-API-Key", restKey)...)
		want := 200
		if i == 3 {
			want = 429
		}
		if resp.StatusCode != want {
			t.Fatalf("SOAP call %d through the REST API: %d %s", i+1, resp.StatusCode, body)
		}
		if i == 3 && (errorCode(t, body) != "rate_limited" || resp.Header.Get("Content-Type") != "application/json") {
			t.Errorf("the REST API's 429: %v %s", resp.Header, body)
		}
	}
	resp, body := do(t, "POST", w.srv.URL+"/rest/x", strings.NewReader(`{}`), "Content-Type", "application/json")
	if resp.StatusCode != 401 || errorCode(t, body) != "unauthorized" {
		t.Errorf("the REST API's 401: %d %s", resp.StatusCode, body)
	}
}

// TestSOAPUnknownAction: where every operation of a SOAP API has an
// action, a request with a body that does not call one of them (its
// pattern, its action, named once and readably) is refused with a 400
// fault before the backend — which may dispatch on the body and run the
// operation whose limit the request dodged — or a 415 when its body is
// not a SOAP message at all. Bodiless reads pass (a GET of the WSDL),
// and an API with an operation without action takes any action.
func TestSOAPUnknownAction(t *testing.T) {
	w, be, key, _ := soapWorld(t)
	w.soapAPI("loose", "/loose", be.URL, portico.AuthMethods{portico.AuthNone}, func(a *portico.API) {
		a.Resources = append(a.Resources[:len(a.Resources):len(a.Resources)], portico.Resource{Pattern: "POST /", OperationID: "Untagged"})
	})
	env := envelope(soap.SOAP11, "Limited")
	for _, tc := range []struct {
		name string
		path string
		hdr  []string
		ok   bool
	}{
		{"an undeclared action", "/soap", []string{"Content-Type", "text/xml", "SOAPAction", `"urn:Other"`}, false},
		{"an undeclared SOAP 1.2 action", "/soap", []string{"Content-Type", `application/soap+xml; action="urn:Other"`}, false},
		{"the empty action", "/soap", []string{"Content-Type", "text/xml", "SOAPAction", `""`}, false},
		{"no SOAPAction field", "/soap", []string{"Content-Type", "text/xml"}, false},
		{"two SOAPAction fields", "/soap", []string{"Content-Type", "text/xml", "SOAPAction", `"urn:GetBooking"`, "SOAPAction", `"urn:Limited"`}, false},
		{"an action that does not parse", "/soap", []string{"Content-Type", "text/xml", "SOAPAction", `"urn:GetBooking`}, false},
		{"SOAP 1.2 with the action in a SOAPAction field", "/soap", []string{"Content-Type", "application/soap+xml", "SOAPAction", `"urn:GetBooking"`}, false},
		{"not SOAP: 415", "/soap", []string{"Content-Type", "application/json", "SOAPAction", `"urn:GetBooking"`}, false},
		{"no Content-Type: 415", "/soap", []string{"SOAPAction", `"urn:GetBooking"`}, false},
		{"a declared action", "/soap", []string{"Content-Type", "text/xml", "SOAPAction", `"urn:GetBooking"`}, true},
		{"a declared action, unquoted", "/soap/", []string{"Content-Type", "text/xml", "SOAPAction", `urn:GetBooking`}, true},
		{"another path, a declared action", "/soap/other", []string{"Content-Type", "text/xml", "SOAPAction", `"urn:Limited"`}, false},
		{"another path, an undeclared action", "/soap/other", []string{"Content-Type", "text/xml", "SOAPAction", `"urn:Other"`}, false},
		{"SOAP 1.2 with a SOAPAction field naming another action", "/soap", []string{"Content-Type", `application/soap+xml; action="urn:GetBooking"`, "SOAPAction", `"urn:Limited"`}, false},
		{"SOAP 1.2 with a SOAPAction field naming the same", "/soap", []string{"Content-Type", `application/soap+xml; action="urn:GetBooking"`, "SOAPAction", `"urn:GetBooking"`}, true},
		{"an RFC 2231 action beside the plain one", "/soap", []string{"Content-Type", `application/soap+xml; action="urn:GetBooking"; action*=utf-8''urn%3ALimited`}, false},
		{"an RFC 2231 action in pieces", "/soap", []string{"Content-Type", `application/soap+xml; action*0="urn:"; action*1="Limited"`}, false},
		{"an API with an operation without action", "/loose", []string{"Content-Type", "text/xml", "SOAPAction", `"urn:Other"`}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := be.count()
			resp, body := do(t, "POST", w.srv.URL+tc.path, strings.NewReader(env), append(tc.hdr, "X-API-Key", key)...)
			if tc.ok {
				if be.count() != n+1 {
					t.Errorf("%d %s: the backend did not get the request", resp.StatusCode, body)
				}
				return
			}
			v := soap.SOAP11
			if strings.HasPrefix(tc.hdr[1], "application/soap+xml") {
				v = soap.SOAP12
			}
			if strings.HasSuffix(tc.name, ": 415") {
				checkFault(t, resp, body, v, 415, portico.EUnsupported)
			} else {
				checkFault(t, resp, body, v, 400, portico.EInvalid)
			}
			if be.count() != n {
				t.Error("the backend got the request")
			}
		})
	}
	// A GET (of the WSDL, say) calls no operation.
	resp, body := do(t, "GET", w.srv.URL+"/soap?wsdl", nil, "X-API-Key", key)
	if resp.StatusCode != 200 || body != "<definitions/>" {
		t.Errorf("GET ?wsdl: %d %s", resp.StatusCode, body)
	}
}

// TestSOAPRecord: the analytics record names the operation a call names
// by a declared action ("POST / GetBooking"); an undeclared action is
// recorded as the pattern, never as the client's text; an override with
// an action on another API as its pattern and action.
func TestSOAPRecord(t *testing.T) {
	w, be, key, _ := soapWorld(t)
	rec := &recorded{}
	w.gw.Recorder = rec
	w.soapAPI("loose", "/loose", be.URL, portico.AuthMethods{portico.AuthNone}, func(a *portico.API) {
		a.Resources = append(a.Resources[:len(a.Resources):len(a.Resources)], portico.Resource{Pattern: "POST /", OperationID: "Untagged"})
	})
	rest := echo(t, "rest")
	w.api("rest", "/rest", portico.AuthAPIKey, rest.URL)
	restKey := w.subscribe("app", "rest", portico.Approved)
	w.apply(portico.Put(&portico.Plan{ID: "plan", Name: "plan", RateLimit: &portico.RateLimit{Limit: 1000, Per: portico.Second, Window: portico.Fixed,
		Resources: []portico.ResourceLimit{{Pattern: "POST /", SOAPAction: "urn:x", Limit: 10, Per: portico.Second}, {Pattern: "POST /", Limit: 10, Per: portico.Second}}}}))
	for _, tc := range []struct {
		name, path, action, key string
		want                    string
	}{
		{"a declared operation", "/soap", "urn:CancelBooking", key, "POST / CancelBooking"},
		{"a refused undeclared action", "/soap", "urn:" + strings.Repeat("x", 100), key, "POST /"},
		{"an undeclared action on a loose API", "/loose", "urn:made-up", "", "POST /"},
		{"no operation", "/loose/elsewhere", "urn:GetBooking", "", ""},
		{"an override with an action", "/rest", "urn:x", restKey, "POST / urn:x"},
		{"an override without", "/rest", "urn:y", restKey, "POST /"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec.mu.Lock()
			n := len(rec.recs)
			rec.mu.Unlock()
			do(t, "POST", w.srv.URL+tc.path, strings.NewReader(envelope(soap.SOAP11, "GetBooking")), append(soapHeaders(soap.SOAP11, tc.action), "X-API-Key", tc.key)...)
			waitRecords(t, rec, n+1)
			if r := rec.last(t); r.Resource != tc.want {
				t.Errorf("resource %q, want %q", r.Resource, tc.want)
			}
		})
	}
}

// TestRequestAction: the gateway reads a request's action as soap.Action
// does from its one Content-Type and SOAPAction fields, and answers it in
// its version, SOAP 1.2 also when its action does not read.
func TestRequestAction(t *testing.T) {
	for _, tc := range []struct {
		name         string
		h            http.Header
		version      string
		action       string
		ok           bool
		faultVersion string
	}{
		{"SOAP 1.1", http.Header{"Content-Type": {"text/xml"}, "Soapaction": {`"urn:a"`}}, "1.1", "urn:a", true, "1.1"},
		{"SOAP 1.1 without SOAPAction", http.Header{"Content-Type": {"text/xml"}}, "1.1", "", true, "1.1"},
		{"SOAP 1.2", http.Header{"Content-Type": {`application/soap+xml;action="urn:b"`}}, "1.2", "urn:b", true, "1.2"},
		{"two SOAPAction fields", http.Header{"Content-Type": {"text/xml"}, "Soapaction": {`"urn:a"`, `"urn:b"`}}, "", "", false, "1.1"},
		{"two Content-Type fields", http.Header{"Content-Type": {"text/xml", "text/xml"}}, "", "", false, "1.1"},
		{"SOAP 1.2 with an action that does not parse", http.Header{"Content-Type": {"application/soap+xml; action=urn:b"}}, "", "", false, "1.2"},
		{"SOAP 1.2 with a control character", http.Header{"Content-Type": {"Application/SOAP+XML; action=\"urn:\x01\""}}, "", "", false, "1.2"},
		{"JSON", http.Header{"Content-Type": {"application/json"}}, "", "", false, "1.1"},
		{"nothing", http.Header{}, "", "", false, "1.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a reqAction
			a.of(tc.h)
			if a.version != tc.version || a.action != tc.action || a.ok != tc.ok {
				t.Errorf("got %q %q %v", a.version, a.action, a.ok)
			}
			if v := a.faultVersion(tc.h); v != tc.faultVersion {
				t.Errorf("fault version %q, want %q", v, tc.faultVersion)
			}
		})
	}
}

// TestActionLimitKeys: an override with an action counts on a key of
// its own, named by its pattern and action; one without keeps the key it
// had before actions existed.
func TestActionLimitKeys(t *testing.T) {
	p := &portico.Plan{RateLimit: &portico.RateLimit{Limit: 10, Per: portico.Second, Resources: []portico.ResourceLimit{
		{Pattern: "POST /", Limit: 1, Per: portico.Second},
		{Pattern: "POST /", SOAPAction: "urn:a", Limit: 1, Per: portico.Second},
		{Pattern: "post  /", SOAPAction: "urn:b", Limit: 1, Per: portico.Second},
	}}}
	_, res := compilePlan(p).forSubscription("app", "api")
	k0, ka, kb := res[0][0].Key, res[1][0].Key, res[2][0].Key
	if k0 != "app/api/res-"+compilePattern("POST /").id || ka == k0 || kb == k0 || ka == kb {
		t.Errorf("keys %q %q %q", k0, ka, kb)
	}
	p.RateLimit.Resources = []portico.ResourceLimit{p.RateLimit.Resources[2], {Pattern: "POST /", SOAPAction: "urn:b", Limit: 5, Per: portico.Minute}}
	_, res = compilePlan(p).forSubscription("app", "api")
	if res[0][0].Key != kb || res[1][0].Key != kb {
		t.Errorf("the same pattern and action: %q %q, then %q", res[0][0].Key, res[1][0].Key, kb)
	}
}

// FuzzSOAPCall sends requests of any method, path, Content-Type and
// SOAPAction to a SOAP API whose operations all have actions: the
// gateway must never pass on a call (a request matching "POST /") whose
// action names none of them, and every answer of its own to the API's
// clients must be a SOAP fault that reads.
func FuzzSOAPCall(f *testing.F) {
	var reached struct {
		method, path string
	}
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.method, reached.path = r.Method, r.URL.Path
		w.Header().Set("X-Backend", "1")
		w.Write([]byte("ok"))
	}))
	defer be.Close()
	w := &world{cfg: portico.NewConfig(), gw: &Gateway{}}
	defer w.gw.Close()
	w.soapAPI("soap", "/soap", be.URL+"/base", portico.AuthMethods{portico.AuthNone}, nil)
	declared := map[string]bool{}
	for _, r := range bookingResources {
		declared[r.SOAPAction] = true
	}

	f.Add("POST", "/soap", "text/xml; charset=utf-8", `"urn:GetBooking"`)
	f.Add("post", "/soap/", "text/xml", `urn:Nope`)
	f.Add("POST", "/soap", `application/soap+xml; action="urn:Limited"`, "")
	f.Add("POST", "/soap/;x", `application/soap+xml; action*=utf-8''urn%3AGetBooking`, "")
	f.Add("POST", "/soap", `multipart/related; type="application/xop+xml"; start-info="application/soap+xml; action=\"urn:Fail\""`, "")
	f.Add("POST", "/soap/x", "text/xml", `"urn:Other"`)
	f.Add("GET", "/soap", "", "")
	f.Add("PUT", "/soap//", "text/xml", `"urn:GetBooking"`)
	f.Fuzz(func(t *testing.T, method, path, contentType, soapAction string) {
		u := &url.URL{Path: path}
		raw := method + " " + u.EscapedPath() + " HTTP/1.1\r\nHost: gw\r\nContent-Type: " + contentType +
			"\r\nSOAPAction: " + soapAction + "\r\nContent-Length: 2\r\n\r\n<x"
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return
		}
		var a reqAction
		a.of(req.Header)
		named := a.ok && declared[a.action]
		reached.method, reached.path = "", ""
		rec := httptest.NewRecorder()
		w.gw.ServeHTTP(rec, req)
		if reached.method != "" && strings.EqualFold(reached.method, "POST") && strings.TrimSuffix(reached.path, "/") == "/base" && !named {
			t.Fatalf("%s %q with Content-Type %q and SOAPAction %q reached the backend", method, path, contentType, soapAction)
		}
		if rec.Header().Get("X-Backend") != "" || rec.Code < 400 || (req.URL.Path != "/soap" && !strings.HasPrefix(req.URL.Path, "/soap/")) {
			return
		}
		var flt fault
		if err := xml.Unmarshal(rec.Body.Bytes(), &flt); err != nil || flt.Body.Fault.XMLName.Local != "Fault" ||
			(flt.XMLName.Space != env11 && flt.XMLName.Space != env12) {
			t.Fatalf("%d %q is not a SOAP fault (%v)", rec.Code, rec.Body.String(), err)
		}
	})
}
