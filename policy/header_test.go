package policy_test

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/policy"
)

func mustHeaderRules(t testing.TB, r portico.HeaderRules) *policy.HeaderRules {
	t.Helper()
	p, err := policy.NewHeaderRules(&r)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var testVars = &policy.Vars{RequestID: "req-1", Application: "app-7", Subscriber: "user-3", API: "api-2", ClientIP: "192.0.2.9"}

// TestHeaderRules: each operation, in order, with variables.
func TestHeaderRules(t *testing.T) {
	op := func(kind portico.HeaderOpKind, name, value, to string) portico.HeaderOp {
		return portico.HeaderOp{Op: kind, Name: name, Value: value, To: to}
	}
	add, set, remove, rename := portico.HeaderAdd, portico.HeaderSet, portico.HeaderRemove, portico.HeaderRename
	for _, c := range []struct {
		name     string
		ops      []portico.HeaderOp
		vars     *policy.Vars
		in, want http.Header
	}{
		{"add to absent", []portico.HeaderOp{op(add, "X-Env", "prod", "")}, testVars, hdr(), hdr("X-Env", "prod")},
		{"add to present", []portico.HeaderOp{op(add, "X-Env", "prod", "")}, testVars, hdr("X-Env", "dev"), hdr("X-Env", "dev", "X-Env", "prod")},
		{"set replaces", []portico.HeaderOp{op(set, "X-Env", "prod", "")}, testVars, hdr("X-Env", "dev", "X-Env", "test"), hdr("X-Env", "prod")},
		{"set empty", []portico.HeaderOp{op(set, "X-Empty", "", "")}, testVars, hdr(), hdr("X-Empty", "")},
		{"remove", []portico.HeaderOp{op(remove, "Cookie", "", "")}, testVars, hdr("Cookie", "a=1", "Accept", "*/*"), hdr("Accept", "*/*")},
		{"remove absent", []portico.HeaderOp{op(remove, "Cookie", "", "")}, testVars, hdr("Accept", "*/*"), hdr("Accept", "*/*")},
		{"rename", []portico.HeaderOp{op(rename, "X-Old", "", "X-New")}, testVars, hdr("X-Old", "1", "X-Old", "2"), hdr("X-New", "1", "X-New", "2")},
		{"rename replaces target", []portico.HeaderOp{op(rename, "X-Old", "", "X-New")}, testVars, hdr("X-Old", "1", "X-New", "0"), hdr("X-New", "1")},
		{"rename absent keeps target", []portico.HeaderOp{op(rename, "X-Old", "", "X-New")}, testVars, hdr("X-New", "0"), hdr("X-New", "0")},
		{"names any case", []portico.HeaderOp{op(set, "x-env", "prod", ""), op(rename, "x-old", "", "x-NEW")}, testVars, hdr("X-Old", "1"), hdr("X-Env", "prod", "X-New", "1")},
		{"variables", []portico.HeaderOp{
			op(set, "X-Caller", "$(application)/$(subscriber)", ""),
			op(set, "X-Real-IP", "$(client_ip)", ""),
			op(add, "X-Trace", "api=$(api) id=$(request_id) cost=$$5", ""),
		}, testVars, hdr("X-Trace", "upstream"), hdr("X-Caller", "app-7/user-3", "X-Real-Ip", "192.0.2.9", "X-Trace", "upstream", "X-Trace", "api=api-2 id=req-1 cost=$5")},
		{"variables without auth", []portico.HeaderOp{op(set, "X-Caller", "[$(application)]", "")},
			&policy.Vars{API: "api-2"}, hdr(), hdr("X-Caller", "[]")},
		{"nil vars", []portico.HeaderOp{op(set, "X-Caller", "[$(application)]", "")}, nil, hdr(), hdr("X-Caller", "[]")},
		{"control characters in a variable left out", []portico.HeaderOp{op(set, "X-Caller", "$(application)", "")},
			&policy.Vars{Application: "a\r\nX-Injected: 1\x00\x7f\tb"}, hdr(), hdr("X-Caller", "aX-Injected: 1\tb")},
		{"order counts", []portico.HeaderOp{op(set, "X-A", "1", ""), op(rename, "X-A", "", "X-B"), op(add, "X-A", "2", "")},
			testVars, hdr(), hdr("X-B", "1", "X-A", "2")},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := mustHeaderRules(t, portico.HeaderRules{Request: c.ops, Response: c.ops})
			req, resp := c.in.Clone(), c.in.Clone()
			p.ApplyRequest(req, c.vars)
			p.ApplyResponse(resp, c.vars)
			if !reflect.DeepEqual(req, c.want) {
				t.Errorf("request\n%v\nwant\n%v", req, c.want)
			}
			if !reflect.DeepEqual(resp, c.want) {
				t.Errorf("response\n%v\nwant\n%v", resp, c.want)
			}
		})
	}
}

