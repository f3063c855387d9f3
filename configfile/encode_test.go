package configfile_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/configfile"
)

// TestEncodeDeterministic: the same configuration encodes to the same
// bytes whatever the order of its lists, and a decoded file encodes as
// it was written; testdata/fixture.yaml is the fixture's file.
func TestEncodeDeterministic(t *testing.T) {
	fx := newFixture()
	f, b := fx.export(t, true)
	golden, err := os.ReadFile("testdata/fixture.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, golden) {
		t.Errorf("the fixture's file differs from testdata/fixture.yaml:\n%s", b)
	}
	if again := configfile.Encode(f); !bytes.Equal(again, b) {
		t.Fatalf("decode → encode differs:\n%s", again)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		g := *f
		shuffled := func(s any) {
			switch v := s.(type) {
			case *[]configfile.SLAPlan:
				c := slices.Clone(*v)
				r.Shuffle(len(c), func(i, j int) { c[i], c[j] = c[j], c[i] })
				*v = c
			case *[]configfile.API:
				c := slices.Clone(*v)
				r.Shuffle(len(c), func(i, j int) { c[i], c[j] = c[j], c[i] })
				*v = c
			case *[]configfile.User:
				c := slices.Clone(*v)
				r.Shuffle(len(c), func(i, j int) { c[i], c[j] = c[j], c[i] })
				*v = c
			case *[]configfile.Application:
				c := slices.Clone(*v)
				for i := range c {
					c[i].Keys = slices.Clone(c[i].Keys)
					r.Shuffle(len(c[i].Keys), func(x, y int) { c[i].Keys[x], c[i].Keys[y] = c[i].Keys[y], c[i].Keys[x] })
				}
				r.Shuffle(len(c), func(i, j int) { c[i], c[j] = c[j], c[i] })
				*v = c
			}
		}
		plans, apis, users, apps := slices.Clone(*f.Plans), slices.Clone(*f.APIs), slices.Clone(*f.Users), slices.Clone(*f.Applications)
		shuffled(&plans)
		shuffled(&apis)
		shuffled(&users)
		shuffled(&apps)
		g.Plans, g.APIs, g.Users, g.Applications = &plans, &apis, &users, &apps
		if got := configfile.Encode(&g); !bytes.Equal(got, b) {
			t.Fatalf("shuffled lists encode otherwise:\n%s", got)
		}
	}
}

// TestCanonicalJSON: the form of a document in a file.
func TestCanonicalJSON(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{ "a" : [ 1 , 2.50, -0, 1E5, 12345678901234567890123 ], "b":{} ,"c":[]}`, `{"a":[1,2.50,-0,1E5,12345678901234567890123],"b":{},"c":[]}`},
		{`{"s":"\u0026\u003c\/\t\u00e9\ud83d\ude00\u2028\u0001"}`, `{"s":"&</\té😀\u2028\u0001"}`},
		{`{"z":1,"a":2}`, `{"z":1,"a":2}`},
		{`{"n":null,"t":true,"f":false}`, `{"n":null,"t":true,"f":false}`},
	} {
		got, err := configfile.CanonicalJSON([]byte(tc.in))
		if err != nil || string(got) != tc.want {
			t.Errorf("CanonicalJSON(%s) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
		// In a file, as YAML, it reads back the same.
		c, err := configfile.JSONContent([]byte(tc.in))
		if err != nil {
			t.Fatal(err)
		}
		f := &configfile.File{APIs: &[]configfile.API{{Name: "a", Version: "1", Document: &configfile.Document{Format: portico.FormatOpenAPI, Content: c}}}}
		back, err := configfile.Decode(configfile.Encode(f))
		if err != nil {
			t.Fatalf("%s: %v\n%s", tc.in, err, configfile.Encode(f))
		}
		if got := string((*back.APIs)[0].Document.Content.Bytes()); got != tc.want {
			t.Errorf("%s through YAML: %s, want %s\n%s", tc.in, got, tc.want, configfile.Encode(f))
		}
	}
	for _, bad := range []string{`{"a":1,"a":2}`, `{"a":`, `{} {}`, `{"a":[}`, `nope`} {
		if got, err := configfile.CanonicalJSON([]byte(bad)); err == nil {
			t.Errorf("CanonicalJSON(%s) = %s, want an error", bad, got)
		}
	}
	if _, err := configfile.JSONContent([]byte(`[1]`)); err == nil {
		t.Error("JSONContent took an array")
	}
}

// ExampleEncode shows a small file.
func ExampleEncode() {
	f := &configfile.File{
		Plans: &[]configfile.SLAPlan{{Name: "gold", Owner: "pat", AutoApprove: true,
			RateLimit: &portico.RateLimit{Limit: 100, Per: portico.Second, Window: portico.Fixed}}},
		APIs: &[]configfile.API{{Name: "weather", Version: "1.0", Context: "/weather/v1", Owner: "pat",
			State: portico.Published, Auth: portico.AuthMethods{portico.AuthAPIKey}, Tags: []string{"team-a"},
			Endpoint: portico.Endpoint{Type: portico.Single, Targets: []portico.Target{{URL: "http://10.0.0.5:7001"}}},
			Plans:    []configfile.PlanRef{{Name: "gold"}}}},
	}
	fmt.Print(string(configfile.Encode(f)))
	// Output:
	// format_version: 1
	// plans:
	//   - name: gold
	//     owner: pat
	//     auto_approve: true
	//     rate_limit:
	//       limit: 100
	//       per: second
	//       window: fixed
	// apis:
	//   - name: weather
	//     version: "1.0"
	//     context: /weather/v1
	//     tags: [team-a]
	//     owner: pat
	//     state: published
	//     auth: [api_key]
	//     endpoint:
	//       type: single
	//       targets:
	//         - url: http://10.0.0.5:7001
	//     plans: [gold]
}
