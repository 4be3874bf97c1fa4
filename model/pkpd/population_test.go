package pkpd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gonum.org/v1/gonum/mat"
)

// popOmega3 is a correlated 3×3 omega (CL, Vc, Vp): the Goti 2018
// variances with made-up correlations 0.36, 0.18, 0.52, positive definite.
func popOmega3() *mat.SymDense {
	return mat.NewSymDense(3, []float64{
		0.147, 0.1, 0.037,
		0.1, 0.51, 0.2,
		0.037, 0.2, 0.282,
	})
}

// TestIIVSampleCovariance draws N = 200 000 etas and compares the sample
// mean and covariance with 0 and Ω. For normal data the sample covariance
// S_ij has standard error sqrt((Ω_ij² + Ω_ii·Ω_jj)/N) and the mean
// sqrt(Ω_ii/N); the tolerance is 5 standard errors, which a correct sampler
// exceeds with probability < 1e-6 per element for any seed (the test is
// deterministic with its fixed seed). A sampler using Lᵀ instead of L, or
// ignoring the correlations, misses Ω_12 = 0.1 by far more than 5 SE ≈ 0.0014.
func TestIIVSampleCovariance(t *testing.T) {
	omega := popOmega3()
	v, err := NewIIV([]string{"CL", "Vc", "Vp"}, omega)
	if err != nil {
		t.Fatal(err)
	}
	const n = 200000
	rng := rand.New(rand.NewPCG(1, 2))
	var mean [3]float64
	var cov [3][3]float64
	eta := make([]float64, 3)
	for range n {
		v.SampleEta(eta, rng)
		for i := range 3 {
			mean[i] += eta[i]
			for j := range 3 {
				cov[i][j] += eta[i] * eta[j]
			}
		}
	}
	for i := range 3 {
		mean[i] /= n
	}
	for i := range 3 {
		if se := math.Sqrt(omega.At(i, i) / n); math.Abs(mean[i]) > 5*se {
			t.Errorf("mean[%d] = %v, want 0 ± %v", i, mean[i], 5*se)
		}
		for j := range 3 {
			s := (cov[i][j] - n*mean[i]*mean[j]) / (n - 1)
			w := omega.At(i, j)
			se := math.Sqrt((w*w + omega.At(i, i)*omega.At(j, j)) / n)
			if math.Abs(s-w) > 5*se {
				t.Errorf("cov[%d][%d] = %v, want %v ± %v", i, j, s, w, 5*se)
			}
		}
	}
	// Same seed, same draws.
	a := v.SampleEta(nil, rand.New(rand.NewPCG(7, 7)))
	b := v.SampleEta(nil, rand.New(rand.NewPCG(7, 7)))
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different etas:\n%s", diff)
	}
}

// TestIIVPenaltyAndLogDet checks ηᵀΩ⁻¹η and ln det Ω against gonum's LU
// inverse and determinant (an independent factorization), to 1e-12.
func TestIIVPenaltyAndLogDet(t *testing.T) {
	omega := popOmega3()
	v, err := NewIIV([]string{"CL", "Vc", "Vp"}, omega)
	if err != nil {
		t.Fatal(err)
	}
	var inv mat.Dense
	if err := inv.Inverse(omega); err != nil {
		t.Fatal(err)
	}
	for _, e := range [][]float64{{0, 0, 0}, {0.3, -0.2, 0.1}, {-1, 2, -0.5}} {
		ev := mat.NewVecDense(3, e)
		want := mat.Inner(ev, &inv, ev)
		if got := v.Penalty(e); relErr(got, want) > 1e-12 {
			t.Errorf("Penalty(%v) = %v, want %v", e, got, want)
		}
	}
	if got, want := v.LogDet(), math.Log(mat.Det(omega)); relErr(got, want) > 1e-12 {
		t.Errorf("LogDet = %v, want %v", got, want)
	}
	// Accessors return copies.
	o := v.Omega()
	o.SetSym(0, 0, 99)
	names := v.Names()
	names[0] = "X"
	if v.Omega().At(0, 0) != 0.147 || v.Names()[0] != "CL" || v.Len() != 3 {
		t.Error("IIV accessors expose internal state")
	}
}

func TestIIVErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		names  []string
		omega  mat.Symmetric
		errHas string
	}{
		{"nil", nil, nil, "omega matrix is nil"},
		{"names", []string{"CL"}, DiagonalOmega(0.1, 0.2), "2×2 but 1 eta names"},
		{"empty name", []string{"CL", ""}, DiagonalOmega(0.1, 0.2), "eta 2 has an empty name"},
		{"dup", []string{"CL", "CL"}, DiagonalOmega(0.1, 0.2), `"CL" appears twice`},
		{"nan", []string{"CL", "V"}, mat.NewSymDense(2, []float64{0.1, math.NaN(), math.NaN(), 0.2}), "omega[V,CL] = NaN"},
		{"zero var", []string{"CL", "V"}, DiagonalOmega(0.1, 0), "omega[V,V] = 0"},
		{"not PD", []string{"CL", "V"}, mat.NewSymDense(2, []float64{0.1, 0.2, 0.2, 0.1}), "omega matrix (etas [CL V]) is not positive definite"},
	} {
		_, err := NewIIV(tc.names, tc.omega)
		if err == nil || !strings.Contains(err.Error(), tc.errHas) || !strings.HasPrefix(err.Error(), "pkpd: ") {
			t.Errorf("%s: error = %v, want one containing %q", tc.name, err, tc.errHas)
		}
	}
}

// TestVancomycinGoti2018 reproduces refs/pkpd e_vanco_map.csv (R, Goti 2018
// prior; 10 significant digits) from this file's pieces: ω² from %CV by
// ln(CV²+1), typical values from the covariate models, individual values
// from the MAP etas, and the MAP objective
// OFV = Σ[(y−f)²/s² + ln s²] + ηᵀΩ⁻¹η from the residual model and the IIV
// penalty, with f the R predictions (ipred/pred_pop). Relative tolerance
// 1e-9 for the printed values; 1e-8 absolute on OFV, whose sensitivity to
// the 10-digit predictions is about 0.13 per mg/L × 2e-8 mg/L.
func TestVancomycinGoti2018(t *testing.T) {
	prior := map[string]float64{}
	for _, row := range gReadCSV(t, "pop_vanco_goti2018_prior.csv") {
		prior[row["parameter"]] = gFloat(t, row, "value")
	}
	ref := map[string]float64{}
	for _, row := range gReadCSV(t, "pop_vanco_map.csv") {
		ref[row["quantity"]] = gFloat(t, row, "value")
	}
	check := func(name string, got, want, tol float64) {
		t.Helper()
		if relErr(got, want) > tol {
			t.Errorf("%s = %.10g, want %.10g", name, got, want)
		}
	}
	var omega2 []float64
	for _, p := range []string{"CL", "Vc", "Vp"} {
		w, err := OmegaSqFromCV(prior["IIV_CV_"+p], LogNormalCV)
		if err != nil {
			t.Fatal(err)
		}
		check("omega2_"+p, w, prior["omega2_"+p], 1e-9)
		omega2 = append(omega2, w)
	}
	cov := map[string]float64{"CRCL": ref["CRCL_mL_min"], "WT": ref["WT_kg"], "HD": ref["DIAL"]}
	tvcl, err1 := TypicalValue(prior["CL_L_h_ref_CRCL120_nonHD"], cov,
		PowerCovariate{Name: "CRCL", Ref: 120, Theta: prior["CRCL_exponent_on_CL"]},
		CategoricalCovariate{Name: "HD", Theta: prior["HD_factor_CL"]})
	tvvc, err2 := TypicalValue(prior["Vc_L_ref_70kg_nonHD"], cov,
		PowerCovariate{Name: "WT", Ref: 70, Theta: 1},
		CategoricalCovariate{Name: "HD", Theta: prior["HD_factor_Vc"]})
	tvvp, err3 := TypicalValue(prior["Vp_L_ref_70kg"], cov, PowerCovariate{Name: "WT", Ref: 70, Theta: 1})
	for _, err := range []error{err1, err2, err3} {
		if err != nil {
			t.Fatal(err)
		}
	}
	check("TVCL", tvcl, ref["TVCL_L_h"], 1e-9)
	check("TVVc", tvvc, ref["TVVc_L"], 1e-9)
	check("TVVp", tvvp, ref["TVVp_L"], 1e-9)

	eta := []float64{ref["eta_map_CL"], ref["eta_map_Vc"], ref["eta_map_Vp"]}
	ind := LogNormal(nil, []float64{tvcl, tvvc, tvvp}, eta)
	check("CL_map", ind[0], ref["CL_map_L_h"], 1e-9)
	check("Vc_map", ind[1], ref["Vc_map_L"], 1e-9)
	check("Vp_map", ind[2], ref["Vp_map_L"], 1e-9)

	iiv, err := NewIIV([]string{"CL", "Vc", "Vp"}, DiagonalOmega(omega2...))
	if err != nil {
		t.Fatal(err)
	}
	res := ResidualError{Add: prior["add_err_SD_mg_L"], Prop: prior["prop_err_CV"]}
	if err := res.Validate(); err != nil {
		t.Fatal(err)
	}
	ofv := func(f38, f47 float64, eta []float64) float64 {
		return res.NegTwoLogLik(ref["dv_38h"], f38) + res.NegTwoLogLik(ref["dv_47.5h"], f47) + iiv.Penalty(eta)
	}
	if got, want := ofv(ref["ipred_38h"], ref["ipred_47.5h"], eta), ref["OFV_at_map"]; math.Abs(got-want) > 1e-8 {
		t.Errorf("OFV at MAP = %.10g, want %.10g", got, want)
	}
	if got, want := ofv(ref["pred_pop_38h"], ref["pred_pop_47.5h"], []float64{0, 0, 0}), ref["OFV_at_eta0"]; math.Abs(got-want) > 1e-8 {
		t.Errorf("OFV at eta 0 = %.10g, want %.10g", got, want)
	}
}

