package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico/soap"
)

// bookingAction is the action the booking service's WSDL
// (soap/testdata/booking-wcf.wsdl) gives operation op.
func bookingAction(op string) string { return "http://tempuri.org/IBookingService/" + op }

// bookingService is a SOAP backend for the booking WSDL: it reads each
// envelope and dispatches on the first element of its Body, as JAX-WS
// services do; Ping answers a fault of its own (500).
type bookingService struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
}

func newBookingService(t *testing.T) *bookingService {
	t.Helper()
	s := &bookingService{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		s.mu.Lock()
		s.bodies = append(s.bodies, body)
		s.mu.Unlock()
		ns, ct := "http://schemas.xmlsoap.org/soap/envelope/", soap.ContentType11
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/soap+xml") {
			ns, ct = "http://www.w3.org/2003/05/soap-envelope", soap.ContentType12
		}
		var env struct {
			Body struct {
				Op struct{ XMLName xml.Name } `xml:",any"`
			} `xml:"Body"`
		}
		if err := xml.Unmarshal(body, &env); err != nil {
			http.Error(w, "not an envelope", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", ct)
		op := env.Body.Op.XMLName.Local
		if op == "Ping" {
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `<s:Envelope xmlns:s="`+ns+`"><s:Body><s:Fault><faultcode>s:Server</faultcode><faultstring>the booking service is down</faultstring></s:Fault></s:Body></s:Envelope>`)
			return
		}
		io.WriteString(w, `<s:Envelope xmlns:s="`+ns+`"><s:Body><`+op+`Response xmlns="http://tempuri.org/"><`+op+`Result>ok</`+op+`Result></`+op+`Response></s:Body></s:Envelope>`)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *bookingService) last() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.bodies) == 0 {
		return nil
	}
	return s.bodies[len(s.bodies)-1]
}

// bookingCall calls op through the gateway at url in SOAP version v
// naming action, with key, and returns the answer and the envelope sent.
func bookingCall(t *testing.T, url, v, action, op, key string) (resp *http.Response, body, sent string) {
	t.Helper()
	ns := "http://schemas.xmlsoap.org/soap/envelope/"
	if v == soap.SOAP12 {
		ns = "http://www.w3.org/2003/05/soap-envelope"
	}
	sent = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<soapenv:Envelope xmlns:soapenv=\"" + ns + "\" xmlns:tem=\"http://tempuri.org/\">\n" +
		"  <soapenv:Header/>\n  <soapenv:Body>\n    <tem:" + op + "><tem:reference>BK-0042</tem:reference><!-- é --></tem:" + op + ">\n  </soapenv:Body>\n</soapenv:Envelope>\n"
	req, _ := http.NewRequest("POST", url, strings.NewReader(sent))
	if v == soap.SOAP12 {
		req.Header.Set("Content-Type", `application/soap+xml; charset=utf-8; action="`+action+`"`)
	} else {
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		req.Header.Set("SOAPAction", `"`+action+`"`)
	}
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return r, string(b), sent
}

// gatewayFault reads a fault of the gateway's: its envelope's namespace
// and Portico's error code in its detail.
func gatewayFault(t *testing.T, body string) (envNS, code string) {
	t.Helper()
	var f struct {
		XMLName xml.Name
		Code    string `xml:"Body>Fault>detail>error>code"`
		Code12  string `xml:"Body>Fault>Detail>error>code"`
	}
	if err := xml.Unmarshal([]byte(body), &f); err != nil {
		t.Fatalf("not XML: %v: %s", err, body)
	}
	return f.XMLName.Space, f.Code + f.Code12
}

