package trial

import (
	"encoding/csv"
	"hash/fnv"
	"io"
	"math"
	"slices"
	"strconv"
)

// Stat summarises one metric across the patients of one arm.
type Stat struct {
	N      int     // patients with a defined (non-NaN) value
	NaN    int     // patients whose value is NaN
	Median float64 // NaN if N == 0, as are all the fields below
	Q1, Q3 float64 // 25th and 75th percentiles
	Mean   float64
	Min    float64
	Max    float64
}

// ArmSummary is the summary of one arm: Stats[i] is for Result.Metrics[i].
type ArmSummary struct {
	Arm   string
	Stats []Stat
}

// Summary returns the per-arm summary of every metric across patients.
func (r *Result) Summary() []ArmSummary {
	out := make([]ArmSummary, len(r.Arms))
	vals := make([]float64, 0, len(r.Patients))
	for a, arm := range r.Arms {
		out[a] = ArmSummary{Arm: arm, Stats: make([]Stat, len(r.Metrics))}
		for m := range r.Metrics {
			vals = vals[:0]
			for p := range r.Patients {
				vals = append(vals, r.Values[a][p][m])
			}
			out[a].Stats[m] = Summarize(vals)
		}
	}
	return out
}

// Summarize returns the statistics of vals, leaving NaNs out. It sorts vals
// in place.
func Summarize(vals []float64) Stat {
	x := vals[:0]
	nan := 0
	for _, v := range vals {
		if math.IsNaN(v) {
			nan++
			continue
		}
		x = append(x, v)
	}
	s := Stat{N: len(x), NaN: nan}
	if len(x) == 0 {
		s.Median, s.Q1, s.Q3, s.Mean, s.Min, s.Max = math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN()
		return s
	}
	slices.Sort(x)
	var sum float64
	for _, v := range x {
		sum += v
	}
	s.Mean = sum / float64(len(x))
	s.Min, s.Max = x[0], x[len(x)-1]
	s.Q1, s.Median, s.Q3 = Quantile(x, 0.25), Quantile(x, 0.5), Quantile(x, 0.75)
	return s
}

// Quantile returns the q-quantile of the sorted, NaN-free values x by linear
// interpolation between order statistics (R's type 7, numpy's default):
// with h = q·(n−1), x[⌊h⌋] + (h−⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋]).
func Quantile(x []float64, q float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	h := min(max(q, 0), 1) * float64(len(x)-1)
	k := int(math.Floor(h))
	if k+1 >= len(x) {
		return x[len(x)-1]
	}
	return x[k] + (h-float64(k))*(x[k+1]-x[k])
}

// WriteCSV writes one row per patient and arm: the columns patient, arm, then
// one per metric, with values in Go's shortest round-trip form ("NaN" where
// undefined). Rows come arm by arm, patients in cohort order.
func (r *Result) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	row := append([]string{"patient", "arm"}, r.Metrics...)
	if err := cw.Write(row); err != nil {
		return err
	}
	for a, arm := range r.Arms {
		for p, patient := range r.Patients {
			row = append(row[:0], patient, arm)
			for _, v := range r.Values[a][p] {
				row = append(row, strconv.FormatFloat(v, 'g', -1, 64))
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// Seed returns the seed of one random stream of a trial: stream names what
// the numbers are for ("meals", "sensor"), patient is the patient's name and
// day the day of the trial from 0 (or -1 for a stream that spans the whole
// run). The result depends only on its arguments, so every worker derives the
// same seed for the same job, and every arm (and every cohort containing the
// patient) gets the same random numbers.
func Seed(trial uint64, stream, patient string, day int) uint64 {
	h := fnv.New64a()
	io.WriteString(h, stream)
	h.Write([]byte{0})
	io.WriteString(h, patient)
	return mix(trial ^ mix(h.Sum64()^mix(uint64(int64(day)))))
}

// mix is the SplitMix64 finaliser (Steele, Lea, Flood 2014, "Fast splittable
// pseudorandom number generators", OOPSLA), a bijection on uint64 that
// scatters nearby inputs.
func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
