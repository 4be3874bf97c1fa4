package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store"
)

// Search evaluates q at snapshot at (0: q.Snapshot; both 0: the last
// committed T, or the request's own T inside a write). See the package documentation for the
// matching rules.
func (r reader) Search(ctx context.Context, q *search.Query, at int64) (store.Page, error) {
	if at == 0 {
		at = q.Snapshot
	}
	t, err := r.snapshot(ctx, at)
	if err != nil {
		return store.Page{}, err
	}
	var b builder
	b.t = t
	b.WriteString(" FROM resources r WHERE ")
	if err := b.resources("r", q.Type, q.Clauses); err != nil {
		return store.Page{}, err
	}
	where, args := b.String(), b.args
	page := store.Page{T: t, Total: -1}
	if q.Summary == "count" {
		if page.Total, err = r.count(ctx, "SELECT COUNT(*)"+where, args...); err != nil {
			return store.Page{}, err
		}
		return page, nil
	}
	order, oargs, err := orderBy(q.Sort)
	if err != nil {
		return store.Page{}, err
	}
	n := q.Count
	if n <= 0 {
		n = DefaultCount
	}
	off := max(q.Offset, 0)
	page.Matches, err = r.versions(ctx, "SELECT "+versionColumns+where+order+" LIMIT ? OFFSET ?", append(append(args[:len(args):len(args)], oargs...), n, off)...)
	if err != nil {
		return store.Page{}, err
	}
	if q.Total != "none" {
		// A page that is not full ends the matches: its end is the total,
		// and the COUNT(*) query (as costly as the search) is not needed.
		// An empty page past the first says nothing of the matches before.
		if m := len(page.Matches); m < n && (m > 0 || off == 0) {
			page.Total = off + m
		} else if page.Total, err = r.count(ctx, "SELECT COUNT(*)"+where, args...); err != nil {
			return store.Page{}, err
		}
	}
	return page, nil
}

// builder accumulates a WHERE clause and its arguments.
type builder struct {
	strings.Builder
	args []any
	t    int64 // the snapshot
	n    int   // aliases used, for nested subqueries
}

func (b *builder) add(sql string, args ...any) {
	b.WriteString(sql)
	b.args = append(b.args, args...)
}

// alias returns a fresh table alias.
func (b *builder) alias(prefix string) string {
	b.n++
	return fmt.Sprintf("%s%d", prefix, b.n)
}

// visible restricts alias a to the rows of the snapshot.
func (b *builder) visible(a string) {
	b.add(a+".t <= ? AND ("+a+".t_end IS NULL OR "+a+".t_end > ?)", b.t, b.t)
}

// resources writes the condition selecting the live (not deleted) version
// rows, alias r, of type typ ("" for all) that match every clause.
//
// The positive clause likely to match fewest entries (see selectivity)
// drives: r.rid IN (its entries that pass the others), each other
// positive clause being an EXISTS probe of its index table by the driving
// entry's rid. (An INTERSECT of all the clauses' entries would read every
// entry of each, e.g. the body-height Observations of every patient to
// keep one patient's.) The probes run inside the IN, on the index rows,
// which carry t and t_end: only the matches' version rows, with their
// bodies, are read, not every candidate's (a patient's 800 Observations
// to find the 20 of one code).
func (b *builder) resources(r, typ string, clauses []search.Clause) error {
	var pos, neg []search.Clause
	for _, c := range clauses {
		if c.Modifier == "not" || c.Modifier == "missing" {
			neg = append(neg, c)
		} else {
			pos = append(pos, c)
		}
	}
	if typ != "" && len(pos) == 0 {
		b.add(r+".type = ? AND ", typ)
	}
	b.add(r + ".deleted = 0 AND ")
	b.visible(r)
	if len(pos) > 0 {
		pos = slices.Clone(pos)
		slices.SortStableFunc(pos, func(x, y search.Clause) int { return selectivity(x) - selectivity(y) })
		b.WriteString(" AND " + r + ".rid IN (")
		i, err := b.entries(typ, pos[0], "")
		if err != nil {
			return err
		}
		for _, c := range pos[1:] {
			b.WriteString(" AND EXISTS (")
			if _, err := b.entries(typ, c, i+".rid"); err != nil {
				return err
			}
			b.WriteString(")")
		}
		b.WriteString(")")
	}
	for _, c := range neg {
		b.WriteString(" AND ")
		if err := b.negative(r, typ, c); err != nil {
			return err
		}
	}
	return nil
}

// selectivity ranks a positive clause by how few entries it is expected to
// match, lowest first: a reference to one resource (a patient's records),
// then exact tokens, URIs and exact strings, then prefix strings and
// ranges, then chains (each a search of its own).
func selectivity(c search.Clause) int {
	switch {
	case c.Chain != nil:
		return 3
	case c.Type == search.Reference:
		return 0
	case c.Type == search.URI, c.Type == search.Token && c.Modifier == "", c.Type == search.String && c.Modifier == "exact":
		return 1
	}
	return 2
}

