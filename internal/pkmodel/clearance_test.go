package pkmodel

import (
	"context"
	"math"
	"strings"
	"testing"
)

// metabolized is minimal with a CYP2D6 pathway (fm 0.6) and a direct Emax
// PD model declared in the model file.
const metabolized = minimal + `metabolism: {CYP2D6: {fm: 0.6}}
pd: {model: emax, e0: 5, emax: 100, ec50: 2 mg/L}
`

func readMetabolized(string) ([]byte, error) { return []byte(metabolized), nil }

// TestModelMetabolismPrecedence checks that a scenario gets fm and PD from
// the model file and that its own pgx, fm and pd override them. Expected
// factors are CL/CL_ref = 1 − fm·(1 − a): CYP2D6 *1/*4 is AS 1 of 2 (CPIC),
// a = 0.5; an inhibitor with [I]/Ki = 4 gives a = 1/5.
func TestModelMetabolismPrecedence(t *testing.T) {
	for _, c := range []struct {
		name, extra string
		factor      float64
		pdE0        float64
	}{
		{"model fm and pd", "genotype: {CYP2D6: \"*1/*4\"}\n", 1 - 0.6*0.5, 5},
		{"scenario pgx wins", "genotype: {CYP2D6: \"*1/*4\"}\npgx: {CYP2D6: {fm: 0.3}}\n", 1 - 0.3*0.5, 5},
		{"inhibitor takes the model's fm", "inhibitor: {conc: 2 uM, ki: 0.5 uM, enzyme: CYP2D6}\n", 1 - 0.6*0.8, 5},
		{"inhibitor fm wins", "inhibitor: {conc: 2 uM, ki: 0.5 uM, enzyme: CYP2D6, fm: 0.2}\n", 1 - 0.2*0.8, 5},
		{"phenoconversion", "genotype: {CYP2D6: \"*1/*4\"}\ninhibitor: {conc: 2 uM, ki: 0.5 uM, enzyme: CYP2D6}\n", 1 - 0.6*(1-0.5*0.2), 5},
		{"scenario pd wins", "pd: {model: emax, e0: 1, emax: 10, ec50: 1 mg/L}\n", 1, 1},
	} {
		s, err := ParseSim("s.yaml", []byte(simFile+c.extra), readMetabolized)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		_, f, err := s.ClearanceFactors()
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(f-c.factor) > 1e-15 {
			t.Errorf("%s: CL factor %.17g, want %.17g", c.name, f, c.factor)
		}
		if s.PD == nil || s.PD.Emax.E0 != c.pdE0 {
			t.Errorf("%s: PD %+v, want E0 %g", c.name, s.PD, c.pdE0)
		}
	}
}

