package pkpd

import (
	"bytes"
	"embed"
	"encoding/csv"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/doppelhealth/doppel/model/refcheck"
)

// Reference files of the validation cases (refdata/README.md): outputs of
// the R 4.2.2 / deSolve 1.34 scripts of the Doppel reference set, copied
// unchanged, and case b's regimen written as a NONMEM data set. Case d's
// files are embedded by PDValidationCases.
//
//go:embed refdata/*.csv
var valRefFiles embed.FS

// ValidationCases returns the package's reference cases, a to h of the
// Doppel PK/PD reference set (R 4.2.2, deSolve 1.34, nlme; refdata/README.md):
//
//   - a: 1-compartment oral, closed form and ODE path; Cmax, tmax, AUC.
//   - b: 2-compartment model with a depot, multiple oral doses and an
//     infusion, read from a NONMEM data set; closed form and ODE path.
//   - h: NONMEM SS=1 records (1-cmt oral, 2-cmt infusion), both paths.
//   - f: 1000 subjects of model b: hourly quantiles on both paths.
//   - d: the pharmacodynamic models (PDValidationCases).
//   - e: the vancomycin MAP fit (Goti 2018) and the dose recommendation of
//     the contract.
//   - g: static DDI models and CPIC PGx calls, every row of the vectors.
//
// Tolerances are those of the package's tests, with their reasons in the
// comments of each case: closed form against R's closed form 1e-10
// relative (both exact to rounding; the files hold 12–15 digits), against
// R's lsoda (rtol 1e-10) 1e-9, and the ODE path (RelTol 1e-10) 1e-8.
// Each check's At is in h and its Where names the place in words.
func ValidationCases() []refcheck.Case {
	const rScripts = " (R 4.2.2 + deSolve 1.34 lsoda rtol 1e-10, atol 1e-12; "
	return []refcheck.Case{
		{
			Name:        "a_1cmt_oral",
			Description: "1-compartment oral: 320 mg at 0, ka 1.5/h, ke 0.08/h, V 40 L; closed form and ODE path 0–24 h, Cmax, tmax, AUC",
			Reference:   "refdata/a_1cmt_oral.csv, a_1cmt_oral_summary.csv" + rScripts + "a_1cmt_oral.R)",
			Run:         valCaseA,
		},
		{
			Name:        "b_2cmt_multidose_nonmem",
			Description: "2-compartment + depot (CL 5, V1 20, Q 10, V2 50, ka 1) from a NONMEM data set: 100 mg PO q12h ×5 (ADDL) + 200 mg IV over 1 h at 72 h; closed form and ODE path",
			Reference:   "refdata/b_2cmt_multidose_nonmem.csv (the regimen as NONMEM records), b_2cmt_multidose.csv, b_2cmt_multidose_summary.csv" + rScripts + "b_2cmt_multidose.R)",
			Run:         valCaseB,
		},
		{
			Name:        "h_ss_1cmt_oral",
			Description: "NONMEM SS=1: 1-compartment oral 320 mg q12h (ka 1.5/h, CL 3.2 L/h, V 40 L), one interval; closed form and ODE path",
			Reference:   "refdata/h_ss_1cmt_oral.csv (R closed form and 80 explicit doses with lsoda; h_steady_state.R)",
			Run: func() ([]refcheck.Check, error) {
				return valCaseH("h_ss_1cmt_oral.csv", Linear{Depot: true}, Params{CL: 3.2, V1: 40, KA: 1.5},
					Record{ID: 1, EVID: 1, AMT: 320, II: 12, SS: 1, CMT: 1}, "conc_ode_80_doses")
			},
		},
		{
			Name:        "h_ss_2cmt_infusion",
			Description: "NONMEM SS=1: 2-compartment model b, 100 mg over 1 h q8h into the central compartment, one interval; closed form and ODE path",
			Reference:   "refdata/h_ss_2cmt_infusion.csv (R closed form and 120 explicit doses with lsoda; h_steady_state.R)",
			Run: func() ([]refcheck.Check, error) {
				return valCaseH("h_ss_2cmt_infusion.csv", valModelB, valParamsB,
					Record{ID: 1, EVID: 1, AMT: 100, RATE: 100, II: 8, SS: 1, CMT: 2}, "conc_ode_120_doses")
			},
		},
		{
			Name:        "f_popsim_1000",
			Description: "1000 subjects of model b (parameters sampled in R), regimen of b, hourly 0–168 h: p05, median, p95, mean on the closed form and the ODE path",
			Reference:   "refdata/f_popsim_params.csv, f_popsim_quantiles.csv (R closed form, quantile type 7; f_popsim_timing.R, seed 20240611)",
			Run:         valCaseF,
		},
		{
			Name:        "d_pd",
			Description: "Emax, sigmoid Emax, effect compartment, indirect response I–IV driven by case a's plasma profile, 0–72 h",
			Reference:   "testdata/d_emax.csv, d_indirect_response.csv, d_pd_summary.csv" + rScripts + "d_pd_models.R)",
			Run:         valCaseD,
		},
		{
			Name:        "e_vanco_fit",
			Description: "MAP Bayes fit, vancomycin Goti 2018, the issue's contract patient (80 kg, CrCL 80 mL/min; 2000 mg/2 h, then 1000 mg/1 h q12h ×4; levels at 38 and 47.5 h)",
			Reference:   "refdata/e_vanco_map.csv (R optim BFGS reltol 1e-14, confirmed by Nelder-Mead; e_vanco_map.R)",
			Run:         valCaseEFit,
		},
		{
			Name:        "e_vanco_dose",
			Description: "dose search after the fit: AUC24 target 500 mg·h/L, doses in 250 mg steps, q12h, infused at 1000 mg/h",
			Reference:   "refdata/e_vanco_map.csv (recommended q12h dose and analytic steady-state AUC24 2·dose/CL; e_vanco_map.R)",
			Run:         valCaseEDose,
		},
		{
			Name:        "g_ddi",
			Description: "static DDI: reversible AUC ratio (Rowland & Matin) on a 42-point grid, mechanistic static model (Fahmi 2009) ×4, FDA 2020 basic models ×3",
			Reference:   "refdata/g_ddi_static_reversible.csv, g_ddi_msm_cases.csv, g_ddi_basic_model.csv (R 4.2.2, g_ddi_pgx_pv.R)",
			Run:         valCaseGDDI,
		},
		{
			Name:        "g_pgx",
			Description: "CPIC genotype → activity score → phenotype for 31 CYP2D6, CYP2C9, CYP2C19 diplotypes, and the fm 0.9 AUC ratio",
			Reference:   "refdata/g_pgx_activity_scores.csv (R 4.2.2 from the CPIC tables, g_ddi_pgx_pv.R)",
			Run:         valCaseGPGx,
		},
	}
}

