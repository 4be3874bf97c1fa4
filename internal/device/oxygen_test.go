package device

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/doppelhealth/doppel/internal/clinical"
)

// TestDecodeOxygen: a bedside device reports supplemental oxygen (NEWS2
// "air or oxygen") as a flow rate (LOINC 3151-8, L/min) or an inspired
// concentration (3150-0, %), by short name or code; a negative flow or a
// concentration below air is refused.
func TestDecodeOxygen(t *testing.T) {
	r, err := testDecoder().DecodeBatch([]byte(`{"device":"o2-1","observations":[
		{"code":"o2flow","t":"2026-11-25T10:00:00Z","v":2,"unit":"L/min"},
		{"code":"3150-0","t":"2026-11-25T10:00:00Z","v":28,"unit":"%"},
		{"code":"o2flow","t":"2026-11-25T10:01:00Z","v":-1,"unit":"L/min"},
		{"code":"fio2","t":"2026-11-25T10:01:00Z","v":15,"unit":"%"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Result{Device: "o2-1",
		Accepted: []clinical.Observation{
			{Device: "o2-1", Code: clinical.CodeO2Flow, Value: qty(2, "L/min"), Effective: at("10:00")},
			{Device: "o2-1", Code: clinical.CodeFiO2, Value: qty(28, "%"), Effective: at("10:00")},
		},
		Rejected: []Rejection{{Index: 2, Kind: clinical.OutOfRange}, {Index: 3, Kind: clinical.OutOfRange}},
	}
	for i := range r.Rejected {
		r.Rejected[i].Reason = ""
	}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("oxygen batch (-want +got):\n%s", diff)
	}
}
