package glucose

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/doppelhealth/doppel/assim"
	"github.com/doppelhealth/doppel/model/t1d"
)

// Input is what the patient received during one minute.
type Input struct {
	Carbs   float64 // carbohydrate announced at this minute, g
	Insulin float64 // insulin delivered during this minute, U/min
}

// The personal parameters the filter adapts, as natural logarithms of
// multipliers of the population values (0: the population value).
const (
	// Sensitivity multiplies Vmx, the insulin-dependent glucose uptake per
	// unit insulin action (peripheral insulin sensitivity).
	Sensitivity = iota
	// Absorption multiplies Kabs, the intestinal absorption rate of
	// carbohydrate.
	Absorption
	// Production multiplies Kp1, the endogenous glucose production, which
	// sets the glucose level that the basal insulin holds.
	Production
	// NumParams is the number of adapted parameters.
	NumParams
)

// Hypoglycaemia alert definition of Forecast.PHypo.
const (
	HypoThreshold = 70.0 // mg/dL
	HypoWindow    = 30   // min
)

// Options adjust the filter. The zero value gives the defaults.
type Options struct {
	Particles int // ensemble size; 0 means 64
	// PriorMean is the mean of the log multipliers at the start, per
	// adapted parameter: 0 (the default) is the population value; a twin
	// that follows an earlier one starts from the earlier one's estimate.
	// Each entry must lie within ±1.5, the bound of the random walk.
	PriorMean [NumParams]float64
	// PriorSD is the SD of the log multipliers at the start, per adapted
	// parameter; a zero entry means the default 0.4, 0.3, 0.1.
	PriorSD [NumParams]float64
	// DriftSD is the SD of the random walk of the log multipliers per
	// 5 min; a zero entry means the default 0.02, 0.02, 0.005 (a day of
	// drift: 0.34, 0.34, 0.085).
	DriftSD [NumParams]float64
	// GlucoseSD is the SD of the multiplicative process noise on the
	// plasma glucose mass per 5 min (model error); 0 means 0.02.
	GlucoseSD float64
	// DisturbanceSD is the stationary SD of the unexplained glucose flux
	// into plasma, mg/kg/min; 0 means 1.
	DisturbanceSD float64
	// DisturbanceTau is its correlation time, min; 0 means 60.
	DisturbanceTau float64
	// ModelSD, mg/dL, is added in quadrature to the sensor innovation SD;
	// 0 means 3.
	ModelSD float64
	// Method integrates the particles; the zero value means RK4 with a
	// 1-min step, refined to 4 sub-steps in minutes of eating.
	Method t1d.Method
}

func (o *Options) defaults() error {
	if o.Particles == 0 {
		o.Particles = 64
	}
	if o.Particles < 2 || o.Particles > 100000 {
		return fmt.Errorf("glucose: Options.Particles = %d, want 2 to 100000", o.Particles)
	}
	prior := [NumParams]float64{0.4, 0.3, 0.1}
	drift := [NumParams]float64{0.02, 0.02, 0.005}
	for i := range NumParams {
		if o.PriorSD[i] == 0 {
			o.PriorSD[i] = prior[i]
		}
		if o.DriftSD[i] == 0 {
			o.DriftSD[i] = drift[i]
		}
		if !(o.PriorSD[i] > 0 && o.PriorSD[i] < 3) || !(o.DriftSD[i] > 0 && o.DriftSD[i] < 1) {
			return fmt.Errorf("glucose: Options.PriorSD[%d] = %v, DriftSD[%d] = %v, want (0, 3) and (0, 1)", i, o.PriorSD[i], i, o.DriftSD[i])
		}
		if !(math.Abs(o.PriorMean[i]) <= maxLogMultiplier) {
			return fmt.Errorf("glucose: Options.PriorMean[%d] = %v, want a log multiplier within ±%v", i, o.PriorMean[i], maxLogMultiplier)
		}
	}
	if o.GlucoseSD == 0 {
		o.GlucoseSD = 0.02
	}
	if o.ModelSD == 0 {
		o.ModelSD = 3
	}
	if o.DisturbanceSD == 0 {
		o.DisturbanceSD = 1
	}
	if o.DisturbanceTau == 0 {
		o.DisturbanceTau = 60
	}
	if !(o.DisturbanceSD > 0 && o.DisturbanceSD < 100) || !(o.DisturbanceTau >= 1 && o.DisturbanceTau < 1e4) {
		return fmt.Errorf("glucose: Options.DisturbanceSD = %v mg/kg/min, DisturbanceTau = %v min, want (0, 100) and [1, 1e4)", o.DisturbanceSD, o.DisturbanceTau)
	}
	if !(o.GlucoseSD > 0 && o.GlucoseSD < 1) || !(o.ModelSD > 0 && o.ModelSD < 100) {
		return fmt.Errorf("glucose: Options.GlucoseSD = %v, ModelSD = %v mg/dL, want (0, 1) and (0, 100)", o.GlucoseSD, o.ModelSD)
	}
	if o.Method.New == nil && o.Method.Step == 0 && o.Method.Refine == 0 {
		o.Method = t1d.Method{Step: 1, Refine: 4}
	}
	return nil
}