// TestCVConventions: ln(CV²+1) vs CV², analytic values, and round trips.
func TestCVConventions(t *testing.T) {
	for _, tc := range []struct {
		cv   float64
		conv CVConvention
		want float64
	}{
		{0, LogNormalCV, 0},
		{1, LogNormalCV, math.Ln2},
		{0.816, ApproxCV, 0.816 * 0.816},
		{0.3, ApproxCV, 0.09},
	} {
		got, err := OmegaSqFromCV(tc.cv, tc.conv)
		if err != nil || relErr(got, tc.want) > 1e-15 {
			t.Errorf("OmegaSqFromCV(%v, %d) = %v, %v; want %v", tc.cv, tc.conv, got, err, tc.want)
		}
		back, err := CVFromOmegaSq(got, tc.conv)
		if err != nil || relErr(back, tc.cv) > 1e-14 {
			t.Errorf("CVFromOmegaSq(%v, %d) = %v, %v; want %v", got, tc.conv, back, err, tc.cv)
		}
	}
	// The approximation always overstates ω² (ln(1+x) < x for x > 0).
	for _, cv := range []float64{0.1, 0.398, 0.816} {
		a, _ := OmegaSqFromCV(cv, ApproxCV)
		e, _ := OmegaSqFromCV(cv, LogNormalCV)
		if !(a > e) {
			t.Errorf("CV %v: approx %v ≤ exact %v", cv, a, e)
		}
	}
	for _, err := range []error{
		ddiErr(OmegaSqFromCV(-0.1, LogNormalCV)), ddiErr(OmegaSqFromCV(math.NaN(), ApproxCV)),
		ddiErr(OmegaSqFromCV(0.3, 7)), ddiErr(CVFromOmegaSq(-1, LogNormalCV)), ddiErr(CVFromOmegaSq(0.1, 7)),
	} {
		if err == nil {
			t.Error("want an error for invalid CV/omega² input")
		}
	}
}

