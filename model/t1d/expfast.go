package t1d

import "math"

// exp returns e^x for |x| ≤ 708 to within 1 ulp or so (max relative error
// 5e-16 against math.Exp on [-80, 80], TestExp). It is the gastric-emptying
// switch's exponential, evaluated twice per derivative evaluation, and about
// twice as fast as math.Exp on amd64: x = k·ln2 + r with |r| ≤ ln2/2, e^r by
// its Taylor polynomial of degree 13 (truncation < 2e-17) in Estrin's scheme,
// and 2^k put into the exponent bits.
func exp(x float64) float64 {
	const (
		log2e = 1.44269504088896338700e+00
		ln2hi = 6.93147180369123816490e-01 // ln 2 to 32 bits: k·ln2hi is exact
		ln2lo = 1.90821492927058770002e-10 // ln 2 − ln2hi
	)
	k := math.Floor(x*log2e + 0.5)
	r := (x - k*ln2hi) - k*ln2lo
	r2 := r * r
	r4 := r2 * r2
	r8 := r4 * r4
	p01 := 1 + r
	p23 := 1.0/2 + r*(1.0/6)
	p45 := 1.0/24 + r*(1.0/120)
	p67 := 1.0/720 + r*(1.0/5040)
	p89 := 1.0/40320 + r*(1.0/362880)
	p1011 := 1.0/3628800 + r*(1.0/39916800)
	p1213 := 1.0/479001600 + r*(1.0/6227020800)
	s := (p01 + r2*p23) + r4*(p45+r2*p67) + r8*((p89+r2*p1011)+r4*p1213)
	return math.Float64frombits(math.Float64bits(s) + uint64(int64(k))<<52)
}
