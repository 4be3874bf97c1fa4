package deid

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// DateMode says how dates are de-identified.
type DateMode int

const (
	Shift    DateMode = iota // shift by a keyed per-patient offset of whole days (default)
	YearOnly                 // keep the year only
)

// Options configure a Deidentifier. The zero value of each field is valid.
type Options struct {
	Dates    DateMode
	MaxShift int              // largest date shift in days, either way; default 365
	Now      func() time.Time // for the age of living patients; default time.Now
}

// AgeExtension marks a patient whose birth date was removed because they
// are older than 89; its valueString is "90+" (SEC-29).
const AgeExtension = "https://doppel.health/fhir/StructureDefinition/age-category"

// MinKeyLen is the shortest HMAC key accepted, in bytes.
const MinKeyLen = 32

// Deidentifier de-identifies resources under one key. It is safe for
// concurrent use.
type Deidentifier struct {
	key  []byte
	opts Options
}

// New returns a Deidentifier using key for pseudonyms and date shifts.
func New(key []byte, opts Options) (*Deidentifier, error) {
	if len(key) < MinKeyLen {
		return nil, errors.New("deid: key must be at least 32 bytes")
	}
	if opts.MaxShift <= 0 {
		opts.MaxShift = 365
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Deidentifier{key: append([]byte(nil), key...), opts: opts}, nil
}

// mac returns HMAC-SHA-256(key, domain 0x00 s).
func (d *Deidentifier) mac(domain, s string) []byte {
	h := hmac.New(sha256.New, d.key)
	h.Write([]byte(domain))
	h.Write([]byte{0})
	h.Write([]byte(s))
	return h.Sum(nil)
}

// Pseudonym returns the pseudonym of a value in a domain ("id" for
// "Type/id", "identifier" for "system|value"): 32 hex digits (128 bits).
func (d *Deidentifier) Pseudonym(domain, s string) string {
	return hex.EncodeToString(d.mac(domain, s)[:16])
}

// shiftDays returns the date offset of a patient ("Patient/id"; "" for
// resources of no patient), never 0.
func (d *Deidentifier) shiftDays(patient string) int {
	n := binary.BigEndian.Uint64(d.mac("shift", patient))
	span := uint64(2 * d.opts.MaxShift)
	off := int(n%span) - d.opts.MaxShift // in [-MaxShift, MaxShift)
	if off >= 0 {
		off++
	}
	return off
}

// Refs maps references that are not "Type/id" to the "Type/id" they point
// to: "urn:uuid:..." full URLs of a Bundle and conditional references
// ("Practitioner?identifier=system|value"). See [Refs.Add].
type Refs map[string]string

// Add records the resource tree (with its Bundle fullUrl, if any) as the
// target of its full URL and of identifier conditional references.
func (r Refs) Add(fullURL string, tree map[string]any) {
	typ, _ := tree["resourceType"].(string)
	id, _ := tree["id"].(string)
	if typ == "" || id == "" {
		return
	}
	ref := typ + "/" + id
	if fullURL != "" {
		r[fullURL] = ref
	}
	ids, _ := tree["identifier"].([]any)
	for _, x := range ids {
		m, _ := x.(map[string]any)
		sys, _ := m["system"].(string)
		val, _ := m["value"].(string)
		if val != "" {
			r[typ+"?identifier="+sys+"|"+val] = ref
		}
	}
}

// Resource de-identifies tree in place and returns it. refs resolves
// references that are not "Type/id" (nil: none).
func (d *Deidentifier) Resource(tree map[string]any, refs Refs) map[string]any {
	typ, _ := tree["resourceType"].(string)
	w := &walker{d: d, refs: refs}
	w.shift = d.shiftDays(w.patientOf(tree))
	if typ == "Patient" {
		w.age(tree)
	}
	if id, ok := tree["id"].(string); ok {
		tree["id"] = d.Pseudonym("id", typ+"/"+id)
	}
	delete(tree, "meta")
	delete(tree, "text")
	if nameIsIdentifying[typ] {
		delete(tree, "name")
		delete(tree, "alias")
	}
	for k, v := range tree {
		if k == "id" || k == "resourceType" {
			continue
		}
		if nv, keep := w.value(k, v); keep {
			tree[k] = nv
		} else {
			delete(tree, k)
		}
	}
	return tree
}

// nameIsIdentifying lists the types whose name string names a person or a
// place (a hospital's name gives its town).
var nameIsIdentifying = map[string]bool{
	"Organization": true, "Location": true, "HealthcareService": true, "Practitioner": true,
	"PractitionerRole": true, "RelatedPerson": true, "Person": true, "Group": true, "Endpoint": true,
	"InsurancePlan": true, "Patient": true,
}

// walker de-identifies the elements of one resource.
type walker struct {
	d     *Deidentifier
	refs  Refs
	shift int // days
}

// patientOf returns "Patient/id" of the patient a resource belongs to, as
// far as its subject, patient or beneficiary element says.
func (w *walker) patientOf(tree map[string]any) string {
	if tree["resourceType"] == "Patient" {
		id, _ := tree["id"].(string)
		return "Patient/" + id
	}
	for _, k := range []string{"subject", "patient", "beneficiary"} {
		m, _ := tree[k].(map[string]any)
		ref, _ := m["reference"].(string)
		if r, ok := w.refs[ref]; ok {
			ref = r
		}
		if strings.HasPrefix(ref, "Patient/") {
			return ref
		}
	}
	return ""
}

// age removes the birth date of a patient older than 89 (at death, or
// now) and adds the "90+" category.
func (w *walker) age(tree map[string]any) {
	bd, _ := tree["birthDate"].(string)
	born, ok := parseDate(bd)
	if !ok {
		y, err := strconv.Atoi(bd)
		if err != nil || len(bd) != 4 {
			return
		}
		born = time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC) // the oldest the year allows
	}
	end := w.d.opts.Now()
	if dd, _ := tree["deceasedDateTime"].(string); dd != "" {
		if t, ok := parseDate(dd); ok {
			end = t
		}
	}
	age := end.Year() - born.Year()
	if end.YearDay() < born.YearDay() {
		age--
	}
	if age <= 89 {
		return
	}
	delete(tree, "birthDate")
	exts, _ := tree["extension"].([]any)
	tree["extension"] = append(exts, map[string]any{"url": AgeExtension, "valueString": "90+"})
}