// table returns the index table of a parameter type.
func table(t search.ParamType) (string, error) {
	switch t {
	case search.String:
		return "idx_string", nil
	case search.Token:
		return "idx_token", nil
	case search.Reference:
		return "idx_reference", nil
	case search.Date:
		return "idx_date", nil
	case search.Number, search.Quantity:
		return "idx_number", nil
	case search.URI:
		return "idx_uri", nil
	}
	return "", fmt.Errorf("sqlstore: search parameters of type %q are not supported", t)
}

// negative writes the condition of a :missing or :not clause on the
// version rows alias r.
func (b *builder) negative(r, typ string, c search.Clause) error {
	if c.Modifier == "not" {
		b.WriteString(r + ".rid NOT IN (")
		if _, err := b.entries(typ, c, ""); err != nil {
			return err
		}
		b.WriteString(")")
		return nil
	}
	tbl, err := table(c.Type)
	if err != nil {
		return err
	}
	if len(c.Values) != 1 {
		return fmt.Errorf("sqlstore: %s:missing takes one value", c.Param)
	}
	if c.Values[0].Missing {
		b.WriteString("NOT ")
	}
	i := b.alias("i")
	b.add("EXISTS (SELECT 1 FROM "+tbl+" "+i+" WHERE "+i+".rid = "+r+".rid AND "+i+".param = ?)", c.Param)
	return nil
}

// entries writes the SELECT of the rids having an entry that matches c
// (for :not, that matches c without the modifier); with rid set, only of
// the entries of that rid (a correlated subquery, for EXISTS). It returns
// the alias of the entries, for conditions added to the SELECT's WHERE.
func (b *builder) entries(typ string, c search.Clause, rid string) (string, error) {
	tbl, err := table(c.Type)
	if err != nil {
		return "", err
	}
	if len(c.Values) == 0 && c.Chain == nil {
		return "", fmt.Errorf("sqlstore: %s has no value", c.Param)
	}
	i := b.alias("i")
	b.add("SELECT " + i + ".rid FROM " + tbl + " " + i + " WHERE ")
	if rid != "" {
		b.WriteString(i + ".rid = " + rid + " AND ")
	}
	if typ != "" {
		b.add(i+".type = ? AND ", typ)
	}
	b.add(i+".param = ? AND ", c.Param)
	b.visible(i)
	b.WriteString(" AND ")
	if c.Chain != nil {
		return i, b.chain(i, c)
	}
	b.WriteString("(")
	for k, v := range c.Values {
		if k > 0 {
			b.WriteString(" OR ")
		}
		if err := b.value(i, c, v); err != nil {
			return "", err
		}
	}
	b.WriteString(")")
	return i, nil
}

// chain writes the condition on reference entries alias i that point to a
// resource of the chain's target type matching the chained clause.
func (b *builder) chain(i string, c search.Clause) error {
	if c.Type != search.Reference {
		return fmt.Errorf("sqlstore: chained parameter %s is not a reference", c.Param)
	}
	if c.Chain.Clause.Chain != nil {
		return fmt.Errorf("sqlstore: %s: only one level of chaining is supported", c.Param)
	}
	r2 := b.alias("r")
	b.add(i+".ref_type = ? AND "+i+".ref_id IN (SELECT "+r2+".id FROM resources "+r2+" WHERE ", c.Chain.TargetType)
	if err := b.resources(r2, c.Chain.TargetType, []search.Clause{c.Chain.Clause}); err != nil {
		return err
	}
	b.WriteString(")")
	return nil
}

