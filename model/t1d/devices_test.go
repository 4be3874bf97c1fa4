package t1d

import (
	"math"
	"strings"
	"testing"
)

// TestPumpQuantisation checks MODEL.md §4: rates are rounded half to even to
// 0.05 pmol/min (1 U = 6000 pmol) and clipped.
func TestPumpQuantisation(t *testing.T) {
	insulet, err := Pump("Insulet")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		rate      float64
		wantBasal float64
		wantBolus float64
		tol       float64
	}{
		// adult#001's basal (MODEL.md §4, and every insulin row of bb_24h_adult_001.csv).
		{"adult#001 basal", 0.02112267499992533, 0.021125, 0.021125, 1e-15},
		// 126.735 pmol/min = 2534.7 increments → 2535 → 126.75 pmol/min.
		{"round up", 126.735 / 6000, 126.75 / 6000, 126.75 / 6000, 1e-15},
		// Exact halves go to the even increment (numpy.round): 0.025 pmol/min
		// is 0.5 increments → 0, and 0.125 pmol/min is 2.5 increments → 2,
		// where rounding half away from zero would give 1 and 3.
		{"half to even at 0.5", 0.025 / 6000, 0, 0, 0},
		{"half to even at 2.5", 0.125 / 6000, 0.1 / 6000, 0.1 / 6000, 1e-20},
		{"negative clipped to 0", -0.5, 0, 0, 0},
		{"above the maximum", 45, 30, 30, 0},
	} {
		if got := insulet.Basal(tc.rate); math.Abs(got-tc.wantBasal) > tc.tol {
			t.Errorf("%s: Basal(%v) = %v, want %v", tc.name, tc.rate, got, tc.wantBasal)
		}
		if got := insulet.Bolus(tc.rate); math.Abs(got-tc.wantBolus) > tc.tol {
			t.Errorf("%s: Bolus(%v) = %v, want %v", tc.name, tc.rate, got, tc.wantBolus)
		}
	}
	if got := insulet.Deliver(Action{Basal: 0.02112267499992533, Bolus: 4.5}); math.Abs(got-4.521125) > 1e-12 {
		t.Errorf("Deliver = %v, want 4.521125 (adult#001 at 07:01, bb_24h_adult_001.csv)", got)
	}
	cozmo, err := Pump("Cozmo")
	if err != nil {
		t.Fatal(err)
	}
	if got := cozmo.Bolus(100); got != 75 {
		t.Errorf("Cozmo bolus limit: %v, want 75", got)
	}
	if got := cozmo.Basal(100); got != 35 {
		t.Errorf("Cozmo basal limit: %v, want 35", got)
	}
}

// noiseSeq is a NoiseSource returning 1, 2, 3, … and counting calls.
type noiseSeq struct{ n int }

func (s *noiseSeq) Next() float64 { s.n++; return float64(s.n) }

