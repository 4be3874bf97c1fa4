package scenario

import "go.yaml.in/yaml/v3"

// Decoder is the strict YAML decoder of scenario files, for other file
// formats that want the same behaviour: one *Error naming file:line and
// field, the earliest in the file; unknown and duplicate fields rejected
// with a suggestion; values checked by kind and range. Errors are collected
// with Errorf (or by the typed readers) and returned by Err.
type Decoder struct {
	d decoder
}

// Field is a key/value pair of a YAML mapping, aliases resolved.
type Field struct {
	Key, Val *yaml.Node
}

// NewDecoder returns a decoder for file (used in messages only). what names
// the fields expected at the root, for messages about an empty or
// non-mapping document, e.g. "model fields (name, title, ...)".
func NewDecoder(file, what string) *Decoder {
	return &Decoder{decoder{file: file, what: what}}
}

// Document parses data, a single YAML document, into its root mapping. Its
// error is an *Error.
func (d *Decoder) Document(data []byte) (*yaml.Node, error) { return d.d.document(data) }

// Errorf records a problem with node n (its line) and field.
func (d *Decoder) Errorf(n *yaml.Node, field, format string, args ...any) {
	d.d.errorf(n, field, format, args...)
}

// Err returns the earliest problem recorded, an *Error, or nil.
func (d *Decoder) Err() error { return d.d.first() }

// Fields returns the pairs of mapping n keyed by name and records keys not
// in known (with a suggestion) and duplicates. path prefixes the field
// names in messages ("" at the root).
func (d *Decoder) Fields(n *yaml.Node, path string, known []string) map[string]Field {
	in := d.d.fields(n, path, known)
	out := make(map[string]Field, len(in))
	for k, f := range in {
		out[k] = Field{f.key, f.val}
	}
	return out
}

// FieldsOf is Fields with the noun used for unknown keys ("covariate of
// the model x" for "unknown covariate of the model x; valid: ...").
func (d *Decoder) FieldsOf(n *yaml.Node, path, noun string, known []string) map[string]Field {
	in := d.d.fieldsOf(n, path, noun, known)
	out := make(map[string]Field, len(in))
	for k, f := range in {
		out[k] = Field{f.key, f.val}
	}
	return out
}

// Required returns the value of field name of mapping root, whose fields
// are f, or records it missing with an example.
func (d *Decoder) Required(root *yaml.Node, f map[string]Field, name, path, example string) (*yaml.Node, bool) {
	p, ok := f[name]
	if !ok {
		d.d.errorf(root, join(path, name), "missing; add it, e.g. %s", example)
		return nil, false
	}
	return p.Val, true
}

// Str decodes a non-empty string (any scalar but null); want describes it.
func (d *Decoder) Str(n *yaml.Node, field, want string) (string, bool) {
	return d.d.str(n, field, want)
}

// Number decodes a finite number in [lo, hi]; unit is for messages.
func (d *Decoder) Number(n *yaml.Node, field string, lo, hi float64, unit string) (float64, bool) {
	return d.d.number(n, field, lo, hi, unit)
}

// WholeNumber decodes an integer in [lo, hi].
func (d *Decoder) WholeNumber(n *yaml.Node, field string, lo, hi int) (int, bool) {
	return d.d.wholeNumber(n, field, lo, hi)
}

// Boolean decodes true or false.
func (d *Decoder) Boolean(n *yaml.Node, field string) (bool, bool) { return d.d.boolean(n, field) }

// Name decodes one of valid, matched without regard to case, and returns
// its canonical spelling; what names the kind ("model").
func (d *Decoder) Name(n *yaml.Node, field, what string, valid []string) (string, bool) {
	return d.d.name(n, field, what, valid)
}

// Resolve follows YAML aliases.
func Resolve(n *yaml.Node) *yaml.Node { return resolve(n) }

// Describe names the kind and value of a node for messages ("the string
// \"x\"", "a list").
func Describe(n *yaml.Node) string { return describe(n) }

// Join joins a field path and a name with a dot.
func Join(path, name string) string { return join(path, name) }