// escapeLike escapes the LIKE wildcards of s (the escape character is \).
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// value writes the condition of one value on the entries alias i.
func (b *builder) value(i string, c search.Clause, v search.Value) error {
	mod := c.Modifier
	if mod == "not" {
		mod = ""
	}
	switch c.Type {
	case search.String:
		switch mod {
		case "":
			b.add(i+`.norm LIKE ? ESCAPE '\'`, escapeLike(clip(v.Norm))+"%")
		case "exact":
			b.add(i+".text = ?", clip(v.Text))
		case "contains":
			b.add(i+`.norm LIKE ? ESCAPE '\'`, "%"+escapeLike(clip(v.Norm))+"%")
		default:
			return unsupported(c)
		}
	case search.URI:
		if mod != "" {
			return unsupported(c)
		}
		b.add(i+".text = ?", clip(v.Text))
	case search.Token:
		switch mod {
		case "":
			switch {
			case !v.HasSystem:
				b.add(i+".code = ?", clip(v.Code))
			case v.Code == "":
				b.add(i+".system = ?", clip(v.System))
			default:
				b.add(i+".code = ? AND "+i+".system = ?", clip(v.Code), clip(v.System))
			}
		case "text":
			b.add(i+`.norm LIKE ? ESCAPE '\'`, escapeLike(clip(v.Norm))+"%")
		default:
			return unsupported(c)
		}
	case search.Reference:
		// The only modifier left here is a target type (subject:Patient).
		if mod != "" && !isTypeName(mod) {
			return unsupported(c)
		}
		switch {
		case v.RefID != "":
			rt := v.RefType
			if rt == "" {
				rt = mod
			}
			b.add(i+".ref_id = ?", clip(v.RefID))
			if rt != "" {
				b.add(" AND "+i+".ref_type = ?", rt)
			}
		case v.Text != "":
			// A URL that ends in Type/id has RefID set, in the entry
			// as in the value.
			b.add(i+".ref_id = '' AND "+i+".ref_type = '' AND "+i+".text = ?", clip(v.Text))
		default:
			return fmt.Errorf("sqlstore: %s: empty reference", c.Param)
		}
	case search.Date, search.Number:
		if mod != "" {
			return unsupported(c)
		}
		return b.rangeValue(i, c, v)
	case search.Quantity:
		if mod != "" {
			return unsupported(c)
		}
		b.WriteString("(")
		if err := b.rangeValue(i, c, v); err != nil {
			return err
		}
		switch {
		case v.System != "":
			b.add(" AND "+i+".system = ? AND "+i+".code = ?", clip(v.System), clip(v.Code))
		case v.Code != "":
			b.add(" AND ("+i+".code = ? OR "+i+".text = ?)", clip(v.Code), clip(v.Code))
		}
		b.WriteString(")")
	default:
		return unsupported(c)
	}
	return nil
}

// rangeValue writes a prefix comparison of the entry's range [lo, hi] with
// the value's range [Lo, Hi] (R4 §3.1.1.4).
func (b *builder) rangeValue(i string, c search.Clause, v search.Value) error {
	lo, hi := i+".lo", i+".hi"
	eq := func() { b.add("("+lo+" >= ? AND "+hi+" <= ?)", v.Lo, v.Hi) }
	switch v.Prefix {
	case "", "eq":
		eq()
	case "ne":
		b.WriteString("NOT ")
		eq()
	case "gt", "ge":
		b.add("("+hi+" > ?", v.Hi)
		if v.Prefix == "ge" {
			b.WriteString(" OR ")
			eq()
		}
		b.WriteString(")")
	case "lt", "le":
		b.add("("+lo+" < ?", v.Lo)
		if v.Prefix == "le" {
			b.WriteString(" OR ")
			eq()
		}
		b.WriteString(")")
	case "sa":
		b.add(lo+" > ?", v.Hi)
	case "eb":
		b.add(hi+" < ?", v.Lo)
	case "ap":
		b.add("("+lo+" <= ? AND "+hi+" >= ?)", v.Hi, v.Lo)
	default:
		return fmt.Errorf("sqlstore: %s: prefix %q is not supported", c.Param, v.Prefix)
	}
	return nil
}

// isTypeName reports whether a modifier names a resource type (they start
// with an upper-case letter; modifiers do not).
func isTypeName(mod string) bool { return mod[0] >= 'A' && mod[0] <= 'Z' }

func unsupported(c search.Clause) error {
	return fmt.Errorf("sqlstore: modifier %q is not supported on %s parameter %s", c.Modifier, c.Type, c.Param)
}

// orderBy returns the ORDER BY of the sort keys, then resource id; with no
// keys, the order of writes, which needs no sort: the database walks the
// matching rids in order and stops at the page's end.
func orderBy(keys []search.Sort) (string, []any, error) {
	if len(keys) == 0 {
		return " ORDER BY r.rid", nil, nil
	}
	var b strings.Builder
	var args []any
	b.WriteString(" ORDER BY ")
	for _, k := range keys {
		tbl, err := table(k.Type)
		if err != nil {
			return "", nil, err
		}
		agg, dir := "MIN", "ASC"
		if k.Desc {
			agg, dir = "MAX", "DESC"
		}
		var col string
		switch k.Type {
		case search.String:
			col = "norm"
		case search.Token:
			col = "code"
		case search.Reference:
			col = "ref_id"
		case search.Date, search.Number, search.Quantity:
			col = "lo"
			if k.Desc {
				col = "hi"
			}
		default:
			col = "text"
		}
		fmt.Fprintf(&b, "(SELECT %s(s.%s) FROM %s s WHERE s.rid = r.rid AND s.param = ?) %s NULLS LAST, ", agg, col, tbl, dir)
		args = append(args, k.Param)
	}
	b.WriteString("r.id, r.type")
	return b.String(), args, nil
}
