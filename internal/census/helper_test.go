package census_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// memSource is a Source over resources held in memory.
type memSource map[string][][]byte

func (m memSource) Resources(_ context.Context, typ string) ([][]byte, error) { return m[typ], nil }

// loc is one Encounter.location entry.
type loc struct {
	ref, status string
	start, end  time.Time // zero: absent
}

func fhirTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// encounterJSON returns an R4 Encounter (class IMP or EMER) with the
// given status, period and locations.
func encounterJSON(id, status, class string, start, end time.Time, locs ...loc) []byte {
	e := map[string]any{
		"resourceType": "Encounter", "id": id, "status": status,
		"class": map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": class},
	}
	p := map[string]any{}
	if !start.IsZero() {
		p["start"] = fhirTime(start)
	}
	if !end.IsZero() {
		p["end"] = fhirTime(end)
	}
	e["period"] = p
	var ls []any
	for _, l := range locs {
		x := map[string]any{"location": map[string]any{"reference": l.ref}}
		if l.status != "" {
			x["status"] = l.status
		}
		lp := map[string]any{}
		if !l.start.IsZero() {
			lp["start"] = fhirTime(l.start)
		}
		if !l.end.IsZero() {
			lp["end"] = fhirTime(l.end)
		}
		if len(lp) > 0 {
			x["period"] = lp
		}
		ls = append(ls, x)
	}
	if ls != nil {
		e["location"] = ls
	}
	b, err := json.Marshal(e)
	if err != nil {
		panic(err)
	}
	return b
}

// locationJSON returns an R4 Location with a name, a type code (if any)
// and a parent (if any).
func locationJSON(id, name, typ, partOf string) []byte {
	s := fmt.Sprintf(`{"resourceType":"Location","id":%q,"name":%q`, id, name)
	if typ != "" {
		s += fmt.Sprintf(`,"type":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-RoleCode","code":%q}]}]`, typ)
	}
	if partOf != "" {
		s += fmt.Sprintf(`,"partOf":{"reference":"Location/%s"}`, partOf)
	}
	return []byte(s + "}")
}
