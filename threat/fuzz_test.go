package threat_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/threat"
)

// fuzzLimit makes small limits of a fuzzer's byte, so that they are hit.
func fuzzLimit(b byte) int { return 1 + int(b%16) }

// FuzzJSONReader feeds documents to the JSON checker, cut at random,
// under small limits. The checker must not panic, must make the same of
// the document however it is cut, must pass on what it passes unchanged
// and refuse with EInvalid; and it must agree with encoding/json: pass
// what json.Valid takes, but for what I-JSON forbids or is over a limit
// (jsonModel), and nothing else.
func FuzzJSONReader(f *testing.F) {
	for _, doc := range validJSON {
		f.Add([]byte(doc), uint64(1), []byte{8, 8, 8, 8, 8})
	}
	for _, doc := range []string{
		`{"a":1,"a":2}`, `"\ud800"`, "\"\xff\"", `[1,]`, `{"a" 1}`, `01`, `1.`, `"\x"`, `[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]`,
		`{"a":{"b":{"c":{"d":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]}}}}`, `"` + string(bytes.Repeat([]byte("é"), 20)) + `"`,
	} {
		f.Add([]byte(doc), uint64(2), []byte{3, 3, 3, 3, 3})
	}
	var many bytes.Buffer
	many.WriteString(`{"x":{`)
	for k := range 30 {
		fmt.Fprintf(&many, `"k%d":%d,`, k, k)
	}
	many.WriteString(`"k7":0},"y":{"k7":1}}`) // a duplicate found by the index
	f.Add(many.Bytes(), uint64(3), []byte{15, 255, 15, 15, 15})
	r := rand.New(rand.NewPCG(1, 1))
	for range 20 {
		f.Add([]byte(randomJSON(r, 3)), r.Uint64(), []byte{15, 255, 15, 15, 15})
	}
	f.Fuzz(func(t *testing.T, doc []byte, seed uint64, limits []byte) {
		if len(doc) > 1<<16 {
			return
		}
		limits = append(limits, 0, 0, 0, 0, 0)
		lim := portico.ThreatJSONLimits{
			MaxDepth:        fuzzLimit(limits[0]),
			MaxKeys:         1 + int(limits[1]), // up to 256: objects past 16 keys use the index
			MaxArrayLength:  fuzzLimit(limits[2]),
			MaxStringLength: fuzzLimit(limits[3]),
			MaxKeyLength:    fuzzLimit(limits[4]),
		}
		tp := &portico.ThreatProtection{MaxBodyBytes: 1 << 20, JSON: lim}
		err := fuzzRead(t, doc, seed, threat.JSON, tp)

		m := modelJSON(doc)
		within := m.depth <= lim.MaxDepth && m.keys <= lim.MaxKeys && m.array <= lim.MaxArrayLength &&
			m.str <= lim.MaxStringLength && m.key <= lim.MaxKeyLength
		switch {
		case err == nil && !m.valid:
			t.Fatalf("passed, but json.Valid=%v, I-JSON: %s", json.Valid(doc), m.why)
		case err == nil && !within:
			t.Fatalf("passed, but over a limit of %+v: %+v", lim, m)
		case err != nil && m.valid && !m.unsure && within:
			t.Fatalf("refused (%v), but valid and within %+v: %+v", err, lim, m)
		}
	})
}

// FuzzXMLReader feeds documents to the XML checker, cut at random, under
// small limits. The checker must not panic, must make the same of the
// document however it is cut, must pass on what it passes unchanged and
// refuse with EInvalid; and what it passes encoding/xml must read as one
// root element within the limits, with no DTD and no processing
// instruction (goXMLWithin; names apart, see nameEditions).
func FuzzXMLReader(f *testing.F) {
	for _, doc := range validXML {
		f.Add([]byte(doc), uint64(1), []byte{8, 8, 8, 40})
	}
	for _, doc := range []string{
		`<!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>`, `<a>&nbsp;</a>`, `<?pi?><a/>`, `<a b="1" b="2"/>`, `<a></b>`,
		`<a><![CDATA[]]]]></a>`, `<a><!-- -- --></a>`, `<a>]]></a>`, `<a:b:c/>`, `<a>&#0;</a>`, "<a>\xff</a>",
		`<?xml version="1.0" encoding="ISO-8859-1"?><a/>`, `<a><b><c><d><e><f/></e></d></c></b></a>`,
	} {
		f.Add([]byte(doc), uint64(2), []byte{3, 3, 3, 8})
	}
	r := rand.New(rand.NewPCG(2, 2))
	for range 20 {
		f.Add([]byte(randomXML(r)), r.Uint64(), []byte{15, 15, 15, 40})
	}
	f.Fuzz(func(t *testing.T, doc []byte, seed uint64, limits []byte) {
		if len(doc) > 1<<16 {
			return
		}
		limits = append(limits, 0, 0, 0, 0)
		lim := portico.ThreatXMLLimits{
			MaxDepth:      fuzzLimit(limits[0]),
			MaxAttributes: fuzzLimit(limits[1]),
			MaxNameLength: fuzzLimit(limits[2]),
			MaxTextLength: 1 + int(limits[3]),
		}
		tp := &portico.ThreatProtection{MaxBodyBytes: 1 << 20, XML: lim}
		if err := fuzzRead(t, doc, seed, threat.XML, tp); err == nil && len(doc) > 0 { // an empty body passes
			if err := goXMLWithin(doc, lim); err != nil && !nameEditions(err) {
				t.Fatalf("passed, but %v", err)
			}
		}
	})
}

// fuzzRead reads doc through a Reader in one go and cut at random, checks
// that both make the same of it and pass on what they pass unchanged,
// and returns the error.
func fuzzRead(t *testing.T, doc []byte, seed uint64, f threat.Format, tp *portico.ThreatProtection) error {
	t.Helper()
	out, err := readAll(doc, f, tp)
	if err == nil && !bytes.Equal(out, doc) {
		t.Fatalf("passed on %q", out)
	}
	if !bytes.HasPrefix(doc, out) {
		t.Fatalf("passed on %q, not a part of the body", out)
	}
	if err != nil {
		var pe *portico.Error
		if !errors.As(err, &pe) || pe.Code != portico.EInvalid {
			t.Fatalf("refused with %v, want an EInvalid *portico.Error", err)
		}
	}
	r := rand.New(rand.NewPCG(seed, seed>>1))
	out2, err2 := readAll(doc, f, tp, randomSizes(r)...)
	if (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() || err == nil && !bytes.Equal(out2, doc) {
		t.Fatalf("in one read: %v; cut at random: %v", err, err2)
	}
	return err
}
