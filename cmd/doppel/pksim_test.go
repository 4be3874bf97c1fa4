package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var pkVancoSim = filepath.Join("..", "..", "examples", "pk_vanco_sim.yaml")

// TestPKSim runs the example PK scenario and checks the files and the
// printed metrics against the written CSV: Cmax and tmax are the grid's
// largest value (the exact peak is at an infusion end, which the 0.5 h grid
// holds), Cmin the value at the last dose (60 h, a left limit),
// and AUC0-72 close to the trapezoidal rule on the 0.5 h grid (which
// overstates the AUC of convex decays: tolerance 1 %).
func TestPKSim(t *testing.T) {
	dir := t.TempDir()
	csvPath, pngPath := filepath.Join(dir, "conc.csv"), filepath.Join(dir, "conc.png")
	code, stdout, stderr := doppel(t, "sim", pkVancoSim, "--out", csvPath, "--plot", pngPath, "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got struct {
		Cmax  float64 `json:"cmax_mg_L"`
		Tmax  float64 `json:"tmax_h"`
		Cmin  float64 `json:"cmin_mg_L"`
		CminT float64 `json:"cmin_time_h"`
		AUC   float64 `json:"auc_mg_h_L"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	data, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if want := "time_h,conc_mg_L,amount_central_mg,amount_peripheral1_mg"; lines[0] != want {
		t.Errorf("header %q, want %q", lines[0], want)
	}
	if len(lines) != 146 {
		t.Fatalf("%d rows, want 145 (0 to 72 h every 0.5 h)", len(lines)-1)
	}
	var ts, cs []float64
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		tt, _ := strconv.ParseFloat(f[0], 64)
		c, _ := strconv.ParseFloat(f[1], 64)
		a, _ := strconv.ParseFloat(f[2], 64)
		ts, cs = append(ts, tt), append(cs, c)
		// Vc = 58.4·80/70 L for the 80 kg patient (Goti 2018).
		if math.Abs(a/(58.4*80/70)-c) > 1e-8*math.Max(c, 1) {
			t.Errorf("t = %g h: amount %g mg / Vc != concentration %g mg/L", tt, a, c)
		}
	}
	i := slices.Index(cs, slices.Max(cs))
	if got.Cmax != cs[i] && math.Abs(got.Cmax-cs[i]) > 1e-8*cs[i] || got.Tmax != ts[i] {
		t.Errorf("Cmax %g at %g h, want %g at %g h", got.Cmax, got.Tmax, cs[i], ts[i])
	}
	j := slices.Index(ts, 60.0)
	if math.Abs(got.Cmin-cs[j]) > 1e-8*cs[j] || got.CminT != 60 {
		t.Errorf("Cmin %g at %g h, want %g at 60 h", got.Cmin, got.CminT, cs[j])
	}
	trap := 0.0
	for k := 1; k < len(ts); k++ {
		trap += (ts[k] - ts[k-1]) * (cs[k] + cs[k-1]) / 2
	}
	if math.Abs(got.AUC-trap) > 0.01*trap {
		t.Errorf("AUC %g, trapezoidal %g", got.AUC, trap)
	}
	if fi, err := os.Stat(pngPath); err != nil || fi.Size() == 0 {
		t.Errorf("plot: %v", err)
	}
	code, stdout, _ = doppel(t, "sim", pkVancoSim)
	if code != exitOK || !strings.Contains(stdout, "Cmax") || !strings.Contains(stdout, "AUC0-72") {
		t.Errorf("text output (exit %d):\n%s", code, stdout)
	}
}

// TestPKSimBadInput checks that a bad PK scenario exits 2 naming
// file:line and the field, and writes no file.
func TestPKSimBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	src := "model: vancomycin-goti2018\npatient: {weight: 80 kg, crcl: 80 mL/min, dialysis: false}\ndoses: [{time: 0 h, amount: 1000, infusion: 1 h}]\noutputs: {every: 0.5 h, until: 72 h}\n"
	if err := os.WriteFile(bad, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "conc.csv")
	code, _, stderr := doppel(t, "sim", bad, "--out", out)
	if code != exitUsage || !strings.Contains(stderr, bad+":3: doses[0].amount") {
		t.Errorf("exit %d, stderr %q; want 2 and %s:3: doses[0].amount", code, stderr, bad)
	}
	if names := entries(t, dir); !slices.Equal(names, []string{"bad.yaml"}) {
		t.Errorf("files left: %v", names)
	}
}

func TestIsPKFile(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		src  string
		want bool
	}{
		{"model: vancomycin-goti2018\n", true},
		{"model: my_model.yaml\n", true},
		{"model: t1d\n", false},
		{"patient: adult#001\n", false},
		{"model: [1\n", false},
	} {
		p := filepath.Join(dir, "f.yaml")
		os.WriteFile(p, []byte(c.src), 0o644)
		if got := isPKFile(p); got != c.want {
			t.Errorf("%q: %v, want %v", c.src, got, c.want)
		}
	}
}

var pkPGxPD = filepath.Join("..", "..", "examples", "pk_pgx_pd.yaml")

// TestPKSimPGxPD runs the PGx/DDI/PD example: the clearance factor is
// 0.6·(1/2)·1/(1 + 2/0.5) + 0.4 = 0.46 (CYP2D6 *1/*4, AS 1, inhibited by
// [I]/Ki = 4) and CL is 0.46 × the typical Goti 2018 CL; the CSV has
// ce_mg_L and effect = 100·Ce²/(15² + Ce²), and the printed effect maximum
// is the column's.
func TestPKSimPGxPD(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "pkpd.csv")
	code, stdout, stderr := doppel(t, "sim", pkPGxPD, "--out", csvPath, "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got struct {
		Factor  float64             `json:"clearance_factor"`
		Factors []pkClearanceFactor `json:"clearance_factors"`
		Params  map[string]float64  `json:"parameters"`
		PD      pkPDJSON            `json:"pd"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if math.Abs(got.Factor-0.46) > 1e-15 || len(got.Factors) != 1 || !strings.Contains(got.Factors[0].Source, "IM, AS 1") {
		t.Errorf("clearance factor %g from %+v, want 0.46 from CYP2D6 IM, AS 1", got.Factor, got.Factors)
	}
	// Goti 2018: CL = 4.5·(CrCL/120)^0.8 L/h at CrCL 80 mL/min.
	if want := 0.46 * 4.5 * math.Pow(80.0/120, 0.8); math.Abs(got.Params["CL"]-want) > 1e-12*want {
		t.Errorf("CL %g, want %g", got.Params["CL"], want)
	}
	data, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if want := "time_h,conc_mg_L,amount_central_mg,amount_peripheral1_mg,ce_mg_L,effect"; lines[0] != want {
		t.Fatalf("header %q, want %q", lines[0], want)
	}
	emax := math.Inf(-1)
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		ce, _ := strconv.ParseFloat(f[4], 64)
		e, _ := strconv.ParseFloat(f[5], 64)
		// 10 significant digits in the CSV.
		if want := 100 * ce * ce / (15*15 + ce*ce); math.Abs(e-want) > 1e-8*math.Max(want, 1) {
			t.Errorf("%s: effect %g, want Emax(Ce) %g", f[0], e, want)
		}
		emax = max(emax, e)
	}
	if math.Abs(got.PD.EffectMax-emax) > 1e-8*emax {
		t.Errorf("printed effect max %g, CSV max %g", got.PD.EffectMax, emax)
	}
	code, stdout, _ = doppel(t, "sim", pkPGxPD)
	if code != exitOK || !strings.Contains(stdout, "CL FACTOR") || !strings.Contains(stdout, "effect max") {
		t.Errorf("text output (exit %d):\n%s", code, stdout)
	}
}

