package httpapi

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzHandler posts arbitrary bodies to POST /fhir/Patient (create) and
// POST /fhir (transaction or batch): whatever the body, the answer is never
// a 5xx (a panic would be one).
func FuzzHandler(f *testing.F) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds in testdata: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(false, b)
		f.Add(true, b)
	}
	for _, s := range []string{
		``, `{`, `[]`, `null`, `{"resourceType":"Patient","id":7}`,
		`{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"DELETE","url":"Patient/x"}}]}`,
		`{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient?name=a"}},{}]}`,
		`{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","link":[{"other":{"reference":"urn:uuid:1"},"type":"seealso"}]},"request":{"method":"POST","url":"Patient"}}]}`,
		`{"resourceType":"Patient","birthDate":"1974-13-45"}`,
	} {
		f.Add(false, []byte(s))
		f.Add(true, []byte(s))
	}
	e := newEnv(f, Options{MaxBodyBytes: 1 << 20})
	f.Fuzz(func(t *testing.T, bundle bool, body []byte) {
		e.t = t // F's methods must not be called inside the fuzz function
		target := "/fhir/Patient"
		if bundle {
			target = "/fhir"
		}
		w := e.do("POST", target, string(body), "Content-Type", "application/fhir+json")
		if w.Code >= 500 {
			t.Errorf("POST %s: status %d: %s\nlog:\n%s", target, w.Code, w.Body, e.log)
		}
		e.log.Reset()
	})
}