// Model b of the reference set: 2 compartments with a depot, 100 mg PO
// q12h × 5 and 200 mg IV over 1 h at 72 h.
var (
	valModelB  = Linear{Peripherals: 1, Depot: true}
	valParamsB = Params{CL: 5, V1: 20, Q2: 10, V2: 50, KA: 1}
)

func valCaseA() ([]refcheck.Check, error) {
	ref, err := valRead("a_1cmt_oral.csv")
	if err != nil {
		return nil, err
	}
	sum, err := valSummary("a_1cmt_oral_summary.csv")
	if err != nil {
		return nil, err
	}
	times, err := ref.column("time")
	if err != nil {
		return nil, err
	}
	analytic, err := ref.column("conc_analytic")
	if err != nil {
		return nil, err
	}
	lsoda, err := ref.column("conc_lsoda_rtol1e10")
	if err != nil {
		return nil, err
	}
	m := Linear{Depot: true}
	p := Params{CL: 0.08 * 40, V1: 40, KA: 1.5}
	recs := []Record{{ID: 1, EVID: 1, AMT: 320, CMT: 1}}
	s, err := m.NewSchedule(recs, Dosing{}, ScheduleOptions{})
	if err != nil {
		return nil, err
	}
	om, err := LinearODE(m, p)
	if err != nil {
		return nil, err
	}
	so, err := om.NewSchedule(recs, Dosing{}, ScheduleOptions{})
	if err != nil {
		return nil, err
	}
	paths := []struct {
		name    string
		predict func(times []float64) ([]float64, error)
	}{
		{"closed form", func(t []float64) ([]float64, error) { return m.Predict(p, s, t) }},
		{"ODE path", func(t []float64) ([]float64, error) { return om.Predict(so, t) }},
	}
	var checks []refcheck.Check
	for k, path := range paths {
		c, err := path.predict(times)
		if err != nil {
			return nil, err
		}
		// Closed form vs R's closed form: both exact to rounding, 15
		// digits: 1e-10 relative (1e-14 mg/L absolute near 0, a floor of
		// 1e-4 mg/L). Against lsoda at rtol 1e-10 (its own error 2.3e-11,
		// summary file): 1e-9, floor 1e-3 mg/L. The ODE path runs at RelTol
		// 1e-10 as lsoda did: 1e-8 against both, floor 1e-3 mg/L
		// (TestCaseBODE).
		tolA, floorA, tolL := 1e-10, 1e-4, 1e-9
		if k == 1 {
			tolA, floorA, tolL = 1e-8, 1e-3, 1e-8
		}
		var eA, eL valMax
		for i, t := range times {
			eA.addAt(valRel(c[i], analytic[i], floorA), t)
			eL.addAt(valRel(c[i], lsoda[i], 1e-3), t)
		}
		checks = append(checks,
			eA.check(fmt.Sprintf("C 0–24 h vs R closed form, %s (floor %g mg/L)", path.name, floorA), "relative", tolA),
			eL.check(fmt.Sprintf("C 0–24 h vs R lsoda, %s (floor 1e-3 mg/L)", path.name), "relative", tolL))

		// tmax and Cmax: golden-section search on the concentration. The
		// maximum is flat (C'' ≈ −0.81 mg/L/h², Cmax 6.78 mg/L), so a
		// relative error δ in C leaves tmax uncertain by sqrt(2δ·Cmax/|C''|):
		// 4e-8 h for rounding (δ 1e-16; tolerance 1e-6 relative), 4e-5 h
		// for the ODE path's step-dependent error (δ 1e-10; 1e-4). Cmax,
		// second order in that error, to 1e-12 on the closed form
		// (TestCaseA) and 1e-8 on the ODE path.
		tmax, cmax, err := valArgmax(path.predict, 0, 24)
		if err != nil {
			return nil, err
		}
		tolT, tolC := 1e-6, 1e-12
		if k == 1 {
			tolT, tolC = 1e-4, 1e-8
		}
		checks = append(checks,
			valSingle("tmax, "+path.name, "relative", valRel(tmax, sum["tmax_h"], 0), tmax, tolT),
			valSingle("Cmax, "+path.name, "relative", valRel(cmax, sum["Cmax_mg_per_L"], 0), tmax, tolC))
	}

	// The exposure window of doppel sim and doppel trial (Linear.Window:
	// extrema between events, refined by golden section) on 0–24 h.
	w, err := m.Window(func(map[string]float64) (Params, error) { return p, nil }, s, 0, 24)
	if err != nil {
		return nil, err
	}
	checks = append(checks,
		valSingle("tmax, Linear.Window (sim, trial)", "relative", valRel(w.Tmax, sum["tmax_h"], 0), w.Tmax, 1e-6),
		valSingle("Cmax, Linear.Window (sim, trial)", "relative", valRel(w.Cmax, sum["Cmax_mg_per_L"], 0), w.Tmax, 1e-12))

	// AUC by DrugModel.AUC (Gauss–Legendre on sub-pieces, about 1e-16 per
	// piece) against R's analytic AUC 0–24 h and F·D/CL = 100 mg·h/L;
	// 1e-10 relative. 0–1000 h stands for 0–∞ (e^(−0.08·1000) ≈ 2e-35).
	dm := &DrugModel{
		Name: "case-a", Drug: "reference case a", Citation: "Doppel reference set, case a",
		Structure:  Structure{Compartments: 1, Route: RouteOral},
		Parameters: []Parameter{{Name: "CL", Typical: p.CL}, {Name: "V", Typical: p.V1}, {Name: "KA", Typical: p.KA}},
		Error:      ResidualError{Model: AdditiveError, Add: 1},
	}
	for _, c := range []struct {
		name   string
		t2     float64
		refKey string
	}{{"AUC 0–24 h", 24, "AUC0_24_mg_h_per_L"}, {"AUC 0–∞ (0–1000 h)", 1000, "AUC0_inf_mg_h_per_L"}} {
		auc, err := dm.AUC(p, recs, 0, c.t2)
		if err != nil {
			return nil, err
		}
		want, ok := sum[c.refKey]
		if !ok {
			return nil, fmt.Errorf("pkpd: refdata/a_1cmt_oral_summary.csv: no quantity %q", c.refKey)
		}
		checks = append(checks, valSingle(c.name+", closed form", "relative", valRel(auc, want, 0), c.t2, 1e-10))
	}
	return checks, nil
}

