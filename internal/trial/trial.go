package trial

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
)

// Job identifies one run of a trial: one patient in one arm.
type Job struct {
	Patient int // index into Config.Patients
	Arm     int // index into Config.Arms
}

// Trace is the glucose trace of one run on a regular time grid. A RunFunc
// fills it; the runner reuses it from one job to the next on the same worker,
// so a RunFunc may use Glucose as a scratch buffer too.
type Trace struct {
	Start   float64   // time of day of Glucose[0], minutes after midnight
	Step    float64   // minutes between samples, > 0
	Glucose []float64 // mg/dL; NaN samples are skipped
}

// Reset empties the trace, keeping its storage.
func (tr *Trace) Reset() {
	tr.Start, tr.Step, tr.Glucose = 0, 0, tr.Glucose[:0]
}

// RunFunc simulates one job. It fills tr (handed over empty) with the glucose
// trace to profile and returns the run's metrics, one value per name in
// Config.Metrics (NaN where a metric is undefined). It must depend only on
// job (and on the data it closes over), never on shared mutable state, and it
// should return early with ctx's error when ctx is done. It is called from
// several goroutines at once.
type RunFunc func(ctx context.Context, job Job, tr *Trace) ([]float64, error)

// Config describes a trial. Patients, Arms and Metrics are names used to label
// results; the RunFunc gives them meaning.
type Config struct {
	Patients []string
	Arms     []string
	Metrics  []string

	// Workers is the number of jobs run at once; 0 or less means
	// runtime.GOMAXPROCS(0). Results do not depend on it.
	Workers int

	// Progress, if not nil, is called after each finished job with the number
	// of jobs done and the total, from one goroutine at a time.
	Progress func(done, total int)
}

// Result holds the outcome of a trial.
type Result struct {
	Patients, Arms, Metrics []string

	// Values[arm][patient][metric] is the metric of one run.
	Values [][][]float64

	// Profiles[arm] is the glucose profile of all patients in the arm.
	Profiles []*Profile
}

// Run runs every job of the trial described by cfg, Workers at a time, and
// returns the results. Jobs are handed out arm by arm within each patient,
// patient after patient. The first error stops the trial: Run waits for the
// running jobs to return and reports that error, naming the job.
func Run(ctx context.Context, cfg Config, run RunFunc) (*Result, error) {
	switch {
	case len(cfg.Patients) == 0:
		return nil, errors.New("trial: no patients")
	case len(cfg.Arms) == 0:
		return nil, errors.New("trial: no arms")
	case run == nil:
		return nil, errors.New("trial: nil run function")
	}
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	total := len(cfg.Patients) * len(cfg.Arms)
	workers = min(workers, total)

	res := &Result{
		Patients: cfg.Patients,
		Arms:     cfg.Arms,
		Metrics:  cfg.Metrics,
		Values:   make([][][]float64, len(cfg.Arms)),
		Profiles: make([]*Profile, len(cfg.Arms)),
	}
	locks := make([]sync.Mutex, len(cfg.Arms)) // one per profile
	for a := range cfg.Arms {
		res.Values[a] = make([][]float64, len(cfg.Patients))
		res.Profiles[a] = new(Profile)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan Job)
	done := make(chan error)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var tr Trace
			for j := range jobs {
				done <- runOne(ctx, cfg, run, j, &tr, res, locks)
			}
		}()
	}
	go func() {
		defer close(jobs)
		for p := range cfg.Patients {
			for a := range cfg.Arms {
				select {
				case jobs <- Job{Patient: p, Arm: a}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	go func() {
		wg.Wait()
		close(done)
	}()

	var first error
	n := 0
	for err := range done {
		if err != nil {
			if first == nil {
				first = err
			}
			cancel()
			continue
		}
		n++
		if cfg.Progress != nil && first == nil {
			cfg.Progress(n, total)
		}
	}
	if first != nil {
		return nil, first
	}
	if n < total { // the parent context was cancelled before every job ran
		return nil, fmt.Errorf("trial: %w", context.Cause(ctx))
	}
	return res, nil
}

// runOne runs one job and stores its results.
func runOne(ctx context.Context, cfg Config, run RunFunc, j Job, tr *Trace, res *Result, locks []sync.Mutex) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	tr.Reset()
	name := func() string { return fmt.Sprintf("%s in arm %q", cfg.Patients[j.Patient], cfg.Arms[j.Arm]) }
	vals, err := run(ctx, j, tr)
	if err != nil {
		return fmt.Errorf("trial: %s: %w", name(), err)
	}
	if len(vals) != len(cfg.Metrics) {
		return fmt.Errorf("trial: %s: run returned %d metrics, want %d", name(), len(vals), len(cfg.Metrics))
	}
	if (len(tr.Glucose) > 0 && !(tr.Step > 0)) || math.IsNaN(tr.Start) || math.IsInf(tr.Start, 0) {
		return fmt.Errorf("trial: %s: trace with step %v min and start %v min", name(), tr.Step, tr.Start)
	}
	res.Values[j.Arm][j.Patient] = vals
	locks[j.Arm].Lock()
	res.Profiles[j.Arm].AddTrace(tr)
	locks[j.Arm].Unlock()
	return nil
}