// TestHeaderRulesDirections: request rules touch only requests, response
// rules only responses; nil rules change nothing.
func TestHeaderRulesDirections(t *testing.T) {
	p := mustHeaderRules(t, portico.HeaderRules{
		Request:  []portico.HeaderOp{{Op: portico.HeaderSet, Name: "X-Req", Value: "1"}},
		Response: []portico.HeaderOp{{Op: portico.HeaderSet, Name: "X-Resp", Value: "1"}},
	})
	req, resp := hdr(), hdr()
	p.ApplyRequest(req, testVars)
	p.ApplyResponse(resp, testVars)
	if !reflect.DeepEqual(req, hdr("X-Req", "1")) || !reflect.DeepEqual(resp, hdr("X-Resp", "1")) {
		t.Errorf("request %v, response %v", req, resp)
	}
	var none *policy.HeaderRules
	h := hdr("A", "1")
	none.ApplyRequest(h, testVars)
	none.ApplyResponse(h, testVars)
	if !reflect.DeepEqual(h, hdr("A", "1")) {
		t.Errorf("nil rules changed %v", h)
	}
}

// TestHeaderRulesRefused: NewHeaderRules refuses what Validate refuses,
// naming the field; framing fields cannot be reached, even by rename.
func TestHeaderRulesRefused(t *testing.T) {
	for _, c := range []struct {
		rules portico.HeaderRules
		field string
	}{
		{portico.HeaderRules{Request: []portico.HeaderOp{{Op: portico.HeaderSet, Name: "Content-Length", Value: "0"}}}, "headers.request[0].name"},
		{portico.HeaderRules{Request: []portico.HeaderOp{{Op: portico.HeaderRename, Name: "X-Len", To: "Transfer-Encoding"}}}, "headers.request[0].to"},
		{portico.HeaderRules{Response: []portico.HeaderOp{{Op: portico.HeaderRemove, Name: "X-Request-Id"}}}, "headers.response[0].name"},
		{portico.HeaderRules{Response: []portico.HeaderOp{{Op: portico.HeaderSet, Name: "X-A", Value: "a\r\nb"}}}, "headers.response[0].value"},
		{portico.HeaderRules{Response: []portico.HeaderOp{{Op: portico.HeaderSet, Name: "X-A", Value: "$(password)"}}}, "headers.response[0].value"},
	} {
		_, err := policy.NewHeaderRules(&c.rules)
		if portico.ErrorCodeOf(err) != portico.EInvalid || portico.ErrorFieldOf(err) != c.field {
			t.Errorf("NewHeaderRules(%+v) = %v, want invalid %s", c.rules, err, c.field)
		}
	}
}

// TestHeaderRulesSharedValues: a value made once is never changed by what
// a caller appends to it, nor by the next request.
func TestHeaderRulesSharedValues(t *testing.T) {
	p := mustHeaderRules(t, portico.HeaderRules{Request: []portico.HeaderOp{
		{Op: portico.HeaderSet, Name: "X-A", Value: "fixed"},
		{Op: portico.HeaderAdd, Name: "X-B", Value: "fixed"},
	}})
	h1 := hdr()
	p.ApplyRequest(h1, testVars)
	h1.Add("X-A", "more")
	h1.Add("X-B", "more")
	h2 := hdr()
	p.ApplyRequest(h2, testVars)
	if !reflect.DeepEqual(h2, hdr("X-A", "fixed", "X-B", "fixed")) {
		t.Errorf("second request: %v", h2)
	}
}
