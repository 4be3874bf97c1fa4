package fhirpath

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// searchExpr is one R4 SearchParameter expression from testdata.
type searchExpr struct {
	id, expr string
	bases    []string
}

func loadSearchExprs(t testing.TB) []searchExpr {
	t.Helper()
	data, err := os.ReadFile("testdata/search-expressions.tsv")
	if err != nil {
		t.Fatal(err)
	}
	var out []searchExpr
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 3 {
			t.Fatalf("bad line %q", sc.Text())
		}
		out = append(out, searchExpr{id: f[0], bases: strings.Split(f[1], ","), expr: f[2]})
	}
	return out
}

func loadResource(t testing.TB, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

// TestSearchParameterExpressions compiles every R4 SearchParameter
// expression (1372 of the 1375 have one) and evaluates those whose base
// includes the type of each sample example, which must not fail.
func TestSearchParameterExpressions(t *testing.T) {
	exprs := loadSearchExprs(t)
	if len(exprs) != 1372 {
		t.Fatalf("%d expressions, want 1372", len(exprs))
	}
	compiled := make([]*Expr, len(exprs))
	for i, se := range exprs {
		e, err := Compile(se.expr)
		if err != nil {
			t.Errorf("%s: Compile(%q): %v", se.id, se.expr, err)
			continue
		}
		compiled[i] = e
	}
	files, _ := filepath.Glob("testdata/examples/*.json")
	evaluated, nonEmpty := 0, 0
	for _, f := range files {
		res := loadResource(t, f)
		rt := res["resourceType"].(string)
		for i, se := range exprs {
			if compiled[i] == nil || !hasBase(se.bases, rt) {
				continue
			}
			nodes, err := compiled[i].Evaluate(res)
			if err != nil {
				t.Errorf("%s on %s: %v", se.id, filepath.Base(f), err)
			}
			evaluated++
			if len(nodes) > 0 {
				nonEmpty++
			}
		}
	}
	t.Logf("%d expressions compiled; %d evaluations on %d examples, %d non-empty", len(exprs), evaluated, len(files), nonEmpty)
}

func hasBase(bases []string, rt string) bool {
	for _, b := range bases {
		if b == rt || b == "Resource" || b == "DomainResource" {
			return true
		}
	}
	return false
}

// TestSearchParameterExpressionsAllExamples evaluates the search
// expressions on every official R4 example when the team's reference folder
// is present (it is not part of the repository, so the test skips without it).
func TestSearchParameterExpressionsAllExamples(t *testing.T) {
	files, _ := filepath.Glob("/work/shared/refs/fhir/r4-examples/instances/*.json")
	if len(files) == 0 {
		t.Skip("no /work/shared/refs/fhir/r4-examples")
	}
	exprs := loadSearchExprs(t)
	compiled := make([]*Expr, len(exprs))
	for i, se := range exprs {
		compiled[i], _ = Compile(se.expr)
	}
	evaluated, nonEmpty := 0, 0
	for _, f := range files {
		res := loadResource(t, f)
		rt, _ := res["resourceType"].(string)
		for i, se := range exprs {
			if compiled[i] == nil || !hasBase(se.bases, rt) {
				continue
			}
			nodes, err := compiled[i].Evaluate(res)
			if err != nil {
				t.Errorf("%s on %s: %v", se.id, filepath.Base(f), err)
			}
			evaluated++
			if len(nodes) > 0 {
				nonEmpty++
			}
			for _, n := range nodes {
				if n.Type == "" {
					t.Errorf("%s on %s: node without a type: %v", se.id, filepath.Base(f), n.Value)
				}
			}
		}
	}
	t.Logf("%d evaluations on %d examples, %d non-empty", evaluated, len(files), nonEmpty)
}

// TestConcurrentEvaluate shares compiled expressions between goroutines
// (run with -race to check that evaluation does not write shared state).
func TestConcurrentEvaluate(t *testing.T) {
	res := loadResource(t, "testdata/examples/Observation-blood-pressure.json")
	var exprs []*Expr
	for _, se := range loadSearchExprs(t) {
		if hasBase(se.bases, "Observation") {
			e, err := Compile(se.expr)
			if err != nil {
				t.Fatal(err)
			}
			exprs = append(exprs, e)
		}
	}
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			for _, e := range exprs {
				if _, err := e.Evaluate(res); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
