package search

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// The bounds of an open-ended date range (a Period without start or end), in
// Unix milliseconds UTC: 0001-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z.
const (
	DateMin = -62135596800000
	DateMax = 253402300799999
)

// The bounds of an open-ended number or quantity range (a Range without low
// or high).
const (
	NumMin = -math.MaxFloat64
	NumMax = math.MaxFloat64
)

// latinFold maps U+00C0..U+017F to the base letter, one byte per code
// point: '*' marks the letters that fold to two ('æ' → "ae"), '.' the
// signs kept as they are (× ÷).
const latinFold = "aaaaaa*ceeeeiiiidnooooo.ouuuuy**aaaaaa*ceeeeiiiidnooooo.ouuuuy*y" + // U+00C0..U+00FF
	"aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiii**jjkkkllllllllllnnnnnnnnnoooooo**rrrrrrsssssssstttttt" + // U+0100..U+0167
	"uuuuuuuuuuuuwwyyyzzzzzzs" // U+0168..U+017F

// Fold normalises a string for the default string match and :contains:
// lower case, Latin diacritics removed (a hand-written table for Latin-1
// and Latin Extended-A, plus dropping combining marks U+0300..U+036F, so
// "María" and "Mari\u0301a" both give "maria"), punctuation removed and
// runs of white space made one space, trimmed. Letters of other scripts
// are only lower-cased.
func Fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case r >= 0x300 && r <= 0x36f, unicode.IsPunct(r):
			continue
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		r = unicode.ToLower(r)
		if r < 0xc0 || r > 0x17f {
			b.WriteRune(r)
			continue
		}
		switch c := latinFold[r-0xc0]; c {
		case '.':
			b.WriteRune(r)
		case '*':
			b.WriteString(latinPair(r))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// latinPair is the two-letter fold of the letters marked '*' in latinFold.
func latinPair(r rune) string {
	switch r {
	case 'æ':
		return "ae"
	case 'þ':
		return "th"
	case 'ß':
		return "ss"
	case 'ĳ':
		return "ij"
	case 'œ':
		return "oe"
	}
	return string(r) // not reached: every '*' code point is listed above
}

// parseDate parses a FHIR date, dateTime or instant (and the search forms
// that stop at minutes) into the closed range [lo, hi] of Unix milliseconds
// it covers: "2013" is the whole year, "2013-01-14T10:00:05.2Z" covers
// 200 ms. A value without a time zone (a date, or a search value such as
// "2013-01-14T10:00") is taken as UTC.
func parseDate(s string) (lo, hi int64, err error) {
	bad := func(why string) (int64, int64, error) {
		return 0, 0, fmt.Errorf("%q is not a FHIR date: %s", s, why)
	}
	num := func(i, n int) (int, bool) {
		if i+n > len(s) {
			return 0, false
		}
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	year, ok := num(0, 4)
	if !ok || year == 0 {
		return bad("want YYYY[-MM[-DD[Thh:mm[:ss[.fff]][Z|±hh:mm]]]]")
	}
	month, day, hour, minute, sec, nsec := 1, 1, 0, 0, 0, 0
	i := 4
	field := func(sep byte, lim int) (int, bool) {
		if i >= len(s) || s[i] != sep {
			return 0, false
		}
		v, ok := num(i+1, 2)
		if !ok || v > lim {
			return 0, false
		}
		i += 3
		return v, true
	}
	step := func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }
	if i < len(s) {
		if month, ok = field('-', 12); !ok || month == 0 {
			return bad("bad month")
		}
		step = func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }
	}
	if i < len(s) {
		if day, ok = field('-', 31); !ok || day == 0 {
			return bad("bad day")
		}
		step = func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }
	}
	loc := time.UTC
	if i < len(s) {
		if hour, ok = field('T', 23); !ok {
			return bad("bad hour")
		}
		if minute, ok = field(':', 59); !ok {
			return bad("bad minutes")
		}
		step = func(t time.Time) time.Time { return t.Add(time.Minute) }
		if i < len(s) && s[i] == ':' {
			if sec, ok = field(':', 59); !ok {
				return bad("bad seconds")
			}
			step = func(t time.Time) time.Time { return t.Add(time.Second) }
			if i < len(s) && s[i] == '.' {
				j := i + 1
				for j < len(s) && s[j] >= '0' && s[j] <= '9' {
					j++
				}
				frac := s[i+1 : j]
				if frac == "" {
					return bad("bad fraction of a second")
				}
				if len(frac) > 9 {
					frac = frac[:9]
				}
				f, _ := strconv.Atoi(frac)
				unit := time.Duration(math.Pow10(9 - len(frac)))
				nsec = f * int(unit)
				if unit < time.Millisecond {
					unit = time.Millisecond
				}
				step = func(t time.Time) time.Time { return t.Add(unit) }
				i = j
			}
		}
		switch {
		case i == len(s):
		case s[i] == 'Z' && i == len(s)-1:
			i++
		case s[i] == '+' || s[i] == '-':
			sign := 1
			if s[i] == '-' {
				sign = -1
			}
			zh, ok1 := num(i+1, 2)
			zm, ok2 := num(i+4, 2)
			if !ok1 || !ok2 || s[i+3] != ':' || i+6 != len(s) || zh > 14 || zm > 59 {
				return bad("bad time zone")
			}
			loc = time.FixedZone("", sign*(zh*3600+zm*60))
			i = len(s)
		default:
			return bad("bad time zone")
		}
	}
	if i != len(s) {
		return bad("trailing characters")
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc)
	if t.Day() != day {
		return bad("no such day")
	}
	lo = t.UnixMilli()
	return lo, step(t.Truncate(time.Millisecond)).UnixMilli() - 1, nil
}

// parseNumber parses a FHIR decimal and the range its precision implies:
// half a unit of the last significant digit either side ("100" → [99.5,
// 100.5], "1.50" → [1.495, 1.505], "1e2" → [50, 150]).
func parseNumber(s string) (num, lo, hi float64, err error) {
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant = s[:i]
		if exp, err = strconv.Atoi(s[i+1:]); err != nil {
			return 0, 0, 0, fmt.Errorf("%q is not a number", s)
		}
	}
	digits, decimals, point := 0, 0, false
	for k, c := range []byte(mant) {
		switch {
		case (c == '-' || c == '+') && k == 0:
		case c == '.' && !point:
			point = true
		case c >= '0' && c <= '9':
			digits++
			if point {
				decimals++
			}
		default:
			return 0, 0, 0, fmt.Errorf("%q is not a number", s)
		}
	}
	if digits == 0 {
		return 0, 0, 0, fmt.Errorf("%q is not a number", s)
	}
	num, err = strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(num, 0) {
		return 0, 0, 0, fmt.Errorf("%q is not a number", s)
	}
	half := 0.5 * math.Pow10(exp-decimals)
	return num, num - half, num + half, nil
}
