package deid_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/doppelhealth/doppel/internal/deid"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

var now = func() time.Time { return time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC) }

func bundles(t testing.TB) []string {
	files, _ := filepath.Glob("testdata/synthea/*.json")
	full, _ := filepath.Glob("/work/shared/refs/fhir/synthea-r4/*.json")
	return append(files, full...)
}

func load(t testing.TB, path string) map[string]any {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var b map[string]any
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	return b
}

// identifying collects, from an input bundle, the strings no output may
// contain, by class.
func identifying(v any, key string, out map[string]map[string]bool) {
	add := func(class, s string) {
		if out[class] == nil {
			out[class] = map[string]bool{}
		}
		out[class][s] = true
	}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			switch k {
			case "family", "given":
				if key == "name" {
					for _, w := range strings.Fields(str(e)) {
						add("name", w)
					}
				}
			case "line", "city":
				add("address", str(e))
			case "postalCode":
				add("zip", str(e))
			case "telecom":
				for _, c := range e.([]any) {
					add("telecom", c.(map[string]any)["value"].(string))
				}
			case "identifier":
				for _, c := range e.([]any) {
					if s, ok := c.(map[string]any)["value"].(string); ok {
						add("identifier", s)
					}
				}
			case "id":
				if _, ok := x["resourceType"]; ok && key == "resource" { // not contained resources' local ids
					add("id", str(e))
				}
			}
			identifying(e, k, out)
		}
	case []any:
		for _, e := range x {
			identifying(e, key, out)
		}
	}
}

// str returns a string, or the strings of a list, space separated.
func str(v any) string {
	if l, ok := v.([]any); ok {
		var s []string
		for _, e := range l {
			s = append(s, str(e))
		}
		return strings.Join(s, " ")
	}
	s, _ := v.(string)
	return s
}

// strings lists every string value of v with the key it is under.
func allStrings(v any, key string, f func(key, s string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			allStrings(e, k, f)
		}
	case []any:
		for _, e := range x {
			allStrings(e, key, f)
		}
	case string:
		f(key, x)
	}
}

