package glucose

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/doppelhealth/doppel/model/t1d"
)

// QualityConfig describes a forecast-quality experiment: virtual patients
// of model/t1d as ground truth, each tracked by a twin that starts from the
// population of the rest of its group.
type QualityConfig struct {
	Patients []string // ground-truth virtual patients, e.g. "adult#009"
	Days     int      // simulated days per patient
	Seed     uint64   // seeds meals, sensor noise and filters
	Options  Options  // the twin's filter options
	// WarmUp is the time after the start that is not scored, min; 0 means
	// 120. It also gives the baselines their history.
	WarmUp int
	// AlertProb is the probability PHypo at which the twin raises a
	// hypoglycaemia alert; 0 means 0.5.
	AlertProb float64
}

// QualityRow is the score of one forecasting method over all patients.
type QualityRow struct {
	Method         string
	RMSE30, RMSE60 float64 // mg/dL, against the true subcutaneous glucose
	N              int     // forecasts scored per horizon
	// Hypoglycaemia alerts: an event is a fall of the true glucose below
	// 70 mg/dL after at least 30 min above; it is detected if an alert is
	// on at some sample in the 30 min up to its onset, and the lead time is
	// the onset minus the earliest such sample. A false alert is an alert
	// that switches on when the true glucose stays ≥ 70 mg/dL for the next
	// 30 min.
	Events, Detected int
	Sensitivity      float64 // Detected/Events
	FalsePerDay      float64 // false alerts per scored day
	MedianLead       float64 // min, over the detected events
}

// Methods of QualityRow.Method, in the order ForecastQuality returns them.
const (
	MethodTwin     = "twin (particle filter)"
	MethodLast     = "last value"
	MethodLinear15 = "linear, last 15 min"
	MethodLinear30 = "linear, last 30 min"
)

// truthRun is one patient's simulated ground truth.
type truthRun struct {
	bg     []float64 // true subcutaneous glucose at each sample, mg/dL
	cgm    []float64 // noisy reading at each sample, mg/dL
	inputs []Input   // per minute
	pop    t1d.Params
	basal  float64 // U/min
}

// simulateTruth runs patient name for days with simglucose's random meal
// scenario, the basal-bolus controller (which sees the noiseless sensor),
// the Insulet pump and a GuardianRT CGM (5-min samples) whose readings get
// t1d.Noise afterwards.
func simulateTruth(name string, days int, rng *rand.Rand) (truthRun, t1d.SensorParams, error) {
	var tr truthRun
	p, err := t1d.Patient(name)
	if err != nil {
		return tr, t1d.SensorParams{}, fmt.Errorf("glucose: %w", err)
	}
	sensor, err := t1d.Sensor("GuardianRT")
	if err != nil {
		return tr, sensor, fmt.Errorf("glucose: %w", err)
	}
	pump, err := t1d.Pump("Insulet")
	if err != nil {
		return tr, sensor, fmt.Errorf("glucose: %w", err)
	}
	ctrl, err := t1d.NewBasalBolus(p, t1d.BasalBolusOptions{})
	if err != nil {
		return tr, sensor, fmt.Errorf("glucose: %w", err)
	}
	meals, err := t1d.RandomMeals(rng, 0, days)
	if err != nil {
		return tr, sensor, fmt.Errorf("glucose: %w", err)
	}
	res, err := t1d.Simulate(t1d.Config{Patient: p, Sensor: sensor, Pump: pump, Controller: ctrl,
		Meals: meals, Duration: float64(days * 1440), KeepStates: true})
	if err != nil {
		return tr, sensor, fmt.Errorf("glucose: %w", err)
	}
	noise := t1d.NewNoise(sensor, rng)
	st := int(sensor.SampleTime)
	tr.bg = make([]float64, len(res.States))
	tr.cgm = make([]float64, len(res.States))
	for k, x := range res.States {
		tr.bg[k] = x[12] / p.Vg
		tr.cgm[k] = min(max(tr.bg[k]+noise.Next(), sensor.Min), sensor.Max)
	}
	tr.inputs = make([]Input, days*1440)
	for m := range tr.inputs {
		tr.inputs[m].Insulin = res.Records[m/st].Insulin
	}
	for _, ml := range meals {
		tr.inputs[int(ml.T)].Carbs += ml.Carbs
	}
	group, _, _ := strings.Cut(name, "#")
	var others []string
	for _, n := range t1d.Patients() {
		if strings.HasPrefix(n, group+"#") && n != name {
			others = append(others, n)
		}
	}
	tr.basal = p.BasalRate()
	tr.pop, err = Population(others, p.BW, tr.basal)
	return tr, sensor, err
}