// Keys dropped wherever they occur: contact points, pictures, free text,
// relatives, device serials, coordinates, plan member numbers.
var dropKeys = map[string]bool{
	"telecom": true, "photo": true, "contact": true, "note": true, "comment": true,
	"patientInstruction": true, "serialNumber": true, "lotNumber": true, "udiCarrier": true,
	"distinctIdentifier": true, "subscriberId": true, "position": true, "div": true,
	"alias": true, "presentedForm": true, "hash": true, "title": true,
}

// keptExtensions are the extensions that identify nobody; every other
// extension is removed (mother's maiden name, birth place, geolocation).
var keptExtensions = map[string]bool{
	"http://hl7.org/fhir/us/core/StructureDefinition/us-core-race":      true,
	"http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity": true,
	"http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex":  true,
	"ombCategory": true, "detailed": true, // sub-extensions of race and ethnicity
	AgeExtension: true,
}

// value de-identifies the element k with value v; keep is false to remove it.
func (w *walker) value(k string, v any) (any, bool) {
	if dropKeys[k] {
		return nil, false
	}
	switch k {
	case "extension", "modifierExtension":
		return w.extensions(v)
	case "identifier":
		return w.identifiers(v)
	case "name":
		if _, isString := v.(string); !isString {
			return nil, false // HumanName
		}
	case "description":
		if _, ok := v.(string); ok {
			return nil, false // free text
		}
	case "text":
		if _, ok := v.(map[string]any); ok {
			return nil, false // the narrative of a contained resource
		}
	case "uid":
		if s, ok := v.(string); ok {
			return "urn:oid:2.25." + w.d.Pseudonym("uid", s), true
		}
	case "contained":
		if list, ok := v.([]any); ok {
			for _, x := range list {
				if m, ok := x.(map[string]any); ok {
					w.object(m)
				}
			}
			return v, true
		}
	}
	switch x := v.(type) {
	case map[string]any:
		w.object(x)
		return x, len(x) > 0
	case []any:
		out := x[:0]
		for _, e := range x {
			if ne, keep := w.value("", e); keep {
				out = append(out, ne)
			}
		}
		return out, len(out) > 0
	case string:
		if k == "system" || k == "code" || k == "url" || k == "reference" || k == "profile" || k == "div" {
			return x, true
		}
		return w.str(x), true
	}
	return v, true
}

