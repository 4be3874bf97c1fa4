package search

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/doppelhealth/doppel/internal/fhirpath"
)

// r4 is the reduced R4 SearchParameter Bundle, Patient CompartmentDefinition
// and resource type list written by ./gen (see README.md).
//
//go:embed r4.json.gz
var r4 []byte

// Param is one search parameter as it applies to one resource type.
type Param struct {
	Code string
	Type ParamType
	URL  string
	// Expression is the SearchParameter's FHIRPath expression restricted to
	// the resource type: of a definition shared by several types
	// ("Patient.address | Person.address") only this type's branches stay,
	// and "Resource.meta.tag" becomes "meta.tag". Empty when the definition
	// has none (_text, _content, _query).
	Expression string
	// Target lists the types a reference parameter may refer to; where
	// every branch of the expression ends in ".where(resolve() is X)" it is
	// narrowed to those X (Observation patient: Patient, not Patient and
	// Group as the definition says).
	Target      []string
	Components  []Component
	Description string
}

// Component is one part of a composite parameter: the component's own
// parameter (by definition URL and, when it is in the registry, its code)
// and its expression relative to the composite's expression.
type Component struct {
	Definition string
	Code       string
	Expression string
}

// Supported reports whether the server can index and search the parameter.
// Composite and special parameters and those without an expression (_text,
// _content, _query, near) are not supported; ParseQuery rejects them (or
// reports them, when lenient).
func (p Param) Supported() bool {
	return p.Expression != "" && p.Type != Composite && p.Type != Special
}

// compiled is a Param with the union branches of its expression (none
// when it is not supported).
type compiled struct {
	Param
	branches []string
}

// typeIndex is what Extract uses for one resource type: its parameters and
// the distinct union branches of their expressions, so that a branch that
// several parameters share (Observation.code in code and combo-code) is
// evaluated once per resource.
type typeIndex struct {
	params   []*compiled // sorted by code
	uses     [][]int     // per parameter, its branches (indexes into branches)
	branches []branch
}

// branch is one compiled union branch of a parameter's expression.
type branch struct {
	expr *fhirpath.Expr
	// root is the top-level element a plain-path branch starts from: when
	// the resource lacks it the branch is empty and Extract skips it. ""
	// for other branches (exists(), operators...), which are evaluated.
	root string
}

// Registry holds the R4 search parameters per resource type, their compiled
// expressions and the Patient compartment. It is immutable after NewRegistry
// and safe for concurrent use.
type Registry struct {
	types       map[string]bool                 // resource type -> derives from DomainResource
	byType      map[string]map[string]*compiled // type-specific parameters
	common      map[string]*compiled            // Resource parameters (and DomainResource's _text)
	compartment map[string][]string
	index       map[string]*typeIndex // per type ("" = common parameters only)
}

// isCommonBase reports whether t is an abstract type whose parameters apply
// to every resource type.
func isCommonBase(t string) bool { return t == "Resource" || t == "DomainResource" }