// valArgmax finds the maximum of the unimodal c(t) on [lo, hi] by golden
// section, returning tmax and c(tmax).
func valArgmax(c func([]float64) ([]float64, error), lo, hi float64) (tmax, cmax float64, err error) {
	return goldenMax(func(t float64) (float64, error) {
		v, err := c([]float64{t})
		if err != nil {
			return 0, err
		}
		return v[0], nil
	}, lo, hi, 1e-10*math.Max(1, math.Abs(lo)))
}

func valCaseB() ([]refcheck.Check, error) {
	data, err := valRefFiles.ReadFile("refdata/b_2cmt_multidose_nonmem.csv")
	if err != nil {
		return nil, err
	}
	ds, err := ReadCSV(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("pkpd: refdata/b_2cmt_multidose_nonmem.csv: %w", err)
	}
	ref, err := valRead("b_2cmt_multidose.csv")
	if err != nil {
		return nil, err
	}
	times, err := ref.column("time")
	if err != nil {
		return nil, err
	}
	conc, err := ref.column("conc_central_analytic")
	if err != nil {
		return nil, err
	}
	var amts [3][]float64
	for k, name := range []string{"amt_depot_lsoda", "amt_central_lsoda", "amt_periph_lsoda"} {
		if amts[k], err = ref.column(name); err != nil {
			return nil, err
		}
	}
	refAt := func(t float64) (float64, bool) {
		i := slices.Index(times, t)
		if i < 0 {
			return 0, false
		}
		return conc[i], true
	}

	om, err := LinearODE(valModelB, valParamsB)
	if err != nil {
		return nil, err
	}
	paths := []struct {
		name     string
		spec     Spec
		simulate func(*Schedule) (*Profile, error)
	}{
		{"closed form", valModelB.Spec(), func(s *Schedule) (*Profile, error) { return valModelB.Simulate(valParamsB, s, times) }},
		{"ODE path", om.Spec(), func(s *Schedule) (*Profile, error) { return om.Simulate(s, times) }},
	}
	var checks []refcheck.Check
	for k, path := range paths {
		spec := path.spec
		spec.Covariates = ds.Covariates
		s, err := NewSchedule(ds.Records, spec, Dosing{}, ScheduleOptions{})
		if err != nil {
			return nil, err
		}
		prof, err := path.simulate(s)
		if err != nil {
			return nil, err
		}
		// Closed form vs R's closed form 1e-10 relative (15 digits; the
		// cancellation between exponentials of opposite sign), floor
		// 1e-3 mg/L (1e-13 mg/L absolute); amounts vs lsoda (rtol 1e-10,
		// README: 3.1e-10 relative) 1e-8, floor 0.1 mg (1e-9 mg absolute
		// for the depot's e^−t tail): TestCaseB. The ODE path (RelTol
		// 1e-10) 1e-8 against both (TestCaseBODE).
		tolC := 1e-10
		if k == 1 {
			tolC = 1e-8
		}
		var eC, eA, eO valMax
		for i, t := range times {
			eC.addAt(valRel(prof.Amount(i, 2)/valParamsB.V1, conc[i], 1e-3), t)
			for c := range 3 {
				eA.add(valRel(prof.Amount(i, c+1), amts[c][i], 0.1), t, fmt.Sprintf("t = %g h, CMT %d", t, c+1))
			}
		}
		for j, r := range prof.Obs {
			rec := ds.Records[r]
			want, ok := refAt(rec.Time)
			if !ok {
				return nil, fmt.Errorf("pkpd: refdata/b_2cmt_multidose.csv: no row at %g h for the observation on line %d", rec.Time, rec.Line)
			}
			eO.add(valRel(prof.ObsAmount(j, 2)/valParamsB.V1, want, 1e-3), rec.Time, fmt.Sprintf("line %d (TIME %g)", rec.Line, rec.Time))
		}
		if len(prof.Obs) != 5 {
			return nil, fmt.Errorf("pkpd: b: %d observation records, want 5", len(prof.Obs))
		}
		checks = append(checks,
			eC.check("C 0–120 h vs R closed form, "+path.name+" (floor 1e-3 mg/L)", "relative", tolC),
			eO.check("C at the 5 observation records vs R closed form, "+path.name, "relative", tolC),
			eA.check("amounts depot, central, peripheral vs R lsoda, "+path.name+" (floor 0.1 mg)", "relative", 1e-8))
	}
	sum, err := valSummary("b_2cmt_multidose_summary.csv")
	if err != nil {
		return nil, err
	}
	lam, err := valModelB.Macro(valParamsB)
	if err != nil {
		return nil, err
	}
	// Macro-constants: an eigenvalue problem solved to rounding on both
	// sides: 1e-13 relative (TestCaseB).
	var eM valMax
	eM.add(valRel(lam[0], sum["alpha"], 0), 0, "alpha")
	eM.add(valRel(lam[1], sum["beta"], 0), 0, "beta")
	return append(checks, eM.check("macro-constants alpha, beta", "relative", 1e-13)), nil
}

