package portico_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/portico-gw/portico"

// TestLayering enforces the layout README "Architecture" describes: the root package imports
// no package of the module; a package below the root imports only the
// root (adapters know each other only through the root's interfaces);
// only cmd/ packages wire adapters together. Test files may also import
// the helpers under internal/, and benchmarks (*_bench_test.go) any
// package.
func TestLayering(t *testing.T) {
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != "." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		isTest := strings.HasSuffix(path, "_test.go")
		if strings.HasSuffix(path, "_bench_test.go") {
			// A benchmark measures the real parts together (the
			// gateway's fast path with the real limiter and balancer,
			// proxy/path_bench_test.go); it is never built into a
			// binary, so it is outside the layering.
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			if p != module && !strings.HasPrefix(p, module+"/") {
				continue
			}
			if msg := checkImport(dir, p, isTest); msg != "" {
				t.Errorf("%s imports %s: %s", path, p, msg)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// libraries are packages of pure functions over the root's types — no
// I/O, no goroutines, no state between calls — that any package may
// import: the request policies the gateway applies. They import only the
// root, like every package below it.
var libraries = map[string]bool{"policy": true, "threat": true, "jsonxml": true, "openapi": true, "soap": true, "configfile": true}

func checkImport(dir, imp string, isTest bool) string {
	target := strings.TrimPrefix(strings.TrimPrefix(imp, module), "/")
	switch {
	case strings.HasPrefix(dir, "cmd/"):
		return "" // wiring knows every package
	case dir == "." && !isTest:
		return "the root package must not import its adapters"
	case target == "":
		return "" // everyone may import the root
	case isTest && target == dir:
		return "" // a package's external tests (package x_test) import it
	case libraries[target] && !libraries[dir]:
		return "" // pure functions over the root's types
	case strings.HasPrefix(target, "internal/") && isTest:
		return "" // test helpers that start real servers
	case strings.HasPrefix(dir, "internal/") && strings.HasPrefix(target, "internal/"):
		return ""
	case strings.HasPrefix(dir, "internal/"):
		return "" // benchmarks and test tools may drive any package
	}
	return "packages below the root import each other only through the root's interfaces"
}

func TestCheckImportCatchesViolations(t *testing.T) {
	bad := []struct {
		dir, imp string
		test     bool
	}{
		{"proxy", module + "/ratelimit", false},
		{"admin", module + "/sqlitestore", true},
		{".", module + "/proxy", false},
		{"policy", module + "/threat", false},
		{"threat", module + "/proxy", false},
		{"proxy", module + "/jwtauth", false},
	}
	for _, b := range bad {
		if checkImport(b.dir, b.imp, b.test) == "" {
			t.Errorf("%s importing %s (test %v) was allowed", b.dir, b.imp, b.test)
		}
	}
	if _, err := os.Stat("go.mod"); err != nil {
		t.Fatal("run from the module root")
	}
}
