package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Parse decodes and validates a scenario file. file is used in error
// messages only. The error, if any, is an *Error.
func Parse(file string, data []byte, cat Catalog) (*Scenario, error) {
	d := &decoder{file: file, cat: cat}
	root, err := d.document(data)
	if err != nil {
		return nil, err
	}
	s := d.scenario(root)
	if err := d.first(); err != nil {
		return nil, err
	}
	return s, nil
}

// decoder walks a YAML node tree and collects errors; the one reported is
// the earliest in the file.
type decoder struct {
	file string
	cat  Catalog
	errs []*Error
	what string // the expected root fields, for messages; "" means a scenario's
}

func (d *decoder) errorf(n *yaml.Node, field, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) first() error {
	if len(d.errs) == 0 {
		return nil
	}
	best := d.errs[0]
	for _, e := range d.errs[1:] {
		if e.Line < best.Line {
			best = e
		}
	}
	return best
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns a YAML parser error into an *Error.
func (d *decoder) syntaxError(err error) error {
	msg := err.Error()
	e := &Error{File: d.file}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	// For parser (not scanner) errors yaml.v3 gives the line counted from
	// 0: of the start of the unfinished mapping or list, or of the problem
	// when that starts on the first line.
	if strings.HasPrefix(msg, "did not find expected") {
		e.Line++
	}
	e.Msg = "malformed YAML: " + msg
	return e
}

// document parses data into the root node of its single YAML document.
func (d *decoder) document(data []byte) (*yaml.Node, error) {
	what := d.what
	if what == "" {
		what = "scenario fields (model, patient, start, ...)"
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: d.file, Msg: "empty file: expected a mapping of " + what}
		}
		return nil, d.syntaxError(err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, &Error{File: d.file, Line: extra.Line, Msg: "more than one YAML document (---); a scenario file holds one"}
	case !errors.Is(err, io.EOF):
		return nil, d.syntaxError(err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, &Error{File: d.file, Msg: "empty file: expected a mapping of " + what}
	}
	root := resolve(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return nil, &Error{File: d.file, Line: root.Line, Msg: fmt.Sprintf("expected a mapping of %s, got %s", what, describe(root))}
	}
	return root, nil
}

// resolve follows YAML aliases.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// describe names the kind of a node for error messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "nothing"
		case "!!str":
			return fmt.Sprintf("the string %q", n.Value)
		case "!!int", "!!float":
			return "the number " + n.Value
		case "!!bool":
			return "the boolean " + n.Value
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "an unexpected YAML node"
}

// field is a key/value pair of a mapping.
type field struct {
	key, val *yaml.Node
}

// fields returns the pairs of mapping n keyed by name, reporting keys that
// are not in known (with a suggestion) and duplicate keys. path prefixes the
// field names in messages ("" at the root).
func (d *decoder) fields(n *yaml.Node, path string, known []string) map[string]field {
	return d.fieldsOf(n, path, "field", known)
}

// fieldsOf is fields with the noun used for unknown keys ("field",
// "setting of the pid controller").
func (d *decoder) fieldsOf(n *yaml.Node, path, noun string, known []string) map[string]field {
	out := make(map[string]field, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, path, "field names must be plain words, got %s", describe(k))
			continue
		}
		name := k.Value
		full := join(path, name)
		if !slices.Contains(known, name) {
			msg := fmt.Sprintf("unknown %s; valid: %s", noun, strings.Join(known, ", "))
			if s := suggest(name, known); s != "" {
				msg = fmt.Sprintf("unknown %s (did you mean %s?); valid: %s", noun, s, strings.Join(known, ", "))
			}
			d.errorf(k, full, "%s", msg)
			continue
		}
		if prev, dup := out[name]; dup {
			d.errorf(k, full, "duplicate field (first given on line %d)", prev.key.Line)
			continue
		}
		out[name] = field{k, v}
	}
	return out
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// suggest returns the known word closest to s if it is a likely typo: at
// most one edit per three letters.
func suggest(s string, known []string) string {
	best, bestDist := "", len(s)/4+1
	for _, k := range known {
		if strings.EqualFold(s, k) {
			return k
		}
		if dist := editDistance(strings.ToLower(s), k); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	return best
}

// editDistance is the optimal-string-alignment distance between a and b:
// insertions, deletions, substitutions and swaps of adjacent letters.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// scalar checks that n is a non-null scalar.
func (d *decoder) scalar(n *yaml.Node, field, want string) bool {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.errorf(n, field, "must be %s, got %s", want, describe(n))
		return false
	}
	return true
}

