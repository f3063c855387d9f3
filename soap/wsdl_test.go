package soap_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/soap"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// golden compares got with testdata/golden/name, or writes it there
// with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	file := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; got:\n%s", name, got)
	}
}

// summary is what the golden files keep of a Service and its resources.
type summary struct {
	Name            string             `json:"name,omitempty"`
	TargetNamespace string             `json:"target_namespace,omitempty"`
	Documentation   string             `json:"documentation,omitempty"`
	Endpoints       []soap.Endpoint    `json:"endpoints,omitempty"`
	Operations      []soap.Operation   `json:"operations,omitempty"`
	Resources       []portico.Resource `json:"resources,omitempty"`
	Error           string             `json:"error,omitempty"`
}

func summarize(s *soap.Service, err error) []byte {
	var sum summary
	if err != nil {
		sum.Error = err.Error()
	} else {
		sum = summary{s.Name, s.TargetNamespace, s.Documentation, s.Endpoints, s.Operations, s.Resources(), ""}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	enc.Encode(sum)
	return b.Bytes()
}

// documents are the documents of testdata (README says where they come
// from).
func documents(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/*.wsdl")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("%d documents in testdata", len(files))
	}
	return files
}

// TestParseWSDLGolden parses the documents of testdata and compares what
// Portico takes of each, and the resources it makes, with its golden
// file; the resources of each pass portico.CheckResources.
func TestParseWSDLGolden(t *testing.T) {
	for _, file := range documents(t) {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			doc, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			s, err := soap.ParseWSDL(doc)
			golden(t, name+".golden", summarize(s, err))
			if err == nil {
				checkService(t, s)
			}
		})
	}
}

// checkService checks what must hold of every Service ParseWSDL returns.
func checkService(t testing.TB, s *soap.Service) {
	t.Helper()
	if len(s.Endpoints) == 0 {
		t.Errorf("no endpoint")
	}
	rs := s.Resources()
	if len(rs) != len(s.Operations) {
		t.Errorf("%d resources for %d operations", len(rs), len(s.Operations))
	}
	if err := portico.CheckResources(rs); err != nil {
		t.Errorf("the resources do not pass CheckResources: %v", err)
	}
	for _, o := range s.Operations {
		if len(o.Versions) == 0 || (o.Style != "document" && o.Style != "rpc") {
			t.Errorf("operation %+v", o)
		}
	}
}