func valCaseH(file string, m Linear, p Params, rec Record, odeCol string) ([]refcheck.Check, error) {
	ref, err := valRead(file)
	if err != nil {
		return nil, err
	}
	times, err := ref.column("t_after_dose")
	if err != nil {
		return nil, err
	}
	analytic, err := ref.column("conc_ss_analytic")
	if err != nil {
		return nil, err
	}
	explicit, err := ref.column(odeCol)
	if err != nil {
		return nil, err
	}
	// The observations are records after the SS record, so the one at
	// TIME 0 sees the steady state.
	recs := []Record{rec}
	for _, t := range times {
		recs = append(recs, Record{ID: 1, Time: t, EVID: EVIDObs})
	}
	om, err := LinearODE(m, p)
	if err != nil {
		return nil, err
	}
	var checks []refcheck.Check
	for k, path := range []struct {
		name string
		spec Spec
		obs  func(*Schedule) ([]float64, error)
	}{
		{"closed form", m.Spec(), func(s *Schedule) ([]float64, error) { return m.PredictObs(p, s) }},
		{"ODE path", om.Spec(), func(s *Schedule) ([]float64, error) {
			prof, err := om.Simulate(s, nil)
			if err != nil {
				return nil, err
			}
			c := make([]float64, len(prof.Obs))
			for j := range c {
				c[j] = prof.ObsAmount(j, m.Central()) / p.V1
			}
			return c, nil
		}},
	} {
		s, err := NewSchedule(recs, path.spec, Dosing{}, ScheduleOptions{})
		if err != nil {
			return nil, err
		}
		c, err := path.obs(s)
		if err != nil {
			return nil, err
		}
		if len(c) != len(times) {
			return nil, fmt.Errorf("pkpd: %s: %d observations, want %d", file, len(c), len(times))
		}
		// Closed form vs R's closed form (12 digits) 1e-10 relative, vs
		// the explicit doses with lsoda (README: within 1.2e-11 and
		// 8.9e-11) 1e-9: TestSteadyStateRefs. The ODE path solves the
		// steady state as a geometric series of its RelTol 1e-10 interval
		// map: 1e-8 (TestODEMatchesClosedForm).
		tolA, tolE := 1e-10, 1e-9
		if k == 1 {
			tolA, tolE = 1e-8, 1e-8
		}
		var eA, eE valMax
		for i, t := range times {
			eA.addAt(valRel(c[i], analytic[i], 1e-3), t)
			eE.addAt(valRel(c[i], explicit[i], 1e-3), t)
		}
		checks = append(checks,
			eA.check("C over one interval at steady state vs R closed form, "+path.name, "relative", tolA),
			eE.check("C vs explicit doses to steady state (lsoda), "+path.name, "relative", tolE))
	}
	return checks, nil
}