// str decodes a string (any scalar but null, so that "t1d" and t1d agree).
func (d *decoder) str(n *yaml.Node, field, want string) (string, bool) {
	if !d.scalar(n, field, want) {
		return "", false
	}
	if n.Value == "" {
		d.errorf(n, field, "must be %s, got an empty string", want)
		return "", false
	}
	return n.Value, true
}

// number decodes a finite number in [lo, hi].
func (d *decoder) number(n *yaml.Node, field string, lo, hi float64, unit string) (float64, bool) {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
		d.errorf(n, field, "must be a number%s, got %s", inUnit(unit), describe(n))
		return 0, false
	}
	var v float64
	if err := n.Decode(&v); err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		d.errorf(n, field, "must be a finite number%s, got %s", inUnit(unit), n.Value)
		return 0, false
	}
	if v < lo {
		d.errorf(n, field, "must be >= %s%s, got %s", fmtNum(lo), withUnit(unit), n.Value)
		return 0, false
	}
	if v > hi {
		d.errorf(n, field, "must be <= %s%s, got %s", fmtNum(hi), withUnit(unit), n.Value)
		return 0, false
	}
	return v, true
}

func inUnit(unit string) string {
	if unit == "" {
		return ""
	}
	return " in " + unit
}

func withUnit(unit string) string {
	if unit == "" {
		return ""
	}
	return " " + unit
}

// fmtDuration writes whole minutes as "3 min".
func fmtDuration(v time.Duration) string {
	if v%time.Minute == 0 {
		return fmt.Sprintf("%d min", v/time.Minute)
	}
	return v.String()
}

func fmtNum(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// boolean decodes true or false.
func (d *decoder) boolean(n *yaml.Node, field string) (bool, bool) {
	var b bool
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
		d.errorf(n, field, "must be true or false, got %s", describe(n))
		return false, false
	}
	return b, true
}

// name decodes one of the names in valid, matched without regard to case;
// it returns the canonical spelling.
func (d *decoder) name(n *yaml.Node, field, what string, valid []string) (string, bool) {
	v, ok := d.str(n, field, "a "+what+" name")
	if !ok {
		return "", false
	}
	for _, s := range valid {
		if strings.EqualFold(v, s) {
			return s, true
		}
	}
	d.errorf(n, field, "unknown %s %q; valid: %s", what, v, listNames(valid))
	return "", false
}

// listNames joins names, writing runs such as adult#001 ... adult#010 as
// "adult#001-#010".
func listNames(names []string) string {
	var parts []string
	for i := 0; i < len(names); {
		prefix, num, ok := numbered(names[i])
		j := i + 1
		if ok {
			for j < len(names) {
				p, m, ok := numbered(names[j])
				if !ok || p != prefix || m != num+(j-i) {
					break
				}
				j++
			}
		}
		if j-i >= 3 {
			last := names[j-1][len(prefix):]
			parts = append(parts, names[i]+"-#"+strings.TrimPrefix(last, "#"))
		} else {
			parts = append(parts, names[i:j]...)
		}
		i = j
	}
	return strings.Join(parts, ", ")
}

// numbered splits "adult#001" into "adult", 1.
func numbered(s string) (prefix string, num int, ok bool) {
	i := strings.LastIndexByte(s, '#')
	if i < 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(s[i+1:])
	if err != nil {
		return "", 0, false
	}
	return s[:i], n, true
}

// timestamp decodes an absolute RFC 3339 time (needs a zone).
func (d *decoder) timestamp(n *yaml.Node, field string) (time.Time, bool) {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!timestamp" && n.Tag != "!!str") {
		d.errorf(n, field, "must be an RFC 3339 time such as 2018-01-01T06:00:00Z, got %s", describe(n))
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, n.Value)
	if err != nil {
		d.errorf(n, field, "must be an RFC 3339 time with a zone such as 2018-01-01T06:00:00Z, got %q", n.Value)
		return time.Time{}, false
	}
	return t.UTC(), true
}

