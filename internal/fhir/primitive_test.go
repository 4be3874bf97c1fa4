package fhir

import (
	"regexp"
	"testing"
)

// handChecked lists the string-based primitive types that validPrimitive
// checks by hand; each must agree with its R4 regular expression.
var handChecked = []string{"code", "uri", "url", "canonical", "id", "date", "dateTime", "instant", "time", "base64Binary"}

// r4Regexps compiles the R4 pattern of every hand-checked type.
func r4Regexps() map[string]*regexp.Regexp {
	m := make(map[string]*regexp.Regexp)
	for _, typ := range handChecked {
		m[typ] = anchored(typ)
	}
	return m
}

func checkPrimitiveAgainstRegexp(t *testing.T, res map[string]*regexp.Regexp, typ, s string) {
	t.Helper()
	if got, want := validPrimitive(typ, s), res[typ].MatchString(s); got != want {
		t.Errorf("validPrimitive(%q, %q) = %v, the R4 pattern says %v", typ, s, got, want)
	}
}

var primitiveSeeds = []string{
	"", "x", " x", "x ", "a  b", "a b", "a\tb", "a\u00a0b", "a\fb", "a\vb",
	"0000", "0001", "1000", "2013", "20130", "2013-", "2013-00", "2013-01", "2013-12", "2013-13", "2013-1",
	"2013-02-30", "2013-02-00", "2013-02-31", "2013-02-32", "2013-02-3", "2013-02-01T", "2013-01-01T10:00:00",
	"2013-01-01T10:00:00Z", "2013-01-01T24:00:00Z", "2013-01-01T23:59:60Z", "2013-01-01T23:59:61Z",
	"2013-01-01T10:00:00.Z", "2013-01-01T10:00:00.123456789Z", "2013-01-01T10:00Z",
	"2013-01-01T10:00:00+14:00", "2013-01-01T10:00:00+14:01", "2013-01-01T10:00:00-13:59", "2013-01-01T10:00:00+13:60",
	"2013-01-01T10:00:00+1:00", "2013-01-01T10:00:00+01:00x", "2013-01T10:00:00Z", "2013T10:00:00Z",
	"10:00:00", "10:00", "23:59:60.5", "24:00:00", "10:00:00Z", "1:00:00",
	"http://example.org/a b", "http://example.org/ab", "urn:uuid:x",
	"aGVsbG8=", "aGVsbG8", "aGVs bG8=", "aGV sbG8=", " aGVs\nbG8= ", "====", "aGVsbG8=\v", "aGVs-bG8=",
	"A-z.09", "a_b", "0123456789012345678901234567890123456789012345678901234567890123", "01234567890123456789012345678901234567890123456789012345678901234",
}

func TestPrimitiveFormatsMatchR4Patterns(t *testing.T) {
	res := r4Regexps()
	for _, typ := range handChecked {
		if primitivePatterns[typ] == "" {
			t.Fatalf("no R4 pattern for %s", typ)
		}
		for _, s := range primitiveSeeds {
			checkPrimitiveAgainstRegexp(t, res, typ, s)
		}
	}
	// Every string-based type with a pattern is either checked by hand or
	// by its compiled regexp.
	for typ := range primitivePatterns {
		if _, ok := res[typ]; !ok && primitiveRegexps[typ] == nil {
			t.Errorf("the pattern of %s is not used", typ)
		}
	}
}

// FuzzPrimitiveFormats compares the hand-written checks with the R4
// regular expressions on arbitrary strings.
func FuzzPrimitiveFormats(f *testing.F) {
	for _, s := range primitiveSeeds {
		f.Add(s)
	}
	res := r4Regexps()
	f.Fuzz(func(t *testing.T, s string) {
		for _, typ := range handChecked {
			checkPrimitiveAgainstRegexp(t, res, typ, s)
		}
	})
}
