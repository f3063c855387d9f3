package portico_test

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

// validator is what the three policy configs share.
type validator interface{ Validate() error }

// checkPolicyError fails unless err is an EInvalid naming field whose
// message contains msg (or err is nil when field is "").
func checkPolicyError(t *testing.T, err error, field, msg string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Fatalf("Validate: %v, want nil", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("Validate: nil, want an error on %s", field)
	}
	if code := portico.ErrorCodeOf(err); code != portico.EInvalid {
		t.Errorf("code %q, want invalid (%v)", code, err)
	}
	if f := portico.ErrorFieldOf(err); f != field {
		t.Errorf("field %q, want %q (%v)", f, field, err)
	}
	if m := portico.ErrorMessageOf(err); !strings.Contains(m, msg) {
		t.Errorf("message %q does not say %q", m, msg)
	}
}

// TestCORSValidate: every refusal names its field; the accepted forms pass.
func TestCORSValidate(t *testing.T) {
	o := func(origins ...string) portico.CORS { return portico.CORS{AllowedOrigins: origins} }
	for _, c := range []struct {
		name       string
		cors       portico.CORS
		field, msg string
	}{
		{"exact", o("https://app.example.com", "http://localhost:8080", "http://127.0.0.1:3000", "http://[::1]:3000", "capacitor://localhost"), "", ""},
		{"star", o("*"), "", ""},
		{"wildcard", o("https://*.example.com", "https://*.example.co.uk:8443"), "", ""},
		{"full", portico.CORS{
			AllowedOrigins: []string{"https://app.example.com"}, AllowedMethods: []string{"GET", "PATCH"},
			AllowedHeaders: []string{"Authorization", "X-Api-Key"}, ExposedHeaders: []string{"RateLimit-Remaining"},
			AllowCredentials: true, MaxAge: portico.Duration(10 * time.Minute),
		}, "", ""},
		{"any header", portico.CORS{AllowedOrigins: []string{"https://a.example.com"}, AllowedHeaders: []string{"*"}, AllowCredentials: true}, "", ""},
		{"no origins", portico.CORS{}, "cors.allowed_origins", "required"},
		{"star and credentials", portico.CORS{AllowedOrigins: []string{"*"}, AllowCredentials: true}, "cors.allowed_origins[0]", "allow_credentials"},
		{"star among others", o("https://a.example.com", "*"), "cors.allowed_origins[1]", "only entry"},
		{"null", o("null"), "cors.allowed_origins[0]", "sandboxed"},
		{"no scheme", o("app.example.com"), "cors.allowed_origins[0]", "not an origin"},
		{"path", o("https://app.example.com/"), "cors.allowed_origins[0]", "trailing slash"},
		{"user", o("https://u@app.example.com"), "cors.allowed_origins[0]", "no path"},
		{"uppercase", o("https://App.example.com"), "cors.allowed_origins[0]", "https://app.example.com"},
		{"uppercase scheme", o("HTTPS://app.example.com"), "cors.allowed_origins[0]", "not an origin"},
		{"default port", o("https://app.example.com:443"), "cors.allowed_origins[0]", "without the default port"},
		{"bad port", o("https://app.example.com:0"), "cors.allowed_origins[0]", "bad port"},
		{"port leading zero", o("https://app.example.com:080"), "cors.allowed_origins[0]", "bad port"},
		{"port too big", o("https://app.example.com:65536"), "cors.allowed_origins[0]", "bad port"},
		{"empty host", o("https://"), "cors.allowed_origins[0]", "no host"},
		{"empty label", o("https://app..example.com"), "cors.allowed_origins[0]", "empty label"},
		{"bad char", o("https://app.exa$mple.com"), "cors.allowed_origins[0]", "bad character"},
		{"ipv6 long form", o("http://[0:0::1]:3000"), "cors.allowed_origins[0]", "http://[::1]:3000"},
		{"ipv6 unclosed", o("http://[::1:3000"), "cors.allowed_origins[0]", "unclosed"},
		{"wildcard tld", o("https://*.com"), "cors.allowed_origins[0]", "top-level"},
		{"wildcard inside", o("https://a*.example.com"), "cors.allowed_origins[0]", "whole first label"},
		{"wildcard deeper", o("https://app.*.example.com"), "cors.allowed_origins[0]", "whole first label"},
		{"wildcard ip", o("https://*.10.0.0.1"), "cors.allowed_origins[0]", "IP address"},
		{"twice", o("https://a.example.com", "https://a.example.com"), "cors.allowed_origins[1]", "twice"},
		{"bad method", portico.CORS{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET", "PO ST"}}, "cors.allowed_methods[1]", "not a valid name"},
		{"star method", portico.CORS{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"*", "GET"}}, "cors.allowed_methods[0]", "list the methods"},
		{"bad header", portico.CORS{AllowedOrigins: []string{"*"}, AllowedHeaders: []string{"X-A:b"}}, "cors.allowed_headers[0]", "not a valid name"},
		{"header twice", portico.CORS{AllowedOrigins: []string{"*"}, AllowedHeaders: []string{"X-A", "x-a"}}, "cors.allowed_headers[1]", "twice"},
		{"star header among others", portico.CORS{AllowedOrigins: []string{"*"}, AllowedHeaders: []string{"X-A", "*"}}, "cors.allowed_headers[1]", "only entry"},
		{"expose star with credentials", portico.CORS{AllowedOrigins: []string{"https://a.example.com"}, ExposedHeaders: []string{"*"}, AllowCredentials: true}, "cors.exposed_headers[0]", "allow_credentials"},
		{"negative max age", portico.CORS{AllowedOrigins: []string{"*"}, MaxAge: -1}, "cors.max_age", "negative"},
		{"huge max age", portico.CORS{AllowedOrigins: []string{"*"}, MaxAge: portico.Duration(48 * time.Hour)}, "cors.max_age", "24h"},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkPolicyError(t, c.cors.Validate(), c.field, c.msg)
		})
	}
}

