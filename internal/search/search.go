// Package search is FHIR R4 search: the SearchParameter registry (from the
// official R4 definitions), extraction of index entries from a resource with
// the parameters' FHIRPath expressions, and parsing of a search URL into a
// Query that a store evaluates.
//
// The split follows Blaze's design: a store keeps the resource JSON plus
// derived index entries; it never evaluates FHIRPath. Everything a store needs
// to answer a query (parameter types, parsed values with their implicit
// ranges) is already in the Entry and Query values defined here.
//
// Units: dates and instants are Unix milliseconds UTC; a value's range is the
// closed interval [Lo, Hi] implied by its precision (FHIR R4 §3.1.1.4.1 / §2.1.1.4.2:
// "2013-01" covers the whole month; 100 covers [99.5, 100.5]). A date, or a
// search value with a time but no time zone, is taken as UTC.
//
// Not supported (ParseQuery rejects them, or reports them when lenient):
// composite parameters (not indexed), _text, _content, _query, _has, _type,
// Location near, the modifiers :above, :below, :in, :not-in, :of-type and
// :identifier, chains of more than one level; quantity units are not
// converted.
//
// # Match semantics (what a store implements)
//
// A resource matches a Clause when, for its entries with Entry.Param ==
// Clause.Param, at least one of the Clause's Values matches (values are
// ORed; the clauses of a Query are ANDed). The rules per type, with e an
// entry and v a value:
//
//   - :missing: v.Missing true matches resources with no entry for the
//     parameter, false those with at least one. (Every other rule needs an
//     entry, except :not.)
//   - String: default: e.Norm starts with v.Norm; :contains: e.Norm
//     contains v.Norm; :exact: e.Text == v.Text. Norm is Fold's output.
//   - URI: e.Text == v.Text (:above and :below are not supported).
//   - Token: v.HasSystem false ("code"): e.Code == v.Code, any system;
//     "system|code": e.System == v.System and e.Code == v.Code; "|code":
//     e.System == "" and e.Code == v.Code; "system|": e.System == v.System.
//     Codes compare exactly (case-sensitive). :text: e.Norm starts with
//     v.Norm (e.Norm folds the display or text; entries with Code == "" carry
//     only such text). :not: the resource has no entry matching any of the
//     clause's values by the default rule (a resource without the element
//     matches :not).
//   - Reference: v.RefID != "": e.RefID == v.RefID and, when v.RefType !=
//     "", e.RefType == v.RefType (a bare id of a parameter with several
//     target types and no :Type modifier matches any type). v.RefID == ""
//     (a URL or URN that does not end in Type/id): e.Text == v.Text.
//     Absolute URLs that end in Type/id, in resources and in search values,
//     have RefType and RefID set and so match by type and id, whatever the
//     base (the server may strip its own base URL from search values). A chained clause (Chain
//     set) matches when some entry's RefType == Chain.TargetType and the
//     resource RefType/RefID exists (current, not deleted) and matches
//     Chain.Clause.
//   - Date, Number, Quantity: ranges. e.Lo..e.Hi is the entry's range (a
//     date's precision, a Period's start..end, a Range's low..high; a single
//     number or quantity value is the point Lo == Hi == Num). v.Lo..v.Hi is
//     the value's range as ParseQuery computed it for the prefix: for
//     dates always the precision range; for numbers and quantities the
//     precision range for eq and ne ("100" is [99.5, 100.5]), the exact
//     value (Lo == Hi == Num) for gt, lt, ge, le, sa, eb, and ±10% for ap.
//     Following R4 §3.1.1.4 (search.html#prefix, "the range of the search
//     value" against "the range of the target value"):
//     eq: v.Lo <= e.Lo && e.Hi <= v.Hi (search range contains the target)
//     ne: !(v.Lo <= e.Lo && e.Hi <= v.Hi)
//     gt: e.Hi > v.Hi (the range above the value overlaps the target)
//     lt: e.Lo < v.Lo
//     ge: e.Hi > v.Hi || (v.Lo <= e.Lo && e.Hi <= v.Hi)
//     le: e.Lo < v.Lo || (v.Lo <= e.Lo && e.Hi <= v.Hi)
//     sa: e.Lo > v.Hi (starts after: no overlap, target above)
//     eb: e.Hi < v.Lo (ends before: no overlap, target below)
//     ap: e.Lo <= v.Hi && e.Hi >= v.Lo (overlap)
//     Quantity units: v.System != "": e.System == v.System && e.Code ==
//     v.Code; v.System == "" and v.Code != "" ("5.4||mg"): e.Code == v.Code
//     || e.Text == v.Code (Text is the entry's human unit); no unit: any.
//     Units are not converted.
//
// Open ends use DateMin/DateMax and NumMin/NumMax. Sorting (Sort) orders by
// an entry of the parameter: ascending by the smallest e.Lo (dates,
// numbers, quantities) or smallest e.Norm/e.Code/e.Text (others),
// descending by the largest e.Hi or largest text; resources without an
// entry sort last; ties by resource id.
package search

