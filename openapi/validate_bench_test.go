package openapi_test

import (
	"bytes"
	"net/http/httptest"
	"testing"
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
