package threat_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/threat"
)

// validJSON are documents every checker must pass unchanged.
var validJSON = []string{
	`{}`, `[]`, `0`, `-0`, `1.5e10`, `-12.25E-3`, `0.0e+0`, `true`, `false`, `null`, `""`,
	` {"a" : [1, 2, {"b": null}], "c": "d"} `,
	"\t\n\r[ ]\n",
	`{"a":{"a":{"a":1}}}`, // one key, one per object
	`[{"a":1},{"a":2}]`,   // the same key in sibling objects
	`"\" \\ \/ \b \f \n \r \t \u00e9 \u20AC \ud83d\ude00"`,
	`"é € 😀 日本語"`,
	`{"\u0061":1,"b":2}`,
	`[1e999, 123456789012345678901234567890, -0.000001]`,
	`{"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k17":17,"k18":18,"k19":19}`,
	`{"":0}`,
}

func TestJSONPassesValid(t *testing.T) {
	for _, doc := range validJSON {
		t.Run(doc, func(t *testing.T) {
			if !json.Valid([]byte(doc)) {
				t.Fatal("not valid for encoding/json: fix the test")
			}
			wantPassed(t, []byte(doc), threat.JSON, nil)
		})
	}
}

func TestJSONEmptyBodyPasses(t *testing.T) {
	wantPassed(t, nil, threat.JSON, nil)
}

// TestJSONRefusesMalformed: each way of breaking RFC 8259 (and I-JSON)
// is refused with 400 and a message that says what and where.
func TestJSONRefusesMalformed(t *testing.T) {
	tests := []struct {
		doc  string
		want string
	}{
		{` `, "ends before a value at byte 1"},
		{`{`, "ends with 1 arrays or objects open"},
		{`[1,2`, "ends with 1 arrays or objects open"},
		{`"abc`, "ends inside a string"},
		{`"\u12`, "ends inside a string"},
		{`tru`, "ends inside a value"},
		{`-`, "ends inside a value"},
		{`1.`, "ends inside a value"},
		{`1e`, "ends inside a value"},
		{`1e+`, "ends inside a value"},
		{`{} {}`, "'{' after the document at byte 3"},
		{`1 2`, "'2' after the document"},
		{`[1,]`, "']' where a value should be"},
		{`{"a":1,}`, "'}' where a key should be"},
		{`{"a" 1}`, "'1' where ':' should be"},
		{`{"a":1 "b":2}`, `'"' where ',' or '}' should be`},
		{`[1 2]`, "'2' where ',' or ']' should be"},
		{`[1}`, "'}' where ',' or ']' should be"},
		{`{"a":1]`, "']' where ',' or '}' should be"},
		{`{1:2}`, "'1' where a key should be"},
		{`[01]`, "'1' where ',' or ']' should be"},
		{`[-]`, "']' where a digit should be"},
		{`[1.e5]`, "'e' where a digit should be"},
		{`[1e]`, "']' where an exponent should be"},
		{`[+1]`, "'+' where a value should be"},
		{`[.5]`, "'.' where a value should be"},
		{`[NaN]`, "'N' where a value should be"},
		{`[Infinity]`, "'I' where a value should be"},
		{`[tRue]`, "'R' in a literal"},
		{`[nul]`, "']' in a literal"},
		{`'a'`, "byte 0x27 where a value should be"},
		{"\"a\tb\"", "control character byte 0x09 in a string"},
		{"\"a\nb\"", "control character byte 0x0A in a string"},
		{`"\x41"`, `invalid escape \'x'`},
		{`"\u00g0"`, `'g' in a \u escape`},
		{`"\ud800"`, `lone surrogate \uD800`},
		{`"\ud800x"`, `lone surrogate \uD800`},
		{`"\ud800\n"`, `lone surrogate \uD800`},
		{`"\ud800\u0041"`, `lone surrogate \uD800`},
		{`"\udc00"`, `lone surrogate \uDC00`},
		{"\"\xff\"", "invalid UTF-8"},
		{"\"\xc0\x80\"", "invalid UTF-8"},         // overlong NUL
		{"\"\xe0\x80\x80\"", "invalid UTF-8"},     // overlong
		{"\"\xed\xa0\x80\"", "invalid UTF-8"},     // a surrogate in UTF-8
		{"\"\xf4\x90\x80\x80\"", "invalid UTF-8"}, // over U+10FFFF
		{"\"\xc3\"", "invalid UTF-8"},             // cut short by the quote
		{"\xef\xbb\xbf{}", "byte 0xEF where a value should be"},
		{`{"a":1,"a":2}`, `the key "a" twice in one object`},
		{`{"a":1,"\u0061":2}`, `the key "a" twice`},
		{`{"é":1,"\u00e9":2}`, `the key "é" twice`},
		{`{"x":{"a":1},"y":{"b":1,"b":2}}`, `the key "b" twice`},
		{`{"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k17":17,"k3":3}`,
			`the key "k3" twice`}, // found by the index past 16 keys
	}
	for _, tt := range tests {
		t.Run(tt.doc, func(t *testing.T) {
			wantFailed(t, []byte(tt.doc), threat.JSON, nil, portico.EInvalid, tt.want)
		})
	}
}

