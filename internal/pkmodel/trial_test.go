package pkmodel

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// trialFile is a population on minimal with a sampled weight.
const trialFile = `model: m.yaml
subjects: 21
seed: 7
patient: {weight: {mean: 70 kg, sd: 15 kg, min: 45 kg, max: 110 kg}}
doses: [{time: 0 h, amount: 100 mg, infusion: 1 h, every: 12 h, doses: 3}]
outputs: {every: 2 h, until: 36 h}
exposure: {from: 24 h, to: 36 h}
residual: true
`

func parseTrial(t *testing.T, src string) *Trial {
	t.Helper()
	tr, err := ParseTrial("t.yaml", []byte(src), readMinimal)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestTrialWorkers checks that the population does not depend on the
// number of workers, and does depend on the seed.
func TestTrialWorkers(t *testing.T) {
	tr := parseTrial(t, trialFile)
	r1, err := tr.Run(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	r4, err := tr.Run(context.Background(), 4)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(r1, r4); d != "" {
		t.Errorf("1 vs 4 workers (-1 +4):\n%s", d)
	}
	tr.Seed = 8
	r8, err := tr.Run(context.Background(), 4)
	if err != nil {
		t.Fatal(err)
	}
	if cmp.Equal(r1.Eta, r8.Eta) {
		t.Error("seeds 7 and 8 gave the same random effects")
	}
	for i, c := range r1.Covariates {
		if w := c[0]; w < 45 || w > 110 {
			t.Errorf("subject %d: weight %g kg outside the truncation [45, 110]", i+1, w)
		}
	}
	if cmp.Equal(r1.Conc, r1.Obs) {
		t.Error("residual: true gave observations equal to the predictions")
	}
}

// TestTrialBands checks the per-time percentiles against order statistics
// picked directly: with 21 subjects the type-7 5th, 50th and 95th
// percentiles are exactly the 2nd, 11th and 20th smallest values
// (h = 20p = 1, 10, 19).
func TestTrialBands(t *testing.T) {
	r, err := parseTrial(t, trialFile).Run(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, obs := range []bool{false, true} {
		src := r.Conc
		if obs {
			src = r.Obs
		}
		bands := r.Bands([]float64{0.05, 0.5, 0.95}, obs)
		for k := range r.Times {
			var col []float64
			for i := range src {
				col = append(col, src[i][k])
			}
			slices.Sort(col)
			want := []float64{col[1], col[10], col[19]}
			got := []float64{bands[0][k], bands[1][k], bands[2][k]}
			if !cmp.Equal(got, want) {
				t.Errorf("obs %v, t = %g h: bands %v, want %v", obs, r.Times[k], got, want)
			}
		}
	}
}

// TestQuantile checks the type-7 definition on R's documented example
// values: quantile(c(1, 2, 3, 4, 10), c(0, .05, .5, .95, 1)) = 1, 1.2, 3,
// 8.8, 10 (h = 4p; 4 + 0.8·6 = 8.8).
func TestQuantile(t *testing.T) {
	x := []float64{1, 2, 3, 4, 10}
	var got []float64
	for _, p := range []float64{0, 0.05, 0.5, 0.95, 1} {
		got = append(got, Quantile(x, p))
	}
	if d := cmp.Diff([]float64{1, 1.2, 3, 8.8, 10}, got, cmpopts.EquateApprox(0, 1e-12)); d != "" {
		t.Errorf("quantiles (-want +got):\n%s", d)
	}
	med, p5, p95 := Summarize([]float64{10, 4, 3, 2, 1})
	if med != 3 || math.Abs(p5-1.2) > 1e-12 || math.Abs(p95-8.8) > 1e-12 {
		t.Errorf("Summarize = %g, %g, %g, want 3, 1.2, 8.8", med, p5, p95)
	}
}

// TestTrialNoIIV checks that without IIV every subject of fixed covariates
// equals the typical prediction, and the bands collapse onto it.
func TestTrialNoIIV(t *testing.T) {
	src := strings.Replace(trialFile, "{mean: 70 kg, sd: 15 kg, min: 45 kg, max: 110 kg}", "80 kg", 1)
	src = strings.Replace(src, "residual: true", "iiv: false", 1)
	tr := parseTrial(t, src)
	r, err := tr.Run(context.Background(), 3)
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := tr.Records()
	typ, err := Simulate(tr.Model, map[string]float64{"weight": 80}, nil, recs, r.Times)
	if err != nil {
		t.Fatal(err)
	}
	for i := range r.Conc {
		if !cmp.Equal(r.Conc[i], typ.Conc) {
			t.Fatalf("subject %d differs from the typical prediction", i+1)
		}
	}
	for _, b := range r.Bands([]float64{0.05, 0.5, 0.95}, false) {
		if !cmp.Equal(b, typ.Conc) {
			t.Errorf("band %v, want the typical prediction %v", b, typ.Conc)
		}
	}
	if r.Obs != nil {
		t.Error("observations without residual: true")
	}
}

// TestTrialEtaVariance checks that the sampled η follow Ω: with 4000
// subjects the sample variance of η_CL (ω² = 0.3² = 0.09, approximate CV
// convention) has standard error ω²·sqrt(2/n) ≈ 0.002; the tolerance is 4
// SE. The correlation 0.5 of CL and V gives cov 0.5·0.3·0.2 = 0.03 (SE
// about 0.001).
func TestTrialEtaVariance(t *testing.T) {
	src := strings.Replace(trialFile, "subjects: 21", "subjects: 4000", 1)
	r, err := parseTrial(t, src).Run(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	var s11, s12 float64
	for _, e := range r.Eta {
		s11 += e[0] * e[0]
		s12 += e[0] * e[1]
	}
	n := float64(len(r.Eta))
	if v := s11 / n; math.Abs(v-0.09) > 4*0.09*math.Sqrt(2/n) {
		t.Errorf("var(η_CL) = %g, want 0.09", v)
	}
	if c := s12 / n; math.Abs(c-0.03) > 0.004 {
		t.Errorf("cov(η_CL, η_V) = %g, want 0.03", c)
	}
}

// TestTrialMetrics checks a subject's window metrics over [24, 36] h off
// the output grid (every 2 h) against the 1-cmt infusion solution (100 mg
// over 1 h at 0, 12, 24 h; Gibaldi & Perrier 1982): the peak is at the end
// of the infusion, 25 h, the trough at 24 h or 36 h; AUC as DrugModel.AUC.
func TestTrialMetrics(t *testing.T) {
	tr := parseTrial(t, trialFile)
	r, err := tr.Run(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := tr.Records()
	for i, m := range r.Metrics {
		p := r.Params[i]
		k := p.CL / p.V1
		conc := func(t float64) float64 {
			c := 0.0
			for _, td := range []float64{0, 12, 24} {
				if t > td {
					c += 100 / p.CL * (1 - math.Exp(-k*math.Min(t-td, 1))) * math.Exp(-k*math.Max(t-td-1, 0))
				}
			}
			return c
		}
		auc, err := tr.Model.PK.AUC(p, recs, 24, 36)
		if err != nil {
			t.Fatal(err)
		}
		cmin := math.Min(conc(24), conc(36))
		if math.Abs(m.AUC-auc) > 1e-12*auc || math.Abs(m.Cmax-conc(25)) > 1e-12*conc(25) || m.Tmax != 25 || math.Abs(m.Cmin-cmin) > 1e-12*cmin {
			t.Errorf("subject %d: metrics %+v, want AUC %g, Cmax %g at 25 h, Cmin %g", i+1, m, auc, conc(25), cmin)
		}
	}
}

func TestTrialErrors(t *testing.T) {
	for _, c := range []struct{ name, from, to, want string }{
		{"no subjects", "subjects: 21", "subjects: 0", "t.yaml:2: subjects"},
		{"sd alone", "{mean: 70 kg, sd: 15 kg, min: 45 kg, max: 110 kg}", "{sd: 15 kg}", "t.yaml:4: patient.weight: give both mean and sd"},
		{"sd zero", "sd: 15 kg", "sd: 0 kg", "patient.weight.sd: must be > 0"},
		{"min above max", "min: 45 kg, max: 110 kg", "min: 120 kg, max: 110 kg", "min must be below max"},
		{"bad unit", "sd: 15 kg", "sd: 15 h", "patient.weight.sd: wrong unit"},
		{"unknown key", "min: 45 kg,", "lo: 45 kg,", "patient.weight.lo"},
		{"window", "from: 24 h, to: 36 h", "from: 24 h, to: 40 h", "t.yaml:7: exposure.to"},
		{"residual", "residual: true", "residual: 3", "t.yaml:8: residual"},
	} {
		src := strings.Replace(trialFile, c.from, c.to, 1)
		if src == trialFile {
			t.Fatalf("%s: %q not in the file", c.name, c.from)
		}
		_, err := ParseTrial("t.yaml", []byte(src), readMinimal)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}
