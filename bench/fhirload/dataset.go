package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Synthea's shared Bundles (Organization and Practitioner resources), sent
// before the patients; their names start with these prefixes.
var sharedPrefixes = []string{"hospitalInformation", "practitionerInformation"}

// template is one Synthea patient Bundle cut at every occurrence of the
// UUIDs of its urn:uuid fullUrls, so that copies with fresh UUIDs are made
// by concatenation.
type template struct {
	name      string
	chunks    [][]byte // literal text; a UUID slot follows every chunk but the last
	slots     []int    // slots[i]: which UUID follows chunks[i]
	nUUID     int      // distinct UUIDs
	resources int      // entries (every entry of a Synthea Bundle is a POST)
	obsCodes  []string // system|code of the first coding of each Observation, distinct
}

// uuidRE matches a lower-case UUID as Synthea writes them.
var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// newTemplate cuts a Synthea transaction Bundle.
func newTemplate(name string, data []byte) (*template, error) {
	var b struct {
		ResourceType, Type string
		Entry              []struct {
			FullURL  string
			Resource struct {
				ResourceType string
				Code         struct {
					Coding []struct{ System, Code string }
				}
			}
			Request struct{ Method string }
		}
	}
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if b.ResourceType != "Bundle" || b.Type != "transaction" {
		return nil, fmt.Errorf("%s: not a transaction Bundle", name)
	}
	t := &template{name: name, resources: len(b.Entry)}
	ids := map[string]int{}
	patients := 0
	for i, e := range b.Entry {
		u, ok := strings.CutPrefix(e.FullURL, "urn:uuid:")
		if !ok || !uuidRE.MatchString(u) || len(u) != 36 {
			return nil, fmt.Errorf("%s: entry %d: fullUrl %q is not a urn:uuid", name, i, e.FullURL)
		}
		if e.Request.Method != "POST" {
			return nil, fmt.Errorf("%s: entry %d: request method %q, want POST", name, i, e.Request.Method)
		}
		ids[u] = len(ids)
		switch e.Resource.ResourceType {
		case "Patient":
			patients++
		case "Observation":
			if c := e.Resource.Code.Coding; len(c) > 0 && c[0].System != "" && c[0].Code != "" {
				t.obsCodes = append(t.obsCodes, c[0].System+"|"+c[0].Code)
			}
		}
	}
	if patients != 1 || len(t.obsCodes) == 0 {
		return nil, fmt.Errorf("%s: %d Patients and %d coded Observations, want 1 and some", name, patients, len(t.obsCodes))
	}
	slices.Sort(t.obsCodes)
	t.obsCodes = slices.Compact(t.obsCodes)
	t.nUUID = len(ids)
	last := 0
	for _, m := range uuidRE.FindAllIndex(data, -1) {
		slot, ok := ids[string(data[m[0]:m[1]])]
		if !ok {
			continue
		}
		t.chunks = append(t.chunks, data[last:m[0]])
		t.slots = append(t.slots, slot)
		last = m[1]
	}
	t.chunks = append(t.chunks, data[last:])
	return t, nil
}

// clone appends to dst a copy of the Bundle with fresh UUIDs from rng.
func (t *template) clone(dst []byte, rng *rand.Rand) []byte {
	fresh := make([][36]byte, t.nUUID)
	for i := range fresh {
		fresh[i] = newUUID(rng)
	}
	for i, c := range t.chunks {
		dst = append(dst, c...)
		if i < len(t.slots) {
			dst = append(dst, fresh[t.slots[i]][:]...)
		}
	}
	return dst
}

// newUUID is a version 4 UUID from rng, in lower-case text.
func newUUID(rng *rand.Rand) [36]byte {
	var b [16]byte
	for i := 0; i < 16; i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	const hex = "0123456789abcdef"
	k := 0
	for i, x := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			s[k] = '-'
			k++
		}
		s[k], s[k+1] = hex[x>>4], hex[x&15]
		k += 2
	}
	return s
}

// dataset is the Synthea directory read: the shared Bundles as they are
// and the patient Bundles as templates.
type dataset struct {
	shared    []namedBundle
	templates []*template
}

type namedBundle struct {
	name      string
	data      []byte
	resources int
}

// readDataset reads the *.json files of dir.
func readDataset(dir string) (*dataset, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	d := &dataset{}
	for _, p := range names {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		base := filepath.Base(p)
		if slices.ContainsFunc(sharedPrefixes, func(s string) bool { return strings.HasPrefix(base, s) }) {
			var b struct{ Entry []json.RawMessage }
			if err := json.Unmarshal(data, &b); err != nil {
				return nil, fmt.Errorf("%s: %w", base, err)
			}
			d.shared = append(d.shared, namedBundle{base, data, len(b.Entry)})
			continue
		}
		t, err := newTemplate(base, data)
		if err != nil {
			return nil, err
		}
		d.templates = append(d.templates, t)
	}
	if len(d.templates) == 0 {
		return nil, fmt.Errorf("%s: no patient Bundles", dir)
	}
	return d, nil
}

// patient returns the template of patient copy i (round robin) and a
// generator for its UUIDs that depends only on seed and i, so that
// copies can be made in any order by any goroutine.
func (d *dataset) patient(seed uint64, i int) (*template, *rand.Rand) {
	return d.templates[i%len(d.templates)], rand.New(rand.NewPCG(seed, uint64(i)))
}

// resources is the number of resources in n patient copies.
func (d *dataset) resources(n int) int {
	total := 0
	for i := range n {
		total += d.templates[i%len(d.templates)].resources
	}
	return total
}

// write stores the shared Bundles and n patient copies in dir as files
// that `doppel import dir` loads.
func (d *dataset) write(dir string, seed uint64, n int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, b := range d.shared {
		if err := os.WriteFile(filepath.Join(dir, b.name), b.data, 0o644); err != nil {
			return err
		}
	}
	var buf []byte
	for i := range n {
		t, rng := d.patient(seed, i)
		buf = t.clone(buf[:0], rng)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("patient-%05d.json", i)), buf, 0o644); err != nil {
			return err
		}
	}
	return nil
}