func valCaseF() ([]refcheck.Check, error) {
	pt, err := valRead("f_popsim_params.csv")
	if err != nil {
		return nil, err
	}
	cols := make([][]float64, 5)
	for k, name := range []string{"CL", "V1", "Q", "V2", "ka"} {
		if cols[k], err = pt.column(name); err != nil {
			return nil, err
		}
	}
	ps := make([]Params, len(cols[0]))
	for i := range ps {
		ps[i] = Params{CL: cols[0][i], V1: cols[1][i], Q2: cols[2][i], V2: cols[3][i], KA: cols[4][i]}
	}
	if len(ps) != 1000 {
		return nil, fmt.Errorf("pkpd: refdata/f_popsim_params.csv: %d subjects, want 1000", len(ps))
	}
	qt, err := valRead("f_popsim_quantiles.csv")
	if err != nil {
		return nil, err
	}
	qtimes, err := qt.column("time")
	if err != nil {
		return nil, err
	}
	names := []string{"p05", "median", "p95", "mean"}
	qref := make([][]float64, len(names))
	for k, name := range names {
		if qref[k], err = qt.column(name); err != nil {
			return nil, err
		}
	}
	times := make([]float64, 169)
	for i := range times {
		times[i] = float64(i)
	}
	recs := []Record{
		{ID: 1, Time: 0, EVID: 1, AMT: 100, CMT: 1, II: 12, ADDL: 4, MDV: 1},
		{ID: 1, Time: 72, EVID: 1, AMT: 200, CMT: 2, RATE: 200, MDV: 1},
	}
	s, err := valModelB.NewSchedule(recs, Dosing{}, ScheduleOptions{})
	if err != nil {
		return nil, err
	}
	closed := make([][]float64, len(ps))
	for i, p := range ps {
		closed[i] = make([]float64, len(times))
		if err := valModelB.PredictInto(closed[i], p, s, times); err != nil {
			return nil, fmt.Errorf("pkpd: subject %d: %w", i+1, err)
		}
	}
	odec := make([][]float64, len(ps))
	for i, p := range ps {
		om, err := LinearODE(valModelB, p)
		if err != nil {
			return nil, fmt.Errorf("pkpd: subject %d: %w", i+1, err)
		}
		if odec[i], err = om.Predict(s, times); err != nil {
			return nil, fmt.Errorf("pkpd: subject %d: %w", i+1, err)
		}
	}
	var checks []refcheck.Check
	// Closed form vs R's closed form, 12 digits: 1e-10 relative, floor
	// 1e-4 mg/L (1e-14 absolute); the ODE path (RelTol 1e-10) 1e-8, floor
	// 1e-3 mg/L (1e-11 absolute): TestPopsim.
	for _, path := range []struct {
		name  string
		conc  [][]float64
		tol   float64
		floor float64
	}{{"closed form", closed, 1e-10, 1e-4}, {"ODE path", odec, 1e-8, 1e-3}} {
		var e valMax
		col := make([]float64, len(ps))
		for r, t := range qtimes {
			h := int(t)
			if t != float64(h) || h < 0 || h >= len(times) {
				return nil, fmt.Errorf("pkpd: refdata/f_popsim_quantiles.csv: time %g is not an hour in 0..168", t)
			}
			var sum float64
			for i := range ps {
				col[i] = path.conc[i][h]
				sum += col[i]
			}
			slices.Sort(col)
			got := []float64{valQuantile7(col, 0.05), valQuantile7(col, 0.5), valQuantile7(col, 0.95), sum / float64(len(col))}
			for q := range names {
				e.add(valRel(got[q], qref[q][r], path.floor), t, fmt.Sprintf("%s at t = %g h", names[q], t))
			}
		}
		checks = append(checks, e.check(fmt.Sprintf("p05, median, p95, mean hourly 0–168 h, %s (floor %g mg/L)", path.name, path.floor), "relative", path.tol))
	}
	var e valMax
	for i := range closed {
		for h, t := range times {
			e.add(valRel(odec[i][h], closed[i][h], 1e-3), t, fmt.Sprintf("subject %d, t = %g h", i+1, t))
		}
	}
	return append(checks, e.check("every subject and hour, ODE path vs closed form (floor 1e-3 mg/L)", "relative", 1e-8)), nil
}

// valQuantile7 is R's default quantile (type 7) of sorted x.
func valQuantile7(x []float64, p float64) float64 {
	h := float64(len(x)-1) * p
	lo := math.Floor(h)
	i := int(lo)
	if i+1 >= len(x) {
		return x[len(x)-1]
	}
	return x[i] + (h-lo)*(x[i+1]-x[i])
}

// valCaseD wraps PDValidationCases (its tolerances are documented there).
func valCaseD() ([]refcheck.Check, error) {
	pd, err := PDValidationCases()
	if err != nil {
		return nil, err
	}
	checks := make([]refcheck.Check, len(pd))
	for i, c := range pd {
		checks[i] = refcheck.Check{Quantity: c.Name, Unit: "relative", MaxError: c.MaxError, At: c.At,
			Where: fmt.Sprintf("t = %g h", c.At), Tolerance: c.Tolerance}
	}
	return checks, nil
}