// NewRegistry loads the embedded R4 definitions and compiles every supported
// parameter's expression. An expression that does not compile is an error:
// the embedded definitions are fixed, so this is a bug in fhirpath or here.
func NewRegistry() (*Registry, error) {
	zr, err := gzip.NewReader(bytes.NewReader(r4))
	if err != nil {
		return nil, fmt.Errorf("search: embedded definitions: %w", err)
	}
	var f struct {
		Params []struct {
			URL         string   `json:"url"`
			Code        string   `json:"code"`
			Base        []string `json:"base"`
			Type        string   `json:"type"`
			Expression  string   `json:"expression"`
			Target      []string `json:"target"`
			Description string   `json:"description"`
			Component   []struct {
				Definition string `json:"definition"`
				Expression string `json:"expression"`
			} `json:"component"`
		} `json:"params"`
		Compartment map[string][]string `json:"patientCompartment"`
		Types       map[string]bool     `json:"resourceTypes"`
	}
	if err := json.NewDecoder(zr).Decode(&f); err != nil {
		return nil, fmt.Errorf("search: embedded definitions: %w", err)
	}
	r := &Registry{
		types:       f.Types,
		byType:      map[string]map[string]*compiled{},
		common:      map[string]*compiled{},
		compartment: f.Compartment,
	}
	codeOf := map[string]string{}
	for _, p := range f.Params {
		codeOf[p.URL] = p.Code
	}
	for _, p := range f.Params {
		var comps []Component
		for _, c := range p.Component {
			comps = append(comps, Component{Definition: c.Definition, Code: codeOf[c.Definition], Expression: c.Expression})
		}
		for _, base := range p.Base {
			expr := restrict(p.Expression, base, p.Base)
			cp := &compiled{Param: Param{
				Code:        p.Code,
				Type:        ParamType(p.Type),
				URL:         p.URL,
				Expression:  expr,
				Target:      narrowTargets(p.Target, expr),
				Components:  comps,
				Description: p.Description,
			}}
			if cp.Supported() {
				for _, b := range splitUnion(expr) {
					cp.branches = append(cp.branches, strings.TrimSpace(b))
				}
			}
			if isCommonBase(base) {
				r.common[p.Code] = cp
				continue
			}
			m := r.byType[base]
			if m == nil {
				m = map[string]*compiled{}
				r.byType[base] = m
			}
			m[p.Code] = cp
		}
	}
	exprs := map[string]*fhirpath.Expr{} // compiled branches, shared by all types
	r.index = map[string]*typeIndex{}
	for _, t := range append(slices.Collect(maps.Keys(r.types)), "") {
		idx := &typeIndex{params: r.sortedParams(t)}
		seen := map[string]int{}
		for _, p := range idx.params {
			var use []int
			for _, b := range p.branches {
				i, ok := seen[b]
				if !ok {
					e, ok := exprs[b]
					if !ok {
						if e, err = fhirpath.Compile(b); err != nil {
							return nil, fmt.Errorf("search: parameter %s of %s: expression %q: %w", p.Code, t, b, err)
						}
						exprs[b] = e
					}
					i = len(idx.branches)
					seen[b] = i
					idx.branches = append(idx.branches, branch{expr: e, root: pathRoot(b, t)})
				}
				use = append(use, i)
			}
			idx.uses = append(idx.uses, use)
		}
		r.index[t] = idx
	}
	return r, nil
}

// IsResourceType reports whether t is a concrete R4 resource type.
func (r *Registry) IsResourceType(t string) bool {
	_, ok := r.types[t]
	return ok
}

// lookup finds the parameter code of resourceType ("" = any type: only the
// common parameters).
func (r *Registry) lookup(resourceType, code string) (*compiled, bool) {
	if p, ok := r.byType[resourceType][code]; ok {
		return p, true
	}
	p, ok := r.common[code]
	if !ok || (resourceType != "" && !r.IsResourceType(resourceType)) {
		return nil, false
	}
	if p.Code == "_text" && resourceType != "" && !r.types[resourceType] {
		return nil, false // DomainResource only
	}
	return p, true
}

// Param returns the parameter code of resourceType, including the common
// Resource parameters (_id, _lastUpdated, _tag, _profile, _security, _source
// and the unsupported _text, _content, _query). resourceType "" asks for the
// common parameters only; an unknown resource type has none.
func (r *Registry) Param(resourceType, code string) (Param, bool) {
	p, ok := r.lookup(resourceType, code)
	if !ok {
		return Param{}, false
	}
	return p.Param, true
}

// Params returns every parameter of resourceType (common ones included),
// sorted by code.
func (r *Registry) Params(resourceType string) []Param {
	idx := r.index[resourceType]
	if idx == nil {
		return nil
	}
	out := make([]Param, len(idx.params))
	for i, p := range idx.params {
		out[i] = p.Param
	}
	return out
}

func (r *Registry) sortedParams(resourceType string) []*compiled {
	var out []*compiled
	for code := range r.common {
		if p, ok := r.lookup(resourceType, code); ok && p == r.common[code] {
			out = append(out, p)
		}
	}
	for _, p := range r.byType[resourceType] {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *compiled) int { return strings.Compare(a.Code, b.Code) })
	return out
}

// CompartmentParams returns the parameters of resourceType whose reference
// puts a resource in a patient's compartment (from the R4 Patient
// CompartmentDefinition: Observation → subject, performer); nil when
// resources of that type are never in a patient compartment. For Patient
// it is "link" (the patient itself is in its own compartment by id).
func (r *Registry) CompartmentParams(resourceType string) []string {
	return slices.Clone(r.compartment[resourceType])
}

