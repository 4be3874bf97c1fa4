package des_test

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/doppelhealth/doppel/des"
)

// mmc is an M/M/c FIFO queue built on des: Poisson arrivals at rate lam,
// exponential service at rate mu per server, c servers. Time in hours.
type mmc struct {
	sim      *des.Sim
	r        *rand.Rand
	srv      *des.Resource
	lam, mu  float64
	n, warm  int // customers generated; the first warm are not counted
	arrived  int
	arrTime  []float64
	tWarm    float64 // arrival time of customer warm: start of the window
	sumWait  float64
	nWaited  int
	sumSoj   float64
	counted  int
	busy     des.Level
	inSystem des.Level
}

const (
	kArrive = iota
	kDepart
)

type mmcResult struct {
	Wq, PWait, Util float64
	Little          des.Little
	Events          uint64
}

func newMMc(lam, mu float64, c, n, warm int, r *rand.Rand) *mmc {
	m := &mmc{r: r, srv: des.NewResource(c, false), lam: lam, mu: mu, n: n, warm: warm, arrTime: make([]float64, n)}
	m.sim = des.New(m.handle)
	m.busy = des.NewLevel(math.Inf(1), math.Inf(1))
	m.inSystem = des.NewLevel(math.Inf(1), math.Inf(1))
	return m
}

func (m *mmc) run() mmcResult {
	m.sim.Schedule(m.r.ExpFloat64()/m.lam, kArrive, 0)
	m.sim.Run()
	end := m.sim.Now()
	span := end - m.tWarm
	util, _, _ := m.busy.Stats(end)
	L, _, _ := m.inSystem.Stats(end)
	counted := float64(m.counted)
	return mmcResult{
		Wq:     m.sumWait / counted,
		PWait:  float64(m.nWaited) / counted,
		Util:   util / float64(m.srv.Capacity()),
		Little: des.Little{L: L, Lambda: counted / span, W: m.sumSoj / counted},
		Events: m.sim.Processed(),
	}
}

func (m *mmc) handle(e des.Event) {
	now := m.sim.Now()
	switch e.Kind {
	case kArrive:
		i := e.Arg
		if i == m.warm {
			// Statistics windows open at the first counted arrival.
			m.tWarm = now
			m.busy = des.NewLevel(now, math.Inf(1))
			m.busy.Set(now, float64(m.srv.Busy()))
			m.inSystem = des.NewLevel(now, math.Inf(1))
			m.inSystem.Set(now, float64(m.srv.Busy()+m.srv.Waiting()))
		}
		m.arrTime[i] = now
		m.inSystem.Add(now, 1)
		if i+1 < m.n {
			m.sim.Schedule(m.r.ExpFloat64()/m.lam, kArrive, i+1)
		}
		if m.srv.Request(i, 0) {
			m.start(i, now)
		}
	case kDepart:
		i := e.Arg
		m.inSystem.Add(now, -1)
		if i >= m.warm {
			m.sumSoj += now - m.arrTime[i]
		}
		m.srv.Release()
		m.busy.Add(now, -1)
		if j, ok := m.srv.Next(); ok {
			m.start(j, now)
		}
	}
}

func (m *mmc) start(i int, now float64) {
	m.busy.Add(now, 1)
	if i >= m.warm {
		w := now - m.arrTime[i]
		m.sumWait += w
		if w > 0 {
			m.nWaited++
		}
		m.counted++
	}
	m.sim.Schedule(m.r.ExpFloat64()/m.mu, kDepart, i)
}

// erlangC returns P(wait > 0) and the mean wait in queue Wq of an M/M/c
// queue, from the closed form (Erlang's C formula; Gross & Harris,
// Fundamentals of Queueing Theory, 4th ed. 2008, §2.3; Kleinrock,
// Queueing Systems Vol. 1, 1975, eq. 3.40):
//
//	a = λ/μ, ρ = a/c,
//	C(c, a) = [aᶜ/c! · 1/(1−ρ)] / [Σ_{k=0}^{c−1} aᵏ/k! + aᶜ/c! · 1/(1−ρ)],
//	Wq = C(c, a) / (cμ − λ).
func erlangC(lam, mu float64, c int) (pWait, wq float64) {
	a := lam / mu
	rho := a / float64(c)
	term, sum := 1.0, 1.0 // a^0/0!
	for k := 1; k < c; k++ {
		term *= a / float64(k)
		sum += term
	}
	tail := term * a / float64(c) / (1 - rho)
	pWait = tail / (sum + tail)
	return pWait, pWait / (float64(c)*mu - lam)
}

// t975 are the 0.975 quantiles of Student's t for 1..9 degrees of freedom
// (any statistics table, e.g. Abramowitz & Stegun, Table 26.10).
var t975 = []float64{math.NaN(), 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262}

func meanHW(xs []float64) (mean, hw float64) {
	n := float64(len(xs))
	for _, x := range xs {
		mean += x
	}
	mean /= n
	ss := 0.0
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, t975[len(xs)-1] * math.Sqrt(ss/(n-1)/n)
}

func TestErlangCClosedForm(t *testing.T) {
	// Reference value from refs/des results_mmc_summary.json
	// (erlang_c_exact, computed there independently in Python).
	p, wq := erlangC(9, 1, 10)
	if math.Abs(p-0.668731524107697) > 1e-12 || math.Abs(wq-0.668731524107697) > 1e-12 {
		t.Fatalf("erlangC(9, 1, 10) = %v, %v; want 0.668731524107697 for both", p, wq)
	}
}