var (
	ssnRE   = regexp.MustCompile(`\d{3}-\d{2}-\d{4}`)
	phoneRE = regexp.MustCompile(`\d{3}[ .-]\d{4}`)
	emailRE = regexp.MustCompile(`@[A-Za-z0-9-]+\.`)
	ipRE    = regexp.MustCompile(`\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b`)
	dateRE  = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}`)
)

// TestSynthea de-identifies the Synthea bundles and scans the output for
// every identifier class.
// SEC-28: the output contains none of the 18 identifier classes: names,
// SSNs, MRNs and other identifiers, phone numbers, e-mail, addresses below
// the state, full dates (each is shifted by one non-zero per-patient
// offset), URLs and IPs.
func TestSynthea(t *testing.T) {
	d, err := deid.New(testKey, deid.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range bundles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			in := load(t, path)
			bad := map[string]map[string]bool{}
			identifying(in, "", bad)
			orig := load(t, path)
			out := d.Bundle(in)
			entries := orig["entry"].([]any)
			if len(out) != len(entries) {
				t.Fatalf("%d resources out, %d in", len(out), len(entries))
			}
			shifts := map[int]bool{}
			for i, r := range out {
				before := entries[i].(map[string]any)["resource"]
				datesShifted(t, before, r, shifts)
				allStrings(r, "", func(key, s string) {
					for _, w := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '.' }) {
						if bad["name"][w] {
							t.Errorf("name %q in %s %s", w, key, s)
						}
					}
					for _, class := range []string{"address", "zip", "telecom", "identifier", "id"} {
						// Identifiers of 4 characters or fewer (a claim
						// number "140") are also codes; longer ones are checked.
						if bad[class][s] && (class != "identifier" || len(s) > 4) {
							t.Errorf("%s %q under %s", class, s, key)
						}
					}
					if key == "system" || key == "url" || key == "profile" || key == "code" { // terminology
						return
					}
					for _, re := range []*regexp.Regexp{ssnRE, phoneRE, emailRE, ipRE} {
						if re.MatchString(s) && !dateRE.MatchString(s) {
							t.Errorf("%s matches %s under %s", s, re, key)
						}
					}
					if strings.Contains(s, "http") {
						t.Errorf("URL %q under %s", s, key)
					}
				})
			}
			if patient := strings.Contains(filepath.Base(path), "_"); patient && len(shifts) == 0 {
				t.Error("no dates compared")
			}
		})
	}
}

// datesShifted compares the full dates of before and after, element by
// element: each must move by the resource's one non-zero offset of at most
// 365 days.
func datesShifted(t *testing.T, before, after any, shifts map[int]bool) {
	t.Helper()
	var pairs [][2]string
	var walk func(b, a any)
	walk = func(b, a any) {
		switch x := b.(type) {
		case map[string]any:
			am, _ := a.(map[string]any)
			for k, e := range x {
				if av, ok := am[k]; ok {
					walk(e, av)
				}
			}
		case []any:
			al, _ := a.([]any)
			if len(al) == len(x) {
				for i := range x {
					walk(x[i], al[i])
				}
			}
		case string:
			if as, ok := a.(string); ok && dateRE.MatchString(x) {
				pairs = append(pairs, [2]string{x, as})
			}
		}
	}
	walk(before, after)
	off := 0
	for _, p := range pairs {
		b, err1 := time.Parse("2006-01-02", p[0][:10])
		a, err2 := time.Parse("2006-01-02", p[1][:10])
		if err1 != nil || err2 != nil {
			t.Fatalf("dates %q -> %q", p[0], p[1])
		}
		days := int(a.Sub(b).Hours() / 24)
		if off == 0 {
			off = days
		}
		if days != off || days == 0 || days > 365 || days < -365 || p[0][10:] != p[1][10:] {
			t.Errorf("date %q became %q (shift %d days, resource shift %d)", p[0], p[1], days, off)
		}
	}
	if off != 0 {
		shifts[off] = true
	}
}

// TestPatient checks the patient-level rules on hand-made patients.
// SEC-29: ages over 89 become "90+". SEC-30: restricted ZIP3s become 000.
func TestPatient(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		dates deid.DateMode
		want  string
	}{
		{"over 89: birth date removed", `{"resourceType":"Patient","id":"a","birthDate":"1930-01-01"}`, deid.YearOnly,
			`{"extension":[{"url":"https://doppel.health/fhir/StructureDefinition/age-category","valueString":"90+"}],"id":"x","resourceType":"Patient"}`},
		{"over 89 by the year alone", `{"resourceType":"Patient","id":"a","birthDate":"1936"}`, deid.Shift,
			`{"extension":[{"url":"https://doppel.health/fhir/StructureDefinition/age-category","valueString":"90+"}],"id":"x","resourceType":"Patient"}`},
		{"89: year kept", `{"resourceType":"Patient","id":"a","birthDate":"1936-03-02"}`, deid.YearOnly,
			`{"birthDate":"1936","id":"x","resourceType":"Patient"}`},
		{"died at 85", `{"resourceType":"Patient","id":"a","birthDate":"1900-05-01","deceasedDateTime":"1985-06-01T10:00:00Z"}`, deid.YearOnly,
			`{"birthDate":"1900","deceasedDateTime":"1985","id":"x","resourceType":"Patient"}`},
		{"restricted ZIP3", `{"resourceType":"Patient","id":"a","address":[{"line":["1 Main St"],"city":"Rawlins","state":"WY","postalCode":"82301","country":"US"}]}`, deid.Shift,
			`{"address":[{"country":"US","postalCode":"000","state":"WY"}],"id":"x","resourceType":"Patient"}`},
		{"ZIP3 kept", `{"resourceType":"Patient","id":"a","address":[{"city":"Cambridge","postalCode":"02139-4307"}]}`, deid.Shift,
			`{"address":[{"postalCode":"021"}],"id":"x","resourceType":"Patient"}`},
		{"4-digit ZIP dropped", `{"resourceType":"Patient","id":"a","address":[{"city":"Springfield","state":"MA","postalCode":"1020"}]}`, deid.Shift,
			`{"address":[{"state":"MA"}],"id":"x","resourceType":"Patient"}`},
		{"contained narrative, notes, serials, attachment", `{"resourceType":"Observation","id":"a","contained":[{"resourceType":"Device","id":"d","text":{"status":"generated","div":"<div>x</div>"},"serialNumber":"SN-1234","lotNumber":"L9"}],
			"note":[{"text":"seen by Dr Who"}],"valueAttachment":{"contentType":"image/png","data":"AAAA","url":"http://example.org/x.png","title":"Ann.png"},"status":"final"}`, deid.Shift,
			`{"contained":[{"id":"d","resourceType":"Device"}],"id":"x","resourceType":"Observation","status":"final","valueAttachment":{"contentType":"image/png"}}`},
		{"names, telecom, photo, contact, narrative, maiden name", `{"resourceType":"Patient","id":"a","text":{"status":"generated","div":"<div>Ann</div>"},
			"name":[{"family":"Smith","given":["Ann"]}],"telecom":[{"system":"phone","value":"555-123-4567"}],"photo":[{"data":"AAAA"}],
			"contact":[{"name":{"family":"Smith"}}],"gender":"female",
			"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName","valueString":"Jones"}]}`, deid.Shift,
			`{"gender":"female","id":"x","resourceType":"Patient"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := deid.New(testKey, deid.Options{Now: now, Dates: tc.dates})
			if err != nil {
				t.Fatal(err)
			}
			var in map[string]any
			if err := json.Unmarshal([]byte(tc.in), &in); err != nil {
				t.Fatal(err)
			}
			out := d.Resource(in, nil)
			out["id"] = "x"
			got, _ := json.Marshal(out)
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestPseudonyms checks that pseudonyms are stable under one key, differ
// under another and are not the plain hash of the id.
// SEC-31: de-identified ids are stable keyed-HMAC pseudonyms.
func TestPseudonyms(t *testing.T) {
	d1, _ := deid.New(testKey, deid.Options{})
	d2, _ := deid.New([]byte("another key, also thirty-two bytes!"), deid.Options{})
	obs := func() map[string]any {
		return map[string]any{"resourceType": "Observation", "id": "o1", "subject": map[string]any{"reference": "Patient/p1", "display": "Ann Smith"}}
	}
	pat := d1.Resource(map[string]any{"resourceType": "Patient", "id": "p1"}, nil)
	a, b, c := d1.Resource(obs(), nil), d1.Resource(obs(), nil), d2.Resource(obs(), nil)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same key, different output:\n%s", diff)
	}
	ref := a["subject"].(map[string]any)
	if diff := cmp.Diff(map[string]any{"reference": "Patient/" + pat["id"].(string)}, ref); diff != "" {
		t.Errorf("reference not rewritten to the patient's pseudonym (-want +got):\n%s", diff)
	}
	if a["id"] == c["id"] || a["id"] == "o1" {
		t.Errorf("pseudonym %v does not depend on the key (other key: %v)", a["id"], c["id"])
	}
	// Known answer, computed outside Go:
	//   printf 'id\0Observation/o1' | openssl dgst -sha256 -hmac 0123456789abcdef0123456789abcdef
	// first 32 hex digits.
	if got, want := a["id"], d1.Pseudonym("id", "Observation/o1"); got != want {
		t.Errorf("id %v, want %v", got, want)
	}
	if _, err := deid.New([]byte("short"), deid.Options{}); err == nil {
		t.Error("a 5-byte key was accepted")
	}
}

func BenchmarkBundle(b *testing.B) {
	d, err := deid.New(testKey, deid.Options{Now: now})
	if err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile("testdata/synthea/Clemente_Kreiger_1484a42d-0eaf-4654-9cbf-6b050a5cd73b.json")
	if err != nil {
		b.Fatal(err)
	}
	var n int
	for b.Loop() {
		var bundle map[string]any
		if err := json.Unmarshal(data, &bundle); err != nil {
			b.Fatal(err)
		}
		n = len(d.Bundle(bundle))
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "resources/s")
}
