package threat_test

import (
	"fmt"
	"io"
	"strings"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/threat"
)

// A gateway checks what it can before the body, then wraps the body it
// streams to the backend; a violation found on the way ends the stream.
func Example() {
	tp := &portico.ThreatProtection{
		AllowedMethods:      []string{"POST"},
		AllowedContentTypes: []string{"application/json", "application/xml"},
		JSON:                portico.ThreatJSONLimits{MaxDepth: 3},
	}
	fmt.Println(threat.Check("PUT", "application/json", 20, tp))
	fmt.Println(threat.Check("POST", "text/plain", 20, tp))

	ct := "application/json; charset=utf-8"
	if err := threat.Check("POST", ct, -1, tp); err != nil {
		panic(err)
	}
	body := threat.NewReader(strings.NewReader(`{"a":[{"b":[1]}]}`), threat.FormatOf(ct), tp)
	_, err := io.Copy(io.Discard, body)
	fmt.Println(portico.ErrorCodeOf(err), portico.ErrorMessageOf(err))

	xml := threat.NewReader(strings.NewReader(`<!DOCTYPE a [<!ENTITY b SYSTEM "file:///etc/passwd">]><a>&b;</a>`), threat.XML, tp)
	_, err = io.Copy(io.Discard, xml)
	fmt.Println(portico.ErrorCodeOf(err), portico.ErrorMessageOf(err))
	// Output:
	// method_not_allowed: method "PUT" not allowed (threat_protection.allowed_methods: POST)
	// unsupported: Content-Type "text/plain" not allowed (threat_protection.allowed_content_types: application/json, application/xml)
	// invalid request body: JSON nested deeper than 3 levels (threat_protection.json.max_depth) at byte 11
	// invalid request body: XML document type declaration (<!DOCTYPE) or markup declaration refused (DTDs, and with them entity definitions and external entities, are never accepted) at byte 2
}