// TestMMcErlangC runs replications of M/M/c queues and checks that the
// 95 % confidence interval (Student t over replications) of each of Wq,
// P(wait > 0) and utilisation contains the closed-form value, and that the
// interval is narrow enough for the check to mean something. Little's law
// holds in every replication to 1 %.
func TestMMcErlangC(t *testing.T) {
	const reps = 10
	tests := []struct {
		name        string
		lam, mu     float64
		c, n, warm  int
		maxRelWidth float64 // the CI half-width must be below this fraction of the exact Wq
	}{
		{"refs lambda9 mu1 c10", 9, 1, 10, 300_000, 10_000, 0.06},
		{"lambda2 mu1 c3", 2, 1, 3, 50_000, 5_000, 0.06},
		{"lambda0.5 mu1 c1", 0.5, 1, 1, 50_000, 5_000, 0.06},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var wq, pw, util []float64
			for rep := range reps {
				m := newMMc(tc.lam, tc.mu, tc.c, tc.n, tc.warm, rand.New(rand.NewPCG(7, uint64(rep))))
				res := m.run()
				if e := res.Little.RelErr(); !(e < 0.01) {
					t.Errorf("rep %d: Little's law: L = %.4f, λW = %.4f (rel. err %.3g)", rep, res.Little.L, res.Little.Lambda*res.Little.W, e)
				}
				if want := uint64(2 * tc.n); res.Events != want {
					t.Errorf("rep %d: %d events, want %d (one arrival and one departure per customer)", rep, res.Events, want)
				}
				wq, pw, util = append(wq, res.Wq), append(pw, res.PWait), append(util, res.Util)
			}
			exactP, exactWq := erlangC(tc.lam, tc.mu, tc.c)
			exactU := tc.lam / tc.mu / float64(tc.c)
			for _, q := range []struct {
				name  string
				xs    []float64
				exact float64
			}{{"Wq", wq, exactWq}, {"P(wait>0)", pw, exactP}, {"utilisation", util, exactU}} {
				m, hw := meanHW(q.xs)
				t.Logf("%s: %.5f ± %.5f (exact %.6f)", q.name, m, hw, q.exact)
				if math.Abs(m-q.exact) > hw {
					t.Errorf("%s = %.5f ± %.5f does not contain the Erlang-C value %.6f", q.name, m, hw, q.exact)
				}
				if hw > tc.maxRelWidth*q.exact {
					t.Errorf("%s: CI half-width %.5f too wide for a meaningful check", q.name, hw)
				}
			}
		})
	}
}

// TestMMcAgainstSimPy compares the M/M/c statistics with SimPy 4.1.2's
// (refs/des, 5 seeds × 1,000,000 customers; copy in testdata with
// provenance): the means must agree within the combined 95 % half-width
// √(hw_ours² + hw_simpy²).
func TestMMcAgainstSimPy(t *testing.T) {
	data, err := os.ReadFile("testdata/results_mmc_summary.json")
	if err != nil {
		t.Fatal(err)
	}
	type stat struct {
		Mean float64 `json:"mean"`
		HW   float64 `json:"ci95_halfwidth"`
	}
	var ref struct {
		Wq   stat `json:"simpy_Wq_hours"`
		PW   stat `json:"simpy_p_wait_gt_0"`
		Util stat `json:"simpy_utilisation"`
	}
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	const reps = 5
	var wq, pw, util []float64
	for rep := range reps {
		res := newMMc(9, 1, 10, 200_000, 10_000, rand.New(rand.NewPCG(11, uint64(rep)))).run()
		wq, pw, util = append(wq, res.Wq), append(pw, res.PWait), append(util, res.Util)
	}
	for _, q := range []struct {
		name string
		xs   []float64
		ref  stat
	}{{"Wq", wq, ref.Wq}, {"P(wait>0)", pw, ref.PW}, {"utilisation", util, ref.Util}} {
		m, hw := meanHW(q.xs)
		tol := math.Hypot(hw, q.ref.HW)
		t.Logf("%s: ours %.5f ± %.5f, SimPy %.5f ± %.5f", q.name, m, hw, q.ref.Mean, q.ref.HW)
		if math.Abs(m-q.ref.Mean) > tol {
			t.Errorf("%s: ours %.5f, SimPy %.5f: |diff| %.5f > combined half-width %.5f", q.name, m, q.ref.Mean, math.Abs(m-q.ref.Mean), tol)
		}
	}
}

func TestMMcDeterministic(t *testing.T) {
	a := newMMc(9, 1, 10, 20_000, 1000, rand.New(rand.NewPCG(3, 4))).run()
	b := newMMc(9, 1, 10, 20_000, 1000, rand.New(rand.NewPCG(3, 4))).run()
	if a != b {
		t.Fatalf("same seed, different results: %+v vs %+v", a, b)
	}
}

// BenchmarkMMc1M simulates 1,000,000 customers of the refs/des M/M/c
// (λ = 9, μ = 1, c = 10) per iteration.
func BenchmarkMMc1M(b *testing.B) {
	b.ReportAllocs()
	var events uint64
	for b.Loop() {
		res := newMMc(9, 1, 10, 1_000_000, 10_000, rand.New(rand.NewPCG(1, 1))).run()
		events += res.Events
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}