// at decodes an event time: absolute, or an offset "+1h30m" after start.
// It reports bare numbers with a hint (simglucose reads them as hours).
func (d *decoder) at(n *yaml.Node, field string, start time.Time) (time.Time, bool) {
	const want = "an RFC 3339 time such as 2018-01-01T07:00:00Z or an offset after start such as +1h30m"
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!int" || n.Tag == "!!float") {
		d.errorf(n, field, "must be %s, got the bare number %s (ambiguous: simglucose reads numbers as hours after start; write +%sh or a full time)", want, n.Value, n.Value)
		return time.Time{}, false
	}
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!timestamp" && n.Tag != "!!str") {
		d.errorf(n, field, "must be %s, got %s", want, describe(n))
		return time.Time{}, false
	}
	if off, ok := strings.CutPrefix(n.Value, "+"); ok {
		dur, err := ParseDuration(off)
		if err != nil || dur < 0 {
			d.errorf(n, field, "bad offset %q: want a duration after start such as +90m, +1h30m or +1d", n.Value)
			return time.Time{}, false
		}
		if start.IsZero() {
			return time.Time{}, false // start is missing or bad: reported already
		}
		return start.Add(dur), true
	}
	t, err := time.Parse(time.RFC3339, n.Value)
	if err != nil {
		d.errorf(n, field, "must be %s, got %q", want, n.Value)
		return time.Time{}, false
	}
	return t.UTC(), true
}

// duration decodes a positive duration.
func (d *decoder) duration(n *yaml.Node, field string) (time.Duration, bool) {
	const want = "a duration such as 90m, 24h or 3d"
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!int" || n.Tag == "!!float") {
		d.errorf(n, field, "must be %s, got the bare number %s (give a unit)", want, n.Value)
		return 0, false
	}
	if !d.scalar(n, field, want) {
		return 0, false
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		d.errorf(n, field, "must be %s, got %q", want, n.Value)
		return 0, false
	}
	return v, true
}

// ParseDuration parses a duration as time.ParseDuration does, and also
// accepts a leading whole number of days: "3d", "1d12h".
func ParseDuration(s string) (time.Duration, error) {
	days, rest, hasDays := strings.Cut(s, "d")
	if !hasDays {
		return time.ParseDuration(s)
	}
	neg := strings.HasPrefix(days, "-")
	n, err := strconv.ParseUint(strings.TrimPrefix(days, "-"), 10, 32)
	if err != nil || n > 100000 {
		return 0, fmt.Errorf("scenario: invalid duration %q", s)
	}
	v := time.Duration(n) * 24 * time.Hour
	if rest != "" {
		if strings.HasPrefix(rest, "-") || strings.HasPrefix(rest, "+") {
			return 0, fmt.Errorf("scenario: invalid duration %q", s)
		}
		r, err := time.ParseDuration(rest)
		if err != nil {
			return 0, fmt.Errorf("scenario: invalid duration %q", s)
		}
		v += r
	}
	if neg {
		v = -v
	}
	return v, nil
}

// required returns the value of the field name of the mapping root, whose
// fields are f, or reports it missing with an example of it.
func (d *decoder) required(root *yaml.Node, f map[string]field, name, example string) (*yaml.Node, bool) {
	p, ok := f[name]
	if !ok {
		d.errorf(root, name, "missing; add it, e.g. %s", example)
		return nil, false
	}
	return p.val, true
}

// model decodes the value of a model field: the catalogue's model, in any
// case. It reports any other value and returns "".
func (d *decoder) model(n *yaml.Node) string {
	v, ok := d.str(n, "model", "a model name")
	if !ok {
		return ""
	}
	if !strings.EqualFold(v, d.cat.Model) {
		d.errorf(n, "model", "unknown model %q; valid: %s", v, d.cat.Model)
		return ""
	}
	return d.cat.Model
}

// seed decodes the value of a seed field, a whole number >= 0, into dst. It
// reports any other value and leaves dst as it is.
func (d *decoder) seed(n *yaml.Node, dst *uint64) {
	var v uint64
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&v) != nil {
		d.errorf(n, "seed", "must be a whole number >= 0, got %s", describe(n))
		return
	}
	*dst = v
}

