package threat_test

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/threat"
)

// body2K returns a document of the format of about 2 KiB: an order of
// items with names, prices, tags and a note with escapes or references.
func body2K(f threat.Format) []byte {
	var b strings.Builder
	switch f {
	case threat.JSON:
		b.WriteString(`{"order":{"id":"ord_7f3a9c","customer":{"id":12345,"name":"Jane Q. Public","email":"jane@example.com"},"items":[`)
		for i := 0; b.Len() < 1850; i++ {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"sku":"SKU-%05d","name":"Widget n\u00b0%d \"deluxe\"","qty":%d,"price":%d.99,"tags":["a","b"],"gift":%t}`, i, i, i%5+1, 10+i, i%2 == 0)
		}
		b.WriteString(`],"note":"Leave at the door.\nThanks!","total":1234.5}}`)
	case threat.XML:
		b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
			`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><order id="ord_7f3a9c">` +
			`<customer id="12345"><name>Jane Q. Public</name><email>jane@example.com</email></customer><items>`)
		for i := 0; b.Len() < 1880; i++ {
			fmt.Fprintf(&b, `<item sku="SKU-%05d" qty="%d"><name>Widget n&#176;%d &quot;deluxe&quot;</name><price>%d.99</price></item>`, i, i%5+1, i, 10+i)
		}
		b.WriteString(`</items><note><![CDATA[Leave at the door & ring.]]></note></order></soap:Body></soap:Envelope>`)
	}
	return []byte(b.String())
}

// benchmarkReader streams a 2 KiB body of format f through a new Reader
// (as each request gets one) in one read.
func benchmarkReader(b *testing.B, f threat.Format) {
	body := body2K(f)
	if f == threat.Other {
		body = body2K(threat.JSON)
	}
	if _, err := readAll(body, f, nil); err != nil {
		b.Fatal(err)
	}
	src := bytes.NewReader(body)
	buf := make([]byte, 32<<10)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		src.Reset(body)
		r := threat.NewReader(src, f, nil)
		for {
			_, err := r.Read(buf)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkJSONReader: the cost of checking a 2 KiB JSON body.
func BenchmarkJSONReader(b *testing.B) { benchmarkReader(b, threat.JSON) }

// BenchmarkXMLReader: the cost of checking a 2 KiB XML body.
func BenchmarkXMLReader(b *testing.B) { benchmarkReader(b, threat.XML) }

// BenchmarkOtherReader: the size limit alone, the floor of the two above.
func BenchmarkOtherReader(b *testing.B) { benchmarkReader(b, threat.Other) }

// BenchmarkCheck: the checks before the body, on an allowed request.
func BenchmarkCheck(b *testing.B) {
	tp := &portico.ThreatProtection{AllowedMethods: []string{"GET", "POST"}, AllowedContentTypes: []string{"application/json"}}
	b.ReportAllocs()
	for b.Loop() {
		if err := threat.Check("POST", "application/json; charset=utf-8", 2048, tp); err != nil {
			b.Fatal(err)
		}
	}
}
