package search

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// newRegistry builds the registry once per test binary run of a test.
func newRegistry(tb testing.TB) *Registry {
	tb.Helper()
	r, err := NewRegistry()
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// readResource decodes a JSON resource as internal/fhir does (numbers as
// json.Number).
func readResource(tb testing.TB, path string) map[string]any {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return m
}

// ms is the Unix millisecond of an RFC 3339 time (parsed by the time
// package, not by the code under test).
func ms(s string) float64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return float64(t.UnixMilli())
}

// TestExtract checks the entries of selected parameters of official R4
// examples and Synthea resources; the expected values are read from the
// files by eye.
func TestExtract(t *testing.T) {
	const (
		loinc  = "http://loinc.org"
		ucum   = "http://unitsofmeasure.org"
		sct    = "http://snomed.info/sct"
		interp = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
	)
	str := func(p, s, norm string) Entry { return Entry{Param: p, Type: String, Text: s, Norm: norm} }
	tok := func(p, sys, code, text string) Entry {
		return Entry{Param: p, Type: Token, System: sys, Code: code, Text: text, Norm: strings.ToLower(text)}
	}
	ref := func(p, typ, id string) Entry { return Entry{Param: p, Type: Reference, RefType: typ, RefID: id} }
	date := func(p string, lo, hi float64) Entry { return Entry{Param: p, Type: Date, Lo: lo, Hi: hi} }
	qty := func(p string, v float64, sys, code, unit string) Entry {
		return Entry{Param: p, Type: Quantity, Num: v, Lo: v, Hi: v, System: sys, Code: code, Text: unit}
	}
	day := func(s string) (float64, float64) { return ms(s + "T00:00:00Z"), ms(s+"T00:00:00Z") + 86400000 - 1 }
	tests := []struct {
		file string
		want map[string][]Entry // per parameter; parameters not listed are not checked
	}{{
		file: "Patient-example.json",
		want: map[string][]Entry{
			"_id":          {tok("_id", "", "example", "")},
			"active":       {tok("active", "", "true", "")},
			"deceased":     {tok("deceased", "", "false", "")},
			"gender":       {tok("gender", "", "male", "")},
			"identifier":   {tok("identifier", "urn:oid:1.2.36.146.595.217.0.1", "12345", "")},
			"family":       {str("family", "Chalmers", "chalmers"), str("family", "Windsor", "windsor")},
			"given":        {str("given", "Peter", "peter"), str("given", "James", "james"), str("given", "Jim", "jim")},
			"address-city": {str("address-city", "PleasantVille", "pleasantville")},
			"address": {
				str("address", "534 Erewhon St PeasantVille, Rainbow, Vic  3999", "534 erewhon st peasantville rainbow vic 3999"),
				str("address", "534 Erewhon St", "534 erewhon st"), str("address", "PleasantVille", "pleasantville"),
				str("address", "Rainbow", "rainbow"), str("address", "Vic", "vic"), str("address", "3999", "3999"),
			},
			"phone": {
				tok("phone", "phone", "(03) 5555 6473", ""), tok("phone", "phone", "(03) 3410 5613", ""),
				tok("phone", "phone", "(03) 5555 8834", ""),
			},
			"birthdate":    {func() Entry { lo, hi := day("1974-12-25"); return date("birthdate", lo, hi) }()},
			"organization": {ref("organization", "Organization", "1")},
			"link":         nil,
			"_lastUpdated": nil,
		},
	}, {
		file: "Observation-example.json",
		want: map[string][]Entry{
			"status": {tok("status", "", "final", "")},
			"code": {
				tok("code", loinc, "29463-7", "Body Weight"), tok("code", loinc, "3141-9", "Body weight Measured"),
				tok("code", sct, "27113001", "Body weight"), tok("code", "http://acme.org/devices/clinical-codes", "body-weight", "Body Weight"),
			},
			"category":       {tok("category", "http://terminology.hl7.org/CodeSystem/observation-category", "vital-signs", "Vital Signs")},
			"subject":        {ref("subject", "Patient", "example")},
			"patient":        {ref("patient", "Patient", "example")},
			"encounter":      {ref("encounter", "Encounter", "example")},
			"date":           {func() Entry { lo, hi := day("2016-03-28"); return date("date", lo, hi) }()},
			"value-quantity": {qty("value-quantity", 185, ucum, "[lb_av]", "lbs")},
			"performer":      nil,
		},
	}, {
		file: "Observation-blood-pressure.json",
		want: map[string][]Entry{
			"code": {
				tok("code", loinc, "85354-9", "Blood pressure panel with all children optional"),
				{Param: "code", Type: Token, Text: "Blood pressure systolic & diastolic", Norm: "blood pressure systolic diastolic"},
			},
			"component-value-quantity": {
				qty("component-value-quantity", 107, ucum, "mm[Hg]", "mmHg"),
				qty("component-value-quantity", 60, ucum, "mm[Hg]", "mmHg"),
			},
			"component-code": {
				tok("component-code", loinc, "8480-6", "Systolic blood pressure"),
				tok("component-code", sct, "271649006", "Systolic blood pressure"),
				tok("component-code", "http://acme.org/devices/clinical-codes", "bp-s", "Systolic Blood pressure"),
				tok("component-code", loinc, "8462-4", "Diastolic blood pressure"),
			},
			"_profile":   {{Param: "_profile", Type: URI, Text: "http://hl7.org/fhir/StructureDefinition/vitalsigns"}},
			"identifier": {tok("identifier", "urn:ietf:rfc:3986", "urn:uuid:187e0c12-8dd2-67e2-99b2-bf273c878281", "")},
			"based-on":   nil, // an identifier-only reference
			"performer":  {ref("performer", "Practitioner", "example")},
		},
	}, {
		file: "Observation-f001.json",
		want: map[string][]Entry{
			"date":           {date("date", ms("2013-04-02T08:30:10Z"), DateMax)}, // effectivePeriod without end
			"value-quantity": {qty("value-quantity", 6.3, ucum, "mmol/L", "mmol/l")},
			"subject":        {ref("subject", "Patient", "f001")},
		},
	}, {
		file: "Encounter-example.json",
		want: map[string][]Entry{
			"class":   {tok("class", "http://terminology.hl7.org/CodeSystem/v3-ActCode", "IMP", "inpatient encounter")},
			"status":  {tok("status", "", "in-progress", "")},
			"patient": {ref("patient", "Patient", "example")},
			"date":    nil,
		},
	}, {
		file: "RiskAssessment-cardiac.json",
		want: map[string][]Entry{
			"probability": {{Param: "probability", Type: Number, Num: 0.02, Lo: 0.02, Hi: 0.02}},
			"date":        {date("date", ms("2014-07-19T16:04:00Z"), ms("2014-07-19T16:04:00.999Z"))},
			"subject":     {ref("subject", "Patient", "pat2")},
		},
	}, {
		file: "MedicationRequest-medrx0323.json",
		want: map[string][]Entry{
			"date":       {date("date", ms("2015-01-15T11:00:00Z"), ms("2015-01-15T11:00:00.999Z"))}, // timing.event, +11:00
			"authoredon": {func() Entry { lo, hi := day("2015-01-15"); return date("authoredon", lo, hi) }()},
			"medication": nil, // "#med0318": contained
			"code":       nil,
			"requester":  {ref("requester", "Practitioner", "f007")},
		},
	}, {
		file: "synthea-Observation.json",
		want: map[string][]Entry{
			"code":           {tok("code", loinc, "8302-2", "Body Height")}, // text equals the display: no extra entry
			"value-quantity": {qty("value-quantity", 168.80253764416227, ucum, "cm", "cm")},
			"date":           {date("date", ms("2012-09-10T15:29:24Z"), ms("2012-09-10T15:29:24.999Z"))},
			"subject":        {ref("subject", "Patient", "d78af07c-9cb9-4f31-9b11-c45a28f2eec8")},
			"_tag":           {tok("_tag", "https://smarthealthit.org/tags", "synthea-5-2019", "")},
		},
	}, {
		file: "synthea-Encounter.json",
		want: map[string][]Entry{
			"date":                {date("date", ms("2012-09-10T15:29:24Z"), ms("2012-09-10T15:44:24.999Z"))},
			"participant":         {{Param: "participant", Type: Reference, Text: "urn:uuid:0e99785d-8f2a-45c7-848c-d6b31d1aa50e"}},
			"service-provider":    {{Param: "service-provider", Type: Reference, Text: "urn:uuid:6f122869-a856-3d65-8db9-099bf4f5bbb8"}},
			"practitioner":        nil, // where(resolve() is Practitioner) cannot see a type in a URN
			"subject":             {ref("subject", "Patient", "d78af07c-9cb9-4f31-9b11-c45a28f2eec8")},
			"_source":             nil,
			"reason-code":         nil,
			"location":            nil,
			"episode-of-care":     nil,
			"special-arrangement": nil,
		},
	}, {
		file: "synthea-Patient.json",
		want: map[string][]Entry{
			"family":    {str("family", "Kreiger", "kreiger")},
			"given":     {str("given", "Clemente", "clemente")},
			"name":      {str("name", "Kreiger", "kreiger"), str("name", "Clemente", "clemente"), str("name", "Mr.", "mr")},
			"gender":    {tok("gender", "", "male", "")},
			"birthdate": {func() Entry { lo, hi := day("1984-07-02"); return date("birthdate", lo, hi) }()},
		},
	}}
	r := newRegistry(t)
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			tree := readResource(t, filepath.Join("testdata", tc.file))
			entries, err := r.Extract(tree["resourceType"].(string), tree)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]Entry{}
			for _, e := range entries {
				if _, ok := tc.want[e.Param]; ok {
					got[e.Param] = append(got[e.Param], e)
				}
			}
			for p, w := range tc.want {
				if diff := cmp.Diff(w, got[p]); diff != "" {
					t.Errorf("parameter %s (-want +got):\n%s", p, diff)
				}
			}
		})
	}
}

