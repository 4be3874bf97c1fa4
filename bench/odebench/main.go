package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/doppelhealth/doppel/ode"
	"github.com/doppelhealth/doppel/ode/odetest"
)

// tol is one pair of tolerances.
type tol struct{ rel, abs float64 }

// record is one output line: a problem solved by one method at one pair of
// tolerances. Field names match those of bench/ode_scipy.py.
type record struct {
	Tool     string    `json:"tool"`
	Problem  string    `json:"problem"`
	Method   string    `json:"method"`
	RTol     float64   `json:"rtol"`
	ATol     float64   `json:"atol"`
	Solves   int       `json:"solves"`   // solves timed
	MedianS  num       `json:"median_s"` // median wall seconds per solve
	MinS     num       `json:"min_s"`    // fastest batch, seconds per solve
	Steps    int       `json:"steps"`    // accepted steps
	Rejected int       `json:"rejected"` // rejected steps
	NFev     int       `json:"nfev"`     // evaluations of f
	NJev     int       `json:"njev"`     // evaluations of the Jacobian
	NLU      int       `json:"nlu"`      // LU factorizations
	Error    num       `json:"error"`    // odetest.Problem.Error at T1
	Y        []num     `json:"y"`        // solution at T1
	Want     []float64 `json:"want"`     // reference solution at T1
	Floor    float64   `json:"floor"`
	T0       float64   `json:"t0"`
	T1       float64   `json:"t1"`
	Y0       []float64 `json:"y0"`
	Status   string    `json:"status"` // "ok" or the error
}

// num is a float64 that encodes as JSON null when it is not finite (a
// failed solve), which encoding/json cannot encode otherwise.
type num float64

func (x num) MarshalJSON() ([]byte, error) {
	f := float64(x)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

// method builds an integrator for p; solves use a fresh one each time.
type method struct {
	name  string
	stiff bool // for the stiff problems, else for the non-stiff ones
	build func(p odetest.Problem, s ode.Settings) integrator
}

type integrator interface {
	Integrate(y []float64, t0, t1 float64) error
	Stats() ode.Stats
}

var methods = []method{
	{"DoPri5", false, func(p odetest.Problem, s ode.Settings) integrator {
		return ode.NewDoPri5(p.F, len(p.Y0), s)
	}},
	{"Rodas4", true, func(p odetest.Problem, s ode.Settings) integrator {
		return ode.NewRodas4(p.F, p.Jac, len(p.Y0), s)
	}},
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "odebench:", err)
		os.Exit(2)
	}
}

