package hospital

import (
	"fmt"
	"slices"
)

// Difference is a paired estimate of the effect of a what-if: the mean over
// replications of (branch − base) with its 95 % half-width. Because both
// runs draw the same patients (same seed, same per-purpose streams), the
// paired interval is much narrower than the two runs' own intervals.
type Difference struct {
	Name   string  `json:"name"` // "ed" or a unit name
	Metric string  `json:"metric"`
	Mean   float64 `json:"mean"`
	HW     float64 `json:"hw95"`
}

// Compare returns the paired differences branch − base of mean occupancy
// and P(full) for every unit both have (by name), and of the ED's mean
// boarding time. The runs must have the same number of replications and
// the same seed (run from the same State) for the pairing to mean
// anything.
func Compare(base, branch *Result) ([]Difference, error) {
	if base.Replications != branch.Replications {
		return nil, fmt.Errorf("hospital: compare: %d and %d replications", base.Replications, branch.Replications)
	}
	names := func(r *Result) []string {
		out := []string{"ed"}
		for _, u := range r.Units {
			out = append(out, u.Name)
		}
		return out
	}
	bn, xn := names(base), names(branch)
	diff := func(a, b []float64) (float64, float64) {
		d := make([]float64, len(a))
		for i := range a {
			d[i] = b[i] - a[i]
		}
		return meanHW(d)
	}
	var out []Difference
	for i, name := range bn {
		j := slices.Index(xn, name)
		if j < 0 {
			continue
		}
		m, hw := diff(base.occ[i], branch.occ[j])
		out = append(out, Difference{name, "mean_occupancy", m, hw})
		m, hw = diff(base.pfull[i], branch.pfull[j])
		out = append(out, Difference{name, "p_full", m, hw})
	}
	m, hw := diff(base.board, branch.board)
	out = append(out, Difference{"ed", "mean_boarding_hours", m, hw})
	return out, nil
}
