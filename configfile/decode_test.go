package configfile_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/configfile"
)

const head = "format_version: 1\n"

// TestDecodeRefuses feeds Decode files it must refuse, each with the line
// and field it must name.
func TestDecodeRefuses(t *testing.T) {
	key := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name, in    string
		line        int
		field, want string
	}{
		{"empty", "", 0, "", "the file is empty"},
		{"comment only", "# nothing\n", 0, "", "the file is empty"},
		{"not a mapping", "- a\n", 1, "", "must be a mapping"},
		{"no format_version", "plans: []\n", 1, "format_version", "format_version is required"},
		{"format_version 2", "format_version: 2\nplans: []\n", 1, "format_version", "format_version 2 is not supported"},
		{"format_version text", "format_version: one\n", 1, "format_version", "must be the number 1"},
		{"format_version float", "format_version: 1.0\n", 1, "format_version", "must be the number 1"},
		{"bad YAML", head + "plans: [\n", 2, "", "not valid YAML"},
		{"two documents", head + "---\n" + head, 2, "", "more than one YAML document"},
		{"unknown top field", head + "apiz: []\n", 2, "apiz", `unknown field "apiz"`},
		{"unknown nested field", head + "plans:\n  - name: a\n    rate_limit: {limit: 1, per: minute, burst: 3}\n", 4, "plans[0].rate_limit.burst", `unknown field "burst"`},
		{"field in another case", head + "plans:\n  - Name: a\n", 3, "plans[0].Name", `did you mean "name"`},
		{"wrong kind: list for mapping", head + "plans:\n  - name: a\n    quota: [1]\n", 4, "plans[0].quota", "must be a mapping"},
		{"wrong kind: mapping for list", head + "plans: {name: a}\n", 2, "plans", "must be a list"},
		{"wrong kind: text for number", head + "plans:\n  - name: a\n    quota: {limit: lots}\n", 4, "plans[0].quota.limit", "must be an integer"},
		{"number too large", head + "plans:\n  - name: a\n    quota: {limit: 99999999999999999999}\n", 4, "plans[0].quota.limit", "must be an integer"},
		{"wrong kind: text for bool", head + "plans:\n  - name: a\n    shared: yes\n", 4, "plans[0].shared", "must be true or false"},
		{"bad duration", head + "apis:\n  - name: a\n    version: v1\n    timeouts: {connect: soon}\n", 5, "apis[0].timeouts.connect", "duration"},
		{"bad auth", head + "apis:\n  - name: a\n    version: v1\n    auth: {x: 1}\n", 5, "apis[0].auth", "auth"},
		{"bad time", head + "applications:\n  - name: a\n    owner: u\n    keys: [{prefix: pk_a, hash: " + key + ", expires_at: tomorrow}]\n", 5, "applications[0].keys[0].expires_at", "tomorrow"},
		{"key twice in a mapping", head + "plans:\n  - name: a\n    name: b\n", 4, "", `the key "name" is given twice`},
		{"anchor", head + "plans: &p []\n", 2, "", "anchors (&p) are not taken"},
		{"alias", head + "plans: []\ngroups: *p\n", 0, "", "not valid YAML"},
		{"merge key", head + "plans:\n  - <<: {name: a}\n", 3, "", "merge keys"},
		{"custom tag", head + "plans: !mine []\n", 2, "", "the tag !mine is not taken"},
		{"binary", head + "plans:\n  - name: !!binary aGVsbG8=\n", 3, "", "the tag !!binary is not taken"},
		{"set", head + "plans: !!set {a}\n", 2, "", "the tag !!set is not taken"},
		{"complex key", head + "? [a]\n: 1\n", 2, "", "a mapping key must be a plain value"},
		{"plan without name", head + "plans:\n  - description: x\n", 3, "plans[0].name", "name is required"},
		{"plan name of spaces", head + "plans:\n  - name: '  '\n", 3, "plans[0].name", "name is required"},
		{"plan twice", head + "plans:\n  - name: gold\n  - name: gold\n", 4, "plans[1]", `the plan "gold" is given twice (also plans[0])`},
		{"group twice in any case", head + "groups:\n  - name: Partners\n  - name: partners\n", 4, "groups[1]", "given twice"},
		{"member twice", head + "groups:\n  - name: g\n    members: [ann, ANN]\n", 4, "groups[0].members[1]", "listed twice"},
		{"API without version", head + "apis:\n  - name: a\n", 3, "apis[0].version", "version is required"},
		{"API twice", head + "apis:\n  - {name: a, version: v1}\n  - {name: a, version: v1}\n", 4, "apis[1]", "given twice"},
		{"plan listed twice", head + "apis:\n  - name: a\n    version: v1\n    plans: [gold, gold]\n", 5, "apis[0].plans[1]", `"gold" is listed twice`},
		{"empty plan name", head + "apis:\n  - name: a\n    version: v1\n    plans: [gold, '']\n", 5, "apis[0].plans[1]", "a name is required"},
		{"plan listed twice with its owner", head + "apis:\n  - name: a\n    version: v1\n    plans: [{name: gold, owner: pat}, {name: GOLD, owner: Pat}]\n", 5, "apis[0].plans[1]", `"GOLD (Pat)" is listed twice`},
		{"plan mapping without owner", head + "apis:\n  - name: a\n    version: v1\n    plans: [{name: gold}]\n", 5, "apis[0].plans[0]", "has a name and an owner"},
		{"plan mapping with another field", head + "apis:\n  - name: a\n    version: v1\n    plans: [{name: gold, owner: pat, shared: true}]\n", 5, "apis[0].plans[0]", "nothing else"},
		{"plan as a number list", head + "apis:\n  - name: a\n    version: v1\n    plans: [[1]]\n", 5, "apis[0].plans[0]", "nothing else"},
		{"plan twice of one owner", head + "plans:\n  - {name: gold, owner: pat, quota: {limit: 1, per: day}}\n  - {name: Gold, owner: PAT, quota: {limit: 1, per: day}}\n", 4, "plans[1]", "given twice"},
		{"API twice in any case", head + "apis:\n  - {name: a, version: v1}\n  - {name: A, version: V1}\n", 4, "apis[1]", "given twice"},
		{"document without format", head + "apis:\n  - name: a\n    version: v1\n    document: {content: {openapi: 3.0.0}}\n", 5, "apis[0].document.format", "format must be"},
		{"openapi document as text", head + "apis:\n  - name: a\n    version: v1\n    document: {format: openapi, content: 'openapi: 3.0.0'}\n", 5, "apis[0].document.content", "not text"},
		{"wsdl document as mapping", head + "apis:\n  - name: a\n    version: v1\n    document: {format: wsdl, content: {a: 1}}\n", 5, "apis[0].document.content", "its text"},
		{"document as list", head + "apis:\n  - name: a\n    version: v1\n    document: {format: openapi, content: [1]}\n", 5, "apis[0].document.content", "must be an object"},
		{"document number JSON cannot hold", head + "apis:\n  - name: a\n    version: v1\n    document: {format: openapi, content: {x: .inf}}\n", 5, "apis[0].document.content", "not a number JSON can hold"},
		{"user twice in any case", head + "users:\n  - {username: sam, roles: [subscriber]}\n  - {username: SAM, roles: [subscriber]}\n", 4, "users[1]", "given twice"},
		{"application without owner", head + "applications:\n  - name: a\n", 3, "applications[0].owner", "owner is required"},
		{"application twice", head + "applications:\n  - {name: a, owner: sam}\n  - {name: A, owner: Sam}\n", 4, "applications[1]", "given twice"},
		{"key hash not hex", head + "applications:\n  - name: a\n    owner: u\n    keys: [{prefix: pk_a, hash: secret}]\n", 5, "applications[0].keys[0].hash", "hex SHA-256"},
		{"key hash in upper case", head + "applications:\n  - name: a\n    owner: u\n    keys: [{prefix: pk_a, hash: " + strings.ToUpper(key) + "}]\n", 5, "applications[0].keys[0].hash", "hex SHA-256"},
		{"key without prefix", head + "applications:\n  - name: a\n    owner: u\n    keys: [{hash: " + key + "}]\n", 5, "applications[0].keys[0].prefix", "prefix must be"},
		{"key twice", head + "applications:\n  - name: a\n    owner: u\n    keys: [{prefix: pk_a, hash: " + key + "}]\n  - name: b\n    owner: u\n    keys: [{prefix: pk_a, hash: " + key + "}]\n", 8, "applications[1].keys[0]", "the key with hash abababababab… is given twice"},
		{"subscription without plan", head + "applications:\n  - name: a\n    owner: u\n    subscriptions: [{api: w, api_version: v1}]\n", 5, "applications[0].subscriptions[0].plan", "plan is required"},
		{"subscription status", head + "applications:\n  - name: a\n    owner: u\n    subscriptions: [{api: w, api_version: v1, plan: p, status: paused}]\n", 5, "applications[0].subscriptions[0].status", "status must be one of"},
		{"subscription twice", head + "applications:\n  - name: a\n    owner: u\n    subscriptions: [{api: w, api_version: v1, plan: p}, {api: w, api_version: v1, plan: q}]\n", 5, "applications[0].subscriptions[1]", "given twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := configfile.Decode([]byte(tc.in))
			var e *configfile.Error
			if !errors.As(err, &e) {
				t.Fatalf("Decode = %v, %v; want an *Error", f, err)
			}
			if e.Line != tc.line || e.Field != tc.field || !strings.Contains(e.Message, tc.want) || e.Code != portico.EInvalid {
				t.Fatalf("Decode error: line %d, field %q, code %s, %q; want line %d, field %q, invalid, containing %q",
					e.Line, e.Field, e.Code, e.Message, tc.line, tc.field, tc.want)
			}
			if portico.ErrorCodeOf(err) != portico.EInvalid || portico.ErrorFieldOf(err) != tc.field {
				t.Errorf("the error reads as %s field %q to the admin API", portico.ErrorCodeOf(err), portico.ErrorFieldOf(err))
			}
		})
	}
}

