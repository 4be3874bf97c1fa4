package scenario

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

// Limits on what a scenario may ask for. Larger values are almost certainly
// typing mistakes (or would exhaust memory), so they are rejected.
const (
	MaxDuration = 3660 * 24 * time.Hour // about ten years
	MaxCarbs    = 1000.0                // g in one meal
	MaxBolus    = 100.0                 // U in one manual bolus
	MaxBasal    = 50.0                  // U/h
)

// DefaultSeed is the seed used when a scenario gives none.
const DefaultSeed = 1

// Scenario is a decoded and validated scenario file. Names are the
// catalog's canonical spelling; times are UTC; events are sorted by time.
type Scenario struct {
	File       string // file name used in error messages
	Model      string
	Patient    string
	Start      time.Time
	Duration   time.Duration
	Seed       uint64
	Sensor     Sensor
	Pump       string
	Controller Controller
	Meals      []Meal
	Boluses    []Bolus
	Basal      []Basal
}

// Sensor selects a CGM sensor and whether its noise is simulated.
type Sensor struct {
	Name  string
	Noise bool
}

// Controller selects a controller and its settings. Settings holds every
// setting the catalog declares for the controller, defaults filled in.
type Controller struct {
	Name     string
	Settings map[string]float64
}

// Meal is carbohydrate announced at one minute.
type Meal struct {
	At    time.Time
	Carbs float64 // g
}

// Bolus is a manual insulin bolus.
type Bolus struct {
	At    time.Time
	Units float64 // U
}

// Basal sets the basal insulin rate from At on.
type Basal struct {
	At   time.Time
	Rate float64 // U/h
}

// End is the end of the run (exclusive for events).
func (s *Scenario) End() time.Time { return s.Start.Add(s.Duration) }

// Minutes is the time t as minutes after the start of the run.
func (s *Scenario) Minutes(t time.Time) float64 { return t.Sub(s.Start).Minutes() }

// Catalog lists what a scenario of one model may name.
type Catalog struct {
	Model       string
	Patients    []string
	Sensors     []SensorSpec
	Pumps       []string
	Controllers []ControllerSpec
}

// SensorSpec is a sensor a scenario may name.
type SensorSpec struct {
	Name       string
	SampleTime time.Duration // the run's duration must be a multiple of it
}

// ControllerSpec is a controller a scenario may name, with the settings it
// accepts.
type ControllerSpec struct {
	Name     string
	Doc      string
	Settings []Setting
}

// Setting is one numeric setting of a controller.
type Setting struct {
	Name     string
	Unit     string
	Doc      string
	Default  float64
	Min, Max float64 // inclusive range of accepted values
}

// Error is a problem with a scenario file, located at a line and field.
type Error struct {
	File  string
	Line  int    // 1-based; 0 if unknown
	Field string // such as "meals[1].carbs"; empty for the whole file
	Msg   string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Load reads and parses the scenario file at path.
func Load(path string, cat Catalog) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	return Parse(path, data, cat)
}

// Format writes s back as a scenario file in canonical form (absolute UTC
// times, flow-style events); Parse of the result gives s again.
func (s *Scenario) Format() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "model: %s\n", s.Model)
	fmt.Fprintf(&b, "patient: %q\n", s.Patient)
	fmt.Fprintf(&b, "start: %s\n", s.Start.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "duration: %dm\n", s.Duration/time.Minute)
	fmt.Fprintf(&b, "seed: %d\n", s.Seed)
	fmt.Fprintf(&b, "sensor: {name: %q, noise: %t}\n", s.Sensor.Name, s.Sensor.Noise)
	fmt.Fprintf(&b, "pump: %q\n", s.Pump)
	fmt.Fprintf(&b, "controller: {name: %q", s.Controller.Name)
	keys := make([]string, 0, len(s.Controller.Settings))
	for k := range s.Controller.Settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, ", %s: %s", k, fmtNum(s.Controller.Settings[k]))
	}
	b.WriteString("}\n")
	at := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	if len(s.Meals) > 0 {
		b.WriteString("meals:\n")
		for _, m := range s.Meals {
			fmt.Fprintf(&b, "  - {at: %s, carbs: %s}\n", at(m.At), fmtNum(m.Carbs))
		}
	}
	if len(s.Boluses) > 0 {
		b.WriteString("boluses:\n")
		for _, m := range s.Boluses {
			fmt.Fprintf(&b, "  - {at: %s, units: %s}\n", at(m.At), fmtNum(m.Units))
		}
	}
	if len(s.Basal) > 0 {
		b.WriteString("basal:\n")
		for _, m := range s.Basal {
			fmt.Fprintf(&b, "  - {at: %s, rate: %s}\n", at(m.At), fmtNum(m.Rate))
		}
	}
	return []byte(b.String())
}