// scenario decodes the root mapping.
func (d *decoder) scenario(root *yaml.Node) *Scenario {
	f := d.fields(root, "", []string{"model", "patient", "start", "duration", "seed", "sensor", "pump", "controller", "meals", "boluses", "basal"})
	s := &Scenario{File: d.file, Seed: DefaultSeed}
	if n, ok := d.required(root, f, "model", "model: "+d.cat.Model); ok {
		s.Model = d.model(n)
	}
	if n, ok := d.required(root, f, "patient", `patient: "adult#001"`); ok {
		s.Patient, _ = d.name(n, "patient", "patient", d.cat.Patients)
	}
	startOK := false
	if n, ok := d.required(root, f, "start", "start: 2018-01-01T06:00:00Z"); ok {
		if t, ok := d.timestamp(n, "start"); ok {
			if t.Truncate(time.Minute) != t {
				d.errorf(n, "start", "must be on a whole minute, got %s", n.Value)
			} else {
				s.Start, startOK = t, true
			}
		}
	}
	durOK := false
	var durNode *yaml.Node
	if n, ok := d.required(root, f, "duration", "duration: 24h"); ok {
		durNode = n
		if v, ok := d.duration(n, "duration"); ok {
			switch {
			case v <= 0:
				d.errorf(n, "duration", "must be > 0, got %s", n.Value)
			case v > MaxDuration:
				d.errorf(n, "duration", "must be at most %dd, got %s", int(MaxDuration/(24*time.Hour)), n.Value)
			case v%time.Minute != 0:
				d.errorf(n, "duration", "must be a whole number of minutes, got %s", n.Value)
			default:
				s.Duration, durOK = v, true
			}
		}
	}
	if p, ok := f["seed"]; ok {
		d.seed(p.val, &s.Seed)
	}
	if n, ok := d.required(root, f, "sensor", "sensor: {name: Navigator, noise: false}"); ok {
		s.Sensor = d.sensor(n)
		if durOK && s.Sensor.Name != "" {
			for _, spec := range d.cat.Sensors {
				if spec.Name == s.Sensor.Name && spec.SampleTime > 0 && s.Duration%spec.SampleTime != 0 {
					d.errorf(durNode, "duration", "must be a multiple of the %s sensor's sample time (%s), got %s", spec.Name, fmtDuration(spec.SampleTime), durNode.Value)
				}
			}
		}
	}
	if n, ok := d.required(root, f, "pump", "pump: Insulet"); ok {
		s.Pump = d.pump(n)
	}
	if n, ok := d.required(root, f, "controller", "controller: basal-bolus"); ok {
		s.Controller = d.controller(n)
	}
	start := time.Time{}
	if startOK {
		start = s.Start
	}
	var end time.Time
	if startOK && durOK {
		end = s.End()
	}
	if p, ok := f["meals"]; ok {
		d.events(p.val, "meals", "carbs", "g", 0, MaxCarbs, start, end, func(t time.Time, v float64) {
			s.Meals = append(s.Meals, Meal{At: t, Carbs: v})
		})
	}
	if p, ok := f["boluses"]; ok {
		d.events(p.val, "boluses", "units", "U", 0, MaxBolus, start, end, func(t time.Time, v float64) {
			s.Boluses = append(s.Boluses, Bolus{At: t, Units: v})
		})
	}
	if p, ok := f["basal"]; ok {
		d.events(p.val, "basal", "rate", "U/h", 0, MaxBasal, start, end, func(t time.Time, v float64) {
			s.Basal = append(s.Basal, Basal{At: t, Rate: v})
		})
	}
	return s
}

// sensor decodes "Name" or {name: Name, noise: bool}.
func (d *decoder) sensor(n *yaml.Node) Sensor {
	names := make([]string, len(d.cat.Sensors))
	for i, s := range d.cat.Sensors {
		names[i] = s.Name
	}
	sen := Sensor{Noise: true}
	if n.Kind != yaml.MappingNode {
		sen.Name, _ = d.name(n, "sensor", "sensor", names)
		return sen
	}
	f := d.fields(n, "sensor", []string{"name", "noise"})
	if p, ok := f["name"]; ok {
		sen.Name, _ = d.name(p.val, "sensor.name", "sensor", names)
	} else {
		d.errorf(n, "sensor.name", "missing; add it, e.g. sensor: {name: Navigator, noise: false}")
	}
	if p, ok := f["noise"]; ok {
		sen.Noise, _ = d.boolean(p.val, "sensor.noise")
	}
	return sen
}

// pump decodes "Name" or {name: Name}.
func (d *decoder) pump(n *yaml.Node) string {
	if n.Kind != yaml.MappingNode {
		v, _ := d.name(n, "pump", "pump", d.cat.Pumps)
		return v
	}
	f := d.fields(n, "pump", []string{"name"})
	p, ok := f["name"]
	if !ok {
		d.errorf(n, "pump.name", "missing; add it, e.g. pump: {name: Insulet}")
		return ""
	}
	v, _ := d.name(p.val, "pump.name", "pump", d.cat.Pumps)
	return v
}

