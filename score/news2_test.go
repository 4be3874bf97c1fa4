package score

import (
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// readCSV reads a testdata CSV file with a header row into maps.
func readCSV(t *testing.T, name string) []map[string]string {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := make(map[string]string)
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

// parseVitals reads the inputs column of news2_vectors.csv, e.g.
// "RR=16;SpO2=98;scale=1;O2=False;SBP=125;HR=72;ACVPU=A;T=37.0".
func parseVitals(s string) (Vitals, error) {
	var v Vitals
	for _, kv := range strings.Split(s, ";") {
		k, val, ok := strings.Cut(kv, "=")
		if !ok {
			return v, fmt.Errorf("bad input %q", kv)
		}
		num := func() float64 {
			x, err := strconv.ParseFloat(val, 64)
			if err != nil {
				return math.NaN()
			}
			return x
		}
		switch k {
		case "RR":
			v.RespirationRate = num()
		case "SpO2":
			v.SpO2 = num()
		case "scale":
			v.Scale2 = val == "2"
		case "O2":
			v.OnOxygen = val == "True"
		case "SBP":
			v.SystolicBP = num()
		case "HR":
			v.Pulse = num()
		case "T":
			v.Temp = num()
		case "ACVPU":
			v.ACVPU = map[string]ACVPU{"A": Alert, "C": NewConfusion, "V": Voice, "P": Pain, "U": Unresponsive}[val]
		default:
			return v, fmt.Errorf("unknown input %q", k)
		}
	}
	return v, nil
}

// TestNEWS2Vectors checks every NEWS2 row of the reference vectors
// (testdata/news2_vectors.csv from refs/clinical/test_vectors.csv: RCP 2017
// Charts 1 and 2 applied by hand): the seven sub-scores, the total and the
// clinical risk.
func TestNEWS2Vectors(t *testing.T) {
	rows := readCSV(t, "news2_vectors.csv")
	if len(rows) != 45 {
		t.Fatalf("%d NEWS2 rows, want 45 (15 cases × 3 outputs)", len(rows))
	}
	for _, row := range rows {
		t.Run(row["case_id"]+"/"+row["output"], func(t *testing.T) {
			v, err := parseVitals(row["inputs"])
			if err != nil {
				t.Fatal(err)
			}
			r, err := NEWS2(v)
			if err != nil {
				t.Fatal(err)
			}
			var got string
			switch {
			case strings.HasPrefix(row["output"], "subscores"):
				parts := make([]string, NumParameters)
				for i, p := range r.Points {
					parts[i] = strconv.Itoa(p)
				}
				got = strings.Join(parts, "|")
			case row["output"] == "total":
				got = strconv.Itoa(r.Total)
			case row["output"] == "clinical_risk":
				got = r.Response.Risk()
			default:
				t.Fatalf("unknown output %q", row["output"])
			}
			if got != row["expected"] {
				t.Errorf("%s: %s = %s, want %s", row["inputs"], row["output"], got, row["expected"])
			}
		})
	}
}

// normal is a set of vitals that scores 0 in every parameter.
func normal() Vitals {
	return Vitals{RespirationRate: 16, SpO2: 98, SystolicBP: 125, Pulse: 72, Temp: 37}
}

// TestNEWS2Chart checks Bands against NEWS2 Chart 1 as transcribed in
// testdata/news2_scoring.csv: both ends of every band score the band's
// points, for scale 2 on air and on oxygen as the row's condition says.
func TestNEWS2Chart(t *testing.T) {
	params := map[string]Parameter{
		"respiration_rate_per_min": RespirationRate, "spo2_scale1_pct": SpO2, "spo2_scale2_pct": SpO2,
		"systolic_bp_mmHg": SystolicBP, "pulse_per_min": Pulse, "temperature_C": Temperature,
	}
	n := 0
	for i, row := range readCSV(t, "news2_scoring.csv") {
		want, _ := strconv.Atoi(row["points"])
		switch row["parameter"] {
		case "air_or_oxygen":
			v := normal()
			v.OnOxygen = row["category"] == "oxygen"
			r, err := NEWS2(v)
			if err != nil {
				t.Fatal(err)
			}
			if r.Points[AirOrOxygen] != want {
				t.Errorf("row %d: %s scores %d, want %d", i+2, row["category"], r.Points[AirOrOxygen], want)
			}
			n++
			continue
		case "consciousness_ACVPU":
			levels := []ACVPU{Alert}
			if row["category"] != "A" {
				levels = []ACVPU{NewConfusion, Voice, Pain, Unresponsive}
			}
			for _, c := range levels {
				v := normal()
				v.ACVPU = c
				r, err := NEWS2(v)
				if err != nil {
					t.Fatal(err)
				}
				if r.Points[Consciousness] != want {
					t.Errorf("row %d: %v scores %d, want %d", i+2, c, r.Points[Consciousness], want)
				}
				n++
			}
			continue
		}
		p, ok := params[row["parameter"]]
		if !ok {
			t.Fatalf("row %d: unknown parameter %q", i+2, row["parameter"])
		}
		scale2 := row["parameter"] == "spo2_scale2_pct"
		oxygen := []bool{false}
		switch row["condition"] {
		case "any":
			oxygen = []bool{false, true}
		case "on oxygen":
			oxygen = []bool{true}
		}
		var ends []float64
		for _, col := range []string{"min_inclusive", "max_inclusive"} {
			if row[col] != "" {
				x, err := strconv.ParseFloat(row[col], 64)
				if err != nil {
					t.Fatal(err)
				}
				ends = append(ends, x)
			}
		}
		for _, o := range oxygen {
			for _, x := range ends {
				v := normal()
				v.Scale2, v.OnOxygen = scale2, o
				v.setValue(p, x)
				r, err := NEWS2(v)
				if err != nil {
					t.Fatal(err)
				}
				if r.Points[p] != want {
					t.Errorf("row %d: %v = %v (scale 2 %v, oxygen %v) scores %d, want %d", i+2, p, x, scale2, o, r.Points[p], want)
				}
				n++
			}
		}
	}
	if n < 60 {
		t.Errorf("checked %d band ends, want all of the chart (≥ 60)", n)
	}
}

// TestResponseChart checks ResponseFor against NEWS2 Chart 2
// (testdata/news2_response.csv): clinical risk and monitoring frequency for
// every aggregate 0–20 with and without a red score.
func TestResponseChart(t *testing.T) {
	chart := readCSV(t, "news2_response.csv")
	byTrigger := make(map[string][2]string)
	for _, r := range chart {
		byTrigger[r["trigger"]] = [2]string{r["clinical_risk"], r["min_monitoring_frequency"]}
	}
	for total := 0; total <= 20; total++ {
		for _, red := range []bool{false, true} {
			if red && total < 3 {
				continue // a red score is at least 3
			}
			var trigger string
			switch {
			case total >= 7:
				trigger = "aggregate >=7"
			case total >= 5:
				trigger = "aggregate 5-6"
			case red:
				trigger = "single parameter = 3 (red score)"
			case total >= 1:
				trigger = "aggregate 1-4"
			default:
				trigger = "aggregate 0"
			}
			want, ok := byTrigger[trigger]
			if !ok {
				t.Fatalf("chart has no trigger %q", trigger)
			}
			r := ResponseFor(total, red)
			if got := [2]string{r.Risk(), r.Monitoring()}; got != want {
				t.Errorf("total %d red %v: %v (risk, monitoring) = %v, want %v", total, red, r, got, want)
			}
		}
	}
}

func TestNEWS2Scale2OnlyWhenPrescribed(t *testing.T) {
	// SpO2 88 % on air: 3 points on scale 1, 0 on scale 2 (its target range).
	for _, tc := range []struct {
		scale2 bool
		want   int
	}{{false, 3}, {true, 0}} {
		v := normal()
		v.SpO2, v.Scale2 = 88, tc.scale2
		r, err := NEWS2(v)
		if err != nil {
			t.Fatal(err)
		}
		if r.Points[SpO2] != tc.want {
			t.Errorf("scale 2 %v: SpO2 88 %% scores %d, want %d", tc.scale2, r.Points[SpO2], tc.want)
		}
	}
}

func TestNEWS2Rounding(t *testing.T) {
	// Values are charted at the chart's resolution: 20.4 breaths/min is 20
	// (0 points), 20.5 is 21 (2 points); 38.04 °C is 38.0 (0), 38.05 is 38.1 (1).
	for _, tc := range []struct {
		p    Parameter
		x    float64
		want int
	}{
		{RespirationRate, 20.4, 0}, {RespirationRate, 20.5, 2},
		{Temperature, 38.04, 0}, {Temperature, 38.06, 1}, {Temperature, 36.1, 0}, {Temperature, 36.0, 1},
		{SystolicBP, 110.6, 0}, {SystolicBP, 110.4, 1},
	} {
		v := normal()
		v.setValue(tc.p, tc.x)
		r, err := NEWS2(v)
		if err != nil {
			t.Fatal(err)
		}
		if r.Points[tc.p] != tc.want {
			t.Errorf("%v = %v scores %d, want %d", tc.p, tc.x, r.Points[tc.p], tc.want)
		}
	}
}

func TestNEWS2Errors(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Vitals)
		want string
	}{
		{"negative rate", func(v *Vitals) { v.RespirationRate = -1 }, "score: respiration rate = -1, want a finite value ≥ 0"},
		{"NaN pulse", func(v *Vitals) { v.Pulse = math.NaN() }, "score: pulse = NaN, want a finite value ≥ 0"},
		{"SpO2 above 100", func(v *Vitals) { v.SpO2 = 101 }, "score: SpO2 = 101 %, want at most 100"},
		{"temperature in °F", func(v *Vitals) { v.Temp = 98.6 }, "score: temperature = 98.6 °C, want 10 to 50"},
		{"bad ACVPU", func(v *Vitals) { v.ACVPU = 9 }, "score: consciousness level 9, want A, C, V, P or U"},
	} {
		v := normal()
		tc.mod(&v)
		_, err := NEWS2(v)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: error (-want +got):\n%s", tc.name, diff)
		}
	}
}