// TestPKSimPGxPDBadInput checks that bad genotype, pgx and pd fields exit 2
// naming file:line and the field, and write no file.
func TestPKSimPGxPDBadInput(t *testing.T) {
	const head = "model: vancomycin-goti2018\npatient: {weight: 80 kg, crcl: 80 mL/min, dialysis: false}\ndoses: [{time: 0 h, amount: 1000 mg, infusion: 1 h}]\noutputs: {every: 0.5 h, until: 72 h}\n"
	for _, c := range []struct{ name, extra, want string }{
		{"unknown gene", "genotype: {CYP1A2: \"*1/*1\"}\npgx: {CYP2D6: {fm: 0.6}}\n", ":5: genotype.CYP1A2"},
		{"fm outside [0, 1]", "genotype: {CYP2D6: \"*1/*4\"}\npgx: {CYP2D6: {fm: 1.5}}\n", ":6: pgx.CYP2D6.fm"},
		{"unknown PD model", "pd: {model: sigmoid}\n", ":5: pd.model"},
		{"missing ec50", "pd: {model: emax, e0: 0, emax: 1}\n", ":5: pd.ec50"},
		{"empty unit", "pd: {model: emax, e0: 0, emax: 1, ec50: 1 mg/L, unit: \"\"}\n", ":5: pd.unit"},
		{"unit a mapping", "pd: {model: idr, type: I, kin: 1, kout: 1 1/h, imax: 0.5, ic50: 1 mg/L, unit: {a: 1}}\n", ":5: pd.unit"},
	} {
		dir := t.TempDir()
		bad := filepath.Join(dir, "bad.yaml")
		if err := os.WriteFile(bad, []byte(head+c.extra), 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, stderr := doppel(t, "sim", bad, "--out", filepath.Join(dir, "run.csv"))
		if code != exitUsage || !strings.Contains(stderr, bad+c.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %s%s", c.name, code, stderr, bad, c.want)
		}
		if names := entries(t, dir); !slices.Equal(names, []string{"bad.yaml"}) {
			t.Errorf("%s: files left: %v", c.name, names)
		}
	}
}

// TestPKSimPDPlot checks that --plot of a scenario with a pd model draws
// the effect panel (axis in the pd unit, "model units" without one) and
// Ce on the concentration panel, and that a scenario without PD draws
// neither.
func TestPKSimPDPlot(t *testing.T) {
	example, err := os.ReadFile(pkPGxPD)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	withUnit := filepath.Join(dir, "unit.yaml")
	idr := filepath.Join(dir, "idr.yaml")
	if err := os.WriteFile(withUnit, append(example, "  unit: \"% inhibition\"\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	head, _, _ := strings.Cut(string(example), "\npd:\n")
	if err := os.WriteFile(idr, []byte(head+"\npd: {model: idr, type: I, kin: 10, kout: 0.5 1/h, imax: 0.9, ic50: 10 mg/L}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, file string
		want, not  []string
	}{
		{"emax, effect compartment", pkPGxPD,
			[]string{"Effect (model units)", "effect-site concentration (Ce)", "sigmoid Emax of the effect-site concentration", "Concentration (mg/L)"}, nil},
		{"unit given", withUnit, []string{"Effect (% inhibition)"}, []string{"model units"}},
		{"idr, no Ce", idr, []string{"Effect (model units)", "indirect response type I"}, []string{"Ce)"}},
		{"no PD", pkVancoSim, []string{"Concentration (mg/L)"}, []string{"Effect (", "Ce)"}},
	} {
		svgPath := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".svg")
		code, _, stderr := doppel(t, "sim", c.file, "--plot", svgPath)
		if code != exitOK {
			t.Fatalf("%s: exit %d: %s", c.name, code, stderr)
		}
		data, err := os.ReadFile(svgPath)
		if err != nil {
			t.Fatal(err)
		}
		svg := string(data)
		for _, s := range c.want {
			if !strings.Contains(svg, s) {
				t.Errorf("%s: SVG lacks %q", c.name, s)
			}
		}
		for _, s := range c.not {
			if strings.Contains(svg, s) {
				t.Errorf("%s: SVG has %q", c.name, s)
			}
		}
	}
}

// TestPKSimData runs the data-set example: ID 1 is the contract patient,
// so its PRED and IPRED at 38 and 47.5 h are those of reference e
// (refs/pkpd/e_vanco_obs.csv: pred_pop 27.0527789526, 17.3152137276;
// ipred_map 34.9491020793, 21.9417523957) and its η̂ that of e_vanco_map;
// records other than observations have no prediction.
func TestPKSimData(t *testing.T) {
	out := filepath.Join(t.TempDir(), "pred.csv")
	code, stdout, stderr := doppel(t, "sim", filepath.Join("..", "..", "examples", "pk_vanco_data.yaml"), "--out", out)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "2 subjects") {
		t.Errorf("stdout:\n%s", stdout)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if want := "ID,TIME,EVID,AMT,CMT,RATE,II,ADDL,SS,MDV,DV,crcl,weight,PRED,IPRED,ETA_CL,ETA_Vc,ETA_Vp"; lines[0] != want {
		t.Fatalf("header %q, want %q", lines[0], want)
	}
	want := map[string][2]float64{"38": {27.0527789526, 34.9491020793}, "47.5": {17.3152137276, 21.9417523957}}
	seen := 0
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		if f[0] != "1" {
			continue
		}
		w, obs := want[f[1]]
		if !obs {
			if f[13] != "" || f[14] != "" {
				t.Errorf("dose record %s: PRED %q, IPRED %q, want none", f[1], f[13], f[14])
			}
			continue
		}
		seen++
		for k := range 2 {
			v, _ := strconv.ParseFloat(f[13+k], 64)
			if math.Abs(v-w[k]) > 1e-6*w[k] {
				t.Errorf("t = %s h: column %d = %g, want %g", f[1], 13+k, v, w[k])
			}
		}
		if eta, _ := strconv.ParseFloat(f[15], 64); math.Abs(eta-(-0.2416009329)) > 1e-6 {
			t.Errorf("ETA_CL %g, want -0.2416009329", eta)
		}
	}
	if seen != 2 {
		t.Errorf("%d observation rows of ID 1, want 2", seen)
	}
	// A bad record exits 2 naming the line and the column.
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(filepath.Join(dir, "bad.csv"), []byte("ID,TIME,EVID,AMT,WT,CRCL\n1,0,1,100,80,80\n1,-2,0,0,80,80\n"), 0o644)
	os.WriteFile(bad, []byte("model: vancomycin-goti2018\ndata: bad.csv\ncolumns: {weight: WT}\npatient: {dialysis: false}\n"), 0o644)
	code, _, stderr = doppel(t, "sim", bad)
	if code != exitUsage || !strings.Contains(stderr, "bad.csv: line 3") || !strings.Contains(stderr, "TIME") {
		t.Errorf("bad record: exit %d, stderr %s", code, stderr)
	}
}

// TestPKSimCovariateChanges: with CrCL falling from 80 to 40 mL/min at
// 24 h the profile is that of pk_vanco_sim.yaml (CrCL 80 throughout) up to
// 24 h (left limit) and higher after it, and the change is reported.
func TestPKSimCovariateChanges(t *testing.T) {
	dir := t.TempDir()
	conc := func(file string) map[string]float64 {
		out := filepath.Join(dir, filepath.Base(file)+".csv")
		code, _, stderr := doppel(t, "sim", filepath.Join("..", "..", "examples", file), "--out", out)
		if code != exitOK {
			t.Fatalf("%s: exit %d: %s", file, code, stderr)
		}
		data, _ := os.ReadFile(out)
		m := map[string]float64{}
		for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n")[1:] {
			f := strings.Split(l, ",")
			m[f[0]], _ = strconv.ParseFloat(f[1], 64)
		}
		return m
	}
	base, falls := conc("pk_vanco_sim.yaml"), conc("pk_vanco_crcl_sim.yaml")
	for _, tt := range []string{"1", "12", "23.5", "24"} {
		if base[tt] != falls[tt] {
			t.Errorf("t = %s h: %g, want %g (before the change)", tt, falls[tt], base[tt])
		}
	}
	for _, tt := range []string{"30", "48", "72"} {
		if !(falls[tt] > base[tt]) {
			t.Errorf("t = %s h: %g, want above %g (lower CrCL)", tt, falls[tt], base[tt])
		}
	}
	code, stdout, _ := doppel(t, "sim", filepath.Join("..", "..", "examples", "pk_vanco_crcl_sim.yaml"), "--json")
	if code != exitOK || !strings.Contains(stdout, `"covariate_changes"`) {
		t.Errorf("exit %d, JSON without covariate_changes:\n%s", code, stdout)
	}
}
