package audit

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/doppelhealth/doppel/internal/fhir"
)

// FuzzChain decodes arbitrary stored AuditEvent bodies the way Verify and
// the head search do: no panic, the tree is not modified, and the
// canonical bytes are stable and blind to the hash sub-extension.
func FuzzChain(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	ev := Record{Time: time.Unix(0, 0), Interaction: Search, Who: "u", Query: "name=x"}.tree(ID(3), "doppel", 3, genesis)
	ext := ev["extension"].([]any)[0].(map[string]any)
	ext["extension"] = append(ext["extension"].([]any), str("hash", genesis))
	seed, _ := (&fhir.Resource{Type: resourceType, Tree: ev}).MarshalJSON()
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := fhir.Parse(data)
		if err != nil {
			return
		}
		before, _ := r.MarshalJSON()
		chain(r.Tree)
		c1 := canonical(r.Tree)
		after, _ := r.MarshalJSON()
		if !bytes.Equal(before, after) {
			t.Fatalf("canonical modified the tree:\n%s\n%s", before, after)
		}
		if c2 := canonical(r.Tree); !bytes.Equal(c1, c2) {
			t.Fatalf("canonical bytes differ between calls")
		}
		// A hash written once in the body is the hash sub-extension's.
		if _, _, hash, ok := chain(r.Tree); ok && len(hash) >= 8 && bytes.Count(before, []byte(hash)) == 1 && bytes.Contains(c1, []byte(hash)) {
			t.Fatalf("canonical bytes include the record's own hash %s", hash)
		}
	})
}
