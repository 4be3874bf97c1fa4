package hospital

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/doppelhealth/doppel/des"
)

// Options control how Run executes; the zero value is valid.
type Options struct {
	// Workers is the number of replications run at once; 0 means
	// GOMAXPROCS. Results do not depend on it.
	Workers int
	// Progress, if set, is called with the simulated hours done so far
	// across all replications and the total, one call at a time.
	Progress func(done, total float64)
}

// Result summarises the replications of a run. Estimates are means over
// replications with the half-width of their 95 % confidence interval
// (Student t with n−1 degrees of freedom). A quantity with nothing to
// measure (boarding when nobody was admitted) is 0.
type Result struct {
	Replications int          `json:"replications"`
	WindowHours  float64      `json:"window_hours"` // statistics window: Horizon − Warmup
	ED           EDResult     `json:"ed"`
	Units        []UnitResult `json:"units"`
	// ArrivalsPerDay counts ED arrivals (surges included) in the window.
	ArrivalsPerDay   float64 `json:"arrivals_per_day"`
	ArrivalsPerDayHW float64 `json:"arrivals_per_day_hw95"`
	// ElectivesCancelled counts elective admissions cancelled for want of
	// a bed, per replication.
	ElectivesCancelled float64 `json:"electives_cancelled"`
	// Events is the number of events run, all replications together.
	Events uint64 `json:"events"`
	// Warnings name units whose offered load is at or above capacity.
	Warnings []string `json:"warnings,omitempty"`

	// Per-replication values for paired comparisons (Compare): occupancy
	// and P(full) per resource (0: ED), and mean boarding.
	occ, pfull [][]float64
	board      []float64
}

// UnitResult is the result for the ED's cubicles or an inpatient unit.
type UnitResult struct {
	Name     string `json:"name"`
	Capacity int    `json:"capacity"` // at time 0
	// OfferedLoad is the long-run demand in places (arrival rate × mean
	// stay; for the ED, treatment only).
	OfferedLoad     float64 `json:"offered_load"`
	MeanOccupancy   float64 `json:"mean_occupancy"`
	MeanOccupancyHW float64 `json:"mean_occupancy_hw95"`
	// PFull is the fraction of the time with every place taken.
	PFull   float64 `json:"p_full"`
	PFullHW float64 `json:"p_full_hw95"`
	// AdmissionsPerDay counts stays begun in the window.
	AdmissionsPerDay float64 `json:"admissions_per_day"`
	// LittlesLaw holds L (mean occupancy), λ (stays in the window per
	// hour, those under way when it opens included) and W (their mean
	// time in the window), averaged over replications: an exact
	// bookkeeping invariant, L = λW to rounding, computed from the
	// patients' stays independently of the occupancy counts.
	LittlesLaw LittleCheck `json:"littles_law"`
	// Daily are quantiles across replications of each day's mean
	// occupancy, day 1 being the first 24 h after the warm-up.
	Daily []Band `json:"daily"`
}

// LittleCheck is Little's law L = λW measured in a run: the three terms
// averaged over replications, and the largest relative gap |L − λW|/L of
// any replication.
type LittleCheck struct {
	des.Little
	MaxRelErr float64 `json:"max_rel_err"`
}

// EDResult adds the ED's boarding and waiting statistics.
type EDResult struct {
	UnitResult
	// MeanBoardingHours is the mean time from the end of treatment to a
	// bed of admitted patients whose admission decision fell in the window
	// and who got a bed before the end (refs/des's definition).
	MeanBoardingHours   float64 `json:"mean_boarding_hours"`
	MeanBoardingHoursHW float64 `json:"mean_boarding_hours_hw95"`
	PBoardingOver4h     float64 `json:"p_boarding_over_4h"`
	PBoardingOver4hHW   float64 `json:"p_boarding_over_4h_hw95"`
	// MeanWaitHours is the mean wait for a cubicle of patients arriving in
	// the window who got one.
	MeanWaitHours   float64 `json:"mean_wait_hours"`
	MeanWaitHoursHW float64 `json:"mean_wait_hours_hw95"`
	// WaitingAtEnd is the mean ED queue at the end of the run (large when
	// the ED is overloaded).
	WaitingAtEnd float64 `json:"waiting_at_end"`
}

// Band holds quantiles of one day's mean occupancy across replications.
type Band struct {
	Day int     `json:"day"`
	P5  float64 `json:"p5"`
	P25 float64 `json:"p25"`
	P50 float64 `json:"p50"`
	P75 float64 `json:"p75"`
	P95 float64 `json:"p95"`
}

// Run simulates c's replications from start (nil: an empty hospital). It
// stops early with ctx's error when ctx is cancelled.
func Run(ctx context.Context, c *Config, start *State, opt Options) (*Result, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if err := start.Validate(c); err != nil {
		return nil, err
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, c.Replications)
	reps := make([]*rep, c.Replications)
	var mu sync.Mutex
	done, total := 0.0, float64(c.Replications)*c.Horizon
	report := func(h float64) {
		if opt.Progress == nil {
			return
		}
		mu.Lock()
		done += h
		opt.Progress(done, total)
		mu.Unlock()
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				m := newRep(c, c.Seed, i)
				reported := 0.0
				if opt.Progress != nil {
					m.onDay = func(int) { report(24); reported += 24 }
				}
				m.run(start)
				report(c.Horizon - reported)
				reps[i] = m
			}
		})
	}
	var err error