// TestHeaderRulesValidate: names must be tokens outside the reserved
// fields, values free of control characters and unknown variables.
func TestHeaderRulesValidate(t *testing.T) {
	req := func(ops ...portico.HeaderOp) portico.HeaderRules { return portico.HeaderRules{Request: ops} }
	for _, c := range []struct {
		name       string
		rules      portico.HeaderRules
		field, msg string
	}{
		{"all ops", portico.HeaderRules{
			Request: []portico.HeaderOp{
				{Op: portico.HeaderAdd, Name: "X-Caller", Value: "$(application)/$(subscriber)"},
				{Op: portico.HeaderSet, Name: "X-Real-IP", Value: "$(client_ip)"},
				{Op: portico.HeaderRemove, Name: "Cookie"},
				{Op: portico.HeaderRename, Name: "X-Old", To: "X-New"},
			},
			Response: []portico.HeaderOp{{Op: portico.HeaderSet, Name: "Cache-Control", Value: "no-store"}},
		}, "", ""},
		{"empty value", req(portico.HeaderOp{Op: portico.HeaderSet, Name: "X-Empty"}), "", ""},
		{"no op", req(portico.HeaderOp{Name: "X-A"}), "headers.request[0].op", "required"},
		{"bad op", req(portico.HeaderOp{Op: "append", Name: "X-A"}), "headers.request[0].op", "not \"append\""},
		{"no name", req(portico.HeaderOp{Op: portico.HeaderRemove}), "headers.request[0].name", "required"},
		{"bad name", req(portico.HeaderOp{Op: portico.HeaderSet, Name: "X A", Value: "v"}), "headers.request[0].name", "not a valid header name"},
		{"pseudo header", req(portico.HeaderOp{Op: portico.HeaderSet, Name: ":path", Value: "/"}), "headers.request[0].name", "not a valid header name"},
		{"CR", req(portico.HeaderOp{Op: portico.HeaderSet, Name: "X-A", Value: "a\r\nX-Injected: 1"}), "headers.request[0].value", "control character"},
		{"LF", req(portico.HeaderOp{Op: portico.HeaderAdd, Name: "X-A", Value: "a\nb"}), "headers.request[0].value", "control character"},
		{"NUL", req(portico.HeaderOp{Op: portico.HeaderAdd, Name: "X-A", Value: "a\x00"}), "headers.request[0].value", "control character"},
		{"unknown var", req(portico.HeaderOp{Op: portico.HeaderSet, Name: "X-A", Value: "$(secret)"}), "headers.request[0].value", "unknown variable $(secret)"},
		{"unclosed var", req(portico.HeaderOp{Op: portico.HeaderSet, Name: "X-A", Value: "$(api"}), "headers.request[0].value", "unclosed"},
		{"value on remove", req(portico.HeaderOp{Op: portico.HeaderRemove, Name: "X-A", Value: "v"}), "headers.request[0].value", "only for add and set"},
		{"to on set", req(portico.HeaderOp{Op: portico.HeaderSet, Name: "X-A", To: "X-B"}), "headers.request[0].to", "only for rename"},
		{"to on remove", req(portico.HeaderOp{Op: portico.HeaderRemove, Name: "X-A", To: "X-B"}), "headers.request[0].to", "only for rename"},
		{"rename without to", req(portico.HeaderOp{Op: portico.HeaderRename, Name: "X-A"}), "headers.request[0].to", "required"},
		{"rename to itself", req(portico.HeaderOp{Op: portico.HeaderRename, Name: "X-A", To: "x-a"}), "headers.request[0].to", "differ"},
		{"rename to framing", req(portico.HeaderOp{Op: portico.HeaderRename, Name: "X-Len", To: "Content-Length"}), "headers.request[0].to", "frames the message"},
		{"response index", portico.HeaderRules{Response: []portico.HeaderOp{{Op: portico.HeaderSet, Name: "Server", Value: "x"}, {Op: portico.HeaderRemove, Name: "Transfer-Encoding"}}}, "headers.response[1].name", "frames the message"},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkPolicyError(t, c.rules.Validate(), c.field, c.msg)
		})
	}
	reserved := map[string]string{
		"Connection": "connection", "keep-alive": "connection", "Upgrade": "connection", "TE": "connection", "Trailer": "connection",
		"Proxy-Authorization": "connection", "Proxy-Connection": "connection", "Proxy": "connection",
		"Content-Length": "frames", "Transfer-Encoding": "frames", "host": "frames",
		"Via": "gateway sets it", "Forwarded": "gateway sets it", "X-Request-Id": "gateway sets it",
		"X-Forwarded-For": "forwarding", "x-forwarded-proto": "forwarding", "X-Forwarded-Port": "forwarding",
		"X-Portico-Application": "gateway's own", "X-Portico-Anything": "gateway's own",
		"Access-Control-Allow-Origin": "CORS policy", "access-control-expose-headers": "CORS policy",
	}
	for name, msg := range reserved {
		for _, op := range []portico.HeaderOpKind{portico.HeaderAdd, portico.HeaderSet, portico.HeaderRemove, portico.HeaderRename} {
			ho := portico.HeaderOp{Op: op, Name: name}
			if op == portico.HeaderRename {
				ho.To = "X-Other"
			}
			t.Run(string(op)+" "+name, func(t *testing.T) {
				checkPolicyError(t, (&portico.HeaderRules{Response: []portico.HeaderOp{ho}}).Validate(), "headers.response[0].name", msg)
			})
		}
	}
}