// TestExtractAll runs Extract on every resource in testdata, and on every
// official R4 example when ../shared/refs is there (it is not in a plain
// clone; the test then covers testdata only).
func TestExtractAll(t *testing.T) {
	r := newRegistry(t)
	files, _ := filepath.Glob("testdata/*.json")
	refs, _ := filepath.Glob("../../../shared/refs/fhir/r4-examples/instances/*.json")
	files = append(files, refs...)
	if len(refs) == 0 {
		t.Log("official examples not found; testdata only")
	}
	total := 0
	for _, f := range files {
		tree := readResource(t, f)
		rt, _ := tree["resourceType"].(string)
		entries, err := r.Extract(rt, tree)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if len(entries) == 0 {
			t.Errorf("%s: no entries", f)
		}
		for _, e := range entries {
			if p, ok := r.Param(rt, e.Param); !ok || p.Type != e.Type {
				t.Errorf("%s: entry %+v does not match a parameter of %s", f, e, rt)
			}
			if (e.Type == Date || e.Type == Number || e.Type == Quantity) && e.Lo > e.Hi {
				t.Errorf("%s: entry %+v: Lo > Hi", f, e)
			}
		}
		total += len(entries)
		// Extract skips a plain path whose first element is absent: check
		// that evaluating it would indeed give nothing.
		present := elementNames(tree)
		for _, b := range r.index[rt].branches {
			if b.root == "" || present[b.root] {
				continue
			}
			if nodes, err := b.expr.Evaluate(tree); err != nil || len(nodes) != 0 {
				t.Errorf("%s: %s skipped, but gives %v, %v", f, b.expr, nodes, err)
			}
		}
	}
	t.Logf("%d resources, %d entries", len(files), total)
}

