package openapi_test

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portico-gw/portico/openapi"
)

// BenchmarkValidate validates a PUT of the orders document with a path
// parameter, a query parameter, a header and a 2 KiB JSON body (23
// items, each checked against a pattern, bounds and an enum): the cost
// the gateway adds to such a request (README "Request validation").
func BenchmarkValidate(b *testing.B) {
	for _, file := range ordersDocs {
		b.Run(file, func(b *testing.B) {
			v := newValidator(b, file)
			body := validBody()
			r := httptest.NewRequest("PUT", "/orders/12?dry_run=true", bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("X-Trace", "deadbeef")
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if ps := v.Validate(r, "/orders/12", body); len(ps) > 0 {
					b.Fatal(ps)
				}
			}
		})
	}
}

// worstDocs are documents at the bounds of NewValidator's budget, each
// with the body item that costs it most per byte: an anyOf of 165
// alternatives that all fail (497 of the 500 units a value may cost), a
// pattern on which Go's matcher runs 1,779 threads at once (1,783 of the
// 2,000 steps a byte may cost), an enum of 120 numbers that none
// matches (429 units).
var worstDocs = []struct{ name, schema, item string }{
	{"anyOf", `{"type":"array","items":{"anyOf":[` + strings.TrimSuffix(strings.Repeat(`{"type":"integer"},`, 165), ",") + `]}}`, `1.5`},
	{"pattern", `{"type":"array","items":{"type":"string","pattern":"^` + strings.Repeat(".{1,100}", 10) + `z$"}}`,
		`"` + strings.Repeat("a", 1000) + `"`},
	{"enum", `{"type":"array","items":{"enum":[` + numbers(120) + `]}}`, `1`},
}

// BenchmarkValidateWorst validates a 2 KiB and a 1 MiB body against the
// documents at the bounds (worstDocs): what the budget lets one request
// cost. A 1 MiB body of them is priced over MaxRequestCost and refused
// before any schema runs.
func BenchmarkValidateWorst(b *testing.B) {
	for _, d := range worstDocs {
		v, err := openapi.NewValidator([]byte(bodyDoc(d.schema, `"X":{}`)))
		if err != nil {
			b.Fatal(err)
		}
		for _, size := range []int{2 << 10, 1 << 20} {
			body := []byte("[" + strings.Repeat(d.item+",", size/(len(d.item)+1)))
			body[len(body)-1] = ']'
			b.Run(fmt.Sprintf("%s/%dKiB", d.name, size>>10), func(b *testing.B) {
				r := httptest.NewRequest("POST", "/a", nil)
				r.Header.Set("Content-Type", "application/json")
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				for b.Loop() {
					ps := v.Validate(r, "/a", body)
					if len(ps) == 0 {
						b.Fatal("no problem found")
					}
					if size > 1<<20-1 && !strings.Contains(ps[0].Message, "too large to check") {
						b.Fatal(ps[0].Message)
					}
				}
			})
		}
	}
}