// TestIPRulesValidate: every entry must parse; the error names it.
func TestIPRulesValidate(t *testing.T) {
	for _, c := range []struct {
		name       string
		rules      portico.IPRules
		field, msg string
	}{
		{"empty", portico.IPRules{}, "", ""},
		{"mixed", portico.IPRules{Allow: []string{"10.0.0.0/8", "192.0.2.7", "2001:db8::/32", "::1"}, Deny: []string{"10.1.0.0/16", "::ffff:10.2.0.0/112"}}, "", ""},
		{"bad allow", portico.IPRules{Allow: []string{"10.0.0.0/8", "10.0.0.300"}}, "ip_rules.allow[1]", "not an IP address"},
		{"bad deny", portico.IPRules{Deny: []string{"10.0.0.0/33"}}, "ip_rules.deny[0]", "not an IP address"},
		{"host bits", portico.IPRules{Deny: []string{"192.168.1.0/16"}}, "ip_rules.deny[0]", "write 192.168.0.0/16"},
		{"empty entry", portico.IPRules{Allow: []string{""}}, "ip_rules.allow[0]", "empty"},
		{"zone", portico.IPRules{Allow: []string{"fe80::1%eth0"}}, "ip_rules.allow[0]", "zone"},
		{"space", portico.IPRules{Allow: []string{" 10.0.0.1"}}, "ip_rules.allow[0]", "not an IP address"},
		{"leading zero", portico.IPRules{Allow: []string{"010.0.0.1"}}, "ip_rules.allow[0]", "not an IP address"},
		{"short mapped", portico.IPRules{Allow: []string{"::ffff:0.0.0.0/95"}}, "ip_rules.allow[0]", "bits set"},
		{"zone prefix", portico.IPRules{Allow: []string{"fe80::%eth0/64"}}, "ip_rules.allow[0]", "not an IP address"},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkPolicyError(t, c.rules.Validate(), c.field, c.msg)
		})
	}
}