// valGoti is the vancomycin model of Goti et al. 2018 (Ther Drug Monit
// 40:212, Table 2) as the reference script e_vanco_map.R writes it.
func valGoti() *DrugModel {
	crclMax, hdDefault := 150.0, 0.0
	return &DrugModel{
		Name:      "vancomycin-goti2018",
		Drug:      "vancomycin",
		Citation:  "Goti V et al. Ther Drug Monit 2018;40(2):212-221",
		Structure: Structure{Compartments: 2, Route: RouteIV},
		Parameters: []Parameter{
			{Name: "CL", Typical: 4.5, Effects: []CovariateEffectSpec{
				{Covariate: "CRCL", Model: EffectPower, Ref: 120, Theta: 0.8},
				{Covariate: "HD", Model: EffectCategorical, Theta: 0.7},
			}},
			{Name: "Vc", Typical: 58.4, Effects: []CovariateEffectSpec{
				{Covariate: "WT", Model: EffectPower, Ref: 70, Theta: 1},
				{Covariate: "HD", Model: EffectCategorical, Theta: 0.5},
			}},
			{Name: "Q", Typical: 6.5},
			{Name: "Vp", Typical: 38.4, Effects: []CovariateEffectSpec{
				{Covariate: "WT", Model: EffectPower, Ref: 70, Theta: 1},
			}},
		},
		Covariates: []CovariateDef{
			{Name: "WT", Unit: "kg"},
			{Name: "CRCL", Unit: "mL/min", Max: &crclMax},
			{Name: "HD", Default: &hdDefault},
		},
		IIV:   Variability{Params: []string{"CL", "Vc", "Vp"}, CV: []float64{0.398, 0.816, 0.571}, Convention: LogNormalCV},
		Error: ResidualError{Model: CombinedError, Add: 3.4, Prop: 0.227},
	}
}