// TestExtractReversed: a Period or Range that ends before it starts
// (invalid FHIR) still gives Lo <= Hi.
func TestExtractReversed(t *testing.T) {
	r := newRegistry(t)
	tests := []struct {
		tree map[string]any
		want Entry
	}{{
		tree: map[string]any{"resourceType": "Encounter", "period": map[string]any{"start": "2014", "end": "2013"}},
		want: Entry{Param: "date", Type: Date, Lo: ms("2013-12-31T23:59:59.999Z"), Hi: ms("2014-01-01T00:00:00Z")},
	}, {
		tree: map[string]any{"resourceType": "RiskAssessment", "prediction": []any{map[string]any{"probabilityRange": map[string]any{
			"low": map[string]any{"value": json.Number("0.5")}, "high": map[string]any{"value": json.Number("0.2")}}}}},
		want: Entry{Param: "probability", Type: Number, Num: 0.5, Lo: 0.2, Hi: 0.5},
	}}
	for _, tc := range tests {
		entries, err := r.Extract(tc.tree["resourceType"].(string), tc.tree)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]Entry{tc.want}, entries); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	}
}

// TestExtractSynthea runs Extract on every resource of the Synthea bundles
// in ../shared/refs (skipped in a plain clone).
func TestExtractSynthea(t *testing.T) {
	bundles, _ := filepath.Glob("../../../shared/refs/fhir/synthea-r4/*.json")
	if len(bundles) == 0 {
		t.Skip("../shared/refs/fhir/synthea-r4 not found")
	}
	r := newRegistry(t)
	n, entries := 0, 0
	for _, f := range bundles {
		bundle := readResource(t, f)
		list, _ := bundle["entry"].([]any)
		for _, be := range list {
			res, _ := be.(map[string]any)["resource"].(map[string]any)
			rt, _ := res["resourceType"].(string)
			es, err := r.Extract(rt, res)
			if err != nil {
				t.Errorf("%s: %s/%v: %v", filepath.Base(f), rt, res["id"], err)
			}
			n++
			entries += len(es)
		}
	}
	t.Logf("%d resources, %d entries", n, entries)
}

