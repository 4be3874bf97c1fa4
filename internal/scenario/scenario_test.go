package scenario

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func TestGood(t *testing.T) {
	bb := func(target float64) Controller {
		return Controller{Name: "basal-bolus", Settings: map[string]float64{"target": target, "cr_scale": 1, "cf_scale": 1, "basal_scale": 1}}
	}
	tests := []struct {
		file string
		want Scenario
	}{
		{"adult001_day.good.yaml", Scenario{
			Model: "t1d", Patient: "adult#001", Start: utc("2018-01-01T06:00:00Z"), Duration: 24 * time.Hour, Seed: 1,
			Sensor: Sensor{Name: "Navigator", Noise: false}, Pump: "Insulet", Controller: bb(140),
			Meals: []Meal{
				{At: utc("2018-01-01T07:00:00Z"), Carbs: 45},
				{At: utc("2018-01-01T12:00:00Z"), Carbs: 70},
				{At: utc("2018-01-01T18:00:00Z"), Carbs: 80},
			},
		}},
		{"full.good.yaml", Scenario{
			Model: "t1d", Patient: "child#003", Start: utc("2020-05-31T22:00:00Z"), Duration: 36 * time.Hour, Seed: 42,
			Sensor: Sensor{Name: "Dexcom", Noise: true}, Pump: "Cozmo", Controller: bb(120),
			Meals: []Meal{
				{At: utc("2020-06-01T06:00:00Z"), Carbs: 40.5},
				{At: utc("2020-06-01T11:00:00Z"), Carbs: 60},
			},
			Boluses: []Bolus{{At: utc("2020-05-31T23:30:00Z"), Units: 1.5}},
			Basal: []Basal{
				{At: utc("2020-05-31T22:00:00Z"), Rate: 0.8},
				{At: utc("2020-06-01T22:00:00Z"), Rate: 0.65},
			},
		}},
		{"minimal.good.yaml", Scenario{
			Model: "t1d", Patient: "adolescent#010", Start: utc("2018-01-01T00:00:00Z"), Duration: 90 * time.Minute, Seed: 1,
			Sensor: Sensor{Name: "Navigator", Noise: true}, Pump: "Insulet", Controller: bb(140),
		}},
	}
	files, err := filepath.Glob("testdata/*.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(tests) {
		t.Errorf("%d good files in testdata, %d in the table", len(files), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", tt.file)
			got, err := Load(path, T1D())
			if err != nil {
				t.Fatal(err)
			}
			tt.want.File = path
			if diff := cmp.Diff(&tt.want, got); diff != "" {
				t.Errorf("Load(%s) mismatch (-want +got):\n%s", path, diff)
			}
			again, err := Parse(path, got.Format(), T1D())
			if err != nil {
				t.Fatalf("Parse(Format()) = %v\n%s", err, got.Format())
			}
			if diff := cmp.Diff(got, again); diff != "" {
				t.Errorf("Parse(Format()) mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBad checks the one message given for each broken file in testdata
// (the scheme of Prometheus' config_test.go).
func TestBad(t *testing.T) {
	tests := map[string]string{
		"absurd_duration":            "4: duration: must be at most 3660d, got 100000d",
		"at_end":                     "9: meals[0].at: 2018-01-02T06:00:00Z is not before the end of the run 2018-01-02T06:00:00Z (start + duration)",
		"bad_indent":                 "3: malformed YAML: mapping values are not allowed in this context",
		"bad_list_indent":            "5: malformed YAML: did not find expected key",
		"unclosed_flow":              "5: malformed YAML: did not find expected ',' or '}'",
		"bad_offset":                 `9: boluses[0].at: bad offset "+7 hours": want a duration after start such as +90m, +1h30m or +1d`,
		"bare_number_time":           "9: meals[0].at: must be an RFC 3339 time such as 2018-01-01T07:00:00Z or an offset after start such as +1h30m, got the bare number 7 (ambiguous: simglucose reads numbers as hours after start; write +7h or a full time)",
		"before_start":               "9: meals[0].at: 2018-01-01T05:00:00Z is before the start 2018-01-01T06:00:00Z",
		"carbs_string":               `9: meals[0].carbs: must be a number in g, got the string "45"`,
		"controller_setting_range":   "7: controller.target: must be >= 70 mg/dL, got 20",
		"controller_unknown_setting": "7: controller.kp: unknown setting of the basal-bolus controller; valid: name, target, cr_scale, cf_scale, basal_scale",
		"duplicate_key":              "8: pump: duplicate field (first given on line 6)",
		"duplicate_meal_time":        "10: meals[1].at: same time as meals[0] (line 9); combine them into one",
		"empty":                      ": empty file: expected a mapping of scenario fields (model, patient, start, ...)",
		"huge_bolus":                 "9: boluses[0].units: must be <= 100 U, got 500",
		"malformed":                  "2: malformed YAML: found unexpected end of stream",
		"meals_not_list":             "8: meals: must be a list such as [{at: +1h, carbs: 10}], got a mapping",
		"missing_carbs":              "9: meals[0].carbs: missing; add the amount in g",
		"missing_patient":            `1: patient: missing; add it, e.g. patient: "adult#001"`,
		"negative_basal":             "9: basal[0].rate: must be >= 0 U/h, got -0.5",
		"negative_carbs":             "10: meals[1].carbs: must be >= 0 g, got -5",
		"negative_duration":          "4: duration: must be > 0, got -1h",
		"negative_seed":              "8: seed: must be a whole number >= 0, got the number -1",
		"noise_not_bool":             `5: sensor.noise: must be true or false, got the string "maybe"`,
		"not_mapping":                "1: expected a mapping of scenario fields (model, patient, start, ...), got a list",
		"not_whole_minute":           "9: meals[0].at: 2018-01-01T07:00:30Z is not on a whole minute after start (the simulator applies events at exact minutes)",
		"sample_time_multiple":       "4: duration: must be a multiple of the Dexcom sensor's sample time (3 min), got 91m",
		"start_no_zone":              `3: start: must be an RFC 3339 time with a zone such as 2018-01-01T06:00:00Z, got "2018-01-01T06:00:00"`,
		"start_seconds":              "3: start: must be on a whole minute, got 2018-01-01T06:00:10Z",
		"two_documents":              "8: more than one YAML document (---); a scenario file holds one",
		"unitless_duration":          "4: duration: must be a duration such as 90m, 24h or 3d, got the bare number 24 (give a unit)",
		"unknown_controller":         `7: controller: unknown controller "mpc"; valid: basal-bolus, pid, hybrid-pid, basal`,
		"unknown_field":              "8: meal: unknown field (did you mean meals?); valid: model, patient, start, duration, seed, sensor, pump, controller, meals, boluses, basal",
		"unknown_meal_field":         "9: meals[0].fat: unknown field; valid: at, carbs",
		"unknown_model":              `1: model: unknown model "t2d"; valid: t1d`,
		"unknown_nested_field":       "5: sensor.nosie: unknown field (did you mean noise?); valid: name, noise",
		"unknown_patient":            `2: patient: unknown patient "adult#011"; valid: adolescent#001-#010, adult#001-#010, child#001-#010`,
		"unknown_pump":               `6: pump: unknown pump "Omnipod"; valid: Cozmo, Insulet`,
		"unknown_sensor":             `5: sensor.name: unknown sensor "Libre"; valid: Dexcom, GuardianRT, Navigator`,
		"zero_duration":              "4: duration: must be > 0, got 0s",
	}
	files, err := filepath.Glob("testdata/*.bad.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(tests) {
		t.Errorf("%d bad files in testdata, %d in the table", len(files), len(tests))
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".bad.yaml")
		t.Run(name, func(t *testing.T) {
			want, ok := tests[name]
			if !ok {
				t.Fatalf("no expected message for %s", path)
			}
			want = path + ":" + want
			if strings.HasPrefix(want, path+"::") {
				want = path + want[len(path)+1:]
			}
			_, err := Load(path, T1D())
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Load(%s) = %v, want an *Error", path, err)
			}
			if got := err.Error(); got != want {
				t.Errorf("Load(%s) error\n got %s\nwant %s", path, got, want)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), T1D())
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want os.ErrNotExist", err)
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{in: "24h", want: 24 * time.Hour},
		{in: "90m", want: 90 * time.Minute},
		{in: "3d", want: 72 * time.Hour},
		{in: "1d12h", want: 36 * time.Hour},
		{in: "365d", want: 365 * 24 * time.Hour},
		{in: "0d", want: 0},
		{in: "-1d", want: -24 * time.Hour},
		{in: "1.5d", wantErr: true},
		{in: "d", wantErr: true},
		{in: "1d-1h", wantErr: true},
		{in: "1dd", wantErr: true},
		{in: "999999999d", wantErr: true},
		{in: "24", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, error %t", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestListNames(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{"a#001", "a#002"}, "a#001, a#002"},
		{[]string{"a#001", "a#002", "a#003", "b#001", "x"}, "a#001-#003, b#001, x"},
		{[]string{"a#001", "a#002", "a#004", "a#005", "a#006"}, "a#001, a#002, a#004-#006"},
		{[]string{"Dexcom", "Navigator"}, "Dexcom, Navigator"},
	}
	for _, tt := range tests {
		if got := listNames(tt.in); got != tt.want {
			t.Errorf("listNames(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNamesIgnoreCase(t *testing.T) {
	src := strings.NewReplacer("adult#001", "ADULT#001", "Navigator", "navigator", "basal-bolus", "Basal-Bolus").
		Replace(readFile(t, "testdata/adult001_day.good.yaml"))
	s, err := Parse("x.yaml", []byte(src), T1D())
	if err != nil {
		t.Fatal(err)
	}
	if s.Patient != "adult#001" || s.Sensor.Name != "Navigator" || s.Controller.Name != "basal-bolus" {
		t.Errorf("names not canonical: %q %q %q", s.Patient, s.Sensor.Name, s.Controller.Name)
	}
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// FuzzParse checks that Parse never panics, that every failure is an
// *Error, and that every success survives a Format/Parse round trip.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range files {
		f.Add([]byte(readFile(f, p)))
	}
	cat := T1D()
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.yaml", data, cat)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T) is not an *Error", err, err)
			}
			return
		}
		again, err := Parse("fuzz.yaml", s.Format(), cat)
		if err != nil {
			t.Fatalf("Parse(Format()) = %v\ninput:\n%s\nformatted:\n%s", err, data, s.Format())
		}
		if diff := cmp.Diff(s, again); diff != "" {
			t.Fatalf("round trip mismatch (-first +second):\n%s", diff)
		}
	})
}
