package jsonxml_test

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/portico-gw/portico/jsonxml"
)

// The bodies of the benchmarks, about 2 KiB each: an order as a JSON
// client sends it (testdata/order.json) and as an XML backend answers it,
// indented, with attributes and a default namespace (testdata/order.xml).

func BenchmarkJSONToXML(b *testing.B) {
	benchmarkConvert(b, "testdata/order.json", jsonxml.JSONToXML)
}

func BenchmarkXMLToJSON(b *testing.B) {
	benchmarkConvert(b, "testdata/order.xml", jsonxml.XMLToJSON)
}

func benchmarkConvert(b *testing.B, file string, convert func(io.Writer, io.Reader, jsonxml.Options) error) {
	in, err := os.ReadFile(file)
	if err != nil {
		b.Fatal(err)
	}
	opts := jsonxml.Options{Root: "order"}
	var out bytes.Buffer
	if err := convert(&out, bytes.NewReader(in), opts); err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: %d bytes in, %d bytes out", file, len(in), out.Len())
	r := bytes.NewReader(in)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(in)
		out.Reset()
		if err := convert(&out, r, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBenchmarkBodies: the benchmarks' bodies convert and round-trip.
func TestBenchmarkBodies(t *testing.T) {
	in, err := os.ReadFile("testdata/order.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := checkJSONRoundTrip(string(in), jsonxml.Options{Root: "order"}); err != nil {
		t.Fatal(err)
	}
	in, err = os.ReadFile("testdata/order.xml")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := checkXMLRoundTrip(string(in), jsonxml.Options{Root: "order"}); err != nil {
		t.Fatal(err)
	}
}