// TestDecodeBounds checks the size, value, depth and list bounds.
func TestDecodeBounds(t *testing.T) {
	tooLarge := append([]byte(head+"# "), bytes.Repeat([]byte("x"), configfile.MaxFileBytes)...)
	manyValues := head + "apis:\n  - name: a\n    version: v1\n    tags: [" + strings.Repeat("a,", configfile.MaxValues) + "a]\n"
	deep := head + "apis:\n  - name: a\n    version: v1\n    document:\n      format: openapi\n      content: " +
		strings.Repeat("{a: ", configfile.MaxDepth) + "1" + strings.Repeat("}", configfile.MaxDepth) + "\n"
	longList := head + "plans: [" + strings.Repeat("{name: a},", configfile.MaxItems) + "{name: b}]\n"
	for _, tc := range []struct {
		name, in string
		code     portico.ErrorCode
		want     string
	}{
		{"size", string(tooLarge), portico.ETooLarge, "the limit is 67108864"},
		{"values", manyValues, portico.ETooLarge, "values; the limit is"},
		{"depth", deep, portico.EInvalid, "nests deeper than 110"},
		{"list", longList, portico.EInvalid, "plans has 100001 items; the limit is 100000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := configfile.Decode([]byte(tc.in))
			var e *configfile.Error
			if !errors.As(err, &e) || e.Code != tc.code || !strings.Contains(e.Message, tc.want) {
				t.Fatalf("Decode = %v; want %s containing %q", err, tc.code, tc.want)
			}
		})
	}
	// Just within the depth bound.
	ok := head + "apis:\n  - name: a\n    version: v1\n    document:\n      format: openapi\n      content: " +
		strings.Repeat("{a: ", configfile.MaxDepth-5) + "1" + strings.Repeat("}", configfile.MaxDepth-5) + "\n"
	if _, err := configfile.Decode([]byte(ok)); err != nil {
		t.Fatalf("nesting within the bound: %v", err)
	}
}