// restrict keeps the branches of the top-level union expr that apply to
// resourceType: a branch that starts with another of the definition's bases
// is dropped, and a leading "Resource." or "DomainResource." is removed so
// that the path starts at any resource's root.
func restrict(expr, resourceType string, bases []string) string {
	if expr == "" {
		return ""
	}
	var keep []string
	for _, b := range splitUnion(expr) {
		b = strings.TrimSpace(b)
		lead := strings.TrimLeft(b, "( ")
		name := lead
		if i := strings.IndexAny(lead, ". )"); i >= 0 {
			name = lead[:i]
		}
		switch {
		case isCommonBase(name) && strings.HasPrefix(lead, name+"."):
			b = b[:len(b)-len(lead)] + lead[len(name)+1:]
		case name != resourceType && slices.Contains(bases, name):
			continue
		}
		keep = append(keep, b)
	}
	return strings.Join(keep, " | ")
}

// pathRoot returns the first element name of a union branch that is a
// plain path from the resource: "Type.a.b", "(Type.a as X)",
// "Type.a.where(...).b", "a.b" (the common parameters), with only the
// functions where, as, ofType and resolve, which give nothing for nothing.
// Otherwise (exists(), operators, ...) it returns "".
func pathRoot(b, resourceType string) string {
	if strings.HasPrefix(b, "(") && strings.HasSuffix(b, ")") {
		b = strings.TrimSpace(b[1 : len(b)-1])
	}
	if head, typ, ok := strings.Cut(b, " as "); ok && isIdent(typ) {
		b = head
	}
	if resourceType != "" {
		b = strings.TrimPrefix(b, resourceType+".")
	}
	steps, ok := pathSteps(b)
	if !ok {
		return ""
	}
	return steps[0]
}

// pathSteps splits a.b.where(x).c into its steps (a, b, c), checking that
// the only calls are where, as, ofType and resolve; ok is false otherwise.
func pathSteps(s string) ([]string, bool) {
	var steps []string
	for s != "" {
		i := 0
		for i < len(s) && (s[i] == '_' || s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z' || i > 0 && s[i] >= '0' && s[i] <= '9') {
			i++
		}
		name := s[:i]
		if name == "" {
			return nil, false
		}
		s = s[i:]
		if strings.HasPrefix(s, "(") {
			switch name {
			case "where", "as", "ofType", "resolve":
			default:
				return nil, false
			}
			if len(steps) == 0 {
				return nil, false
			}
			depth, j := 0, 0
			for ; j < len(s); j++ {
				if s[j] == '(' {
					depth++
				} else if s[j] == ')' {
					depth--
					if depth == 0 {
						break
					}
				}
			}
			if j == len(s) {
				return nil, false
			}
			s = s[j+1:]
		} else {
			steps = append(steps, name)
		}
		if s == "" {
			break
		}
		if s[0] != '.' {
			return nil, false
		}
		s = s[1:]
	}
	return steps, len(steps) > 0
}

// isIdent reports whether s is a FHIRPath identifier.
func isIdent(s string) bool {
	steps, ok := pathSteps(s)
	return ok && len(steps) == 1 && steps[0] == s
}

// narrowTargets returns the types of the ".where(resolve() is X)" that end
// every branch of expr, if they are all in targets; targets otherwise.
func narrowTargets(targets []string, expr string) []string {
	const pre, post = ".where(resolve() is ", ")"
	var out []string
	for _, b := range splitUnion(expr) {
		b = strings.TrimSpace(b)
		i := strings.LastIndex(b, pre)
		if i < 0 || !strings.HasSuffix(b, post) {
			return targets
		}
		t := b[i+len(pre) : len(b)-len(post)]
		if !slices.Contains(targets, t) {
			return targets
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// splitUnion splits expr at the "|" operators that are not inside
// parentheses, brackets or string literals. Evaluating the parts apart and
// concatenating the results gives the union (up to duplicates, which
// Extract removes) as long as no part holds an operator that binds less
// tightly than "|" (comparisons, and, or...): no R4 expression does
// (TestUnionBranches).
func splitUnion(expr string) []string {
	var parts []string
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '`':
			quote = c
		case c == '(' || c == '[':
			depth++
		case c == ')' || c == ']':
			depth--
		case c == '|' && depth == 0:
			parts = append(parts, expr[start:i])
			start = i + 1
		}
	}
	return append(parts, expr[start:])
}
