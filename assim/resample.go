package assim

import "math"

// NormalizeLog turns log-weights into weights that sum to 1, in place, and
// returns the effective sample size 1/Σw² (Kong, Liu & Wong, J Am Stat
// Assoc 1994;89:278-288). The largest log-weight is subtracted before
// exponentiation, so weights far below 0 do not underflow all together. If
// no weight is finite and above −Inf, the weights become uniform.
func NormalizeLog(w []float64) (ess float64) {
	top := math.Inf(-1)
	for _, v := range w {
		if !math.IsNaN(v) {
			top = max(top, v)
		}
	}
	if math.IsInf(top, 0) {
		for i := range w {
			w[i] = 1 / float64(len(w))
		}
		return float64(len(w))
	}
	sum := 0.0
	for i, v := range w {
		if math.IsNaN(v) {
			w[i] = 0
			continue
		}
		w[i] = math.Exp(v - top)
		sum += w[i]
	}
	sq := 0.0
	for i := range w {
		w[i] /= sum
		sq += w[i] * w[i]
	}
	return 1 / sq
}

// Systematic writes into dst the indices of len(dst) draws from the
// normalised weights w by systematic resampling (Kitagawa, J Comput Graph
// Stat 1996;5:1-25): one uniform u in [0, 1) places the points (k+u)/n,
// k = 0…n−1, on the cumulative weights. Each index i is drawn ⌊n·wᵢ⌋ or
// ⌈n·wᵢ⌉ times, the lowest variance of the standard schemes. dst comes out
// in increasing order.
func Systematic(dst []int, w []float64, u float64) {
	n := float64(len(dst))
	cum, j := w[0], 0
	for k := range dst {
		p := (float64(k) + u) / n
		for p >= cum && j < len(w)-1 {
			j++
			cum += w[j]
		}
		dst[k] = j
	}
}
