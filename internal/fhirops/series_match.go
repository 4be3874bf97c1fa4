package fhirops

import (
	"strings"
	"time"

	"github.com/doppelhealth/doppel/internal/search"
)

// This file evaluates search clauses on one resource's index entries in
// memory, by the match rules of package search (its doc, "Match
// semantics"), which a store evaluates in SQL: Observations made from
// samples are not in the store's index. Chained clauses are not handled
// here (a merged search refuses them).

// matchAll reports whether entries es match every clause.
func matchAll(clauses []search.Clause, es []search.Entry) bool {
	for _, c := range clauses {
		if !matchClause(c, es) {
			return false
		}
	}
	return true
}

// matchClause reports whether entries es (of one resource) match c.
func matchClause(c search.Clause, es []search.Entry) bool {
	var mine []search.Entry
	for _, e := range es {
		if e.Param == c.Param {
			mine = append(mine, e)
		}
	}
	switch c.Modifier {
	case "missing":
		for _, v := range c.Values {
			if v.Missing == (len(mine) == 0) {
				return true
			}
		}
		return false
	case "not":
		c.Modifier = ""
		return !matchClause(c, mine)
	}
	for _, v := range c.Values {
		for _, e := range mine {
			if matchValue(c, v, e) {
				return true
			}
		}
	}
	return false
}

// matchValue reports whether entry e matches value v of clause c.
func matchValue(c search.Clause, v search.Value, e search.Entry) bool {
	switch c.Type {
	case search.String:
		switch c.Modifier {
		case "exact":
			return e.Text == v.Text
		case "contains":
			return strings.Contains(e.Norm, v.Norm)
		}
		return strings.HasPrefix(e.Norm, v.Norm)
	case search.URI:
		return e.Text == v.Text
	case search.Token:
		if c.Modifier == "text" {
			return strings.HasPrefix(e.Norm, v.Norm)
		}
		switch {
		case !v.HasSystem:
			return e.Code == v.Code
		case v.Code == "":
			return e.System == v.System
		}
		return e.System == v.System && e.Code == v.Code
	case search.Reference:
		if c.Modifier != "" && e.RefType != c.Modifier {
			return false
		}
		if v.RefID == "" {
			return e.Text == v.Text
		}
		return e.RefID == v.RefID && (v.RefType == "" || e.RefType == v.RefType)
	case search.Quantity:
		switch {
		case v.System != "" && (e.System != v.System || e.Code != v.Code):
			return false
		case v.System == "" && v.Code != "" && e.Code != v.Code && e.Text != v.Code:
			return false
		}
		return inRange(v, e.Lo, e.Hi)
	case search.Date, search.Number:
		return inRange(v, e.Lo, e.Hi)
	}
	return false
}

// inRange applies v's prefix to a target range [lo, hi].
func inRange(v search.Value, lo, hi float64) bool {
	within := v.Lo <= lo && hi <= v.Hi
	switch v.Prefix {
	case "ne":
		return !within
	case "gt":
		return hi > v.Hi
	case "lt":
		return lo < v.Lo
	case "ge":
		return hi > v.Hi || within
	case "le":
		return lo < v.Lo || within
	case "sa":
		return lo > v.Hi
	case "eb":
		return hi < v.Lo
	case "ap":
		return lo <= v.Hi && hi >= v.Lo
	}
	return within // eq
}

// sampleDate is the date index entry range [lo, hi] of an
// effectiveDateTime written as fhirobs writes a sample's time (RFC 3339
// with the nanoseconds' trailing zeros cut), in Unix milliseconds: the
// precision of the text (a second, or 10^-k s for k fraction digits, at
// least a millisecond), as package search indexes a date.
func sampleDate(t time.Time) (lo, hi float64) {
	t = t.UTC()
	unit := time.Second
	if ns := t.Nanosecond(); ns != 0 {
		unit = time.Nanosecond
		for ns%10 == 0 {
			ns /= 10
			unit *= 10
		}
		unit = max(unit, time.Millisecond)
	}
	return float64(t.UnixMilli()), float64(t.Truncate(time.Millisecond).Add(unit).UnixMilli() - 1)
}