// TestJSONLimits: each limit passes a document at the limit and refuses
// one over it, naming the limit.
func TestJSONLimits(t *testing.T) {
	lim := &portico.ThreatProtection{JSON: portico.ThreatJSONLimits{
		MaxDepth: 3, MaxKeys: 2, MaxArrayLength: 3, MaxStringLength: 4, MaxKeyLength: 2,
	}}
	tests := []struct {
		name      string
		ok, over  string
		field     string
		overAtEnd int64 // offset of the byte over the limit
	}{
		{"depth", `[[{"a":1}]]`, `[[{"a":[]}]]`, "max_depth", 7},
		{"keys", `{"a":1,"b":{"c":1,"d":2}}`, `{"a":1,"b":2,"c":3}`, "max_keys", 13},
		{"array", `[1,[1,2,3],3]`, `[1,2,3,4]`, "max_array_length", 7},
		{"array of arrays", `[[],[],[]]`, `[[],[],[],[]]`, "max_array_length", 10},
		{"string", `["abcd","éé€😀"]`, `["abcde"]`, "max_string_length", 6},
		{"string of escapes", `"\u00e9\n\ud83d\ude00\t"`, `"\u00e9\n\ud83d\ude00\t\/"`, "max_string_length", 24},
		{"string of UTF-8", `"日本語!"`, `"日本語!!"`, "max_string_length", 11},
		{"key", `{"ab":"abcd"}`, `{"abc":1}`, "max_key_length", 4},
		{"key of escapes", `{"\u00e9\u00e9":1}`, `{"\u00e9\u00e9\u00e9":1}`, "max_key_length", 19},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantPassed(t, []byte(tt.ok), threat.JSON, lim)
			wantFailed(t, []byte(tt.over), threat.JSON, lim, portico.EInvalid,
				"(threat_protection.json."+tt.field+")", fmt.Sprintf("at byte %d", tt.overAtEnd))
		})
	}
}

// TestJSONDefaults: a zero policy applies the default limits.
func TestJSONDefaults(t *testing.T) {
	deep := strings.Repeat("[", portico.DefaultThreatMaxDepth) + strings.Repeat("]", portico.DefaultThreatMaxDepth)
	wantPassed(t, []byte(deep), threat.JSON, nil)
	wantFailed(t, []byte("["+deep+"]"), threat.JSON, nil, portico.EInvalid, "nested deeper than 64 levels")
	long := `"` + strings.Repeat("a", portico.DefaultThreatMaxStringLength) + `"`
	wantPassed(t, []byte(long), threat.JSON, nil)
	wantFailed(t, []byte(`"a`+long[1:]), threat.JSON, nil, portico.EInvalid, "string longer than 65536")
}

// TestJSONDeepNesting: a million '[' are refused at the first one over
// the limit, after one read, without reading on.
func TestJSONDeepNesting(t *testing.T) {
	src := &countingReader{r: strings.NewReader(strings.Repeat("[", 1e6))}
	r := threat.NewReader(src, threat.JSON, &portico.ThreatProtection{MaxBodyBytes: 1 << 30})
	buf := make([]byte, 32<<10)
	n, err := r.Read(buf)
	wantRefused(t, err, portico.EInvalid, "nested deeper than 64 levels", "at byte 64")
	if n != 0 || src.n > int64(len(buf)) {
		t.Fatalf("returned %d bytes, read %d of the body", n, src.n)
	}
}