func run(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("odebench", flag.ContinueOnError)
	tolsFlag := fs.String("tols", "1e-6/1e-9,1e-8/1e-10", "comma-separated `rtol/atol` pairs")
	minTime := fs.Duration("mintime", 500*time.Millisecond, "least time spent timing each case")
	probFlag := fs.String("problems", "", "comma-separated problem names (default: all); see -list")
	format := fs.String("format", "jsonl", "output format: jsonl, csv or table")
	list := fs.Bool("list", false, "list the problems and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	tols, err := parseTols(*tolsFlag)
	if err != nil {
		return err
	}
	if *minTime <= 0 {
		return fmt.Errorf("-mintime must be positive, got %v", *minTime)
	}
	problems := slices.Concat(odetest.NonStiff(), odetest.Stiff())
	if *list {
		for _, p := range problems {
			fmt.Fprintf(w, "%s\tstiff=%t\t[%g, %g]\t%s\n", p.Name, p.Stiff, p.T0, p.T1, p.Source)
		}
		return nil
	}
	if *probFlag != "" {
		problems, err = selectProblems(problems, *probFlag)
		if err != nil {
			return err
		}
	}
	var out func(record) error
	var flush func() error
	switch *format {
	case "jsonl":
		enc := json.NewEncoder(w)
		out, flush = func(r record) error { return enc.Encode(r) }, func() error { return nil }
	case "csv":
		cw := csv.NewWriter(w)
		if err := cw.Write(csvHeader); err != nil {
			return err
		}
		out = func(r record) error { return cw.Write(r.csv()) }
		flush = func() error { cw.Flush(); return cw.Error() }
	case "table":
		fmt.Fprintf(w, "# %s %s/%s, GOMAXPROCS=%d\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0))
		fmt.Fprintf(w, "%-20s %-7s %-12s %12s %8s %7s %7s %9s\n", "problem", "method", "rtol/atol", "median s", "steps", "rej", "nfev", "error")
		out = func(r record) error {
			_, err := fmt.Fprintf(w, "%-20s %-7s %-12s %12.4g %8d %7d %7d %9.2g %s\n", r.Problem, r.Method,
				fmt.Sprintf("%g/%g", r.RTol, r.ATol), r.MedianS, r.Steps, r.Rejected, r.NFev, r.Error, okOrStatus(r.Status))
			return err
		}
		flush = func() error { return nil }
	default:
		return fmt.Errorf("-format must be jsonl, csv or table, got %q", *format)
	}
	for _, p := range problems {
		for _, m := range methods {
			if m.stiff != p.Stiff {
				continue
			}
			for _, tl := range tols {
				if err := out(measure(p, m, tl, *minTime)); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

// measure times solves of p by m at tolerances tl.
func measure(p odetest.Problem, m method, tl tol, minTime time.Duration) record {
	s := ode.Settings{RelTol: tl.rel, AbsTol: tl.abs}
	r := record{
		Tool: "doppel", Problem: p.Name, Method: m.name, RTol: tl.rel, ATol: tl.abs,
		Want: p.Want, Floor: p.Floor, T0: p.T0, T1: p.T1, Y0: p.Y0, Status: "ok",
	}
	y := p.Start()
	solve := func() (ode.Stats, error) {
		in := m.build(p, s)
		copy(y, p.Y0)
		err := in.Integrate(y, p.T0, p.T1)
		return in.Stats(), err
	}
	// Warm-up solve; its counters and result are those of every solve,
	// since each solve is a restart with a fresh integrator.
	st, err := solve()
	r.Steps, r.Rejected, r.NFev, r.NJev, r.NLU = st.Steps, st.Rejected, st.Evals, st.Jacobians, st.Factorizations
	for _, v := range y {
		r.Y = append(r.Y, num(v))
	}
	r.Error = num(p.Error(y))
	if err != nil {
		r.Status = err.Error()
		r.MedianS, r.MinS = num(math.NaN()), num(math.NaN())
		return r
	}
	// Batch size: double until a batch takes at least 1 ms.
	batch := 1
	for {
		d := timeBatch(solve, batch)
		if d >= time.Millisecond || batch >= 1<<20 {
			break
		}
		batch *= 2
	}
	var per []float64
	var total time.Duration
	for len(per) < 5 || total < minTime {
		d := timeBatch(solve, batch)
		total += d
		per = append(per, d.Seconds()/float64(batch))
	}
	r.Solves = len(per) * batch
	slices.Sort(per)
	r.MinS = num(per[0])
	r.MedianS = num(median(per))
	return r
}

func timeBatch(solve func() (ode.Stats, error), k int) time.Duration {
	start := time.Now()
	for range k {
		solve() // the error was checked on the warm-up solve; solves are reproducible
	}
	return time.Since(start)
}

// median of sorted xs.
func median(xs []float64) float64 {
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

func parseTols(s string) ([]tol, error) {
	var out []tol
	for _, f := range strings.Split(s, ",") {
		rs, as, ok := strings.Cut(strings.TrimSpace(f), "/")
		if !ok {
			return nil, fmt.Errorf("-tols: %q is not rtol/atol", f)
		}
		rel, err1 := strconv.ParseFloat(rs, 64)
		abs, err2 := strconv.ParseFloat(as, 64)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("-tols: %q: %w", f, err)
		}
		if !(rel > 0) || !(abs > 0) || math.IsInf(rel, 0) || math.IsInf(abs, 0) {
			return nil, fmt.Errorf("-tols: %q: tolerances must be positive and finite", f)
		}
		out = append(out, tol{rel, abs})
	}
	return out, nil
}

func selectProblems(all []odetest.Problem, names string) ([]odetest.Problem, error) {
	var out []odetest.Problem
	for _, name := range strings.Split(names, ",") {
		name = strings.TrimSpace(name)
		i := slices.IndexFunc(all, func(p odetest.Problem) bool { return strings.EqualFold(p.Name, name) })
		if i < 0 {
			return nil, fmt.Errorf("-problems: unknown problem %q (see -list)", name)
		}
		out = append(out, all[i])
	}
	return out, nil
}

var csvHeader = []string{"tool", "problem", "method", "rtol", "atol", "solves", "median_s", "min_s",
	"steps", "rejected", "nfev", "njev", "nlu", "error", "status"}

func (r record) csv() []string {
	g := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	i := strconv.Itoa
	return []string{r.Tool, r.Problem, r.Method, g(r.RTol), g(r.ATol), i(r.Solves), g(float64(r.MedianS)),
		g(float64(r.MinS)), i(r.Steps), i(r.Rejected), i(r.NFev), i(r.NJev), i(r.NLU), g(float64(r.Error)), r.Status}
}

func okOrStatus(s string) string {
	if s == "ok" {
		return ""
	}
	return s
}