func TestExtractWrongType(t *testing.T) {
	r := newRegistry(t)
	tree := readResource(t, "testdata/Patient-example.json")
	if _, err := r.Extract("Observation", tree); err == nil {
		t.Error("Extract of a Patient as an Observation: no error")
	}
}

func BenchmarkExtract(b *testing.B) {
	r := newRegistry(b)
	for _, f := range []string{"synthea-Observation.json", "synthea-Patient.json", "synthea-Encounter.json"} {
		tree := readResource(b, filepath.Join("testdata", f))
		rt := tree["resourceType"].(string)
		b.Run(rt, func(b *testing.B) {
			for b.Loop() {
				if _, err := r.Extract(rt, tree); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzExtract feeds resource JSON (seeds: the testdata resources) to
// Extract: no panic, and every date, number and quantity range is ordered.
func FuzzExtract(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	r := newRegistry(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		d := json.NewDecoder(bytes.NewReader(data))
		d.UseNumber()
		var tree map[string]any
		if d.Decode(&tree) != nil {
			return
		}
		rt, _ := tree["resourceType"].(string)
		if !r.IsResourceType(rt) {
			return
		}
		entries, err := r.Extract(rt, tree)
		if err != nil {
			return
		}
		for _, e := range entries {
			if (e.Type == Date || e.Type == Number || e.Type == Quantity) && !(e.Lo <= e.Hi) {
				t.Fatalf("entry %+v: Lo > Hi", e)
			}
		}
	})
}

// BenchmarkExtractSynthea extracts every resource of the Synthea bundles in
// ../shared/refs (skipped in a plain clone); one op is one resource.
func BenchmarkExtractSynthea(b *testing.B) {
	bundles, _ := filepath.Glob("../../../shared/refs/fhir/synthea-r4/*.json")
	if len(bundles) == 0 {
		b.Skip("../shared/refs/fhir/synthea-r4 not found")
	}
	r := newRegistry(b)
	var resources []map[string]any
	for _, f := range bundles {
		list, _ := readResource(b, f)["entry"].([]any)
		for _, be := range list {
			resources = append(resources, be.(map[string]any)["resource"].(map[string]any))
		}
	}
	i := 0
	for b.Loop() {
		res := resources[i%len(resources)]
		if _, err := r.Extract(res["resourceType"].(string), res); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// TestExtractConcurrent: a Registry is shared by all requests; concurrent
// Extract calls give the sequential result (run with -race to check more).
func TestExtractConcurrent(t *testing.T) {
	r := newRegistry(t)
	files, _ := filepath.Glob("testdata/*.json")
	var trees []map[string]any
	var want [][]Entry
	for _, f := range files {
		tree := readResource(t, f)
		es, err := r.Extract(tree["resourceType"].(string), tree)
		if err != nil {
			t.Fatal(err)
		}
		trees, want = append(trees, tree), append(want, es)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 4*len(trees))
	for range 4 {
		wg.Go(func() {
			for i, tree := range trees {
				got, err := r.Extract(tree["resourceType"].(string), tree)
				if err != nil || !cmp.Equal(want[i], got) {
					errs <- files[i]
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for f := range errs {
		t.Errorf("%s: concurrent Extract differs", f)
	}
}