// object de-identifies a complex element in place.
func (w *walker) object(m map[string]any) {
	switch {
	case isAddress(m):
		generaliseAddress(m)
		return
	case isAttachment(m):
		for k := range m {
			if k != "contentType" && k != "language" && k != "creation" {
				delete(m, k)
			}
		}
	}
	if ref, ok := m["reference"].(string); ok {
		m["reference"] = w.reference(ref)
		delete(m, "display")
	}
	if _, isExt := m["url"]; isExt && !hasValue(m) {
		delete(m, "url") // a URL that is data (Attachment.url, a canonical resource's url)
	}
	for k, v := range m {
		if k == "reference" {
			continue
		}
		if nv, keep := w.value(k, v); keep {
			m[k] = nv
		} else {
			delete(m, k)
		}
	}
}

// hasValue reports whether m looks like an extension (url plus value or
// nested extensions), whose url names the extension's definition.
func hasValue(m map[string]any) bool {
	for k := range m {
		if k == "extension" || strings.HasPrefix(k, "value") {
			return true
		}
	}
	return false
}

func isAddress(m map[string]any) bool {
	for _, k := range []string{"line", "city", "district", "postalCode"} {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return false
}

func isAttachment(m map[string]any) bool {
	_, ct := m["contentType"]
	_, data := m["data"]
	return ct || data
}

// generaliseAddress keeps state, country and the ZIP3 (or 000).
func generaliseAddress(m map[string]any) {
	zip, _ := m["postalCode"].(string)
	for k := range m {
		if k != "state" && k != "country" && k != "use" && k != "type" {
			delete(m, k)
		}
	}
	if z := ZIP3(zip); z != "" {
		m["postalCode"] = z
	}
}

// restrictedZIP3 are the 3-digit ZIP areas with 20,000 people or fewer in
// the 2000 Census, listed in the HHS de-identification guidance (section
// "Geographic subdivisions", 17 prefixes); Safe Harbor turns them to 000.
var restrictedZIP3 = map[string]bool{
	"036": true, "059": true, "063": true, "102": true, "203": true, "556": true,
	"692": true, "790": true, "821": true, "823": true, "830": true, "831": true,
	"878": true, "879": true, "884": true, "890": true, "893": true,
}

// zipRE matches a US ZIP or ZIP+4 code.
var zipRE = regexp.MustCompile(`^\d{5}(-\d{4})?$`)

// ZIP3 returns the Safe Harbor form of a US ZIP code: its first three
// digits, "000" for a restricted area, "" (remove it) for anything that is
// not a 5-digit ZIP (a 4-digit "1020" may be 01020 or 10200).
func ZIP3(zip string) string {
	if !zipRE.MatchString(zip) {
		return ""
	}
	if restrictedZIP3[zip[:3]] {
		return "000"
	}
	return zip[:3]
}

func (w *walker) extensions(v any) (any, bool) {
	list, _ := v.([]any)
	var out []any
	for _, e := range list {
		m, _ := e.(map[string]any)
		url, _ := m["url"].(string)
		if !keptExtensions[url] {
			continue
		}
		w.object(m)
		out = append(out, m)
	}
	return out, len(out) > 0
}

// identifiers replaces each identifier's value by its pseudonym, keeping
// the system and type (what kind of number it was).
func (w *walker) identifiers(v any) (any, bool) {
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	var out []any
	for _, e := range list {
		m, _ := e.(map[string]any)
		if m == nil {
			continue
		}
		sys, _ := m["system"].(string)
		val, _ := m["value"].(string)
		n := map[string]any{"value": w.d.Pseudonym("identifier", sys+"|"+val)}
		if sys != "" {
			n["system"] = sys
		}
		if t, ok := m["type"].(map[string]any); ok {
			delete(t, "text")
			n["type"] = t
		}
		out = append(out, n)
	}
	if !ok {
		if len(out) == 0 {
			return nil, false
		}
		return out[0], true
	}
	return out, len(out) > 0
}

// reference rewrites a reference with pseudonymous ids: "Type/id" (after
// resolving a full URL or conditional reference with refs) becomes
// "Type/pseudonym". Local references ("#x") stay.
func (w *walker) reference(ref string) string {
	if strings.HasPrefix(ref, "#") {
		return ref
	}
	if r, ok := w.refs[ref]; ok {
		ref = r
	}
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	parts := strings.Split(ref, "/")
	if n := len(parts); n >= 2 && !strings.ContainsAny(parts[n-2]+parts[n-1], "?:") {
		return parts[n-2] + "/" + w.d.Pseudonym("id", parts[n-2]+"/"+parts[n-1])
	}
	typ, _, _ := strings.Cut(ref, "?")
	if typ == "" || strings.ContainsAny(typ, ":/") {
		typ = "Resource"
	}
	return typ + "/" + w.d.Pseudonym("id", ref)
}

// dateRE matches FHIR date, dateTime and instant values with at least a
// month: year-only values carry nothing Safe Harbor removes.
var dateRE = regexp.MustCompile(`^(\d{4})-(\d{2})(-(\d{2}))?(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$`)

// Patterns scrubbed from free strings.
var scrubRE = regexp.MustCompile(`\b\d{3}-\d{2}-\d{4}\b` + // SSN
	`|[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}` + // e-mail
	`|\(?\b\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b` + // phone
	`|\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b` + // IPv4
	`|https?://\S+`) // URL

// str de-identifies a string: dates shifted or cut, identifying patterns
// removed.
func (w *walker) str(s string) string {
	if m := dateRE.FindStringSubmatch(s); m != nil {
		return w.date(s, m)
	}
	return scrubRE.ReplaceAllString(s, "[removed]")
}

func (w *walker) date(s string, m []string) string {
	if w.d.opts.Dates == YearOnly {
		return m[1]
	}
	day := m[4]
	if day == "" {
		day = "01"
	}
	t, err := time.Parse("2006-01-02", m[1]+"-"+m[2]+"-"+day)
	if err != nil {
		return m[1] // not a real date: keep the year only
	}
	t = t.AddDate(0, 0, w.shift)
	if m[4] == "" {
		return t.Format("2006-01")
	}
	return t.Format("2006-01-02") + m[5]
}

// parseDate reads the date part of a FHIR date or dateTime.
func parseDate(s string) (time.Time, bool) {
	m := dateRE.FindStringSubmatch(s)
	if m == nil || m[4] == "" {
		return time.Time{}, false
	}
	t, err := time.Parse("2006-01-02", m[1]+"-"+m[2]+"-"+m[4])
	return t, err == nil
}

// Bundle de-identifies the resources of a Bundle (a transaction from
// Synthea, say) and returns them; references between them, by full URL or
// conditional reference, are rewritten to the same pseudonyms.
func (d *Deidentifier) Bundle(bundle map[string]any) []map[string]any {
	entries, _ := bundle["entry"].([]any)
	refs := Refs{}
	var out []map[string]any
	for _, e := range entries {
		m, _ := e.(map[string]any)
		r, _ := m["resource"].(map[string]any)
		if r == nil {
			continue
		}
		full, _ := m["fullUrl"].(string)
		refs.Add(full, r)
		out = append(out, r)
	}
	for _, r := range out {
		d.Resource(r, refs)
	}
	return out
}
