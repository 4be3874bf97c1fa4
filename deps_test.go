package doppel

import (
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const modulePath = "github.com/doppelhealth/doppel"

// goPackage is one directory of the module with the imports of its files.
type goPackage struct {
	dir         string              // slash path relative to the module root, "." for the root
	imports     map[string][]string // import path -> files (non-test) that import it
	testImports map[string][]string // same for _test.go files
	docFiles    []string            // files carrying a package doc comment (non-test)
	files       int                 // non-test Go files
}

// modulePackages parses the imports and doc comments of every package in the module.
func modulePackages(root string) ([]*goPackage, error) {
	byDir := map[string]*goPackage{}
	var order []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(rel)
		p := byDir[dir]
		if p == nil {
			p = &goPackage{dir: dir, imports: map[string][]string{}, testImports: map[string][]string{}}
			byDir[dir] = p
			order = append(order, dir)
		}
		isTest := strings.HasSuffix(path, "_test.go")
		for _, imp := range f.Imports {
			ip, _ := strconv.Unquote(imp.Path.Value)
			if isTest {
				p.testImports[ip] = append(p.testImports[ip], path)
			} else {
				p.imports[ip] = append(p.imports[ip], path)
			}
		}
		if !isTest {
			p.files++
			if f.Doc != nil && isPackageDoc(f.Name.Name, f.Doc.Text()) {
				p.docFiles = append(p.docFiles, path)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	pkgs := make([]*goPackage, 0, len(order))
	for _, dir := range order {
		pkgs = append(pkgs, byDir[dir])
	}
	return pkgs, nil
}

func isStdlib(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

func ours(path string) (rel string, ok bool) {
	if path == modulePath {
		return ".", true
	}
	rel, ok = strings.CutPrefix(path, modulePath+"/")
	return rel, ok
}

func under(rel string, prefixes ...string) bool {
	for _, p := range prefixes {
		if rel == p || strings.HasPrefix(rel, p+"/") {
			return true
		}
	}
	return false
}

// scienceIO lists standard-library packages that perform I/O or talk to the
// outside world; science packages must not import them outside tests.
var scienceIO = []string{"os", "os/exec", "net", "database/sql", "syscall", "log", "log/slog"}

// importViolations applies the dependency rules of DESIGN.md §2 and STYLE.md §3.
func importViolations(pkgs []*goPackage) []string {
	kernels := []string{"ode", "des"}
	science := []string{"ode", "des", "assim", "model", "hospital", "epi", "score"}
	var out []string
	for _, p := range pkgs {
		for ip, files := range p.imports {
			rel, mine := ours(ip)
			bad := func(why string) { out = append(out, fmt.Sprintf("%s imports %s (%s): %s", p.dir, ip, files[0], why)) }
			switch {
			case under(p.dir, kernels...):
				if mine && !under(rel, kernels...) {
					bad("ode and des import only the standard library, gonum and each other")
				}
				if !mine && !isStdlib(ip) && !strings.HasPrefix(ip, "gonum.org/v1/gonum") {
					bad("ode and des import only the standard library and gonum")
				}
			case under(p.dir, science...):
				if mine && !under(rel, science...) {
					bad("science packages never import internal/ or cmd/")
				}
				if !mine && !isStdlib(ip) && !strings.HasPrefix(ip, "gonum.org/v1/gonum") {
					bad("science packages import only the standard library, gonum and other science packages")
				}
			case p.dir == "internal/clinical":
				if !isStdlib(ip) {
					bad("internal/clinical imports only the standard library")
				}
			case under(p.dir, "internal/fhir", "internal/device"):
				if !isStdlib(ip) && rel != "internal/clinical" {
					bad("decoders import only internal/clinical and the standard library")
				}
			case under(p.dir, "internal/twin"):
				if mine && under(rel, "internal/store", "internal/stream", "internal/httpapi") {
					bad("twins declare their own interfaces; only cmd/doppel wires concrete adapters")
				}
			}
			if under(p.dir, science...) && (slices.Contains(scienceIO, ip) || strings.HasPrefix(ip, "net/") || strings.HasPrefix(ip, "database/")) {
				bad("science packages do no I/O")
			}
			if mine && under(rel, "internal/store/sqlite", "internal/store/postgres", "internal/stream") &&
				!under(p.dir, "cmd/doppel", "internal/store", "internal/stream") {
				bad("only cmd/doppel picks the concrete store and stream implementations")
			}
			if mine && under(rel, "cmd") {
				bad("nothing imports a command")
			}
		}
	}
	sort.Strings(out)
	return out
}

// docViolations requires exactly one package doc comment per package
// (the idea of tailscale's pkgdoc_test.go).
// isPackageDoc reports whether a file's doc comment is its package's doc:
// "Package name ..." or, for a main package, also "Command name ..." (the
// godoc convention for commands).
func isPackageDoc(pkg, doc string) bool {
	doc = strings.TrimSpace(doc)
	return strings.HasPrefix(doc, "Package "+pkg) || pkg == "main" && strings.HasPrefix(doc, "Command ")
}

func docViolations(pkgs []*goPackage) []string {
	var out []string
	for _, p := range pkgs {
		if p.files == 0 {
			continue
		}
		switch len(p.docFiles) {
		case 1:
		case 0:
			out = append(out, fmt.Sprintf("package %s has no package doc comment (add a doc.go)", p.dir))
		default:
			out = append(out, fmt.Sprintf("package %s has %d package doc comments, want 1: %v", p.dir, len(p.docFiles), p.docFiles))
		}
	}
	return out
}

func TestImportRules(t *testing.T) {
	pkgs, err := modulePackages(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range importViolations(pkgs) {
		t.Error(v)
	}
}

func TestPackageDocs(t *testing.T) {
	pkgs, err := modulePackages(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range docViolations(pkgs) {
		t.Error(v)
	}
}

// TestRulesCatchViolations makes sure the checks can fail: it runs them over
// a throw-away tree that breaks each rule once.
func TestRulesCatchViolations(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"model/bad/bad.go":        "// Package bad is a stub.\npackage bad\n\nimport (\n\t\"os\"\n\t_ \"" + modulePath + "/internal/clinical\"\n)\n\nvar _ = os.Args\n",
		"ode/x.go":                "// Package ode is a stub.\npackage ode\n\nimport _ \"github.com/spf13/cobra\"\n",
		"internal/clinical/x.go":  "package clinical\n",
		"internal/twin/x.go":      "// Package twin is a stub.\npackage twin\n\nimport _ \"" + modulePath + "/internal/store/sqlite\"\n",
		"internal/twin/y.go":      "// Package twin is another doc.\npackage twin\n",
		"internal/twin/y_test.go": "package twin\n\nimport _ \"os\"\n",
		"cmd/gen/main.go":         "// Command gen is a documented command.\npackage main\n",
		"cmd/tool/main.go":        "// Command tool is documented, but not a main package.\npackage tool\n",
	}
	for name, src := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pkgs, err := modulePackages(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := importViolations(pkgs)
	want := []string{
		"internal/twin imports " + modulePath + "/internal/store/sqlite",
		"internal/twin imports " + modulePath + "/internal/store/sqlite",
		"model/bad imports " + modulePath + "/internal/clinical",
		"model/bad imports os",
		"ode imports github.com/spf13/cobra",
	}
	if len(got) != len(want) {
		t.Fatalf("import violations:\n%s\nwant %d of them", strings.Join(got, "\n"), len(want))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("violation %d = %q, want prefix %q", i, got[i], want[i])
		}
	}
	docs := docViolations(pkgs)
	if len(docs) != 3 || !strings.Contains(strings.Join(docs, "\n"), "internal/clinical has no package doc") ||
		!strings.Contains(strings.Join(docs, "\n"), "cmd/tool has no package doc") ||
		!strings.Contains(strings.Join(docs, "\n"), "internal/twin has 2 package doc comments") {
		t.Errorf("doc violations = %q", docs)
	}
}
