package configfile_test

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/configfile"
)

// FuzzDecode feeds files to Decode. It must not panic; it must refuse
// only with an *Error that has a message; and what it takes must encode
// to a file it takes again, which encodes to the same bytes.
func FuzzDecode(f *testing.F) {
	golden, err := os.ReadFile("testdata/fixture.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	for _, s := range []string{
		head + "plans: [{name: a, rate_limit: {limit: 1, per: minute}}]\n",
		`{"format_version":1,"apis":[{"name":"w","version":"1","document":{"format":"openapi","content":{"a":[1,2.5,"x",null,true,{}]}}}]}`,
		head + "apis:\n  - name: a\n    version: 1.0\n    document: {format: wsdl, content: \"<a>\\n\\u00e9</a>\"}\n",
		head + "groups:\n  - name: g\n    members: ~\n",
		head + "applications:\n  - {name: a, owner: u, subscriptions: [{api: w, api_version: '1', status: evicted}]}\n",
		head + "apis:\n  - name: a\n    version: v1\n    document: {format: openapi, content: {0x1F: 1, ~: .5, true: 1e3, '': 0o17}}\n",
		head + "plans: &a []\n", head + "plans:\n  - <<: {name: a}\n", "format_version: 2\n", "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := configfile.Decode(b)
		if err != nil {
			var e *configfile.Error
			if !errors.As(err, &e) || e.Message == "" || (e.Code != portico.EInvalid && e.Code != portico.ETooLarge) {
				t.Fatalf("refused with %#v", err)
			}
			return
		}
		out := configfile.Encode(file)
		again, err := configfile.Decode(out)
		if err != nil {
			t.Fatalf("the encoded file does not decode: %v\n%s", err, out)
		}
		if out2 := configfile.Encode(again); !bytes.Equal(out2, out) {
			t.Fatalf("encode → decode → encode differs:\n%s\nwant\n%s", out2, out)
		}
	})
}
