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
// "2013-01" covers the whole month; 100 covers [99.5, 100.5]).
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
//   - String: Text (as written) and Norm (lower case, accents and punctuation
//     folded, for the default starts-with and :contains matches).
//   - URI: Text.
//   - Token: System, Code, Text (display or text, for :text).
//   - Reference: RefType and RefID for a relative or resolvable reference
//     ("Patient/123"), Text for an absolute URL or canonical.
//   - Date: Lo and Hi in Unix milliseconds UTC.
//   - Number: Num, and Lo/Hi the range implied by its precision.
//   - Quantity: Num, Lo/Hi as for Number, System and Code the unit.
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
	Count      int // page size, already capped; 0 = the server default
	Offset     int // first match of the page, in the query's stable order
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
