package pkmodel

import (
	"math"
	"strings"
	"testing"
)

// readMinimal serves the model file "m.yaml" (minimal) to the parsers.
func readMinimal(name string) ([]byte, error) { return []byte(minimal), nil }

// simFile is a PK scenario on minimal: 70 kg gives CL 5 L/h, V 50 L
// (k = 0.1 /h); three boluses of 100 mg every 12 h.
const simFile = `model: m.yaml
patient: {weight: 70 kg}
doses: [{time: 0 h, amount: 100 mg, every: 12 h, doses: 3}]
outputs: {every: 1 h, until: 48 h}
`

// TestSimAnalytic checks the concentration, the amount, Cmax, the trough
// before the last dose and AUC0-48 of a 1-compartment IV bolus regimen
// against the analytic solution C(t) = Σ D/V·exp(−k(t − t_d)) (Gibaldi &
// Perrier 1982, ch. 1): AUC over [0, T] of one dose at t_d is
// D/CL·(1 − exp(−k(T − t_d))). Tolerance 1e-12 relative: both sides are
// closed forms evaluated in double precision.
func TestSimAnalytic(t *testing.T) {
	s, err := ParseSim("s.yaml", []byte(simFile), readMinimal)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := s.Records()
	if err != nil {
		t.Fatal(err)
	}
	times := s.Times()
	if len(times) != 49 || times[48] != 48 {
		t.Fatalf("times: %d to %g, want 49 to 48 h", len(times), times[len(times)-1])
	}
	p, err := Simulate(s.Model, s.Covariates, s.Eta, recs, times)
	if err != nil {
		t.Fatal(err)
	}
	const d, v, cl, k = 100.0, 50.0, 5.0, 0.1
	conc := func(t float64, leftLimit bool) float64 {
		c := 0.0
		for _, td := range []float64{0, 12, 24} {
			if t > td || (t == td && !leftLimit) {
				c += d / v * math.Exp(-k*(t-td))
			}
		}
		return c
	}
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-12*math.Max(math.Abs(want), 1e-3) {
			t.Errorf("%s = %.15g, want %.15g", name, got, want)
		}
	}
	for i, ti := range times {
		near("C", p.Conc[i], conc(ti, true))
		near("amount", p.Amounts[i*p.NumCmt], v*conc(ti, true))
	}
	m, err := s.SimMetrics(p)
	if err != nil {
		t.Fatal(err)
	}
	// Cmax is off the grid: the right limit just after the dose at 24 h
	// (evaluated 1e-9·24 h after it, so k·2.4e-8 = 2.4e-9 relative low).
	if c := conc(24, false); math.Abs(m.Cmax-c) > 3e-9*c {
		t.Errorf("Cmax = %.15g, want %.15g", m.Cmax, c)
	}
	if m.Tmax != 24 {
		t.Errorf("tmax = %g, want 24", m.Tmax)
	}
	near("Cmin (trough before the dose at 24 h)", m.Cmin, conc(24, true))
	auc := 0.0
	for _, td := range []float64{0, 12, 24} {
		auc += d / cl * (1 - math.Exp(-k*(48-td)))
	}
	if math.Abs(m.AUC-auc) > 1e-9*auc {
		t.Errorf("AUC = %.12g, want %.12g", m.AUC, auc)
	}
}

// TestSimEta checks that eta scales the parameters: CL·e^0.3, V·e^−0.2.
func TestSimEta(t *testing.T) {
	s, err := ParseSim("s.yaml", []byte(simFile+"eta: {CL: 0.3, V: -0.2}\n"), readMinimal)
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := s.Records()
	p, err := Simulate(s.Model, s.Covariates, s.Eta, recs, s.Times())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Params.CL, 5*math.Exp(0.3); math.Abs(got-want) > 1e-12*want {
		t.Errorf("CL = %g, want %g", got, want)
	}
	if got, want := p.Params.V1, 50*math.Exp(-0.2); math.Abs(got-want) > 1e-12*want {
		t.Errorf("V = %g, want %g", got, want)
	}
}

func TestSimGrid(t *testing.T) {
	for _, c := range []struct {
		every, until float64
		n            int
	}{{0.5, 72, 145}, {5, 12, 4}, {0.1, 1, 11}, {1, 0.5, 2}} {
		g := grid(c.every, c.until)
		if len(g) != c.n || g[len(g)-1] != c.until || g[0] != 0 {
			t.Errorf("grid(%g, %g) = %v, want %d times from 0 to %g", c.every, c.until, g, c.n, c.until)
		}
	}
}

// TestSimErrors checks that bad scenarios name file:line and the field.
func TestSimErrors(t *testing.T) {
	for _, c := range []struct{ name, file, want string }{
		{"unknown field", simFile + "foo: 1\n", "s.yaml:5: foo"},
		{"missing outputs", strings.Replace(simFile, "outputs: {every: 1 h, until: 48 h}\n", "", 1), "outputs"},
		{"bare number", strings.Replace(simFile, "every: 1 h, until", "every: 1, until", 1), "s.yaml:4: outputs.every"},
		{"wrong unit", strings.Replace(simFile, "until: 48 h", "until: 48 mg", 1), "s.yaml:4: outputs.until"},
		{"zero step", strings.Replace(simFile, "every: 1 h, until", "every: 0 h, until", 1), "outputs.every: must be > 0"},
		{"too many outputs", strings.Replace(simFile, "every: 1 h, until", "every: 0.00001 h, until", 1), "outputs.until"},
		{"unknown eta", simFile + "eta: {Q: 0.1}\n", "s.yaml:5: eta.Q"},
		{"eta too large", simFile + "eta: {CL: 9}\n", "eta.CL: must be <= 5"},
		{"bad dose", strings.Replace(simFile, "amount: 100 mg", "amount: -1 mg", 1), "s.yaml:3: doses[0].amount"},
		{"unknown model", strings.Replace(simFile, "m.yaml", "nope", 1), "s.yaml:1: model"},
		{"missing covariate", strings.Replace(simFile, "{weight: 70 kg}", "{}", 1), "patient: missing covariate weight"},
	} {
		_, err := ParseSim("s.yaml", []byte(c.file), readMinimal)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}
