package twin

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/doppelhealth/doppel/internal/clinical"
)

// news2Case is one reference case: its vitals, whether the patient is on
// oxygen and on SpO2 scale 2, and the expected total.
type news2Case struct {
	id                string
	rr, spo2, sbp, hr float64
	temp              float64
	acvpu             string
	scale2, onO2      bool
	total             int
}

func news2Cases(t *testing.T) []news2Case {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "news2_vectors.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []news2Case
	for _, r := range rows[1:] {
		if r[3] != "total" {
			continue
		}
		c := news2Case{id: r[1]}
		if c.total, err = strconv.Atoi(r[4]); err != nil {
			t.Fatal(err)
		}
		numbers := map[string]*float64{"RR": &c.rr, "SpO2": &c.spo2, "SBP": &c.sbp, "HR": &c.hr, "T": &c.temp}
		for _, kv := range strings.Split(r[2], ";") {
			k, v, _ := strings.Cut(kv, "=")
			switch x, err := strconv.ParseFloat(v, 64); {
			case numbers[k] != nil && err == nil:
				*numbers[k] = x
			case k == "ACVPU":
				c.acvpu = v
			case k == "scale":
				c.scale2 = v == "2"
			case k == "O2":
				c.onO2 = v == "True"
			default:
				t.Fatalf("%s: unknown input %q", c.id, kv)
			}
		}
		out = append(out, c)
	}
	if len(out) != 15 {
		t.Fatalf("%d NEWS2 cases, want 15", len(out))
	}
	return out
}

// oxygenObs is an oxygen reading of patient: a flow in L/min or a
// concentration in %.
func oxygenObs(patient, code string, v float64, at time.Time) clinical.Observation {
	unit := "L/min"
	if code == clinical.CodeFiO2 {
		unit = "%"
	}
	return clinical.Observation{Patient: patient, Device: "o2-1", Code: code, Value: &clinical.Quantity{Value: v, Unit: unit}, Effective: at}
}

// TestNEWS2OxygenScale2: every NEWS2 reference case (RCP 2017 Chart 1 by
// hand, including scale 2 on air and on oxygen) gets its total when the
// vitals come as observations, the oxygen as a flow rate (3151-8) or an
// inspired concentration (3150-0) reading, and scale 2 from Options.Scale2.
// Oxygen readings change the state by time: a newer "0 L/min" ends oxygen,
// an older reading arriving late does not count.
func TestNEWS2OxygenScale2(t *testing.T) {
	ctx := context.Background()
	cases := news2Cases(t)
	scale2 := map[string]bool{}
	for _, c := range cases {
		scale2["w-"+c.id] = c.scale2
	}
	var asked []string
	rec := &recorder{}
	m, err := New(Options{Now: func() time.Time { return t0 }, Sink: rec, Scale2: func(patient string, at time.Time) (bool, error) {
		if !at.Equal(t0) {
			t.Errorf("Scale2 asked at %v, want the set's time %v", at, t0)
		}
		asked = append(asked, patient)
		return scale2[patient], nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		id := "w-" + c.id
		var obs []clinical.Observation
		// Oxygen history before the set; the last word decides.
		switch {
		case c.onO2 && i%2 == 0:
			obs = append(obs, oxygenObs(id, clinical.CodeO2Flow, 0, t0.Add(-time.Hour)), oxygenObs(id, clinical.CodeO2Flow, 2, t0.Add(-10*time.Minute)))
		case c.onO2:
			obs = append(obs, oxygenObs(id, clinical.CodeFiO2, 28, t0.Add(-10*time.Minute)), oxygenObs(id, clinical.CodeO2Flow, 0, t0.Add(-20*time.Minute)))
		case i%2 == 0:
			obs = append(obs, oxygenObs(id, clinical.CodeFiO2, 35, t0.Add(-time.Hour)), oxygenObs(id, clinical.CodeO2Flow, 0, t0.Add(-10*time.Minute)),
				oxygenObs(id, clinical.CodeFiO2, 21, t0.Add(-10*time.Minute)))
		} // else: no oxygen reading ever (air)
		for _, o := range vitalsSet(t0, c.rr, c.spo2, c.sbp, c.hr, c.temp, c.acvpu) {
			o.Patient = id
			obs = append(obs, o)
		}
		for _, o := range obs {
			if err := m.Observe(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
	}
	got := map[string]int{}
	for _, e := range rec.kinds(KindNEWS2, "") {
		got[e.Patient] = e.NEWS2.Total
	}
	for _, c := range cases {
		if total, ok := got["w-"+c.id]; !ok || total != c.total {
			t.Errorf("%s (scale 2 %v, oxygen %v): NEWS2 %d (scored %v), want %d", c.id, c.scale2, c.onO2, total, ok, c.total)
		}
	}
	if len(asked) != len(cases) {
		t.Errorf("Scale2 asked %d times, want once per set (%d)", len(asked), len(cases))
	}
}

// TestOxygenSnapshot: the oxygen state survives a snapshot; the set
// scored after the restart counts the oxygen given before it (case N08:
// scale 2, SpO2 97 % on oxygen, total 5; 0 if the oxygen were forgotten).
func TestOxygenSnapshot(t *testing.T) {
	ctx := context.Background()
	snaps := &memSnapshots{}
	opt := func(rec *recorder) Options {
		return Options{Now: func() time.Time { return t0 }, Sink: rec, Snapshots: snaps,
			Scale2: func(string, time.Time) (bool, error) { return true, nil }}
	}
	m, err := New(opt(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Observe(ctx, oxygenObs("w1", clinical.CodeO2Flow, 2, t0.Add(-time.Minute))); err != nil {
		t.Fatal(err)
	}
	if err := m.Snapshot(ctx, "w1"); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	m, err = New(opt(rec))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range vitalsSet(t0, 18, 97, 130, 85, 36.8, "A") {
		if err := m.Observe(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	if ev := rec.kinds(KindNEWS2, ""); len(ev) != 1 || ev[0].NEWS2.Total != 5 {
		t.Errorf("NEWS2 after a restart on oxygen: %+v, want one set scoring 5", ev)
	}
}

// TestOxygenInSpO2: an SpO2 reading that carries the inhaled oxygen flow
// as a component (US Core pulse oximetry) puts the patient on oxygen.
// Case N03 of the reference: 11 on oxygen, 9 on air.
func TestOxygenInSpO2(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		flow float64
		want int
	}{{2, 11}, {0, 9}} {
		rec := &recorder{}
		m, err := New(Options{Now: func() time.Time { return t0 }, Sink: rec})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range vitalsSet(t0, 9, 91, 95, 115, 38.5, "A") {
			if o.Code == clinical.CodeSpO2 {
				o.Components = []clinical.Component{{Code: clinical.CodeO2Flow, Value: clinical.Quantity{Value: tc.flow, Unit: "L/min"}}}
			}
			if err := m.Observe(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
		if ev := rec.kinds(KindNEWS2, ""); len(ev) != 1 || ev[0].NEWS2.Total != tc.want {
			t.Errorf("SpO2 with an oxygen flow of %v L/min: %+v, want one set scoring %d", tc.flow, ev, tc.want)
		}
	}
}