// TestJSONHugeStringBoundedMemory: a string of 16 MiB, far over its
// limit, is refused when its limit is crossed; and a policy that lets it
// through checks it without holding it.
func TestJSONHugeStringBoundedMemory(t *testing.T) {
	const size = 16 << 20
	huge := func() io.Reader {
		return io.MultiReader(strings.NewReader(`{"k":"`), &repeatReader{c: 'x', n: size}, strings.NewReader(`"}`))
	}
	_, err := io.Copy(io.Discard, threat.NewReader(huge(), threat.JSON, &portico.ThreatProtection{MaxBodyBytes: 1 << 30}))
	wantRefused(t, err, portico.EInvalid, "string longer than 65536 characters", fmt.Sprintf("at byte %d", 6+65536))

	tp := &portico.ThreatProtection{MaxBodyBytes: 1 << 30, JSON: portico.ThreatJSONLimits{MaxStringLength: 1 << 30}}
	alloc := allocatedBy(func() {
		n, err := io.CopyBuffer(io.Discard, threat.NewReader(huge(), threat.JSON, tp), make([]byte, 32<<10))
		if err != nil || n != size+8 {
			t.Errorf("copied %d bytes, %v", n, err)
		}
	})
	if alloc > 64<<10 {
		t.Fatalf("checking a 16 MiB string allocated %d bytes", alloc)
	}
}

// TestJSONManyKeysBoundedMemory: the keys remembered to refuse
// duplicates cost at most MaxDepth×MaxKeys hashes, and are forgotten as
// their objects close.
func TestJSONManyKeysBoundedMemory(t *testing.T) {
	const objects = 500
	var doc bytes.Buffer
	doc.WriteString("[")
	for i := range objects {
		if i > 0 {
			doc.WriteString(",")
		}
		doc.WriteString("{")
		for k := range 1000 {
			if k > 0 {
				doc.WriteString(",")
			}
			fmt.Fprintf(&doc, `"%d":0`, k)
		}
		doc.WriteString("}")
	}
	doc.WriteString("]")
	tp := &portico.ThreatProtection{MaxBodyBytes: 1 << 30, JSON: portico.ThreatJSONLimits{MaxArrayLength: objects}}
	alloc := allocatedBy(func() {
		if _, err := io.Copy(io.Discard, threat.NewReader(bytes.NewReader(doc.Bytes()), threat.JSON, tp)); err != nil {
			t.Error(err)
		}
	})
	// Half a million keys went by; 1000 are held at once.
	if alloc > 256<<10 {
		t.Fatalf("checking %d bytes of objects of 1000 keys allocated %d bytes", doc.Len(), alloc)
	}
}

