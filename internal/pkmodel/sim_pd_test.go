package pkmodel

import (
	"math"
	"strings"
	"testing"

	"github.com/doppelhealth/doppel/model/pkpd"
)

// TestClearanceFactors checks the applied clearance factor against the
// pkpd functions it documents: GeneClearance.Factor of the CPIC call,
// 1/ReversibleAUCR, and RelativeClearance(fm, AS/AS_ref·1/(1+[I]/Ki)) for
// an inhibitor of the genotyped enzyme; molar and mass units give the same
// [I]/Ki. Tolerance 1e-15 relative: the same float operations.
func TestClearanceFactors(t *testing.T) {
	im, err := pkpd.CallDiplotype(pkpd.CYP2D6, "*1/*4")
	if err != nil {
		t.Fatal(err)
	}
	gene, err := pkpd.GeneClearance{Fm: 0.6}.Factor(im)
	if err != nil {
		t.Fatal(err)
	}
	aucr, err := pkpd.ReversibleAUCR(0.6, 2, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	both, err := pkpd.RelativeClearance(0.6, im.ActivityScore/2/(1+2/0.5))
	if err != nil {
		t.Fatal(err)
	}
	aucr3, err := pkpd.ReversibleAUCR(0.3, 2, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	pm, _ := pkpd.CallDiplotype(pkpd.CYP2C9, "*3/*3")
	gene9, err := pkpd.GeneClearance{Fm: 0.3}.Factor(pm)
	if err != nil {
		t.Fatal(err)
	}
	const pgx = "genotype: {CYP2D6: \"*1/*4\"}\npgx: {CYP2D6: {fm: 0.6}}\n"
	for _, c := range []struct {
		name, extra string
		want        float64
		n           int
	}{
		{"none", "", 1, 0},
		{"gene", pgx, gene, 1},
		{"inhibitor", "inhibitor: {conc: 2 uM, ki: 0.5 uM, fm: 0.6}\n", 1 / aucr, 1},
		{"inhibitor nM", "inhibitor: {conc: 2000 nM, ki: 0.5 uM, fm: 0.6}\n", 1 / aucr, 1},
		{"inhibitor mass", "inhibitor: {conc: 2 mg/L, ki: 500 ug/L, fm: 0.6}\n", 1 / aucr, 1},
		{"phenoconversion", pgx + "inhibitor: {conc: 2 uM, ki: 0.5 uM, enzyme: CYP2D6}\n", both, 1},
		{"other enzyme", pgx + "inhibitor: {conc: 2 uM, ki: 0.5 uM, fm: 0.3, enzyme: CYP2C9}\n", 1 - (1 - gene) - (1 - 1/aucr3), 2},
		{"two genes", "genotype: {CYP2D6: \"*1/*4\", CYP2C9: \"*3/*3\"}\npgx: {CYP2D6: {fm: 0.6}, CYP2C9: {fm: 0.3}}\n", 1 - (1 - gene) - (1 - gene9), 2},
	} {
		s, err := ParseSim("s.yaml", []byte(simFile+c.extra), readMinimal)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		fs, got, err := s.ClearanceFactors()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(fs) != c.n || math.Abs(got-c.want) > 1e-15*c.want {
			t.Errorf("%s: factor %.17g from %d sources %v, want %.17g from %d", c.name, got, len(fs), fs, c.want, c.n)
		}
		recs, err := s.Records()
		if err != nil {
			t.Fatal(err)
		}
		prof, err := s.Simulate(nil, recs, []float64{0})
		if err != nil {
			t.Fatal(err)
		}
		if p := prof.Params; math.Abs(p.CL-5*c.want) > 1e-14*5*c.want {
			t.Errorf("%s: CL %g, want 5 L/h × %g", c.name, p.CL, c.want)
		}
	}
	// Spot values: *1/*4 is AS 1 (CPIC), so 0.6·0.5 + 0.4 = 0.7;
	// [I]/Ki = 4 gives 0.6/5 + 0.4 = 0.52; both 0.6·0.5/5 + 0.4 = 0.46;
	// CYP2C9 *3/*3 (AS 0, CPIC) with fm 0.3 gives 0.7.
	for _, c := range []struct{ got, want float64 }{{gene, 0.7}, {1 / aucr, 0.52}, {both, 0.46}, {gene9, 0.7}} {
		if math.Abs(c.got-c.want) > 1e-15 {
			t.Errorf("factor %.17g, want %g", c.got, c.want)
		}
	}
}

// TestPGxAUC checks that with a linear model the AUC from 0 to 20000 h
// (exp(−k·t) < 1e-86 even for the slowest CL, k = 0.01/h) scales by exactly
// 1/factor: AUC = F·Dose/CL. Genotype and an inhibitor of another pathway
// act together. Tolerance 1e-12 relative (closed forms).
func TestPGxAUC(t *testing.T) {
	ref, err := ParseSim("s.yaml", []byte(simFile), readMinimal)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseSim("s.yaml", []byte(simFile+"genotype: {CYP2D6: \"*4/*4\"}\npgx: {CYP2D6: {fm: 0.8}}\ninhibitor: {conc: 1 uM, ki: 1 uM, fm: 0.2}\n"), readMinimal)
	if err != nil {
		t.Fatal(err)
	}
	_, f, err := s.ClearanceFactors()
	if err != nil {
		t.Fatal(err)
	}
	// PM (AS 0) loses 0.8 of CL; fm 0.2 at [I]/Ki = 1 loses 0.1.
	if want := 0.1; math.Abs(f-want) > 1e-15 {
		t.Fatalf("factor %g, want %g", f, want)
	}
	recs, _ := s.Records()
	auc := func(s *Sim) float64 {
		p, err := s.Simulate(nil, recs, s.Times())
		if err != nil {
			t.Fatal(err)
		}
		a, err := s.Model.PK.AUC(p.Params, recs, 0, 20000)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	a0, a1 := auc(ref), auc(s)
	if math.Abs(a1/a0-1/f) > 1e-12/f {
		t.Errorf("AUC ratio %.15g, want 1/factor %.15g", a1/a0, 1/f)
	}
	if want := 300.0 / 5; math.Abs(a0-want) > 1e-12*want {
		t.Errorf("reference AUC %g, want 3·100 mg / 5 L/h", a0)
	}
}

// TestPDEmax checks that a direct Emax effect is pkpd.Emax.Effect of the
// concentration column, bit for bit.
func TestPDEmax(t *testing.T) {
	_, p, r := runPD(t, simFile+"pd: {model: emax, e0: 5, emax: -4, ec50: 1.5 mg/L, hill: 2}\n", readMinimal)
	if r.Ce != nil {
		t.Errorf("Ce without an effect compartment")
	}
	m := pkpd.Emax{E0: 5, Emax: -4, EC50: 1.5, Hill: 2}
	for i, c := range p.Conc {
		if r.Effect[i] != m.Effect(c) {
			t.Errorf("t = %g h: effect %g, want Emax.Effect(%g) = %g", p.Times[i], r.Effect[i], c, m.Effect(c))
		}
	}
	em := EffectMetrics(p.Times, r.Effect)
	if em.Max != 5 || em.TMax != 0 {
		t.Errorf("max effect %g at %g h, want the baseline 5 at 0 h", em.Max, em.TMax)
	}
}

// TestPDEffectCompartment checks Ce of a 1-compartment IV bolus regimen
// against the analytic solution of dCe/dt = ke0·(Cp − Ce) with
// Cp = D/V·exp(−k·t) per dose (Sheiner et al. 1979):
// Ce = D/V·ke0/(ke0 − k)·(exp(−k·t) − exp(−ke0·t)). The ODE runs at
// RelTol 1e-6 piecewise between doses; tolerance 1e-5 relative to
// max Ce. Integrating across the doses in one piece would miss the jumps.
func TestPDEffectCompartment(t *testing.T) {
	_, p, r := runPD(t, simFile+"pd: {model: emax, e0: 0, emax: 1, ec50: 1 mg/L, effect_compartment: {ke0: 0.7 1/h}}\n", readMinimal)
	const d, v, k, ke0 = 100.0, 50.0, 0.1, 0.7
	ce := func(t float64) float64 {
		c := 0.0
		for _, td := range []float64{0, 12, 24} {
			if t > td {
				c += d / v * ke0 / (ke0 - k) * (math.Exp(-k*(t-td)) - math.Exp(-ke0*(t-td)))
			}
		}
		return c
	}
	for i, ti := range p.Times {
		if want := ce(ti); math.Abs(r.Ce[i]-want) > 1e-5*2 {
			t.Errorf("t = %g h: Ce %.9g, want %.9g", ti, r.Ce[i], want)
		}
		if r.Effect[i] != r.Ce[i]/(1+r.Ce[i]) {
			t.Errorf("t = %g h: effect %g is not Emax of Ce %g", ti, r.Effect[i], r.Ce[i])
		}
	}
}

// TestPDIDRBaseline checks that an indirect response without drug (the
// only dose after the run) stays at kin/kout, for all four types.
func TestPDIDRBaseline(t *testing.T) {
	late := strings.Replace(simFile, "{time: 0 h, amount: 100 mg, every: 12 h, doses: 3}", "{time: 100 h, amount: 100 mg}", 1)
	for _, typ := range []string{"I: imax: 0.9, ic50: 1 mg/L", "II: imax: 0.9, ic50: 1 mg/L", "III: smax: 2, sc50: 1 mg/L", "IV: smax: 2, sc50: 1 mg/L"} {
		ty, rest, _ := strings.Cut(typ, ": ")
		_, p, r := runPD(t, late+"pd: {model: idr, type: "+ty+", kin: 12, kout: 0.3 1/h, "+rest+"}\n", readMinimal)
		for i, e := range r.Effect {
			if math.Abs(e-40) > 1e-12*40 {
				t.Errorf("type %s, t = %g h: R %g, want kin/kout = 40", ty, p.Times[i], e)
				break
			}
		}
	}
	// With drug, type I lowers R below baseline.
	_, p, r := runPD(t, simFile+"pd: {model: idr, type: I, kin: 12, kout: 0.3 1/h, imax: 0.9, ic50: 1 mg/L}\n", readMinimal)
	if em := EffectMetrics(p.Times, r.Effect); !(em.Min < 30) || em.Max != 40 {
		t.Errorf("type I with drug: R from %g to %g, want a fall below 30 from 40", em.Min, em.Max)
	}
}

// TestSimPDErrors checks that bad genotype, inhibitor and pd fields name
// file:line and the field.
func TestSimPDErrors(t *testing.T) {
	const pgx = "genotype: {CYP2D6: \"*1/*4\"}\npgx: {CYP2D6: {fm: 0.6}}\n"
	for _, c := range []struct{ name, extra, want string }{
		{"unknown gene", "genotype: {CYP9Z9: \"*1/*1\"}\npgx: {CYP2D6: {fm: 0.6}}\n", "s.yaml:5: genotype.CYP9Z9"},
		{"unknown allele", "genotype: {CYP2D6: \"*1/*999\"}\npgx: {CYP2D6: {fm: 0.6}}\n", "s.yaml:5: genotype.CYP2D6"},
		{"fm above 1", "genotype: {CYP2D6: \"*1/*4\"}\npgx: {CYP2D6: {fm: 1.2}}\n", "s.yaml:6: pgx.CYP2D6.fm"},
		{"fm below 0", "genotype: {CYP2D6: \"*1/*4\"}\npgx: {CYP2D6: {fm: -0.1}}\n", "s.yaml:6: pgx.CYP2D6.fm"},
		{"missing fm", "genotype: {CYP2D6: \"*1/*4\"}\npgx: {CYP2D6: {}}\n", "pgx.CYP2D6"},
		{"pgx without genotype", "pgx: {CYP2D6: {fm: 0.6}}\n", "s.yaml:5: pgx"},
		{"genotype without pgx", "genotype: {CYP2D6: \"*1/*4\"}\n", "s.yaml:5: genotype"},
		{"CYP2C19 has no AS", "genotype: {CYP2C19: \"*1/*2\"}\npgx: {CYP2C19: {fm: 0.6}}\n", "s.yaml:5: genotype.CYP2C19"},
		{"inhibitor fm", "inhibitor: {conc: 2 uM, ki: 0.5 uM, fm: 2}\n", "s.yaml:5: inhibitor.fm"},
		{"inhibitor without fm", "inhibitor: {conc: 2 uM, ki: 0.5 uM}\n", "s.yaml:5: inhibitor.fm: missing"},
		{"inhibitor units", "inhibitor: {conc: 2 uM, ki: 0.5 mg/L, fm: 0.5}\n", "s.yaml:5: inhibitor.ki"},
		{"inhibitor ki 0", "inhibitor: {conc: 2 uM, ki: 0 uM, fm: 0.5}\n", "inhibitor.ki: must be > 0"},
		{"fm sum", "genotype: {CYP2D6: \"*1/*4\", CYP2C9: \"*1/*3\"}\npgx: {CYP2D6: {fm: 0.6}, CYP2C9: {fm: 0.5}}\n", "s.yaml:6: pgx: the genes' fm sum to 1.1"},
		{"fm sum with inhibitor", pgx + "inhibitor: {conc: 2 uM, ki: 0.5 uM, fm: 0.5}\n", "s.yaml:7: inhibitor.fm"},
		{"inhibitor fm differs", pgx + "inhibitor: {conc: 2 uM, ki: 0.5 uM, fm: 0.5, enzyme: CYP2D6}\n", "s.yaml:7: inhibitor.fm"},
		{"unknown PD model", "pd: {model: hill, e0: 0}\n", "s.yaml:5: pd.model"},
		{"missing ec50", "pd: {model: emax, e0: 0, emax: 1}\n", "s.yaml:5: pd.ec50: missing"},
		{"ec50 unit", "pd: {model: emax, e0: 0, emax: 1, ec50: 2 h}\n", "s.yaml:5: pd.ec50"},
		{"bare ec50", "pd: {model: emax, e0: 0, emax: 1, ec50: 2}\n", "s.yaml:5: pd.ec50"},
		{"ke0 missing", "pd: {model: emax, e0: 0, emax: 1, ec50: 2 mg/L, effect_compartment: {}}\n", "pd.effect_compartment.ke0: missing"},
		{"emax field on idr", "pd: {model: idr, type: I, kin: 1, kout: 1 1/h, imax: 0.5, ic50: 1 mg/L, ec50: 1 mg/L}\n", "s.yaml:5: pd.ec50"},
		{"idr type", "pd: {model: idr, type: V, kin: 1, kout: 1 1/h}\n", "s.yaml:5: pd.type"},
		{"idr smax on type I", "pd: {model: idr, type: I, kin: 1, kout: 1 1/h, smax: 1, imax: 0.5, ic50: 1 mg/L}\n", "s.yaml:5: pd.smax"},
		{"idr imax > 1", "pd: {model: idr, type: II, kin: 1, kout: 1 1/h, imax: 1.5, ic50: 1 mg/L}\n", "pd.imax"},
	} {
		_, err := ParseSim("s.yaml", []byte(simFile+c.extra), readMinimal)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

// runPD parses the PK scenario src (model files read by read), simulates
// it at its output times and computes its PD effect.
func runPD(t *testing.T, src string, read func(string) ([]byte, error)) (*Sim, *Profile, *PDResult) {
	t.Helper()
	s, err := ParseSim("s.yaml", []byte(src), read)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := s.Records()
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Simulate(nil, recs, s.Times())
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Effect(p)
	if err != nil {
		t.Fatal(err)
	}
	return s, p, r
}