// TestCGM checks MODEL.md §5: readings at multiples of the sample time,
// held in between (0 before the first), clipped, one noise draw per reading.
func TestCGM(t *testing.T) {
	dexcom, err := Sensor("Dexcom")
	if err != nil {
		t.Fatal(err)
	}
	noise := &noiseSeq{}
	s, err := NewCGM(dexcom, noise)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct{ t, bg, want float64 }{
		{1, 100, 0}, // nothing read yet
		{3, 100, 101},
		{4, 200, 101},
		{5, 200, 101},
		{6, 30, 39}, // 30 + 2 clipped to 39
		{9, 700, 600},
		{10, 50, 600},
		{12, 100, 104},
	}
	for _, st := range steps {
		if got := s.Measure(st.t, st.bg); got != st.want {
			t.Errorf("Measure(%v, %v) = %v, want %v", st.t, st.bg, got, st.want)
		}
	}
	if noise.n != 4 {
		t.Errorf("%d noise draws, want one per reading (4)", noise.n)
	}
	quiet, err := NewCGM(dexcom, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := quiet.Measure(0, 123.4); got != 123.4 {
		t.Errorf("noiseless reading %v, want 123.4", got)
	}
	for _, tc := range []struct {
		name string
		f    func(p *SensorParams)
		want string
	}{
		{"fractional sample time", func(p *SensorParams) { p.SampleTime = 2.5 }, "SampleTime"},
		{"zero sample time", func(p *SensorParams) { p.SampleTime = 0 }, "SampleTime"},
		{"inverted range", func(p *SensorParams) { p.Min, p.Max = 600, 39 }, "Min"},
	} {
		p := dexcom
		tc.f(&p)
		if _, err := NewCGM(p, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: NewCGM error %v, want one naming %s", tc.name, err, tc.want)
		}
	}
}

// TestBasalBolus checks the boluses of the reference runs (refdata/README.md
// "Key numbers"): bolus = meal·SampleTime/CR + [CGM > 150]·(CGM − 140)/CF U,
// as a rate over one sample.
func TestBasalBolus(t *testing.T) {
	adult, err := Patient("adult#001")
	if err != nil {
		t.Fatal(err)
	}
	teen, err := Patient("adolescent#001")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		p         Params
		opt       BasalBolusOptions
		obs       Observation
		wantBolus float64 // U/min
	}{
		{"no meal", adult, BasalBolusOptions{}, Observation{CGM: 250, SampleTime: 1}, 0},
		{"adolescent#001 07:01", teen, BasalBolusOptions{}, Observation{CGM: 149.02, Meal: 45, SampleTime: 1}, 3.75},
		{"adult#001 07:01", adult, BasalBolusOptions{}, Observation{CGM: 138.56, Meal: 45, SampleTime: 1}, 4.5},
		{"adult#001 12:01 with correction", adult, BasalBolusOptions{}, Observation{CGM: 153.2, Meal: 70, SampleTime: 1},
			70.0/10 + (153.2-140)/8.77310657487},
		{"3-min sample", adult, BasalBolusOptions{}, Observation{CGM: 100, Meal: 15, SampleTime: 3}, 45.0 / 10 / 3},
		{"CGM at 150: no correction", adult, BasalBolusOptions{}, Observation{CGM: 150, Meal: 10, SampleTime: 1}, 1},
		{"CR scaled", adult, BasalBolusOptions{CRScale: 2}, Observation{CGM: 100, Meal: 40, SampleTime: 1}, 2},
		{"CF scaled and target", adult, BasalBolusOptions{CFScale: 0.5, Target: 120}, Observation{CGM: 160, Meal: 10, SampleTime: 1},
			1 + 40/(0.5*8.77310657487)},
	} {
		c, err := NewBasalBolus(tc.p, tc.opt)
		if err != nil {
			t.Fatal(err)
		}
		a := c.Act(tc.obs)
		if math.Abs(a.Bolus-tc.wantBolus) > 1e-12 {
			t.Errorf("%s: bolus %v U/min, want %v", tc.name, a.Bolus, tc.wantBolus)
		}
		if a.Basal != tc.p.BasalRate() {
			t.Errorf("%s: basal %v, want %v", tc.name, a.Basal, tc.p.BasalRate())
		}
	}
	if c, err := NewBasalBolus(adult, BasalBolusOptions{BasalScale: 1.2}); err != nil || c.Act(Observation{SampleTime: 1}).Basal != 1.2*adult.BasalRate() {
		t.Errorf("BasalScale 1.2: %v", err)
	}
	for _, opt := range []BasalBolusOptions{{CRScale: -1}, {Target: math.NaN()}, {CFScale: math.Inf(1)}} {
		if _, err := NewBasalBolus(adult, opt); err == nil {
			t.Errorf("NewBasalBolus(%+v): no error", opt)
		}
	}
}

// TestRisk checks Risk against the LBGI, HBGI and Risk columns that
// simglucose computed for the BG of every row of the reference runs, and the
// limits of the formula. The files round BG to 10 significant digits (≤ 1e-7
// mg/dL here) and |d risk/d BG| < 1 per mg/dL for BG in 40-600 mg/dL, so
// risks computed from the stored BG agree to 1e-7.
func TestRisk(t *testing.T) {
	for _, file := range []string{"bb_24h_adult_001.csv", "bb_24h_adolescent_001.csv"} {
		ref, err := readRef(file)
		if err != nil {
			t.Fatal(err)
		}
		cols := make([][]float64, 4)
		for i, name := range []string{"BG", "LBGI", "HBGI", "Risk"} {
			if cols[i], err = ref.column(name); err != nil {
				t.Fatal(err)
			}
		}
		for i, bg := range cols[0] {
			l, h, r := Risk(bg)
			for j, got := range []float64{l, h, r} {
				want := cols[j+1][i]
				if math.Abs(got-want) > 1e-7 {
					t.Errorf("%s row %d: Risk(%v)[%d] = %v, want %v", file, i, bg, j, got, want)
				}
			}
		}
	}
	for _, tc := range []struct{ bg, l, h, r float64 }{
		{20, 100, 0, 100}, {5, 100, 0, 100}, {600, 0, 100, 100}, {1000, 0, 100, 100},
	} {
		l, h, r := Risk(tc.bg)
		if l != tc.l || h != tc.h || r != tc.r {
			t.Errorf("Risk(%v) = %v, %v, %v, want %v, %v, %v", tc.bg, l, h, r, tc.l, tc.h, tc.r)
		}
	}
	// The scale is symmetric around f = 0, ln(bg)^1.084 = 5.381, bg ≈ 112.5 mg/dL.
	bg0 := math.Exp(math.Pow(5.381, 1/1.084))
	if l, h, r := Risk(bg0); r > 1e-20 || l+h != r {
		t.Errorf("Risk(%v) = %v, %v, %v, want 0", bg0, l, h, r)
	}
	if l, h, _ := Risk(70); l <= 0 || h != 0 {
		t.Errorf("Risk(70): LBGI %v, HBGI %v, want LBGI > 0, HBGI 0", l, h)
	}
	if l, h, _ := Risk(250); h <= 0 || l != 0 {
		t.Errorf("Risk(250): LBGI %v, HBGI %v, want LBGI 0, HBGI > 0", l, h)
	}
}