// valFitE runs the MAP fit of the contract patient and returns it with
// the reference quantities.
func valFitE() (*DrugModel, *FitResult, map[string]float64, error) {
	ref, err := valSummary("e_vanco_map.csv")
	if err != nil {
		return nil, nil, nil, err
	}
	cov := map[string]float64{"WT": 80, "CRCL": 80, "HD": 0}
	doses, err := RegimenRecords(
		Regimen{Time: 0, Amount: 2000, Infusion: 2},
		Regimen{Time: 12, Amount: 1000, Infusion: 1, Every: 12, Doses: 4},
	)
	if err != nil {
		return nil, nil, nil, err
	}
	levels := []Level{{Time: 38, Value: 39.8}, {Time: 47.5, Value: 24.5}}
	if ref["WT_kg"] != cov["WT"] || ref["CRCL_mL_min"] != cov["CRCL"] || ref["DIAL"] != cov["HD"] ||
		ref["dv_38h"] != levels[0].Value || ref["dv_47.5h"] != levels[1].Value {
		return nil, nil, nil, fmt.Errorf("pkpd: refdata/e_vanco_map.csv: covariates or levels differ from the contract patient")
	}
	m := valGoti()
	res, err := Fit(m, cov, doses, levels, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	if !res.Converged {
		return nil, nil, nil, fmt.Errorf("pkpd: e_vanco_fit: the MAP estimate did not converge")
	}
	return m, res, ref, nil
}

func valCaseEFit() ([]refcheck.Check, error) {
	_, res, ref, err := valFitE()
	if err != nil {
		return nil, err
	}
	// The bar is 1e-3 relative; the estimate agrees with R's
	// BFGS to about 1e-7 (R's BFGS and Nelder-Mead differ by 4e-7), and
	// TestFitVancomycin holds it to 1e-6.
	var checks []refcheck.Check
	for _, c := range []struct {
		name, key string
		got       float64
	}{
		{"CL (L/h)", "CL_map_L_h", res.Parameters["CL"]},
		{"Vc (L)", "Vc_map_L", res.Parameters["Vc"]},
		{"Vp (L)", "Vp_map_L", res.Parameters["Vp"]},
		{"OFV at the MAP estimate", "OFV_at_map", res.OFV},
	} {
		want, ok := ref[c.key]
		if !ok {
			return nil, fmt.Errorf("pkpd: refdata/e_vanco_map.csv: no quantity %q", c.key)
		}
		checks = append(checks, refcheck.Check{Quantity: c.name, Unit: "relative", MaxError: valRel(c.got, want, 0),
			Where: fmt.Sprintf("%.10g vs %.10g", c.got, want), Tolerance: 1e-3})
	}
	return checks, nil
}

func valCaseEDose() ([]refcheck.Check, error) {
	m, fit, ref, err := valFitE()
	if err != nil {
		return nil, err
	}
	res, err := Dose(m, fit.Params, DoseSearch{
		Target:  Target{Metric: MetricAUC24, Value: 500},
		RoundTo: 250,
		Every:   []float64{12},
		Rate:    1000,
	})
	if err != nil {
		return nil, err
	}
	r := res.Recommended
	wantDose, wantAUC := ref["recommended_q12h_dose_mg"], ref["AUC24_ss_analytic_new_regimen"]
	if wantDose == 0 || wantAUC == 0 {
		return nil, fmt.Errorf("pkpd: refdata/e_vanco_map.csv: no recommended dose or AUC24")
	}
	// The recommendation is exact (a choice among 250 mg steps); the AUC24
	// 2·dose/CL to 1e-7 relative with our fit, whose CL agrees with R's
	// to about 2e-8 (TestDoseVancomycin).
	return []refcheck.Check{
		{Quantity: "recommended dose", Unit: "mg", MaxError: math.Abs(r.Amount - wantDose),
			Where: fmt.Sprintf("%g mg q%gh over %g h", r.Amount, r.Every, r.Infusion), Tolerance: 0},
		{Quantity: "recommended interval", Unit: "h", MaxError: math.Abs(r.Every - 12),
			Where: fmt.Sprintf("q%gh", r.Every), Tolerance: 0},
		{Quantity: "steady-state AUC24 of the recommendation", Unit: "relative", MaxError: valRel(r.AUC24, wantAUC, 0),
			Where: fmt.Sprintf("%.10g vs %.10g mg·h/L", r.AUC24, wantAUC), Tolerance: 1e-7},
	}, nil
}

func valCaseGDDI() ([]refcheck.Check, error) {
	var checks []refcheck.Check
	rev, err := valRead("g_ddi_static_reversible.csv")
	if err != nil {
		return nil, err
	}
	if len(rev.rows) != 42 {
		return nil, fmt.Errorf("pkpd: refdata/g_ddi_static_reversible.csv: %d rows, want 42", len(rev.rows))
	}
	// 12 significant digits: 1e-11 relative (TestReversibleAUCR).
	var e valMax
	for i := range rev.rows {
		v, err := rev.floats(i, "fm", "I_over_Ki", "AUCR_reversible")
		if err != nil {
			return nil, err
		}
		got, err := ReversibleAUCR(v[0], v[1], 1)
		if err != nil {
			return nil, err
		}
		e.add(valRel(got, v[2], 0), 0, fmt.Sprintf("row %d (fm %g, [I]/Ki %g)", i+1, v[0], v[1]))
	}
	checks = append(checks, e.check("reversible AUCR, 42 rows", "relative", 1e-11))

	msm, err := valRead("g_ddi_msm_cases.csv")
	if err != nil {
		return nil, err
	}
	if len(msm.rows) != 4 {
		return nil, fmt.Errorf("pkpd: refdata/g_ddi_msm_cases.csv: %d rows, want 4", len(msm.rows))
	}
	// 10 significant digits: 1e-9 relative (TestStaticDDIMSMCases).
	e = valMax{}
	for i := range msm.rows {
		v, err := msm.floats(i, "fm", "Fg", "Ih", "Ig", "Ki", "kinact", "KI", "kdeg_h_per_h", "kdeg_g_per_h", "Emax", "EC50", "d", "AUCR", "gut", "liver")
		if err != nil {
			return nil, err
		}
		r, err := StaticDDI{Fm: v[0], Fg: v[1], IHepatic: v[2], IGut: v[3], Ki: v[4], Kinact: v[5], KI: v[6],
			KdegHepatic: v[7], KdegGut: v[8], Emax: v[9], EC50: v[10], D: v[11]}.Evaluate()
		if err != nil {
			return nil, fmt.Errorf("pkpd: refdata/g_ddi_msm_cases.csv row %d: %w", i+1, err)
		}
		for k, got := range []float64{r.AUCR, r.Gut, r.Liver} {
			e.add(valRel(got, v[12+k], 0), 0, fmt.Sprintf("case %d %s", i+1, []string{"AUCR", "gut", "liver"}[k]))
		}
	}
	checks = append(checks, e.check("mechanistic static model AUCR, gut, liver, 4 cases", "relative", 1e-9))

	basic, err := valRead("g_ddi_basic_model.csv")
	if err != nil {
		return nil, err
	}
	if len(basic.rows) != 3 {
		return nil, fmt.Errorf("pkpd: refdata/g_ddi_basic_model.csv: %d rows, want 3", len(basic.rows))
	}
	// 10 significant digits: 1e-9 relative (TestBasicModels).
	e = valMax{}
	for i := range basic.rows {
		v, err := basic.floats(i, "Imax_u", "Ki_u", "dose_mg", "MW", "kinact", "KI_u", "kdeg", "Emax", "EC50_u", "Igut_uM", "R1", "R1_gut", "R2", "R3")
		if err != nil {
			return nil, err
		}
		imax, ki, dose, mw := v[0], v[1], v[2], v[3]
		got := make([]float64, 5)
		errs := make([]error, 5)
		got[0], errs[0] = GutConc(dose, mw)
		got[1], errs[1] = BasicR1(imax, ki)
		got[2], errs[2] = BasicR1Gut(dose, mw, ki)
		got[3], errs[3] = BasicR2(v[4], v[5], v[6], imax)
		got[4], errs[4] = BasicR3(1, v[7], v[8], imax)
		for k, name := range []string{"Igut", "R1", "R1,gut", "R2", "R3"} {
			if errs[k] != nil {
				return nil, errs[k]
			}
			e.add(valRel(got[k], v[9+k], 0), 0, fmt.Sprintf("row %d %s", i+1, name))
		}
	}
	return append(checks, e.check("FDA basic models Igut, R1, R1,gut, R2, R3, 3 inhibitors", "relative", 1e-9)), nil
}

func valCaseGPGx() ([]refcheck.Check, error) {
	t, err := valRead("g_pgx_activity_scores.csv")
	if err != nil {
		return nil, err
	}
	if len(t.rows) != 31 {
		return nil, fmt.Errorf("pkpd: refdata/g_pgx_activity_scores.csv: %d rows, want 31", len(t.rows))
	}
	var mismatches int
	firstMismatch := fmt.Sprintf("all %d match", len(t.rows))
	var eAS, eAUC valMax
	for i := range t.rows {
		gene, dip, phen, as := t.text(i, "gene"), t.text(i, "diplotype"), t.text(i, "phenotype"), t.text(i, "activity_score")
		where := fmt.Sprintf("%s %s", gene, dip)
		r, err := CallDiplotype(Gene(gene), dip)
		if err != nil {
			return nil, err
		}
		if r.Phenotype != Phenotype(phen) {
			if mismatches == 0 {
				firstMismatch = fmt.Sprintf("%s: %s, want %s", where, r.Phenotype, phen)
			}
			mismatches++
		}
		if as == "NA" {
			// No activity-score system (CYP2C19).
			if r.HasActivityScore {
				eAS.add(math.Inf(1), 0, where+": an activity score where CPIC has none")
			}
			continue
		}
		want, err := strconv.ParseFloat(as, 64)
		if err != nil || !r.HasActivityScore {
			eAS.add(math.Inf(1), 0, where+": no activity score")
			continue
		}
		// Activity values are multiples of 0.25, exact in binary: the
		// score must be exact.
		eAS.add(math.Abs(r.ActivityScore-want), 0, where)
		f, err := GeneClearance{Fm: 0.9}.Factor(r)
		if err != nil {
			return nil, err
		}
		v, err := t.floats(i, "AUC_ratio_fm0.9_if_AS_scaled")
		if err != nil {
			return nil, err
		}
		// 8 significant digits: 1e-7 relative (TestPGxActivityScores).
		eAUC.add(valRel(1/f, v[0], 0), 0, where)
	}
	return []refcheck.Check{
		{Quantity: fmt.Sprintf("phenotype mismatches, %d diplotypes", len(t.rows)), Unit: "diplotypes",
			MaxError: float64(mismatches), Where: firstMismatch, Tolerance: 0},
		eAS.check("activity score (diplotypes with a score)", "activity score", 0),
		eAUC.check("AUC ratio 1/(0.9·AS/2 + 0.1)", "relative", 1e-7),
	}, nil
}

// valRel is |got − want|/max(|want|, floor): a relative error that treats
// reference values below floor as floor. Equal values give 0.
func valRel(got, want, floor float64) float64 {
	d := math.Abs(got - want)
	if d == 0 {
		return 0
	}
	return d / math.Max(math.Abs(want), floor)
}

// valMax tracks the largest error of a check and where it occurred; a NaN
// error sticks.
type valMax struct {
	n     int
	err   float64
	at    float64
	where string
}

func (m *valMax) addAt(e, t float64) { m.add(e, t, fmt.Sprintf("t = %g h", t)) }

func (m *valMax) add(e, at float64, where string) {
	if m.n > 0 && math.IsNaN(m.err) {
		return
	}
	if m.n == 0 || math.IsNaN(e) || e > m.err {
		m.err, m.at, m.where = e, at, where
	}
	m.n++
}

func (m *valMax) check(quantity, unit string, tol float64) refcheck.Check {
	if m.n == 0 {
		return refcheck.Check{Quantity: quantity, Unit: unit, MaxError: math.NaN(), Where: "nothing compared", Tolerance: tol}
	}
	return refcheck.Check{Quantity: quantity, Unit: unit, MaxError: m.err, At: m.at, Where: m.where, Tolerance: tol}
}

func valSingle(quantity, unit string, e, at, tol float64) refcheck.Check {
	return refcheck.Check{Quantity: quantity, Unit: unit, MaxError: e, At: at, Where: fmt.Sprintf("t = %.10g h", at), Tolerance: tol}
}

// valTable is an embedded reference CSV: header and text cells.
type valTable struct {
	file string
	col  map[string]int
	rows [][]string
}

func valRead(name string) (*valTable, error) {
	data, err := valRefFiles.ReadFile("refdata/" + name)
	if err != nil {
		return nil, fmt.Errorf("pkpd: %w", err)
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.Comment = '#'
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("pkpd: refdata/%s: %w", name, err)
	}
	if len(recs) < 2 {
		return nil, fmt.Errorf("pkpd: refdata/%s: no data rows", name)
	}
	t := &valTable{file: "refdata/" + name, col: make(map[string]int), rows: recs[1:]}
	for j, h := range recs[0] {
		t.col[strings.TrimSpace(h)] = j
	}
	return t, nil
}

func (t *valTable) text(row int, name string) string {
	j, ok := t.col[name]
	if !ok {
		return ""
	}
	return t.rows[row][j]
}

// floats parses the named cells of one row (R writes Inf as "Inf").
func (t *valTable) floats(row int, names ...string) ([]float64, error) {
	out := make([]float64, len(names))
	for k, name := range names {
		j, ok := t.col[name]
		if !ok {
			return nil, fmt.Errorf("pkpd: %s: no column %q", t.file, name)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(t.rows[row][j]), 64)
		if err != nil {
			return nil, fmt.Errorf("pkpd: %s: row %d, column %s: %q is not a number", t.file, row+1, name, t.rows[row][j])
		}
		out[k] = v
	}
	return out, nil
}

func (t *valTable) column(name string) ([]float64, error) {
	out := make([]float64, len(t.rows))
	for i := range t.rows {
		v, err := t.floats(i, name)
		if err != nil {
			return nil, err
		}
		out[i] = v[0]
	}
	return out, nil
}

// valSummary reads a two-column quantity,value file.
func valSummary(name string) (map[string]float64, error) {
	t, err := valRead(name)
	if err != nil {
		return nil, err
	}
	out := make(map[string]float64, len(t.rows))
	for i, row := range t.rows {
		if len(row) < 2 {
			return nil, fmt.Errorf("pkpd: %s: row %d: want quantity,value", t.file, i+1)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(row[1]), 64)
		if err != nil {
			return nil, fmt.Errorf("pkpd: %s: row %d: %q is not a number", t.file, i+1, row[1])
		}
		out[row[0]] = v
	}
	return out, nil
}
