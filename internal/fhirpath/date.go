package fhirpath

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// dateTime is a parsed date, dateTime or time with its precision.
type dateTime struct {
	// parts: year, month, day, hour, minute, second, millisecond.
	parts [7]int
	prec  int // number of parts given (1..7)
	first int // index of the first part: 0 for dates, 3 for times
	tz    bool
	off   int // time-zone offset in minutes, when tz
}

// parseDateTime parses an ISO 8601 date or dateTime of any precision
// (FHIR date, dateTime, instant).
func parseDateTime(s string) (dateTime, error) {
	var d dateTime
	date, tm, hasT := strings.Cut(s, "T")
	fields := strings.Split(date, "-")
	if len(fields) > 3 || len(fields[0]) != 4 {
		return d, fmt.Errorf("fhirpath: bad date %q", s)
	}
	for i, f := range fields {
		n, err := strconv.Atoi(f)
		if err != nil {
			return d, fmt.Errorf("fhirpath: bad date %q", s)
		}
		d.parts[i] = n
		d.prec = i + 1
	}
	if hasT && tm != "" {
		if d.prec != 3 {
			return d, fmt.Errorf("fhirpath: bad dateTime %q", s)
		}
		t, err := parseTime(tm)
		if err != nil {
			return d, err
		}
		copy(d.parts[3:], t.parts[3:])
		d.prec, d.tz, d.off = t.prec, t.tz, t.off
	}
	return d, nil
}

// parseTime parses hh[:mm[:ss[.fff]]] with an optional zone.
func parseTime(s string) (dateTime, error) {
	d := dateTime{first: 3, prec: 3}
	if i := strings.IndexAny(s, "Z+-"); i >= 0 {
		z := s[i:]
		s = s[:i]
		d.tz = true
		if z != "Z" {
			h, err1 := strconv.Atoi(z[1:min(3, len(z))])
			m, err2 := strconv.Atoi(z[min(4, len(z)):])
			if err1 != nil || err2 != nil || len(z) != 6 {
				return d, fmt.Errorf("fhirpath: bad zone %q", z)
			}
			d.off = h*60 + m
			if z[0] == '-' {
				d.off = -d.off
			}
		}
	}
	sec, frac, hasFrac := strings.Cut(s, ".")
	for i, f := range strings.Split(sec, ":") {
		n, err := strconv.Atoi(f)
		if err != nil || i > 2 || len(f) != 2 {
			return d, fmt.Errorf("fhirpath: bad time %q", s)
		}
		d.parts[3+i] = n
		d.prec = 4 + i
	}
	if hasFrac {
		if d.prec != 6 || frac == "" {
			return d, fmt.Errorf("fhirpath: bad time %q", s)
		}
		f, _ := strconv.ParseFloat("0."+frac, 64)
		d.parts[6] = int(f*1000 + 0.5)
		d.prec = 7
	}
	return d, nil
}

// utc shifts a value with a time zone and at least hour precision to UTC.
func (d dateTime) utc() dateTime {
	if !d.tz || d.off == 0 || d.prec < 4 {
		return d
	}
	y, mo, dd := d.parts[0], d.parts[1], d.parts[2]
	if d.first == 3 {
		y, mo, dd = 2000, 1, 1
	}
	t := time.Date(y, time.Month(mo), dd, d.parts[3], d.parts[4], d.parts[5], 0, time.UTC).Add(-time.Duration(d.off) * time.Minute)
	r := d
	r.off = 0
	if d.first == 0 {
		r.parts[0], r.parts[1], r.parts[2] = t.Year(), int(t.Month()), t.Day()
	}
	r.parts[3], r.parts[4], r.parts[5] = t.Hour(), t.Minute(), t.Second()
	return r
}

