package openapi

import (
	"strings"

	yaml "github.com/pb33f/go-yaml"
	"github.com/pb33f/libopenapi"

	"github.com/portico-gw/portico"
)

// buildModel has the parser build its model of a checked document: the
// last check, of what the parser itself cannot read (the request
// validation to come reads the same model). Portico's Spec is read from
// the checked tree (spec.go), not from the model: the parser is lenient
// where the checks are not (it reads "operationID" as "operationId", a
// null as its text), and the Spec must say what the errors point at.
func buildModel(d libopenapi.Document, swagger bool) error {
	defer d.Release()
	if swagger {
		m, err := d.BuildV2Model()
		if err := modelError(err); err != nil {
			return err
		}
		if m == nil {
			return &Error{Code: portico.EInvalid, Message: "the parser built no model of the document"}
		}
		return nil
	}
	m, err := d.BuildV3Model()
	if err := modelError(err); err != nil {
		return err
	}
	if m == nil {
		return &Error{Code: portico.EInvalid, Message: "the parser built no model of the document"}
	}
	return nil
}

// tagList gathers tag names, each once, in order.
type tagList struct {
	names []string
	seen  map[string]bool
}

func (t *tagList) add(names ...string) {
	for _, n := range names {
		if n != "" && !t.seen[n] {
			if t.seen == nil {
				t.seen = map[string]bool{}
			}
			t.seen[n] = true
			t.names = append(t.names, n)
		}
	}
}

// serverURL returns a server's URL with its variables at their defaults.
func serverURL(s *yaml.Node) string {
	u := text(get(s, "url"))
	if vars := get(s, "variables"); vars != nil && vars.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(vars.Content); i += 2 {
			u = strings.ReplaceAll(u, "{"+vars.Content[i].Value+"}", text(get(vars.Content[i+1], "default")))
		}
	}
	return u
}

// swaggerServers returns the base URLs of a Swagger 2.0 document: one per
// scheme (https when none is given) on host, or basePath alone without a
// host.
func swaggerServers(schemes []string, host, basePath string) []string {
	if basePath == "/" {
		basePath = ""
	}
	if host == "" {
		if basePath == "" {
			return nil
		}
		return []string{basePath}
	}
	if len(schemes) == 0 {
		schemes = []string{"https"}
	}
	out := make([]string, 0, len(schemes))
	for _, sc := range schemes {
		out = append(out, sc+"://"+host+basePath)
	}
	return out
}