// Filter is a particle filter over the UVA/Padova state of one patient and
// NumParams personal parameters. Build it with New; feed it the inputs of
// each interval with Advance and each CGM reading with Update; ask it for a
// Forecast. A Filter is not safe for concurrent use.
type Filter struct {
	pop    t1d.Params
	sensor t1d.SensorParams
	noise  SensorNoise
	opt    Options
	rng    *rand.Rand

	models  []*t1d.PatientModel
	theta   [][NumParams]float64
	v       []float64 // sensor error of each particle at the last reading, mg/dL
	d       []float64 // unexplained glucose flux of each particle, mg/kg/min
	logw, w []float64
	ess     float64
	started bool
	insulin float64 // last insulin rate seen, U/min

	// Scratch.
	idx      []int
	states   []t1d.PatientState
	thetaTmp [][NumParams]float64
	vTmp     []float64
	dTmp     []float64
}

// New returns a filter for a patient whose population (prior) parameters
// are pop, read by CGM sensor, drawing its randomness from rng.
func New(pop t1d.Params, sensor t1d.SensorParams, rng *rand.Rand, opt Options) (*Filter, error) {
	if rng == nil {
		return nil, fmt.Errorf("glucose: New needs a *rand.Rand")
	}
	if err := opt.defaults(); err != nil {
		return nil, err
	}
	noise, err := NoiseModel(sensor)
	if err != nil {
		return nil, err
	}
	n := opt.Particles
	f := &Filter{
		pop: pop, sensor: sensor, noise: noise, opt: opt, rng: rng,
		models: make([]*t1d.PatientModel, n), theta: make([][NumParams]float64, n),
		v: make([]float64, n), logw: make([]float64, n), w: make([]float64, n), ess: float64(n),
		idx: make([]int, n), states: make([]t1d.PatientState, n),
		thetaTmp: make([][NumParams]float64, n), vTmp: make([]float64, n),
		d: make([]float64, n), dTmp: make([]float64, n),
	}
	for i := range f.models {
		if f.models[i], err = t1d.NewPatientModel(pop, opt.Method); err != nil {
			return nil, fmt.Errorf("glucose: %w", err)
		}
		f.w[i] = 1 / float64(n)
		f.logw[i] = math.Log(f.w[i])
	}
	return f, nil
}

// personal returns the population parameters with the multipliers exp(θ).
func (f *Filter) personal(th [NumParams]float64) t1d.Params {
	p := f.pop
	p.Vmx *= math.Exp(th[Sensitivity])
	p.Kabs *= math.Exp(th[Absorption])
	p.Kp1 *= math.Exp(th[Production])
	return p
}