// controller decodes "name" or {name: name, setting: value, ...}.
func (d *decoder) controller(n *yaml.Node) Controller {
	names := make([]string, len(d.cat.Controllers))
	for i, c := range d.cat.Controllers {
		names[i] = c.Name
	}
	lookup := func(name string) *ControllerSpec {
		for i := range d.cat.Controllers {
			if d.cat.Controllers[i].Name == name {
				return &d.cat.Controllers[i]
			}
		}
		return nil
	}
	defaults := func(spec *ControllerSpec) Controller {
		c := Controller{Name: spec.Name, Settings: make(map[string]float64, len(spec.Settings))}
		for _, s := range spec.Settings {
			c.Settings[s.Name] = s.Default
		}
		return c
	}
	if n.Kind != yaml.MappingNode {
		v, ok := d.name(n, "controller", "controller", names)
		if !ok {
			return Controller{}
		}
		return defaults(lookup(v))
	}
	// Find the name first: it decides which settings are valid.
	var nameNode *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := resolve(n.Content[i]); k.Kind == yaml.ScalarNode && k.Value == "name" {
			nameNode = resolve(n.Content[i+1])
			break
		}
	}
	if nameNode == nil {
		d.errorf(n, "controller.name", "missing; add it, e.g. controller: {name: basal-bolus, target: 140}")
		return Controller{}
	}
	v, ok := d.name(nameNode, "controller.name", "controller", names)
	if !ok {
		return Controller{}
	}
	spec := lookup(v)
	known := []string{"name"}
	for _, s := range spec.Settings {
		known = append(known, s.Name)
	}
	c := defaults(spec)
	f := d.fieldsOf(n, "controller", "setting of the "+spec.Name+" controller", known)
	for _, s := range spec.Settings {
		if p, ok := f[s.Name]; ok {
			if x, ok := d.number(p.val, "controller."+s.Name, s.Min, s.Max, s.Unit); ok {
				c.Settings[s.Name] = x
			}
		}
	}
	return c
}

// events decodes a list of {at: time, <amount>: number} mappings, checks the
// times against [start, end) and whole minutes, rejects two events at the
// same minute, and calls add for each in time order. A zero start or end
// means it is unknown (already reported), so range checks are skipped.
func (d *decoder) events(n *yaml.Node, list, amount, unit string, lo, hi float64, start, end time.Time, add func(time.Time, float64)) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // "meals:" with nothing after it: no events
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, list, "must be a list such as [{at: +1h, %s: 10}], got %s", amount, describe(n))
		return
	}
	type event struct {
		t    time.Time
		v    float64
		line int
		idx  int
	}
	var evs []event
	for i, item := range n.Content {
		item = resolve(item)
		path := fmt.Sprintf("%s[%d]", list, i)
		if item.Kind != yaml.MappingNode {
			d.errorf(item, path, "must be a mapping such as {at: +1h, %s: 10}, got %s", amount, describe(item))
			continue
		}
		f := d.fields(item, path, []string{"at", amount})
		var t time.Time
		var v float64
		okT, okV := false, false
		if p, ok := f["at"]; ok {
			if t, okT = d.at(p.val, path+".at", start); okT && !start.IsZero() {
				switch {
				case t.Before(start):
					d.errorf(p.val, path+".at", "%s is before the start %s", t.Format(time.RFC3339), start.Format(time.RFC3339))
					okT = false
				case !end.IsZero() && !t.Before(end):
					d.errorf(p.val, path+".at", "%s is not before the end of the run %s (start + duration)", t.Format(time.RFC3339), end.Format(time.RFC3339))
					okT = false
				case t.Sub(start)%time.Minute != 0:
					d.errorf(p.val, path+".at", "%s is not on a whole minute after start (the simulator applies events at exact minutes)", p.val.Value)
					okT = false
				}
			}
		} else {
			d.errorf(item, path+".at", "missing; add the time, e.g. {at: +1h, %s: ...}", amount)
		}
		if p, ok := f[amount]; ok {
			v, okV = d.number(p.val, path+"."+amount, lo, hi, unit)
		} else {
			d.errorf(item, path+"."+amount, "missing; add the amount in %s", unit)
		}
		if okT && okV {
			evs = append(evs, event{t, v, item.Line, i})
		}
	}
	slices.SortStableFunc(evs, func(a, b event) int { return a.t.Compare(b.t) })
	for i := 1; i < len(evs); i++ {
		if evs[i].t.Equal(evs[i-1].t) {
			a, b := evs[i-1], evs[i]
			if b.line < a.line {
				a, b = b, a
			}
			d.errs = append(d.errs, &Error{File: d.file, Line: b.line, Field: fmt.Sprintf("%s[%d].at", list, b.idx),
				Msg: fmt.Sprintf("same time as %s[%d] (line %d); combine them into one", list, a.idx, a.line)})
		}
	}
	for _, e := range evs {
		add(e.t, e.v)
	}
}