// scorer accumulates one method's errors and alerts over patients.
type scorer struct {
	se30, se60 float64
	n          int
	events     int
	leads      []float64
	falses     int
}

// ForecastQuality runs the experiment and scores the twin and three
// baselines: the last reading carried forward, and least-squares lines
// through the readings of the last 15 and 30 min, extrapolated. The twin
// sees only the noisy readings, the delivered insulin and the announced
// carbohydrate; its forecast plan is the insulin already commanded for the
// current 5-min sample, then the basal rate, and no future meals. The
// baselines alert when their 30-min forecast (or the reading) is below
// 70 mg/dL; the twin when PHypo ≥ AlertProb.
func ForecastQuality(cfg QualityConfig) ([]QualityRow, error) {
	if cfg.Days < 1 || len(cfg.Patients) == 0 {
		return nil, fmt.Errorf("glucose: quality needs patients and days ≥ 1, got %d patients, %d days", len(cfg.Patients), cfg.Days)
	}
	if cfg.WarmUp == 0 {
		cfg.WarmUp = 120
	}
	if cfg.AlertProb == 0 {
		cfg.AlertProb = 0.5
	}
	names := []string{MethodTwin, MethodLast, MethodLinear15, MethodLinear30}
	sc := make([]scorer, len(names))
	scoredDays := 0.0
	for pi, name := range cfg.Patients {
		rng := rand.New(rand.NewPCG(cfg.Seed, uint64(pi)))
		tr, sensor, err := simulateTruth(name, cfg.Days, rng)
		if err != nil {
			return nil, err
		}
		f, err := New(tr.pop, sensor, rand.New(rand.NewPCG(cfg.Seed, uint64(1000+pi))), cfg.Options)
		if err != nil {
			return nil, err
		}
		st := int(sensor.SampleTime)
		n := len(tr.cgm)
		// pred[m][k]: method m's forecasts at sample k, 30 and 60 min ahead;
		// alert[m][k]: its alert flag.
		pred := make([][][2]float64, len(names))
		alert := make([][]bool, len(names))
		for m := range names {
			pred[m] = make([][2]float64, n)
			alert[m] = make([]bool, n)
		}
		for k := range n {
			if k > 0 {
				if err := f.Advance(tr.inputs[(k-1)*st : k*st]); err != nil {
					return nil, err
				}
			}
			if err := f.Update(tr.cgm[k]); err != nil {
				return nil, err
			}
			if k*st < cfg.WarmUp {
				continue
			}
			plan := make([]Input, 60)
			for m := range plan {
				plan[m].Insulin = tr.basal
				if m < st && k*st+m < len(tr.inputs) {
					plan[m].Insulin = tr.inputs[k*st+m].Insulin
				}
			}
			fc, err := f.Forecast(plan, []int{30, 60})
			if err != nil {
				return nil, err
			}
			pred[0][k] = [2]float64{fc.Bands[0].Median, fc.Bands[1].Median}
			alert[0][k] = fc.PHypo >= cfg.AlertProb
			y := tr.cgm[k]
			pred[1][k] = [2]float64{y, y}
			alert[1][k] = y < HypoThreshold
			for m, win := range [...]int{2: 15, 3: 30} {
				if win == 0 {
					continue
				}
				a, b := lineFit(tr.cgm[:k+1], st, win)
				pred[m][k] = [2]float64{a + 30*b, a + 60*b}
				alert[m][k] = y < HypoThreshold || a+30*b < HypoThreshold
			}
		}
		first := cfg.WarmUp/st + 1
		scoredDays += float64((n-1-first)*st) / 1440
		for m := range names {
			sc[m].add(tr.bg, pred[m], alert[m], first, st)
		}
	}
	rows := make([]QualityRow, len(names))
	for m, s := range sc {
		r := QualityRow{Method: names[m], N: s.n, Events: s.events, Detected: len(s.leads)}
		r.RMSE30, r.RMSE60 = math.Sqrt(s.se30/float64(s.n)), math.Sqrt(s.se60/float64(s.n))
		if s.events > 0 {
			r.Sensitivity = float64(r.Detected) / float64(s.events)
		}
		r.FalsePerDay = float64(s.falses) / scoredDays
		r.MedianLead = math.NaN()
		if len(s.leads) > 0 {
			slices.Sort(s.leads)
			l := len(s.leads)
			r.MedianLead = (s.leads[(l-1)/2] + s.leads[l/2]) / 2
		}
		rows[m] = r
	}
	return rows, nil
}