// maxLogMultiplier bounds the adapted log multipliers (a factor of e^1.5 ≈
// 4.5 either way), keeping the random walk inside what the model can
// simulate.
const maxLogMultiplier = 1.5

// Advance moves every particle through the given minutes of inputs and
// adds the process noise of that interval. Before the first reading it
// only records the last insulin rate: the filter starts at the first
// Update.
func (f *Filter) Advance(in []Input) error {
	for i, u := range in {
		if !finite(u.Carbs) || u.Carbs < 0 || !finite(u.Insulin) || u.Insulin < 0 {
			return fmt.Errorf("glucose: input %d: carbs %v g, insulin %v U/min, want finite values ≥ 0", i+1, u.Carbs, u.Insulin)
		}
	}
	if len(in) == 0 {
		return nil
	}
	f.insulin = in[len(in)-1].Insulin
	if !f.started {
		return nil
	}
	scale := math.Sqrt(float64(len(in)) / 5)
	for i, m := range f.models {
		for _, u := range in {
			if err := f.step(m, &f.d[i], u, 1); err != nil {
				return err
			}
		}
		s := m.State()
		s.X[3] *= math.Exp(f.opt.GlucoseSD * scale * f.rng.NormFloat64())
		if err := m.SetState(s); err != nil {
			return fmt.Errorf("glucose: %w", err)
		}
		for k := range NumParams {
			th := f.theta[i][k] + f.opt.DriftSD[k]*scale*f.rng.NormFloat64()
			f.theta[i][k] = min(max(th, -maxLogMultiplier), maxLogMultiplier)
		}
		if err := m.SetParams(f.personal(f.theta[i])); err != nil {
			return fmt.Errorf("glucose: %w", err)
		}
	}
	return nil
}

// step advances model m by one minute with input u, adds the unexplained
// flux d (mg/kg/min) to the plasma glucose mass and moves d one minute
// along its Ornstein-Uhlenbeck process (decay exp(−1/τ), stationary SD
// DisturbanceSD), with its random part scaled by noise (0: the mean path).
func (f *Filter) step(m *t1d.PatientModel, d *float64, u Input, noise float64) error {
	if err := m.Step(u.Carbs, u.Insulin); err != nil {
		return fmt.Errorf("glucose: %w", err)
	}
	s := m.State()
	s.X[3] = max(s.X[3]+*d, 1)
	if err := m.SetState(s); err != nil {
		return fmt.Errorf("glucose: %w", err)
	}
	a := math.Exp(-1 / f.opt.DisturbanceTau)
	*d = a**d + noise*f.opt.DisturbanceSD*math.Sqrt(1-a*a)*f.rng.NormFloat64()
	return nil
}

// Update assimilates one CGM reading (mg/dL) taken now.
//
// Likelihood: the reading y is the particle's subcutaneous glucose BG plus
// a sensor error v that follows the AR(1) of NoiseModel. Each particle
// carries its error at the previous reading, vₚ = yₚ − BGₚ (exact given the
// particle), so y is normal with mean BG + Mean + Phi·(vₚ − Mean) and
// variance SD²(1 − Phi²) + ModelSD². Readings at the sensor's clipping limits are
// censored: the likelihood is the normal probability of lying beyond the
// limit. Particles are resampled systematically when the effective sample
// size falls below half the ensemble.
//
// The first reading starts the filter: each particle draws its multipliers
// from the prior and a glucose level BG = y − v with v from the sensor
// error's stationary law, and scales the glucose masses of the
// population's basal steady state to it.
func (f *Filter) Update(cgm float64) error {
	if !finite(cgm) || cgm <= 0 {
		return fmt.Errorf("glucose: CGM reading %v mg/dL, want a finite value > 0", cgm)
	}
	if !f.started {
		return f.start(cgm)
	}
	nm := f.noise
	sd := math.Sqrt(nm.SD*nm.SD*(1-nm.Phi*nm.Phi) + f.opt.ModelSD*f.opt.ModelSD)
	for i, m := range f.models {
		bg := m.BG()
		mean := bg + nm.Mean + nm.Phi*(f.v[i]-nm.Mean)
		f.logw[i] += f.logLik(cgm, mean, sd)
		f.v[i] = cgm - bg
	}
	copy(f.w, f.logw)
	f.ess = assim.NormalizeLog(f.w)
	for i, w := range f.w {
		f.logw[i] = math.Log(w)
	}
	if f.ess < float64(len(f.models))/2 {
		return f.resample()
	}
	return nil
}