// TestCovariateModels checks each model's formula at analytic points.
func TestCovariateModels(t *testing.T) {
	for _, tc := range []struct {
		name string
		e    CovariateEffect
		x    float64
		want float64
	}{
		{"power at ref", PowerCovariate{"WT", 70, 0.75}, 70, 1},
		{"power allometric", PowerCovariate{"WT", 70, 0.75}, 140, math.Pow(2, 0.75)},
		{"power linear", PowerCovariate{"WT", 70, 1}, 35, 0.5},
		{"exp at ref", ExpCovariate{"AGE", 40, -0.01}, 40, 1},
		{"exp", ExpCovariate{"AGE", 40, -0.01}, 80, math.Exp(-0.4)},
		{"cat 0", CategoricalCovariate{"HD", 0.7}, 0, 1},
		{"cat 1", CategoricalCovariate{"HD", 0.7}, 1, 0.7},
		{"table", TableCovariate{"FORM", map[int]float64{0: 1, 1: 0.8, 2: 1.3}}, 2, 1.3},
	} {
		got, err := tc.e.Factor(tc.x)
		if err != nil || relErr(got, tc.want) > 1e-15 {
			t.Errorf("%s: %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		name, errHas string
		e            CovariateEffect
		x            float64
	}{
		{"power x 0", `power covariate "WT" = 0`, PowerCovariate{"WT", 70, 1}, 0},
		{"power ref", `"WT": Ref = 0`, PowerCovariate{"WT", 0, 1}, 70},
		{"exp nan", `exponential covariate "AGE" = NaN`, ExpCovariate{"AGE", 40, 1}, math.NaN()},
		{"exp theta", `"AGE": Ref = 40, Theta = +Inf`, ExpCovariate{"AGE", 40, math.Inf(1)}, 1},
		{"cat 0.5", `categorical covariate "HD" = 0.5, want 0 or 1`, CategoricalCovariate{"HD", 0.7}, 0.5},
		{"cat theta", `"HD": Theta = -1`, CategoricalCovariate{"HD", -1}, 1},
		{"table level", `table covariate "FORM": level 3 not in the table`, TableCovariate{"FORM", map[int]float64{0: 1}}, 3},
		{"table code", `table covariate "FORM" = 1.5`, TableCovariate{"FORM", map[int]float64{0: 1}}, 1.5},
		{"table factor", `level 0 = 0`, TableCovariate{"FORM", map[int]float64{0: 0}}, 0},
	} {
		_, err := tc.e.Factor(tc.x)
		if err == nil || !strings.Contains(err.Error(), tc.errHas) {
			t.Errorf("%s: error = %v, want one containing %q", tc.name, err, tc.errHas)
		}
	}
	if _, err := TypicalValue(4.5, map[string]float64{"WT": 70}, PowerCovariate{"CRCL", 120, 0.8}); err == nil || !strings.Contains(err.Error(), `covariate "CRCL" is not given`) {
		t.Errorf("missing covariate: error = %v", err)
	}
	if _, err := TypicalValue(math.NaN(), nil); err == nil {
		t.Error("NaN theta: no error")
	}
}

// TestResidualVariance checks the variance formula of each model at
// analytic points and the Validate rules.
func TestResidualVariance(t *testing.T) {
	for _, tc := range []struct {
		r        ResidualError
		f, want  float64
		wantNLL2 float64 // NegTwoLogLik(f+1, f)
	}{
		{ResidualError{Add: 3.4, Prop: 0.227}, 20, 3.4*3.4 + 4.54*4.54, 0},
		{ResidualError{Add: 2}, 50, 4, 0},
		{ResidualError{Model: AdditiveError, Add: 2}, 50, 4, 0},
		{ResidualError{Model: ProportionalError, Prop: 0.1}, 30, 9, 0},
		{ResidualError{Model: ProportionalError, Prop: 0.1}, -30, 9, 0},
		{ResidualError{Model: CombinedSDError, Add: 1, Prop: 0.1}, 30, 16, 0},
		{ResidualError{Model: CombinedSDError, Add: 1, Prop: 0.1}, -30, 16, 0},
	} {
		if err := tc.r.Validate(); err != nil {
			t.Fatal(err)
		}
		if got := tc.r.Variance(tc.f); relErr(got, tc.want) > 1e-15 {
			t.Errorf("%+v Variance(%v) = %v, want %v", tc.r, tc.f, got, tc.want)
		}
		if got := tc.r.SD(tc.f); relErr(got, math.Sqrt(tc.want)) > 1e-15 {
			t.Errorf("%+v SD(%v) = %v, want %v", tc.r, tc.f, got, math.Sqrt(tc.want))
		}
		if got, want := tc.r.NegTwoLogLik(tc.f+1, tc.f), 1/tc.want+math.Log(tc.want); relErr(got, want) > 1e-14 {
			t.Errorf("%+v NegTwoLogLik = %v, want %v", tc.r, got, want)
		}
	}
	if got := (ResidualError{Model: ProportionalError, Prop: 0.1}).NegTwoLogLik(1, 0); !math.IsInf(got, 1) {
		t.Errorf("zero variance: NegTwoLogLik = %v, want +Inf", got)
	}
	for _, tc := range []struct {
		r      ResidualError
		errHas string
	}{
		{ResidualError{}, "Add = Prop = 0"},
		{ResidualError{Add: -1}, "Add = -1"},
		{ResidualError{Prop: math.NaN()}, "Prop = NaN"},
		{ResidualError{Model: AdditiveError, Add: 1, Prop: 0.1}, "additive residual error wants"},
		{ResidualError{Model: ProportionalError, Add: 1, Prop: 0.1}, "proportional residual error wants"},
		{ResidualError{Model: 9, Add: 1}, "Model = ErrorModel(9)"},
	} {
		err := tc.r.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.errHas) {
			t.Errorf("%+v: error = %v, want one containing %q", tc.r, err, tc.errHas)
		}
	}
	if got := CombinedSDError.String(); got != "combined-SD" {
		t.Errorf("String = %q", got)
	}
}

// TestResidualSample: mean and variance of N = 100 000 simulated
// observations against f and Variance(f). Standard errors: sqrt(v/N) for
// the mean and v·sqrt(2/(N−1)) for the variance of normal data; tolerance
// 5 SE as in TestIIVSampleCovariance.
func TestResidualSample(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 100000
	for _, r := range []ResidualError{
		{Add: 3.4, Prop: 0.227},
		{Model: ProportionalError, Prop: 0.2},
		{Model: CombinedSDError, Add: 1, Prop: 0.1},
	} {
		f := 25.0
		v := r.Variance(f)
		var s, ss float64
		for range n {
			d := r.Sample(rng, f) - f
			s += d
			ss += d * d
		}
		mean := s / n
		variance := (ss - n*mean*mean) / (n - 1)
		if math.Abs(mean) > 5*math.Sqrt(v/n) {
			t.Errorf("%v: mean residual %v, want 0 ± %v", r.Model, mean, 5*math.Sqrt(v/n))
		}
		if tol := 5 * v * math.Sqrt(2.0/(n-1)); math.Abs(variance-v) > tol {
			t.Errorf("%v: sample variance %v, want %v ± %v", r.Model, variance, v, tol)
		}
	}
}

// ExampleTypicalValue computes the Goti 2018 vancomycin clearance for an
// 80 kg patient with CrCL 80 mL/min off dialysis, then the individual value
// for η_CL = −0.2416 (refs/pkpd e_vanco_map.csv: 3.2534 and 2.5551 L/h).
func ExampleTypicalValue() {
	cov := map[string]float64{"CRCL": 80, "HD": 0}
	tv, err := TypicalValue(4.5, cov, // L/h at CrCL 120 mL/min
		PowerCovariate{Name: "CRCL", Ref: 120, Theta: 0.8},
		CategoricalCovariate{Name: "HD", Theta: 0.7})
	if err != nil {
		panic(err)
	}
	cl := LogNormal(nil, []float64{tv}, []float64{-0.2416009329})
	fmt.Printf("TVCL %.4f L/h, CL %.4f L/h\n", tv, cl[0])
	// Output: TVCL 3.2534 L/h, CL 2.5551 L/h
}

// ExampleOmegaSqFromCV shows the two %CV conventions for the Goti 2018
// vancomycin Vc (81.6 %).
func ExampleOmegaSqFromCV() {
	exact, _ := OmegaSqFromCV(0.816, LogNormalCV)
	approx, _ := OmegaSqFromCV(0.816, ApproxCV)
	fmt.Printf("ln(CV²+1) = %.4f, CV² = %.4f\n", exact, approx)
	// Output: ln(CV²+1) = 0.5103, CV² = 0.6659
}

// ExampleResidualError_Variance is the Goti 2018 combined error model at
// a predicted 20 mg/L.
func ExampleResidualError_Variance() {
	r := ResidualError{Add: 3.4, Prop: 0.227} // mg/L, fraction
	fmt.Printf("variance %.4f (mg/L)², SD %.4f mg/L\n", r.Variance(20), r.SD(20))
	// Output: variance 32.1716 (mg/L)², SD 5.6720 mg/L
}

// ExampleIIV_SampleEta draws a reproducible population of log-normal
// clearances (typical 5 L/h, ω² 0.09, i.e. CV ≈ 30 %) and summarizes it.
func ExampleIIV_SampleEta() {
	iiv, err := NewIIV([]string{"CL"}, DiagonalOmega(0.09))
	if err != nil {
		panic(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	var sumLog float64
	const n = 10000
	for range n {
		eta := iiv.SampleEta(nil, rng)
		cl := LogNormal(nil, []float64{5}, eta)
		sumLog += math.Log(cl[0])
	}
	fmt.Printf("geometric mean CL ≈ %.1f L/h\n", math.Exp(sumLog/n))
	// Output: geometric mean CL ≈ 5.0 L/h
}

func BenchmarkIIVSampleEta(b *testing.B) {
	v, err := NewIIV([]string{"CL", "Vc", "Vp"}, popOmega3())
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	eta := make([]float64, 3)
	for b.Loop() {
		v.SampleEta(eta, rng)
	}
}

func BenchmarkIIVPenalty(b *testing.B) {
	v, err := NewIIV([]string{"CL", "Vc", "Vp"}, popOmega3())
	if err != nil {
		b.Fatal(err)
	}
	eta := []float64{0.3, -0.2, 0.1}
	for b.Loop() {
		v.Penalty(eta)
	}
}
