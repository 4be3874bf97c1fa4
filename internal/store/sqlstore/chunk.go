package sqlstore

import (
	"cmp"
	"encoding/binary"
	"errors"
	"math"
	"slices"
)

// A chunk holds the samples of one series (patient, code, device) in one
// UTC day, as one byte string:
//
//	version  byte (1)
//	n        uvarint, the number of samples (at least 1)
//	e        byte: times are counted in units of 10^e ns (0..9), the
//	         largest such unit that divides every time of the chunk
//	k        byte: values are integers / 10^k (0..9), the smallest k that
//	         gives every value back bit for bit; 255: raw float64 values
//	times    varint of the first time in units, then n-1 varints: the
//	         change of the step between samples (delta of delta), the
//	         first step counted from 0; times strictly increase
//	values   k <= 9: varint of the first scaled value, then n-1 varints of
//	         the differences; k = 255: n little-endian float64s
//
// Varints are zigzag (encoding/binary). A regular 5-minute CGM series in
// whole mg/dL takes one byte per time and one per value: 2 bytes a sample.
// The encoding is lossless: times to the nanosecond, values bit for bit.

const (
	chunkVersion = 1
	rawValues    = 255
	maxScale     = 9
	maxExact     = 1 << 53 // integers a float64 holds exactly
)

var pow10 = [...]int64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9}

// point is one sample of a series: unix nanoseconds and value.
type point struct {
	t int64
	v float64
}

// timeUnit returns the largest e such that 10^e divides every t.
func timeUnit(ps []point) int {
	e := 9
	for _, p := range ps {
		for e > 0 && p.t%pow10[e] != 0 {
			e--
		}
	}
	return e
}

// valueScale returns the smallest k such that every value is an integer of
// at most 53 bits divided by 10^k, bit for bit; rawValues if there is none.
func valueScale(ps []point) int {
next:
	for k := 0; k <= maxScale; k++ {
		p := float64(pow10[k])
		for _, q := range ps {
			s := math.Round(q.v * p)
			if math.Abs(s) > maxExact || math.Float64bits(s/p) != math.Float64bits(q.v) {
				continue next
			}
		}
		return k
	}
	return rawValues
}

// encodeChunk encodes ps, which must be sorted by strictly increasing t.
func encodeChunk(ps []point) []byte {
	e, k := timeUnit(ps), valueScale(ps)
	b := make([]byte, 0, 16+2*len(ps))
	b = append(b, chunkVersion)
	b = binary.AppendUvarint(b, uint64(len(ps)))
	b = append(b, byte(e), byte(k))
	unit := pow10[e]
	var prev, step int64
	for i, p := range ps {
		t := p.t / unit
		if i == 0 {
			b = binary.AppendVarint(b, t)
		} else {
			d := t - prev
			b = binary.AppendVarint(b, d-step)
			step = d
		}
		prev = t
	}
	if k == rawValues {
		for _, p := range ps {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(p.v))
		}
		return b
	}
	scale := float64(pow10[k])
	var last int64
	for i, p := range ps {
		s := int64(math.Round(p.v * scale))
		if i == 0 {
			b = binary.AppendVarint(b, s)
		} else {
			b = binary.AppendVarint(b, s-last)
		}
		last = s
	}
	return b
}

var errChunk = errors.New("sqlstore: malformed series chunk")

// decodeChunk decodes what encodeChunk made; anything else is errChunk.
func decodeChunk(b []byte) ([]point, error) {
	if len(b) < 4 || b[0] != chunkVersion {
		return nil, errChunk
	}
	n, m := binary.Uvarint(b[1:])
	b = b[1+max(m, 0):]
	// Every sample takes at least one byte (after the first time), so a
	// count above the bytes left is malformed, not a large allocation.
	if m <= 0 || n == 0 || n > uint64(len(b)) || len(b) < 2 {
		return nil, errChunk
	}
	e, k := int(b[0]), int(b[1])
	b = b[2:]
	if e > 9 || (k > maxScale && k != rawValues) {
		return nil, errChunk
	}
	varint := func() (int64, bool) {
		x, m := binary.Varint(b)
		if m <= 0 {
			return 0, false
		}
		b = b[m:]
		return x, true
	}
	unit := pow10[e]
	ps := make([]point, n)
	var prev, step int64
	for i := range ps {
		x, ok := varint()
		if !ok {
			return nil, errChunk
		}
		t := x
		if i > 0 {
			// step += x and t = prev + step, refusing overflow and
			// times that do not increase.
			if (x > 0 && step > math.MaxInt64-x) || (x < 0 && step < math.MinInt64-x) {
				return nil, errChunk
			}
			step += x
			if step <= 0 || prev > math.MaxInt64-step {
				return nil, errChunk
			}
			t = prev + step
		}
		if t > math.MaxInt64/unit || t < math.MinInt64/unit {
			return nil, errChunk
		}
		ps[i].t, prev = t*unit, t
	}
	if k == rawValues {
		if len(b) != 8*len(ps) {
			return nil, errChunk
		}
		for i := range ps {
			ps[i].v = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
			if math.IsNaN(ps[i].v) || math.IsInf(ps[i].v, 0) {
				return nil, errChunk
			}
		}
		return ps, nil
	}
	scale := float64(pow10[k])
	var s int64
	for i := range ps {
		x, ok := varint()
		if !ok {
			return nil, errChunk
		}
		if i == 0 {
			s = x
		} else {
			if (x > 0 && s > maxExact-x) || (x < 0 && s < -maxExact-x) {
				return nil, errChunk
			}
			s += x
		}
		if s > maxExact || s < -maxExact {
			return nil, errChunk
		}
		ps[i].v = float64(s) / scale
	}
	if len(b) != 0 {
		return nil, errChunk
	}
	return ps, nil
}

// mergePoints adds the points of add (any order) whose times old (sorted)
// lacks, the first of equal times winning, and returns the sorted result
// and how many were added.
func mergePoints(old, add []point) ([]point, int) {
	add = slices.Clone(add)
	slices.SortStableFunc(add, func(a, b point) int { return cmp.Compare(a.t, b.t) })
	add = slices.CompactFunc(add, func(a, b point) bool { return a.t == b.t })
	out := make([]point, 0, len(old)+len(add))
	i, j, n := 0, 0, 0
	for i < len(old) || j < len(add) {
		switch {
		case j == len(add) || (i < len(old) && old[i].t < add[j].t):
			out = append(out, old[i])
			i++
		case i == len(old) || add[j].t < old[i].t:
			out = append(out, add[j])
			j, n = j+1, n+1
		default: // the same time: the stored sample stays
			out = append(out, old[i])
			i, j = i+1, j+1
		}
	}
	return out, n
}