feed:
	for i := range c.Replications {
		select {
		case jobs <- i:
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err != nil {
		return nil, fmt.Errorf("hospital: %w", err)
	}
	return summarise(c, reps), nil
}

func summarise(c *Config, reps []*rep) *Result {
	n := len(reps)
	span := c.Horizon - c.Warmup
	res := &Result{Replications: n, WindowHours: span}
	loads := c.OfferedLoads()
	unit := func(k int, name string, capacity int) UnitResult {
		ur := UnitResult{Name: name, Capacity: capacity, OfferedLoad: loads[k]}
		occ, pf := make([]float64, n), make([]float64, n)
		var lit des.Little
		for i, m := range reps {
			occ[i], pf[i], _ = m.occ[k].Stats(m.t)
			l := des.Little{L: occ[i], Lambda: float64(m.entries[k]) / span, W: m.staySum[k] / float64(max(m.entries[k], 1))}
			if l.L > 0 {
				ur.LittlesLaw.MaxRelErr = max(ur.LittlesLaw.MaxRelErr, l.RelErr())
			}
			lit.L += l.L / float64(n)
			lit.Lambda += l.Lambda / float64(n)
			lit.W += l.W / float64(n)
			ur.AdmissionsPerDay += float64(m.admits[k]) / span * 24 / float64(n)
		}
		ur.LittlesLaw.Little = lit
		res.occ, res.pfull = append(res.occ, occ), append(res.pfull, pf)
		ur.MeanOccupancy, ur.MeanOccupancyHW = meanHW(occ)
		ur.PFull, ur.PFullHW = meanHW(pf)
		ur.Daily = bands(reps, k)
		if loads[k] >= float64(capacity) && capacity >= 0 {
			what := "beds"
			if k == 0 {
				what = "cubicles (treatment alone, before boarding)"
			}
			res.Warnings = append(res.Warnings, fmt.Sprintf(
				"%s: offered load %.4g ≥ %d %s: the system is unstable (the queue grows without bound); results depend on the horizon",
				name, loads[k], capacity, what))
		}
		return ur
	}
	res.ED.UnitResult = unit(0, "ed", c.ED.Cubicles)
	for u, un := range c.Units {
		res.Units = append(res.Units, unit(u+1, un.Name, un.Beds))
	}
	board, b4, wait, arr := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for i, m := range reps {
		board[i] = m.boardSum / float64(m.boardN)
		b4[i] = float64(m.board4) / float64(m.boardN)
		wait[i] = m.edWaitSum / float64(m.edStarts)
		arr[i] = float64(m.arrivals) / span * 24
		res.ED.WaitingAtEnd += float64(m.res[0].Waiting()) / float64(n)
		res.ElectivesCancelled += float64(m.cancelled) / float64(n)
		res.Events += m.sim.Processed()
	}
	res.board = board
	res.ED.MeanBoardingHours, res.ED.MeanBoardingHoursHW = meanHW(board)
	res.ED.PBoardingOver4h, res.ED.PBoardingOver4hHW = meanHW(b4)
	res.ED.MeanWaitHours, res.ED.MeanWaitHoursHW = meanHW(wait)
	res.ArrivalsPerDay, res.ArrivalsPerDayHW = meanHW(arr)
	return res
}

// meanHW is the mean of xs and the half-width of its 95 % confidence
// interval, t(0.975, n−1)·s/√n. NaN values (a replication with nothing to
// measure, such as no patient boarding) are left out; with fewer than two
// values left the half-width is 0, and with none the mean is 0 too, so
// that results hold no NaN (and marshal to JSON).
func meanHW(xs []float64) (mean, hw float64) {
	var v []float64
	for _, x := range xs {
		if !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	n := float64(len(v))
	if n == 0 {
		return 0, 0
	}
	for _, x := range v {
		mean += x
	}
	mean /= n
	if n < 2 {
		return mean, 0
	}
	ss := 0.0
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: n - 1}.Quantile(0.975)
	return mean, t * math.Sqrt(ss/(n-1)/n)
}

// bands computes the daily occupancy quantiles of resource k.
func bands(reps []*rep, k int) []Band {
	days := len(reps[0].daily[k])
	out := make([]Band, days)
	xs := make([]float64, len(reps))
	for d := range days {
		for i, m := range reps {
			xs[i] = m.daily[k][d]
		}
		slices.Sort(xs)
		out[d] = Band{Day: d + 1, P5: quantile(xs, 0.05), P25: quantile(xs, 0.25), P50: quantile(xs, 0.5), P75: quantile(xs, 0.75), P95: quantile(xs, 0.95)}
	}
	return out
}

// quantile of sorted xs by linear interpolation between order statistics
// (Hyndman & Fan 1996, type 7, the default of R and NumPy).
func quantile(xs []float64, p float64) float64 {
	h := p * float64(len(xs)-1)
	lo := int(math.Floor(h))
	if lo+1 >= len(xs) {
		return xs[len(xs)-1]
	}
	return xs[lo] + (h-float64(lo))*(xs[lo+1]-xs[lo])
}