// TestParseCIDR: bare addresses are single-address prefixes; IPv4-mapped
// entries become IPv4.
func TestParseCIDR(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.0/8":          "10.0.0.0/8",
		"192.0.2.7":           "192.0.2.7/32",
		"2001:db8::/32":       "2001:db8::/32",
		"2001:db8::7":         "2001:db8::7/128",
		"::ffff:10.0.0.0/104": "10.0.0.0/8",
		"::ffff:192.0.2.7":    "192.0.2.7/32",
		"0.0.0.0/0":           "0.0.0.0/0",
		"::/0":                "::/0",
	} {
		p, err := portico.ParseCIDR(in)
		if err != nil || p != netip.MustParsePrefix(want) {
			t.Errorf("ParseCIDR(%q) = %v, %v; want %s", in, p, err, want)
		}
	}
}

// TestParseHeaderValue: literal text, variables and "$$".
func TestParseHeaderValue(t *testing.T) {
	type part = portico.HeaderValuePart
	for _, c := range []struct {
		in   string
		want []part
	}{
		{"", nil},
		{"plain", []part{{Text: "plain"}}},
		{"$(api)", []part{{Var: "api"}}},
		{"id=$(request_id); ip=$(client_ip)", []part{{Text: "id="}, {Var: "request_id"}, {Text: "; ip="}, {Var: "client_ip"}}},
		{"$(application)$(subscriber)", []part{{Var: "application"}, {Var: "subscriber"}}},
		{"cost $5 $$(api) $", []part{{Text: "cost $5 $(api) $"}}},
		{"\ttabbed", []part{{Text: "\ttabbed"}}},
	} {
		got, err := portico.ParseHeaderValue(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseHeaderValue(%q) = %#v, %v; want %#v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"$(", "$(api", "$()", "$(API)", "$( api)", "a\x7fb", strings.Repeat("a", 4097)} {
		if _, err := portico.ParseHeaderValue(bad); err == nil {
			t.Errorf("ParseHeaderValue(%.20q) = nil error", bad)
		}
	}
}

// TestPolicyJSON: the configs read the documented field names.
func TestPolicyJSON(t *testing.T) {
	var got struct {
		CORS    portico.CORS        `json:"cors"`
		Headers portico.HeaderRules `json:"headers"`
		IP      portico.IPRules     `json:"ip_rules"`
	}
	const in = `{
		"cors": {"allowed_origins": ["https://app.example.com"], "allowed_methods": ["PUT"], "allowed_headers": ["X-A"],
			"exposed_headers": ["X-B"], "allow_credentials": true, "max_age": "10m"},
		"headers": {"request": [{"op": "set", "name": "X-App", "value": "$(application)"}],
			"response": [{"op": "rename", "name": "X-A", "to": "X-B"}]},
		"ip_rules": {"allow": ["10.0.0.0/8"], "deny": ["10.0.0.1"]}
	}`
	if err := json.Unmarshal([]byte(in), &got); err != nil {
		t.Fatal(err)
	}
	if got.CORS.MaxAge != portico.Duration(10*time.Minute) || !got.CORS.AllowCredentials || got.CORS.ExposedHeaders[0] != "X-B" {
		t.Errorf("cors: %+v", got.CORS)
	}
	if got.Headers.Request[0] != (portico.HeaderOp{Op: portico.HeaderSet, Name: "X-App", Value: "$(application)"}) ||
		got.Headers.Response[0] != (portico.HeaderOp{Op: portico.HeaderRename, Name: "X-A", To: "X-B"}) {
		t.Errorf("headers: %+v", got.Headers)
	}
	if got.IP.Allow[0] != "10.0.0.0/8" || got.IP.Deny[0] != "10.0.0.1" {
		t.Errorf("ip_rules: %+v", got.IP)
	}
	for _, v := range []validator{&got.CORS, &got.Headers, &got.IP} {
		if err := v.Validate(); err != nil {
			t.Error(err)
		}
	}
}
