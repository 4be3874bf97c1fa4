package fhirpath

import (
	"encoding/xml"
	"flag"
	"fmt"
	"math/big"
	"os"
	"slices"
	"strings"
	"testing"
)

var updateUnsupported = flag.Bool("update-unsupported", false, "rewrite testdata/suite/unsupported.txt from the failing suite cases")

// suiteInputs maps the suite's input files to the JSON files in
// testdata/suite: the suite's own JSON inputs, and the official R4 JSON
// examples for its XML inputs. Cases on other inputs (XML only) are skipped.
var suiteInputs = map[string]string{
	"patient-example.xml":               "Patient-example.json",
	"observation-example.xml":           "Observation-example.json",
	"questionnaire-example.xml":         "Questionnaire-3141.json",
	"appointment-examplereq.json":       "appointment-examplereq.json",
	"explanationofbenefit-example.json": "explanationofbenefit-example.json",
	"patient-container-example.json":    "patient-container-example.json",
	"patient-name-extensions.json":      "patient-name-extensions.json",
}

type suiteFile struct {
	Groups []struct {
		Name  string      `xml:"name,attr"`
		Tests []suiteCase `xml:"test"`
	} `xml:"group"`
}

type suiteCase struct {
	Name       string `xml:"name,attr"`
	InputFile  string `xml:"inputfile,attr"`
	Predicate  string `xml:"predicate,attr"`
	Mode       string `xml:"mode,attr"`
	Expression struct {
		Text    string `xml:",chardata"`
		Invalid string `xml:"invalid,attr"`
	} `xml:"expression"`
	Outputs []struct {
		Type string `xml:"type,attr"`
		Text string `xml:",chardata"`
	} `xml:"output"`
}

// TestSuite runs the official FHIRPath R4 suite on the cases whose input
// is available as JSON. Every case must pass except those listed in
// testdata/suite/unsupported.txt (features this package does not have);
// a listed case that passes is reported too, so that the list shrinks.
func TestSuite(t *testing.T) {
	data, err := os.ReadFile("testdata/suite/tests-fhir-r4.xml")
	if err != nil {
		t.Fatal(err)
	}
	var suite suiteFile
	if err := xml.Unmarshal(data, &suite); err != nil {
		t.Fatal(err)
	}
	unsupported := map[string]bool{}
	if b, err := os.ReadFile("testdata/suite/unsupported.txt"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if name, _, _ := strings.Cut(l, " "); name != "" && !strings.HasPrefix(name, "#") {
				unsupported[name] = true
			}
		}
	}
	inputs := map[string]map[string]any{}
	for k, f := range suiteInputs {
		inputs[k] = loadResource(t, "testdata/suite/"+f)
	}
	var total, run, passed int
	var failing []string
	for _, g := range suite.Groups {
		for _, c := range g.Tests {
			total++
			var input map[string]any
			if c.InputFile != "" {
				if input = inputs[c.InputFile]; input == nil {
					continue
				}
			}
			run++
			err := runCase(c, input)
			switch {
			case err == nil && unsupported[c.Name]:
				passed++
				if !*updateUnsupported {
					t.Errorf("%s passes now: remove it from testdata/suite/unsupported.txt", c.Name)
				}
			case err == nil:
				passed++
			case unsupported[c.Name] || *updateUnsupported:
				failing = append(failing, fmt.Sprintf("%s %v", c.Name, strings.ReplaceAll(err.Error(), "\n", " ")))
			default:
				t.Errorf("%s: %q: %v", c.Name, strings.TrimSpace(c.Expression.Text), err)
			}
		}
	}
	t.Logf("FHIRPath R4 suite: %d cases, %d with a JSON input, %d passed, %d unsupported", total, run, passed, len(failing))
	if *updateUnsupported {
		slices.Sort(failing)
		out := "# FHIRPath suite cases expected to fail (unsupported), with the reason; written by go test -update-unsupported\n" + strings.Join(failing, "\n") + "\n"
		if err := os.WriteFile("testdata/suite/unsupported.txt", []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// runCase evaluates one case and returns why it does not give the expected
// result.
func runCase(c suiteCase, input map[string]any) error {
	expr, err := Compile(c.Expression.Text)
	if c.Expression.Invalid != "" {
		if err == nil {
			if _, err := expr.Evaluate(input); err == nil {
				return fmt.Errorf("invalid (%s) expression accepted", c.Expression.Invalid)
			}
		}
		return nil
	}
	if err != nil {
		return err
	}
	got, err := expr.Evaluate(input)
	if err != nil {
		return err
	}
	if c.Predicate == "true" {
		got = []Node{{Value: len(got) > 0, Type: "boolean"}}
	}
	if len(got) != len(c.Outputs) {
		return fmt.Errorf("got %d items %v, want %d", len(got), got, len(c.Outputs))
	}
	for i, o := range c.Outputs {
		if !sameOutput(got[i], o.Type, strings.TrimSpace(o.Text)) {
			return fmt.Errorf("item %d: got %v (%s), want %s (%s)", i, got[i].Value, got[i].Type, o.Text, o.Type)
		}
	}
	return nil
}

// sameOutput compares a result node with an expected output of the suite.
func sameOutput(n Node, typ, want string) bool {
	s, ok := toString(item{v: n.Value, typ: n.Type})
	if !ok {
		if q := toQuantity(item{v: n.Value, typ: n.Type}); typ == "Quantity" && q.Value != "" {
			s, ok = toString(item{v: q})
		}
		if !ok {
			return false
		}
	}
	if typ == "" && strings.HasPrefix(want, "@T") {
		typ = "time"
	} else if typ == "" && strings.HasPrefix(want, "@") {
		typ = "dateTime"
	}
	switch typ {
	case "boolean":
		_, isBool := n.Value.(bool)
		return isBool && s == want
	case "integer", "decimal":
		a, ok1 := new(big.Rat).SetString(s)
		b, ok2 := new(big.Rat).SetString(want)
		return ok1 && ok2 && a.Cmp(b) == 0
	case "date", "dateTime", "time":
		want = strings.TrimPrefix(want, "@")
		if typ == "time" {
			want = strings.TrimPrefix(want, "T")
		}
		return s == want
	}
	return s == want
}