// logLik is the log-likelihood of reading y given a normal predicted
// reading, censored at the sensor's limits.
func (f *Filter) logLik(y, mean, sd float64) float64 {
	z := (y - mean) / sd
	switch {
	case y <= f.sensor.Min:
		return math.Log(0.5 * math.Erfc(-z/math.Sqrt2))
	case y >= f.sensor.Max:
		return math.Log(0.5 * math.Erfc(z/math.Sqrt2))
	}
	return -0.5*z*z - math.Log(sd)
}

func (f *Filter) start(cgm float64) error {
	x0 := f.pop.X0
	bg0 := x0[12] / f.pop.Vg
	n := float64(len(f.models))
	for i, m := range f.models {
		for k := range NumParams {
			f.theta[i][k] = min(max(f.opt.PriorMean[k]+f.opt.PriorSD[k]*f.rng.NormFloat64(), -maxLogMultiplier), maxLogMultiplier)
		}
		if err := m.SetParams(f.personal(f.theta[i])); err != nil {
			return fmt.Errorf("glucose: %w", err)
		}
		bg := max(cgm-(f.noise.Mean+f.noise.SD*f.rng.NormFloat64()), 20)
		s := t1d.PatientState{X: x0, LastQsto: x0[0] + x0[1]}
		for _, j := range []int{3, 4, 12} {
			s.X[j] *= bg / bg0
		}
		if err := m.SetState(s); err != nil {
			return fmt.Errorf("glucose: %w", err)
		}
		f.v[i] = cgm - bg
		f.d[i] = f.opt.DisturbanceSD * f.rng.NormFloat64()
		f.w[i], f.logw[i] = 1/n, -math.Log(n)
	}
	f.ess = n
	f.started = true
	return nil
}

// resample draws a new equally weighted ensemble by systematic resampling.
func (f *Filter) resample() error {
	assim.Systematic(f.idx, f.w, f.rng.Float64())
	for i, j := range f.idx {
		f.states[i] = f.models[j].State()
		f.thetaTmp[i] = f.theta[j]
		f.vTmp[i] = f.v[j]
		f.dTmp[i] = f.d[j]
	}
	n := float64(len(f.models))
	for i, m := range f.models {
		if f.idx[i] != i {
			if err := m.SetParams(f.personal(f.thetaTmp[i])); err != nil {
				return fmt.Errorf("glucose: %w", err)
			}
			if err := m.SetState(f.states[i]); err != nil {
				return fmt.Errorf("glucose: %w", err)
			}
		}
		f.theta[i], f.v[i], f.d[i] = f.thetaTmp[i], f.vTmp[i], f.dTmp[i]
		f.w[i], f.logw[i] = 1/n, -math.Log(n)
	}
	f.ess = n
	return nil
}

// Estimate is the filter's current belief, weighted over the particles.
type Estimate struct {
	BG float64 // mean subcutaneous glucose, mg/dL
	// Multipliers are the weighted means of the adapted parameters'
	// multipliers exp(θ), indexed by Sensitivity, Absorption, Production.
	Multipliers [NumParams]float64
	ESS         float64 // effective sample size after the last update
}

