package t1d

import "math"

// Risk returns the Kovatchev blood-glucose risk of one reading bg (mg/dL):
// its low (LBGI) and high (HBGI) components and the total risk, as
// simglucose's analysis/risk.py computes them (Kovatchev et al. 1997,
// Diabetes Care 20(11):1655-1658).
//
// With f = 1.509·(ln(bg)^1.084 − 5.381) the risk is 10·f², counted as low
// risk when f ≤ 0 and as high risk when f ≥ 0. Readings at or below 20 mg/dL
// return (100, 0, 100) and readings at or above 600 mg/dL (0, 100, 100),
// the limits the formula was fitted to. The LBGI and HBGI of a run are the
// means of these components over its readings.
func Risk(bg float64) (lbgi, hbgi, risk float64) {
	switch {
	case bg <= 20:
		return 100, 0, 100
	case bg >= 600:
		return 0, 100, 100
	}
	// ln(bg)^1.084 as exp(1.084·ln(ln(bg))): bg > 20 here, so ln(bg) > 1,
	// and this is a few times faster than math.Pow.
	f := 1.509 * (math.Exp(1.084*math.Log(math.Log(bg))) - 5.381)
	risk = 10 * f * f
	if f <= 0 {
		lbgi = risk
	}
	if f >= 0 {
		hbgi = risk
	}
	return lbgi, hbgi, risk
}
