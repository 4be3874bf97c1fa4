package search

import (
	"math"
	"testing"
	"time"
)

func TestFold(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Chalmers", "chalmers"},
		{"María", "maria"},
		{"Mari\u0301a", "maria"}, // decomposed accent
		{"Bénédicte du Marché", "benedicte du marche"},
		{"Ærøskøbing", "aeroskobing"},
		{"Łódź", "lodz"},
		{"Straße", "strasse"},
		{"Œuvre", "oeuvre"},
		{"Þór", "thor"},
		{"Ĳssel", "ijssel"},
		{"Çelik Ğüneş Şahin", "celik gunes sahin"},
		{"O'Brien-Smith", "obriensmith"},
		{"  534 Erewhon St\tPeasantVille,  Vic ", "534 erewhon st peasantville vic"},
		{"2×3", "2×3"},
		{"ΑΒΓ", "αβγ"}, // other scripts: lower case only
		{"", ""},
	}
	for _, tc := range tests {
		if got := Fold(tc.in); got != tc.want {
			t.Errorf("Fold(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseDate(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s, ms int) int64 {
		return time.Date(y, mo, d, h, mi, s, ms*1e6, time.UTC).UnixMilli()
	}
	tests := []struct {
		in     string
		lo, hi int64
	}{
		{"2013", utc(2013, 1, 1, 0, 0, 0, 0), utc(2013, 12, 31, 23, 59, 59, 999)},
		{"2013-02", utc(2013, 2, 1, 0, 0, 0, 0), utc(2013, 2, 28, 23, 59, 59, 999)},
		{"2012-02", utc(2012, 2, 1, 0, 0, 0, 0), utc(2012, 2, 29, 23, 59, 59, 999)},
		{"2013-12-31", utc(2013, 12, 31, 0, 0, 0, 0), utc(2013, 12, 31, 23, 59, 59, 999)},
		{"2013-01-14T10:00", utc(2013, 1, 14, 10, 0, 0, 0), utc(2013, 1, 14, 10, 0, 59, 999)},
		{"2013-01-14T10:00Z", utc(2013, 1, 14, 10, 0, 0, 0), utc(2013, 1, 14, 10, 0, 59, 999)},
		{"2013-01-14T10:00:05+02:00", utc(2013, 1, 14, 8, 0, 5, 0), utc(2013, 1, 14, 8, 0, 5, 999)},
		{"2013-01-14T10:00:05-05:30", utc(2013, 1, 14, 15, 30, 5, 0), utc(2013, 1, 14, 15, 30, 5, 999)},
		{"2015-02-07T13:28:17.239+02:00", utc(2015, 2, 7, 11, 28, 17, 239), utc(2015, 2, 7, 11, 28, 17, 239)},
		{"2015-02-07T13:28:17.2Z", utc(2015, 2, 7, 13, 28, 17, 200), utc(2015, 2, 7, 13, 28, 17, 299)},
		{"2015-02-07T13:28:17.123456Z", utc(2015, 2, 7, 13, 28, 17, 123), utc(2015, 2, 7, 13, 28, 17, 123)},
		{"1969-12-31T23:59:59.5Z", -500, -401},
		{"0001", DateMin, utc(1, 12, 31, 23, 59, 59, 999)},
		{"9999-12-31T23:59:59.999Z", DateMax, DateMax},
	}
	for _, tc := range tests {
		lo, hi, err := parseDate(tc.in)
		if err != nil || lo != tc.lo || hi != tc.hi {
			t.Errorf("parseDate(%q) = %d, %d, %v; want %d, %d", tc.in, lo, hi, err, tc.lo, tc.hi)
		}
	}
	for _, in := range []string{"", "13", "2013-1", "2013-13", "2013-02-30", "2013-00", "0000", "2013-01-14T", "2013-01-14T25:00",
		"2013-01-14T10", "2013-01-14T10:00:60", "2013-01-14T10:00:00.", "2013-01-14T10:00:00+0200", "2013-01-14T10:00:00+02:00x",
		"2013-01-14T10:00:00ZZ", "2013/01/14", "2013-01-14 10:00", "１２３４"} {
		if lo, hi, err := parseDate(in); err == nil {
			t.Errorf("parseDate(%q) = %d, %d, nil; want an error", in, lo, hi)
		}
	}
}

func TestParseNumber(t *testing.T) {
	tests := []struct {
		in          string
		num, lo, hi float64
	}{
		{"100", 100, 99.5, 100.5}, // R4 §3.1.1.4.2: [99.5, 100.5)
		{"100.00", 100, 99.995, 100.005},
		{"1.50", 1.5, 1.495, 1.505},
		{"-3", -3, -3.5, -2.5},
		{"+0.1", 0.1, 0.05, 0.15},
		{"1e2", 100, 50, 150},
		{"1.0e2", 100, 95, 105},
		{"5.4E-3", 0.0054, 0.00535, 0.00545},
	}
	for _, tc := range tests {
		num, lo, hi, err := parseNumber(tc.in)
		close := func(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }
		if err != nil || num != tc.num || !close(lo, tc.lo) || !close(hi, tc.hi) {
			t.Errorf("parseNumber(%q) = %v, %v, %v, %v; want %v, %v, %v", tc.in, num, lo, hi, err, tc.num, tc.lo, tc.hi)
		}
	}
	for _, in := range []string{"", "-", ".", "1.2.3", "1e", "1e2.5", "abc", "inf", "NaN", "0x10", "1_000", "1e999", "--1"} {
		if _, _, _, err := parseNumber(in); err == nil {
			t.Errorf("parseNumber(%q): no error", in)
		}
	}
}