// TestSOAPEndToEnd runs a node: it imports the booking service's WSDL
// with its target pointing at a SOAP backend, offers a plan that limits
// one operation, publishes it, and calls it through the gateway with a
// key in both SOAP versions: envelopes pass untouched, the limited
// operation gets a 429 fault of the caller's version while the others
// pass, one operation's envelope under another's action is refused
// before the backend, and the gateway's own errors are faults. A plan's soap_action
// is refused where it could mislead (control and bidirectional
// characters, over 2048 bytes, twice with one pattern).
func TestSOAPEndToEnd(t *testing.T) {
	be := newBookingService(t)
	m := startNode(t, t.TempDir())
	admin := client{t, "http://" + m.AdminAddr + "/api/v1", "admin", adminPassword}
	gw := "http://" + m.GatewayAddr

	wsdl, err := os.ReadFile("../../soap/testdata/booking-wcf.wsdl")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", admin.base+"/apis/import?context=/booking&target="+be.URL, bytes.NewReader(wsdl))
	req.SetBasicAuth(admin.user, admin.pass)
	req.Header.Set("Content-Type", "text/xml")
	resp, err := adminHTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 || !bytes.Contains(raw, []byte(`"format":"wsdl"`)) || !bytes.Contains(raw, []byte(bookingAction("CancelBooking"))) ||
		!bytes.Contains(raw, []byte(`"soap_body":"{http://tempuri.org/}CancelBooking"`)) {
		t.Fatalf("import: %d %s", resp.StatusCode, raw)
	}
	var imported struct {
		API struct {
			ID string `json:"id"`
		} `json:"api"`
	}
	if err := json.Unmarshal(raw, &imported); err != nil || imported.API.ID == "" {
		t.Fatalf("import answer %s: %v", raw, err)
	}
	id := imported.API.ID

	for _, bad := range []struct {
		name      string
		resources []any
		field     string
	}{
		{"a control character", []any{map[string]any{"pattern": "POST /", "soap_action": "urn:a\x07", "limit": 1, "per": "second"}}, "rate_limit.resources[0].soap_action"},
		{"a bidirectional override", []any{map[string]any{"pattern": "POST /", "soap_action": "urn:\u202egnp.exe", "limit": 1, "per": "second"}}, "rate_limit.resources[0].soap_action"},
		{"over 2048 bytes", []any{map[string]any{"pattern": "POST /", "soap_action": "urn:" + strings.Repeat("a", 2045), "limit": 1, "per": "second"}}, "rate_limit.resources[0].soap_action"},
		{"an action twice", []any{
			map[string]any{"pattern": "POST /", "soap_action": "urn:a", "limit": 1, "per": "second"},
			map[string]any{"pattern": "POST /", "soap_action": "urn:a", "limit": 2, "per": "second"},
		}, "rate_limit.resources[1].soap_action"},
		{"a pattern twice without action", []any{
			map[string]any{"pattern": "POST /", "soap_action": "urn:a", "limit": 1, "per": "second"},
			map[string]any{"pattern": "POST /", "limit": 1, "per": "second"},
			map[string]any{"pattern": "POST /", "limit": 2, "per": "second"},
		}, "rate_limit.resources[2].pattern"},
	} {
		code, body, raw, err := admin.do("POST", "/plans", map[string]any{"name": "bad", "rate_limit": map[string]any{"limit": 10, "per": "second", "resources": bad.resources}})
		if err != nil {
			t.Fatal(err)
		}
		e, _ := body["error"].(map[string]any)
		if code != 400 || e["field"] != bad.field {
			t.Errorf("%s: %d %s, want 400 naming %s", bad.name, code, raw, bad.field)
		}
	}
	plan := admin.call("POST", "/plans", map[string]any{"name": "per-operation", "auto_approve": true,
		"rate_limit": map[string]any{"limit": 100, "per": "minute", "resources": []any{
			map[string]any{"pattern": "POST /", "soap_action": bookingAction("CancelBooking"), "limit": 2, "per": "minute"},
			map[string]any{"pattern": "POST /", "soap_action": bookingAction("CreateBooking"), "limit": 50, "per": "minute"},
		}}}, 201)
	if rs := plan["rate_limit"].(map[string]any)["resources"].([]any); len(rs) != 2 || rs[0].(map[string]any)["soap_action"] != bookingAction("CancelBooking") {
		t.Fatalf("plan %v", plan)
	}

	api := admin.call("GET", "/apis/"+id, nil, 200)
	api["plans"] = []any{plan["id"]}
	admin.call("PUT", "/apis/"+id, api, 200)
	admin.call("POST", "/apis/"+id+"/publish", nil, 200)
	app := admin.call("POST", "/applications", map[string]any{"name": "front-desk"}, 201)
	key := admin.call("POST", "/applications/"+app["id"].(string)+"/keys", nil, 201)["key"].(string)
	admin.call("POST", "/applications/"+app["id"].(string)+"/subscriptions", map[string]any{"api": id, "plan": plan["id"]}, 201)

	url := gw + "/booking"
	// The subscription reaches the gateway with the next snapshot.
	waitFor(t, "the subscription at the gateway", 10*time.Second, func() bool {
		r, _, _ := bookingCall(t, url, soap.SOAP11, bookingAction("GetBooking"), "GetBooking", key)
		return r.StatusCode == 200
	})
	for _, v := range []string{soap.SOAP11, soap.SOAP12} {
		r, body, sent := bookingCall(t, url, v, bookingAction("GetBooking"), "GetBooking", key)
		if r.StatusCode != 200 || !strings.Contains(body, "<GetBookingResult>ok</GetBookingResult>") || string(be.last()) != sent {
			t.Fatalf("SOAP %s GetBooking: %d %s; the backend got %q", v, r.StatusCode, body, be.last())
		}
		r, body, _ = bookingCall(t, url, v, bookingAction("Ping"), "Ping", key)
		if r.StatusCode != 500 || !strings.Contains(body, "the booking service is down") {
			t.Errorf("SOAP %s: the backend's fault came back as %d %s", v, r.StatusCode, body)
		}
	}
	for i, v := range []string{soap.SOAP12, soap.SOAP11} {
		if r, body, _ := bookingCall(t, url, v, bookingAction("CancelBooking"), "CancelBooking", key); r.StatusCode != 200 {
			t.Fatalf("CancelBooking %d: %d %s", i+1, r.StatusCode, body)
		}
	}
	for _, v := range []string{soap.SOAP12, soap.SOAP11} {
		r, body, _ := bookingCall(t, url, v, bookingAction("CancelBooking"), "CancelBooking", key)
		ns, code := gatewayFault(t, body)
		wantNS := "http://schemas.xmlsoap.org/soap/envelope/"
		if v == soap.SOAP12 {
			wantNS = "http://www.w3.org/2003/05/soap-envelope"
		}
		if r.StatusCode != 429 || ns != wantNS || code != "rate_limited" || r.Header.Get("Retry-After") == "" {
			t.Errorf("SOAP %s CancelBooking over its limit: %d %v %s", v, r.StatusCode, r.Header, body)
		}
	}
	if r, body, _ := bookingCall(t, url, soap.SOAP12, bookingAction("CreateBooking"), "CreateBooking", key); r.StatusCode != 200 || r.Header.Get("RateLimit-Limit") != "50" {
		t.Errorf("CreateBooking after CancelBooking's limit: %d %v %s", r.StatusCode, r.Header, body)
	}
	// CancelBooking's envelope under GetBooking's action: the backend,
	// which dispatches on the body, would cancel under GetBooking's
	// limit.
	before := be.last()
	for _, v := range []string{soap.SOAP11, soap.SOAP12} {
		r, body, _ := bookingCall(t, url, v, bookingAction("GetBooking"), "CancelBooking", key)
		if _, code := gatewayFault(t, body); r.StatusCode != 400 || code != "invalid" || !strings.Contains(body, "{http://tempuri.org/}GetBooking") {
			t.Errorf("SOAP %s: CancelBooking's envelope under GetBooking's action: %d %s", v, r.StatusCode, body)
		}
		if !bytes.Equal(be.last(), before) {
			t.Errorf("SOAP %s: the backend got %q", v, be.last())
		}
	}
	if r, body, _ := bookingCall(t, url, soap.SOAP11, "http://tempuri.org/IBookingService/DeleteEverything", "CancelBooking", key); r.StatusCode != 400 {
		t.Errorf("an undeclared action: %d %s", r.StatusCode, body)
	} else if _, code := gatewayFault(t, body); code != "invalid" {
		t.Errorf("an undeclared action: %s", body)
	}
	r, body, _ := bookingCall(t, url, soap.SOAP12, bookingAction("GetBooking"), "GetBooking", "")
	if ns, code := gatewayFault(t, body); r.StatusCode != 401 || ns != "http://www.w3.org/2003/05/soap-envelope" || code != "unauthorized" {
		t.Errorf("no key: %d %s", r.StatusCode, body)
	}
}