// TestDecodeJSON reads a file written as JSON, as the CLI sends it.
func TestDecodeJSON(t *testing.T) {
	f, err := configfile.Decode([]byte(`{"format_version":1,"plans":[{"name":"gold","quota":{"limit":5,"per":"day"}}],
		"apis":[{"name":"w","version":"1.0","document":{"format":"openapi","content":{"openapi":"3.1.0","x":"<b> \u2028"}}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := (*f.Plans)[0].Quota.Limit; got != 5 {
		t.Errorf("quota.limit %d", got)
	}
	if got := string((*f.APIs)[0].Document.Content.Bytes()); got != `{"openapi":"3.1.0","x":"<b> \u2028"}` {
		t.Errorf("content %s", got)
	}
	if (*f.APIs)[0].Version != "1.0" || f.Users != nil || f.Groups != nil {
		t.Errorf("file %+v", f)
	}
	if l := f.Line("apis[0].document.content"); l != 2 {
		t.Errorf("line of the content %d, want 2", l)
	}
}

// TestLine finds the line of a field, or of the nearest value around it.
func TestLine(t *testing.T) {
	f, err := configfile.Decode([]byte(head + "plans:\n  - name: gold\n    quota:\n      limit: 5\n      per: day\n"))
	if err != nil {
		t.Fatal(err)
	}
	for field, want := range map[string]int{
		"plans": 3, "plans[0]": 3, "plans[0].quota": 5, "plans[0].quota.per": 6,
		"plans[0].quota.mode": 5, "plans[0].rate_limit.limit": 3, "apis[3].plans[0]": 0, "": 0,
	} {
		if got := f.Line(field); got != want {
			t.Errorf("Line(%q) = %d, want %d", field, got, want)
		}
	}
}

func ExampleError() {
	_, err := configfile.Decode([]byte("format_version: 1\nplans:\n  - name: gold\n    quota: {limit: lots}\n"))
	fmt.Println(err)
	// Output: line 4: plans[0].quota.limit: limit must be an integer (of 64 bits), not "lots"
}