// cmp orders two values; ok is false when the comparison is undetermined
// because the precisions differ and the common parts are equal.
func (d dateTime) cmp(o dateTime) (int, bool) {
	if d.tz && o.tz {
		d, o = d.utc(), o.utc()
	} else if d.tz != o.tz && d.prec > 3 && o.prec > 3 {
		return 0, false // one has a zone, the other not
	}
	pa, pb := d.prec, o.prec
	// Seconds and milliseconds are one precision.
	if pa == 6 {
		pa = 7
	}
	if pb == 6 {
		pb = 7
	}
	n := min(pa, pb)
	for i := d.first; i < n; i++ {
		if d.parts[i] != o.parts[i] {
			if d.parts[i] < o.parts[i] {
				return -1, true
			}
			return 1, true
		}
	}
	if pa != pb {
		return 0, false
	}
	return 0, true
}

// format writes d back with its precision.
func (d dateTime) format() string {
	var b strings.Builder
	if d.first == 0 {
		b.WriteString(fmt.Sprintf("%04d", d.parts[0]))
		for i := 1; i < min(d.prec, 3); i++ {
			b.WriteString(fmt.Sprintf("-%02d", d.parts[i]))
		}
		if d.prec > 3 {
			b.WriteByte('T')
		}
	}
	for i := 3; i < min(d.prec, 6); i++ {
		if i > 3 {
			b.WriteByte(':')
		}
		b.WriteString(fmt.Sprintf("%02d", d.parts[i]))
	}
	if d.prec == 7 {
		b.WriteString(fmt.Sprintf(".%03d", d.parts[6]))
	}
	if d.tz && d.prec > 3 {
		if d.off == 0 {
			b.WriteByte('Z')
		} else {
			sign, off := '+', d.off
			if off < 0 {
				sign, off = '-', -off
			}
			b.WriteString(fmt.Sprintf("%c%02d:%02d", sign, off/60, off%60))
		}
	}
	return b.String()
}

// dateAdd adds (or subtracts) a calendar or UCUM time quantity.
func dateAdd(a item, q Quantity, sub bool) ([]item, error) {
	var d dateTime
	var err error
	if kindOf(a) == kTime {
		d, err = parseTime(a.v.(string))
	} else {
		d, err = parseDateTime(a.v.(string))
	}
	if err != nil {
		return nil, err
	}
	v, ok := new(big.Rat).SetString(q.Value)
	if !ok {
		return nil, fmt.Errorf("fhirpath: cannot add %s %s to a date", q.Value, q.Unit)
	}
	// Fractions are dropped (7.7 days adds 7 days, as the suite expects).
	n := int(new(big.Int).Quo(v.Num(), v.Denom()).Int64())
	if sub {
		n = -n
	}
	// UCUM 'a' and 'mo' are not calendar years and months: they are errors.
	unit := map[string]string{"wk": "week", "d": "day", "h": "hour",
		"min": "minute", "s": "second", "ms": "millisecond"}[q.Unit]
	if unit == "" {
		unit = q.Unit
	}
	y, mo, dd := d.parts[0], d.parts[1], d.parts[2]
	if d.first == 3 {
		y, mo, dd = 2000, 1, 1
	}
	if d.prec < 2 {
		mo = 1
	}
	if d.prec < 3 {
		dd = 1
	}
	t := time.Date(y, time.Month(mo), dd, d.parts[3], d.parts[4], d.parts[5], d.parts[6]*1e6, time.UTC)
	switch unit {
	case "year":
		t = t.AddDate(n, 0, 0)
	case "month":
		t = t.AddDate(0, n, 0)
	case "week":
		t = t.AddDate(0, 0, 7*n)
	case "day":
		t = t.AddDate(0, 0, n)
	case "hour":
		t = t.Add(time.Duration(n) * time.Hour)
	case "minute":
		t = t.Add(time.Duration(n) * time.Minute)
	case "second":
		t = t.Add(time.Duration(n) * time.Second)
	case "millisecond":
		t = t.Add(time.Duration(n) * time.Millisecond)
	default:
		return nil, fmt.Errorf("fhirpath: cannot add unit %q to a date", q.Unit)
	}
	r := d
	r.parts = [7]int{t.Year(), int(t.Month()), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond() / 1e6}
	return []item{{v: r.format(), typ: a.typ}}, nil
}