// add scores one patient's forecasts from sample first on.
func (s *scorer) add(bg []float64, pred [][2]float64, alert []bool, first, st int) {
	n := len(bg)
	for k := first; k < n; k++ {
		if k+60/st < n {
			e30, e60 := pred[k][0]-bg[k+30/st], pred[k][1]-bg[k+60/st]
			s.se30 += e30 * e30
			s.se60 += e60 * e60
			s.n++
		}
		// A false alert: switches on, and glucose stays ≥ 70 for 30 min.
		if alert[k] && !alert[k-1] && k+30/st < n && slices.Min(bg[k:k+30/st+1]) >= HypoThreshold {
			s.falses++
		}
		// A hypoglycaemia event: below 70 after 30 min at or above.
		w := 30 / st
		if bg[k] < HypoThreshold && k-w >= first && slices.Min(bg[k-w:k]) >= HypoThreshold {
			s.events++
			for j := k - w; j <= k; j++ {
				if alert[j] {
					s.leads = append(s.leads, float64((k-j)*st))
					break
				}
			}
		}
	}
}

// lineFit fits a least-squares line to the readings of the last win
// minutes (samples st min apart, the last at time 0) and returns its value
// at 0 and its slope per minute. With one reading the slope is 0.
func lineFit(y []float64, st, win int) (a, b float64) {
	k := min(win/st+1, len(y))
	ys := y[len(y)-k:]
	var n, sx, sy, sxx, sxy float64
	for i, v := range ys {
		x := float64((i - (k - 1)) * st)
		n++
		sx += x
		sy += v
		sxx += x * x
		sxy += x * v
	}
	det := n*sxx - sx*sx
	if det == 0 {
		return ys[len(ys)-1], 0
	}
	b = (n*sxy - sx*sy) / det
	return (sy - b*sx) / n, b
}

// FormatQuality writes rows as a Markdown table.
func FormatQuality(rows []QualityRow) string {
	var sb strings.Builder
	sb.WriteString("| method | RMSE 30 min (mg/dL) | RMSE 60 min (mg/dL) | hypo events | sensitivity | false alerts/day | median lead (min) |\n")
	sb.WriteString("|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&sb, "| %s | %.1f | %.1f | %d | %.2f (%d/%d) | %.2f | %.0f |\n",
			r.Method, r.RMSE30, r.RMSE60, r.Events, r.Sensitivity, r.Detected, r.Events, r.FalsePerDay, r.MedianLead)
	}
	return sb.String()
}