func TestModelMetabolismErrors(t *testing.T) {
	for _, c := range []struct{ name, extra, want string }{
		{"fm sum", "metabolism: {CYP2D6: {fm: 0.6}, CYP2C9: {fm: 0.5}}\n", "m.yaml:22: metabolism: the genes' fm sum to 1.1"},
		{"unknown gene", "metabolism: {CYP3A4: {fm: 0.6}}\n", "m.yaml:22: metabolism.CYP3A4"},
		{"bad pd", "pd: {model: emax, e0: 0}\n", "m.yaml:22: pd.emax: missing"},
	} {
		_, err := ParseModel("m.yaml", []byte(minimal+c.extra))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

// TestTrialGenotype checks sampled diplotypes: the share of *4/*4 (AS 0)
// among 2000 subjects is 0.3 within 4 binomial SDs, every subject's CL
// factor is 1 − 0.6·(1 − AS/2) of its own diplotype, its CL is the typical
// CL for its weight times that factor (no IIV), and the direct Emax effect
// is the Emax of its concentrations.
func TestTrialGenotype(t *testing.T) {
	src := `model: m.yaml
subjects: 2000
seed: 3
patient: {weight: {min: 50 kg, max: 90 kg}}
doses: [{time: 0 h, amount: 100 mg, every: 12 h, doses: 2}]
outputs: {every: 1 h, until: 24 h}
iiv: false
genotype: {CYP2D6: {"*1/*1": 0.7, "*4/*4": 0.3}}
`
	tr, err := ParseTrial("t.yaml", []byte(src), readMetabolized)
	if err != nil {
		t.Fatal(err)
	}
	r, err := tr.Run(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	pm := 0
	for i, g := range r.Genotypes {
		want := 1.0
		if g[0] == "*4/*4" {
			pm++
			want = 0.4
		} else if g[0] != "*1/*1" {
			t.Fatalf("subject %d: diplotype %s", i+1, g[0])
		}
		if r.CLFactor[i] != want {
			t.Errorf("subject %d (%s): CL factor %g, want %g", i+1, g[0], r.CLFactor[i], want)
		}
		cl := 5 * math.Pow(r.Covariates[i][0]/70, 0.75) * want
		if math.Abs(r.Params[i].CL-cl) > 1e-13*cl {
			t.Errorf("subject %d: CL %g, want %g", i+1, r.Params[i].CL, cl)
		}
		for k, c := range r.Conc[i] {
			if e := 5 + 100*c/(2+c); math.Abs(r.Effect[i][k]-e) > 1e-12*e {
				t.Fatalf("subject %d, %g h: effect %g, want %g", i+1, r.Times[k], r.Effect[i][k], e)
			}
		}
	}
	if share := float64(pm) / 2000; math.Abs(share-0.3) > 4*math.Sqrt(0.3*0.7/2000) {
		t.Errorf("share of *4/*4 %g, want 0.3", share)
	}
}

func TestTrialGenotypeErrors(t *testing.T) {
	const base = "model: m.yaml\nsubjects: 10\npatient: {weight: 70 kg}\ndoses: [{time: 0 h, amount: 100 mg}]\noutputs: {every: 1 h, until: 24 h}\n"
	for _, c := range []struct{ name, extra, want string }{
		{"sum", "genotype: {CYP2D6: {\"*1/*1\": 0.7, \"*4/*4\": 0.2}}\n", "t.yaml:6: genotype.CYP2D6: the diplotype frequencies must sum to 1"},
		{"allele", "genotype: {CYP2D6: {\"*1/*1\": 0.7, \"*1/*999\": 0.3}}\n", "t.yaml:6: genotype.CYP2D6.*1/*999"},
		{"probability", "genotype: {CYP2D6: {\"*1/*1\": 1.5}}\n", "genotype.CYP2D6.*1/*1"},
	} {
		_, err := ParseTrial("t.yaml", []byte(base+c.extra), readMetabolized)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

// TestSimCovariateChanges checks a scenario whose weight changes from 70
// to 50 kg at 18 h against the 1-cmt bolus solution restarted by hand:
// CL = 5·(w/70)^0.75, V = 50·exp(0.01·(w − 70)); the amount decays with
// k = CL/V of the weight in effect and C = amount/V.
func TestSimCovariateChanges(t *testing.T) {
	s, err := ParseSim("s.yaml", []byte(simFile+"covariates: [{time: 18 h, weight: 50 kg}]\n"), readMinimal)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := s.Records()
	if err != nil {
		t.Fatal(err)
	}
	times := []float64{6, 12, 18, 20, 24, 30, 48}
	p, err := s.Simulate(nil, recs, times)
	if err != nil {
		t.Fatal(err)
	}
	v1, v2 := 50.0, 50*math.Exp(-0.2)
	k1, k2 := 5/v1, 5*math.Pow(50.0/70, 0.75)/v2
	a12 := 100 * math.Exp(-k1*12)
	a18 := (a12 + 100) * math.Exp(-k1*6)
	a24 := a18 * math.Exp(-k2*6)
	want := []float64{
		100 * math.Exp(-k1*6) / v1, a12 / v1, a18 / v1, // 18 h is a left limit: V still 50 L
		a18 * math.Exp(-k2*2) / v2, a24 / v2,
		(a24 + 100) * math.Exp(-k2*6) / v2, (a24 + 100) * math.Exp(-k2*24) / v2,
	}
	for i, tt := range times {
		if math.Abs(p.Conc[i]-want[i]) > 1e-13*want[i] {
			t.Errorf("t = %g h: C %.15g, want %.15g", tt, p.Conc[i], want[i])
		}
	}
	for _, c := range []struct{ name, extra, want string }{
		{"unknown covariate", "covariates: [{time: 18 h, crcl: 50 mL/min}]\n", "s.yaml:5: covariates[0].crcl"},
		{"no value", "covariates: [{time: 18 h}]\n", "s.yaml:5: covariates[0]: gives no covariate"},
		{"order", "covariates: [{time: 18 h, weight: 60 kg}, {time: 10 h, weight: 50 kg}]\n", "covariates[1].time"},
		{"unit", "covariates: [{time: 18 h, weight: 50 L}]\n", "covariates[0].weight: wrong unit"},
	} {
		_, err := ParseSim("s.yaml", []byte(simFile+c.extra), readMinimal)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}
