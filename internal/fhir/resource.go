package fhir

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
)

// Resource is one FHIR resource: its type, its logical id ("" when the
// resource has none yet, as in a create) and the whole JSON object as a
// generic tree. Tree holds map[string]any, []any, string, bool, nil and
// json.Number values; it includes "resourceType" and "id".
type Resource struct {
	Type string
	ID   string
	Tree map[string]any
}

// Parse decodes one resource from JSON. It accepts exactly one JSON object
// with a known R4 resourceType (after an optional UTF-8 byte order mark),
// and rejects trailing data, duplicate keys, invalid UTF-8 and a
// non-string id. It does not check the rules of [Validate]. Errors are
// *Error with status 400.
func Parse(data []byte) (*Resource, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	v, serr := decodeTree(data)
	if serr != nil {
		return nil, serr.toError(data)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, badRequest("structure", "a resource must be a JSON object")
	}
	return fromTree(m, "")
}

var utf8BOM = []byte("\xef\xbb\xbf")

// FromTree wraps an already decoded JSON object (for example a resource
// inside a Bundle) as a Resource, checking its resourceType and id like
// [Parse]. The tree is not copied.
func FromTree(tree map[string]any) (*Resource, error) {
	return fromTree(tree, "")
}

// fromTree checks resourceType and id; at names the element that holds
// the resource for error locations ("" for a top-level resource).
func fromTree(m map[string]any, at string) (*Resource, error) {
	rtv, ok := m["resourceType"]
	if !ok {
		return nil, badRequest("required", "resourceType is missing", joinPath(at, "resourceType"))
	}
	rt, ok := rtv.(string)
	if !ok {
		return nil, badRequest("structure", "resourceType must be a string", joinPath(at, "resourceType"))
	}
	if !IsResourceType(rt) {
		return nil, badRequest("not-supported", "unknown resource type "+strconv.Quote(clip(rt, 64)), joinPath(at, "resourceType"))
	}
	r := &Resource{Type: rt, Tree: m}
	if idv, ok := m["id"]; ok {
		id, ok := idv.(string)
		if !ok {
			return nil, badRequest("structure", "id must be a string", joinPath(orDefault(at, rt), "id"))
		}
		r.ID = id
	}
	return r, nil
}

// MarshalJSON encodes the resource's tree. Numbers keep their original
// text; "resourceType" is written first and the other keys in sorted
// order. The Type and ID fields are not consulted: keep them in step with
// the tree with [Resource.SetID].
func (r *Resource) MarshalJSON() ([]byte, error) {
	return appendJSON(make([]byte, 0, 1024), r.Tree), nil
}

// SetID sets the id both on the struct and in the tree ("" removes it).
func (r *Resource) SetID(id string) {
	r.ID = id
	if id == "" {
		delete(r.Tree, "id")
		return
	}
	r.Tree["id"] = id
}

// IsResourceType reports whether name is a concrete R4 resource type
// ("Patient", not "DomainResource").
func IsResourceType(name string) bool {
	_, ok := slices.BinarySearch(resourceTypes[:], name)
	return ok
}

// ResourceTypes returns the concrete R4 resource types in sorted order.
func ResourceTypes() []string {
	return slices.Clone(resourceTypes[:])
}

// toError turns a JSON syntax error into an *Error whose diagnostics give
// line and column and whose expression is the path of the failing value.
func (e *syntaxError) toError(data []byte) *Error {
	line, col := 1, 1
	for _, c := range data[:min(e.off, len(data))] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	diag := "invalid JSON at line " + strconv.Itoa(line) + " column " + strconv.Itoa(col) + ": " + e.msg
	if len(e.path) == 0 {
		return badRequest("structure", diag)
	}
	root := e.root
	if root == "" {
		root = "$"
	}
	segs := slices.Clone(e.path)
	slices.Reverse(segs)
	return badRequest("structure", diag, joinPath(root, segs...))
}

// joinPath appends FHIRPath-like segments to a base path: names are
// joined with '.', index segments "[i]" are appended as they are.
func joinPath(base string, segs ...string) string {
	var b strings.Builder
	b.WriteString(base)
	for _, s := range segs {
		if b.Len() > 0 && !strings.HasPrefix(s, "[") {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// errStatus builds an *Error with the given status from issues.
func errStatus(status int, issues []Issue) error {
	if len(issues) == 0 {
		return nil
	}
	return &Error{Status: status, Issues: issues}
}