// TestJSONWorstKeysMemory: the most keys held at once, MaxDepth objects
// of MaxKeys keys each open (64,000 with the defaults), cost no more
// than doc.go says: at most 40 bytes a key, live when the last key is
// read (measured after a GC), and 80 allocated over the whole body.
func TestJSONWorstKeysMemory(t *testing.T) {
	var doc bytes.Buffer
	for range portico.DefaultThreatMaxDepth {
		doc.WriteString("{")
		for k := range portico.DefaultThreatMaxKeys - 1 {
			fmt.Fprintf(&doc, `"%d":0,`, k)
		}
		doc.WriteString(`"x":`)
	}
	doc.WriteString("0")
	allOpen := doc.Len()
	doc.WriteString(strings.Repeat("}", portico.DefaultThreatMaxDepth))

	var base, peak runtime.MemStats
	src := &chunkReader{data: doc.Bytes(), sizes: []int{4096}}
	measure := &measureAt{r: src, at: allOpen, f: func() { runtime.GC(); runtime.ReadMemStats(&peak) }}
	r := threat.NewReader(measure, threat.JSON, &portico.ThreatProtection{MaxBodyBytes: 1 << 30})
	buf := make([]byte, 4096)
	runtime.GC()
	runtime.ReadMemStats(&base)
	for {
		_, err := r.Read(buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	var end runtime.MemStats
	runtime.ReadMemStats(&end)
	runtime.KeepAlive(r)

	keys := int64(portico.DefaultThreatMaxDepth * portico.DefaultThreatMaxKeys)
	live := int64(peak.HeapAlloc) - int64(base.HeapAlloc)
	total := end.TotalAlloc - base.TotalAlloc
	t.Logf("%d keys held: %d bytes live (%d a key), %d allocated in all (%d a key)", keys, live, live/keys, total, int64(total)/keys)
	if live > 40*keys || int64(total) > 80*keys {
		t.Fatalf("over 40 bytes a key live or 80 allocated")
	}
}

// measureAt calls f once the bytes before offset at are read.
type measureAt struct {
	r  io.Reader
	n  int
	at int
	f  func()
}

func (m *measureAt) Read(p []byte) (int, error) {
	if m.n >= m.at && m.f != nil {
		m.f()
		m.f = nil
	}
	if m.n < m.at {
		p = p[:min(len(p), m.at-m.n)]
	}
	n, err := m.r.Read(p)
	m.n += n
	return n, err
}

// TestJSONValidityMatchesEncodingJSON compares the checker with
// encoding/json.Valid on a corpus of documents, valid ones and their
// mutations, cut at random: it passes exactly what json.Valid does, but
// for what I-JSON forbids (invalid UTF-8, duplicate keys, lone
// surrogates), found by jsonModel.
func TestJSONValidityMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	tp := &portico.ThreatProtection{MaxBodyBytes: 1 << 20, JSON: portico.ThreatJSONLimits{
		MaxDepth: 1000, MaxKeys: 1 << 20, MaxArrayLength: 1 << 20, MaxStringLength: 1 << 20, MaxKeyLength: 1 << 16,
	}}
	var valid, invalid int
	for i := range 20000 {
		doc := []byte(randomJSON(r, 4))
		if i%2 == 1 {
			doc = mutate(r, doc, jsonAlphabet)
		}
		m := modelJSON(doc)
		_, err := readAll(doc, threat.JSON, tp, randomSizes(r)...)
		if m.valid && !m.unsure && err != nil {
			t.Fatalf("%q: refused (%v), but valid", doc, err)
		}
		if !m.valid && err == nil {
			t.Fatalf("%q: passed, but json.Valid=%v, I-JSON: %s", doc, json.Valid(doc), m.why)
		}
		if err == nil {
			valid++
		} else {
			invalid++
		}
	}
	if valid < 5000 || invalid < 5000 {
		t.Fatalf("a poor corpus: %d valid, %d invalid", valid, invalid)
	}
}

var jsonAlphabet = []string{"{", "}", "[", "]", ",", ":", `"`, `\`, "u", "d800", "dc00", "0", "-", ".", "e", "+", " ", "\n", "t", "a", "\x00", "\x1f", "\xff", "\xc3", "\xa9", "é", "null", `"a"`}

// randomJSON returns a random valid JSON document nested at most depth
// levels, with duplicate keys now and then.
func randomJSON(r *rand.Rand, depth int) string {
	switch k := r.IntN(10); {
	case depth > 0 && k < 2:
		n := r.IntN(5)
		var b strings.Builder
		b.WriteString("[")
		for i := range n {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(randomJSON(r, depth-1))
		}
		b.WriteString("]")
		return b.String()
	case depth > 0 && k < 4:
		n := r.IntN(20)
		var b strings.Builder
		b.WriteString("{")
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `"%s":%s`, randomKey(r, n), randomJSON(r, depth-1))
		}
		b.WriteString("}")
		return b.String()
	case k < 6:
		return randomString(r)
	case k < 8:
		return []string{"0", "-1", "3.25", "1e10", "-0.5E-7", "123456789012345678901234567890"}[r.IntN(6)]
	}
	return []string{"true", "false", "null"}[r.IntN(3)]
}

// randomKey returns one of about 4n keys (n the object's size), so that
// some objects repeat a key, some in another spelling.
func randomKey(r *rand.Rand, n int) string {
	k := r.IntN(4*n + 1)
	switch r.IntN(4) {
	case 0:
		return fmt.Sprintf(`\u%04x%d`, 'k', k) // "k" escaped
	case 1:
		return fmt.Sprintf("é%d", k)
	case 2:
		return fmt.Sprintf(`\u00e9%d`, k)
	}
	return fmt.Sprintf("k%d", k)
}

func randomString(r *rand.Rand) string {
	parts := []string{"a", "é", "😀", `\n`, `\"`, `\\`, `\u0041`, `\ud83d\ude00`, " ", "日"}
	var b strings.Builder
	b.WriteString(`"`)
	for range r.IntN(8) {
		b.WriteString(parts[r.IntN(len(parts))])
	}
	b.WriteString(`"`)
	return b.String()
}

// mutate changes doc in one to three places: a byte deleted, a piece of
// the alphabet inserted or put in a byte's place.
func mutate(r *rand.Rand, doc []byte, alphabet []string) []byte {
	out := bytes.Clone(doc)
	for range 1 + r.IntN(3) {
		i := r.IntN(len(out) + 1)
		piece := alphabet[r.IntN(len(alphabet))]
		switch r.IntN(3) {
		case 0:
			if i < len(out) {
				out = append(out[:i], out[i+1:]...)
			}
		case 1:
			out = append(out[:i], append([]byte(piece), out[i:]...)...)
		default:
			if i < len(out) {
				out = append(out[:i], append([]byte(piece), out[i+1:]...)...)
			}
		}
	}
	return out
}

// jsonModel is what encoding/json makes of a document: whether it is
// valid (and I-JSON) and the sizes the limits bound.
type jsonModel struct {
	valid                        bool
	unsure                       bool   // valid for json.Valid, but a lone surrogate may hide in a U+FFFD
	why                          string // why it is not valid
	depth, keys, array, str, key int
}

func modelJSON(doc []byte) jsonModel {
	var m jsonModel
	switch {
	case len(doc) == 0:
		return jsonModel{valid: true} // an empty body passes
	case !json.Valid(doc):
		m.why = "not json.Valid"
		return m
	case !utf8.Valid(doc):
		m.why = "invalid UTF-8"
		return m
	}
	d := json.NewDecoder(bytes.NewReader(doc))
	d.UseNumber()
	type frame struct {
		obj  bool
		n    int
		keys map[string]bool
	}
	var stack []*frame
	expectKey := func() bool { return len(stack) > 0 && stack[len(stack)-1].obj && stack[len(stack)-1].n%2 == 0 }
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			panic(fmt.Sprintf("json.Valid took %q, Decoder.Token says %v", doc, err))
		}
		if s, ok := tok.(string); ok && strings.ContainsRune(s, utf8.RuneError) {
			m.unsure = true // a lone surrogate escape decodes to U+FFFD too
		}
		isKey := expectKey()
		if len(stack) > 0 {
			top := stack[len(stack)-1]
			if !(tok == json.Delim('}') || tok == json.Delim(']')) {
				top.n++
				if !top.obj {
					m.array = max(m.array, top.n)
				}
			}
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			stack = append(stack, &frame{obj: tok == json.Delim('{'), keys: map[string]bool{}})
			m.depth = max(m.depth, len(stack))
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			continue
		}
		s, ok := tok.(string)
		if isKey {
			top := stack[len(stack)-1]
			if top.keys[s] {
				m.why = fmt.Sprintf("duplicate key %q", s)
				return m
			}
			top.keys[s] = true
			m.keys = max(m.keys, len(top.keys))
			m.key = max(m.key, utf8.RuneCountInString(s))
		} else if ok {
			m.str = max(m.str, utf8.RuneCountInString(s))
		}
	}
	m.valid = true
	return m
}

// countingReader counts the bytes read from r.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// repeatReader reads as n bytes c.
type repeatReader struct {
	c byte
	n int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	n := min(len(p), r.n)
	for i := range n {
		p[i] = r.c
	}
	r.n -= n
	return n, nil
}

// allocatedBy returns the bytes f allocated on the heap.
func allocatedBy(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