// ParamType is a SearchParameter.type from R4.
type ParamType string

// The R4 search parameter types.
const (
	String    ParamType = "string"
	Token     ParamType = "token"
	Reference ParamType = "reference"
	Date      ParamType = "date"
	Number    ParamType = "number"
	Quantity  ParamType = "quantity"
	URI       ParamType = "uri"
	Composite ParamType = "composite"
	Special   ParamType = "special"
)

// Entry is one index value of one resource for one search parameter. Which
// fields are set depends on Type:
//
//   - String: Text (as written) and Norm (Fold(Text): lower case, accents
//     and punctuation folded, for the default starts-with and :contains
//     matches). A HumanName or Address gives one entry per part (text,
//     family, each given, prefix, suffix; text, each line, city, district,
//     state, postalCode, country).
//   - URI: Text.
//   - Token: System, Code, and Text (display or text, for :text) with Norm
//     = Fold(Text). Coding: system, code, display; CodeableConcept: one entry
//     per coding, plus one with only Text for its text (unless a coding's
//     display folds to the same); Identifier: system,
//     value, type.text; ContactPoint: system ("phone", "email"...), value;
//     boolean: "true"/"false"; code, id, string, uri: Code.
//   - Reference: RefType and RefID for a relative reference ("Patient/123",
//     a version suffix dropped); Text for an absolute URL, URN or canonical,
//     plus RefType/RefID when it ends in Type/id. Contained references
//     ("#p1") give no entry.
//   - Date: Lo and Hi in Unix milliseconds UTC (a date without time zone
//     is taken as UTC; a Period's missing start/end is DateMin/DateMax).
//     Lo <= Hi always: a Period or Range that ends before it starts
//     (invalid) is indexed as if reversed.
//   - Number: Num, with Lo == Hi == Num (a resource's value is exact); a
//     Range gives Lo/Hi its low/high (NumMin/NumMax when absent) and Num
//     the low (else high).
//   - Quantity: as Number, with System and Code the unit (Code the UCUM
//     code, Text the human unit); a comparator "<" or "<=" makes the range
//     [NumMin, value], ">" or ">=" [value, NumMax]. Money: Code the
//     currency, System "urn:iso:std:iso:4217".
type Entry struct {
	Param string
	Type  ParamType

	Text string
	Norm string

	System string
	Code   string

	RefType string
	RefID   string

	Num    float64
	Lo, Hi float64
}

// Query is a parsed FHIR search on one resource type (Type) or on all types
// (Type == ""). Clauses are ANDed; the Values of one clause are ORed.
type Query struct {
	Type    string
	Clauses []Clause

	Sort       []Sort
	Count      int   // page size, already capped; 0 = the server default
	Offset     int   // first match of the page, in the query's stable order
	Snapshot   int64 // _snapshot: the store snapshot T a paged search runs on; 0 = now
	Include    []Include
	RevInclude []Include
	Summary    string   // "", "count", "true", "text", "data", "false"
	Elements   []string // _elements
	Total      string   // "", "none", "estimate", "accurate"
}

// Clause is one search parameter with its modifier and ORed values. A chained
// parameter (subject:Patient.name=x) is a Reference clause with Chain set: it
// matches when the referenced resource matches Chain.
type Clause struct {
	Param    string
	Type     ParamType
	Modifier string // "", "exact", "contains", "missing", "not", "text", or a resource type for references
	Chain    *Chained
	Values   []Value
}

// Chained is the tail of a chained parameter: resources of TargetType whose
// Clause matches.
type Chained struct {
	TargetType string
	Clause     Clause
}

// Value is one parsed search value. Prefix is "eq" unless given. The fields
// set follow the clause's type as in Entry: Text/Norm for string and uri;
// System/Code (HasSystem says whether "|" was present) for token;
// RefType/RefID or Text for reference; Lo/Hi (and Num) for date, number and
// quantity, with System/Code the quantity's unit.
type Value struct {
	Prefix string
	Raw    string

	Text string
	Norm string

	System    string
	Code      string
	HasSystem bool

	RefType string
	RefID   string

	Num    float64
	Lo, Hi float64

	Missing bool // value of a :missing clause
}

// Sort is one _sort key; Desc for a leading "-".
type Sort struct {
	Param string
	Type  ParamType
	Desc  bool
}

// Include is one _include or _revinclude: SourceType:Param[:TargetType].
// Iterate is set for :iterate (one level only is evaluated).
type Include struct {
	SourceType string
	Param      string
	TargetType string
	Iterate    bool
}