// Estimate returns the current belief; zero before the first reading.
func (f *Filter) Estimate() Estimate {
	if !f.started {
		return Estimate{}
	}
	e := Estimate{ESS: f.ess}
	for i, m := range f.models {
		e.BG += f.w[i] * m.BG()
		for k := range NumParams {
			e.Multipliers[k] += f.w[i] * math.Exp(f.theta[i][k])
		}
	}
	return e
}

// Band is the forecast distribution of glucose at one horizon.
type Band struct {
	Minutes    int     // horizon, min after the last reading
	Median     float64 // mg/dL
	Lo80, Hi80 float64 // 10th and 90th percentiles, mg/dL
	Lo95, Hi95 float64 // 2.5th and 97.5th percentiles, mg/dL
	PBelow70   float64 // probability that glucose is below 70 mg/dL at this horizon
}

// Forecast is the ensemble forecast of subcutaneous glucose (what a
// noiseless CGM would read).
type Forecast struct {
	Bands []Band
	// PHypo is the probability that glucose falls below HypoThreshold at
	// some minute within HypoWindow minutes.
	PHypo float64
}

// Forecast propagates every particle from its current state with the
// planned inputs, one per minute from now (after the plan ends, no carbs
// and the last insulin rate, of the plan or else of Advance), and returns
// the weighted percentiles at each horizon (whole minutes, 1 to 1440) and
// the probability of hypoglycaemia. The filter's state is unchanged.
func (f *Filter) Forecast(plan []Input, horizons []int) (Forecast, error) {
	if !f.started {
		return Forecast{}, fmt.Errorf("glucose: Forecast before the first reading")
	}
	maxH := HypoWindow
	for _, h := range horizons {
		if h < 1 || h > 1440 {
			return Forecast{}, fmt.Errorf("glucose: forecast horizon %d min, want 1 to 1440", h)
		}
		maxH = max(maxH, h)
	}
	tail := f.insulin
	for i, u := range plan {
		if !finite(u.Carbs) || u.Carbs < 0 || !finite(u.Insulin) || u.Insulin < 0 {
			return Forecast{}, fmt.Errorf("glucose: plan minute %d: carbs %v g, insulin %v U/min, want finite values ≥ 0", i+1, u.Carbs, u.Insulin)
		}
		tail = u.Insulin
	}
	n := len(f.models)
	at := make([][]float64, len(horizons)) // at[j][i]: particle i at horizon j
	for j := range at {
		at[j] = make([]float64, n)
	}
	var fc Forecast
	for i, m := range f.models {
		snap, d := m.State(), f.d[i]
		hypo := m.BG() < HypoThreshold
		for t := 1; t <= maxH; t++ {
			u := Input{Insulin: tail}
			if t <= len(plan) {
				u = plan[t-1]
			}
			if err := f.step(m, &d, u, 1); err != nil {
				return Forecast{}, err
			}
			bg := m.BG()
			if t <= HypoWindow && bg < HypoThreshold {
				hypo = true
			}
			for j, h := range horizons {
				if h == t {
					at[j][i] = bg
				}
			}
		}
		if err := m.SetState(snap); err != nil {
			return Forecast{}, fmt.Errorf("glucose: %w", err)
		}
		if hypo {
			fc.PHypo += f.w[i]
		}
	}
	order := make([]int, n)
	for j, h := range horizons {
		b := Band{Minutes: h}
		x := at[j]
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(a, c int) int { return cmpFloat(x[a], x[c]) })
		q := func(p float64) float64 {
			cum := 0.0
			for _, i := range order {
				cum += f.w[i]
				if cum >= p {
					return x[i]
				}
			}
			return x[order[n-1]]
		}
		b.Median, b.Lo80, b.Hi80, b.Lo95, b.Hi95 = q(0.5), q(0.1), q(0.9), q(0.025), q(0.975)
		for i, v := range x {
			if v < HypoThreshold {
				b.PBelow70 += f.w[i]
			}
		}
		fc.Bands = append(fc.Bands, b)
	}
	return fc, nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
