package t1d

import (
	"fmt"
	"math"
)

// Metrics summarise a series of glucose readings with the Kovatchev risk
// indices and the international-consensus CGM metrics.
//
// Time-in-range figures are percentages of readings, which equal
// percentages of time when the readings are evenly spaced (as the records
// of Simulate are). The ranges follow the consensus (Battelino et al. 2019,
// Diabetes Care 42(8):1593-1603; Danne et al. 2017, Diabetes Care
// 40(12):1631-1640): in range is 70–180 mg/dL inclusive; below range is
// < 70 mg/dL and includes the level-2 readings < 54 mg/dL; above range is
// > 180 mg/dL and includes the level-2 readings > 250 mg/dL. So TBR70 + TIR
// + TAR180 = 100, and level 1 alone is TBR70 − TBR54 (54–69 mg/dL) or
// TAR180 − TAR250 (181–250 mg/dL).
type Metrics struct {
	N int // number of readings

	Mean float64 // mean glucose, mg/dL
	SD   float64 // standard deviation, mg/dL (denominator N−1; 0 when N = 1)
	CV   float64 // coefficient of variation 100·SD/Mean, %
	GMI  float64 // glucose management indicator 3.31 + 0.02392·Mean, % (Bergenstal et al. 2018)

	TIR    float64 // readings in 70–180 mg/dL inclusive, %
	TBR70  float64 // readings < 70 mg/dL (including < 54), %
	TBR54  float64 // readings < 54 mg/dL, %
	TAR180 float64 // readings > 180 mg/dL (including > 250), %
	TAR250 float64 // readings > 250 mg/dL, %

	LBGI      float64 // low blood glucose index: mean of the low risk of each reading (Risk), dimensionless
	HBGI      float64 // high blood glucose index: mean of the high risk of each reading, dimensionless
	RiskIndex float64 // LBGI + HBGI, dimensionless
}

// ComputeMetrics returns the metrics of the glucose readings (mg/dL). It
// reports an error naming the first reading that is not a finite value ≥ 0,
// or if there are no readings.
//
// LBGI and HBGI follow Kovatchev et al. 1997 (Diabetes Care
// 20(11):1655-1658) and Kovatchev et al. 2006 (Diabetes Care
// 29(11):2433-2438): with f(BG) = 1.509·(ln(BG)^1.084 − 5.381) and
// r = 10·f², each reading contributes r to the low risk if f < 0 and to the
// high risk if f > 0, and the indices are the means over all readings.
// Readings ≤ 20 or ≥ 600 mg/dL count as risk 100, as in simglucose (see
// Risk). GMI: Bergenstal et al. 2018, Diabetes Care 41(11):2275-2280.
func ComputeMetrics(glucose []float64) (Metrics, error) {
	if len(glucose) == 0 {
		return Metrics{}, fmt.Errorf("t1d: metrics: no glucose readings")
	}
	var m Metrics
	var sum float64
	var tir, tbr70, tbr54, tar180, tar250 int
	for i, g := range glucose {
		if !(g >= 0 && g <= math.MaxFloat64) {
			return Metrics{}, fmt.Errorf("t1d: metrics: glucose[%d] = %v mg/dL, want a finite value ≥ 0", i, g)
		}
		sum += g
		switch {
		case g < 54:
			tbr54++
			tbr70++
		case g < 70:
			tbr70++
		case g <= 180:
			tir++
		case g <= 250:
			tar180++
		default:
			tar180++
			tar250++
		}
		lo, hi, _ := Risk(g)
		m.LBGI += lo
		m.HBGI += hi
	}
	n := float64(len(glucose))
	m.N = len(glucose)
	m.Mean = sum / n
	if m.N > 1 {
		var ss float64
		for _, g := range glucose {
			d := g - m.Mean
			ss += d * d
		}
		m.SD = math.Sqrt(ss / (n - 1))
	}
	if m.Mean > 0 {
		m.CV = 100 * m.SD / m.Mean
	}
	m.GMI = 3.31 + 0.02392*m.Mean
	pct := func(k int) float64 { return 100 * float64(k) / n }
	m.TIR, m.TBR70, m.TBR54, m.TAR180, m.TAR250 = pct(tir), pct(tbr70), pct(tbr54), pct(tar180), pct(tar250)
	m.LBGI /= n
	m.HBGI /= n
	m.RiskIndex = m.LBGI + m.HBGI
	return m, nil
}
