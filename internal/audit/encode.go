package audit

import (
	"encoding/base64"
	"strconv"
	"time"

	"github.com/doppelhealth/doppel/internal/search"
)

// The fast path: a record whose texts need no JSON escaping and whose
// references are plain "Type/id" is written by appending its AuditEvent's
// JSON directly, in the bytes internal/fhir would write for the tree that
// Record.tree builds (sorted keys, resourceType first), and its search
// index entries are built from the record, as search.Registry.Extract
// would compute them from that tree. Any other record takes the general
// path (tree, fhir marshal, Extract). Tests hold the two paths to the same
// bytes and entries, so neither the chain's hashes nor the AuditEvent
// searches depend on the path a record took.

// plain reports whether s can be written as a JSON string without
// escaping, in the same bytes by any encoder: printable ASCII without '"'
// and '\'.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// simpleRef splits a reference of the form Type/id, where Type starts with
// an upper-case ASCII letter and is made of ASCII letters and id is a FHIR
// id ([A-Za-z0-9\-\.]{1,64}); ok is false for any other form.
func simpleRef(s string) (typ, id string, ok bool) {
	i := 0
	for i < len(s) && (s[i] >= 'A' && s[i] <= 'Z' || s[i] >= 'a' && s[i] <= 'z') {
		i++
	}
	if i == 0 || s[0] < 'A' || s[0] > 'Z' || i == len(s) || s[i] != '/' {
		return "", "", false
	}
	typ, id = s[:i], s[i+1:]
	if len(id) == 0 || len(id) > 64 {
		return "", "", false
	}
	for j := 0; j < len(id); j++ {
		if c := id[j]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return "", "", false
		}
	}
	return typ, id, true
}

// fast reports whether r can take the fast path.
func (r Record) fast() bool {
	if r.Patient != "" {
		if _, _, ok := simpleRef(r.Patient); !ok {
			return false
		}
	}
	for _, ref := range r.Resources {
		if _, _, ok := simpleRef(ref); !ok {
			return false
		}
	}
	return r.Interaction != "" && plain(r.Interaction) && plain(r.Operation) && plain(r.Outcome) && plain(r.Who) && plain(r.Client) && plain(r.Address)
}

// entity is one AuditEvent.entity of a record.
type entity struct {
	typ, role      code
	query          string // the query, base64-encoded; "" for an entity with a reference
	what           string // the reference
	refType, refID string // its parts
}

// entities lists r's entities in the order Record.tree writes them (only
// for a record that takes the fast path).
func (r Record) entities() []entity {
	var ents []entity
	if r.Patient != "" {
		t, id, _ := simpleRef(r.Patient)
		ents = append(ents, entity{typ: entPerson, role: rolePatient, what: r.Patient, refType: t, refID: id})
	}
	for _, ref := range r.Resources {
		if ref == r.Patient {
			continue
		}
		t, id, _ := simpleRef(ref)
		ents = append(ents, entity{typ: entObject, role: roleDomain, what: ref, refType: t, refID: id})
	}
	if r.Query != "" {
		ents = append(ents, entity{typ: entObject, role: roleQuery, query: base64.StdEncoding.EncodeToString([]byte(r.Query))})
	}
	return ents
}

// types returns the AuditEvent type and subtype codings of r.
func (r Record) types() (typ, sub code) {
	if r.Interaction == Login {
		return typeAuth, subLogin
	}
	return typeRest, code{system: sysInteraction, code: r.Interaction}
}

func appendStr(b []byte, s string) []byte {
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendCoding(b []byte, c code) []byte {
	b = append(b, `{"code":`...)
	b = appendStr(b, c.code)
	if c.display != "" {
		b = append(b, `,"display":`...)
		b = appendStr(b, c.display)
	}
	b = append(b, `,"system":`...)
	b = appendStr(b, c.system)
	return append(b, '}')
}

// timeText is the text of an instant in AuditEvent.recorded and
// meta.lastUpdated: UTC, milliseconds.
func timeText(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// encode returns the stored JSON of r as the record seq after prev and
// its hash, as Record.tree, canonical, link and the fhir marshal of the
// tree with meta and the hash would give (only for a record that takes
// the fast path, with a plain observer).
func (r Record) encode(id, observer string, seq int64, prev string, ents []entity, now time.Time) (body []byte, hash string, err error) {
	b := make([]byte, 0, 1536)
	b = append(b, `{"resourceType":"AuditEvent","action":`...)
	b = appendStr(b, action(r.Interaction))
	b = append(b, `,"agent":[{`...)
	if r.Address != "" {
		b = append(b, `"network":{"address":`...)
		b = appendStr(b, r.Address)
		b = append(b, `,"type":`...)
		b = appendStr(b, networkType(r.Address))
		b = append(b, `},`...)
	}
	b = append(b, `"requestor":true,"type":{"coding":[`...)
	b = appendCoding(b, agentRole(r))
	b = append(b, `]}`...)
	if r.Who != "" {
		b = append(b, `,"who":{"identifier":{"system":"`+sysDoppelUser+`","value":`...)
		b = appendStr(b, r.Who)
		b = append(b, `}}`...)
	}
	b = append(b, '}')
	if r.Client != "" {
		b = append(b, `,{"requestor":false,"type":{"coding":[`...)
		b = appendCoding(b, roleApp)
		b = append(b, `]},"who":{"identifier":{"system":"`+sysDoppelApp+`","value":`...)
		b = appendStr(b, r.Client)
		b = append(b, `}}}`...)
	}
	b = append(b, ']')
	for i, e := range ents {
		if i == 0 {
			b = append(b, `,"entity":[`...)
		} else {
			b = append(b, ',')
		}
		b = append(b, '{')
		if e.query != "" {
			b = append(b, `"query":`...)
			b = appendStr(b, e.query)
			b = append(b, ',')
		}
		b = append(b, `"role":`...)
		b = appendCoding(b, e.role)
		b = append(b, `,"type":`...)
		b = appendCoding(b, e.typ)
		if e.what != "" {
			b = append(b, `,"what":{"reference":`...)
			b = appendStr(b, e.what)
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	if len(ents) > 0 {
		b = append(b, ']')
	}
	b = append(b, `,"extension":[{"extension":[{"url":"seq","valueString":"`...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, `"},{"url":"prev","valueString":`...)
	b = appendStr(b, prev)
	b = append(b, '}')
	hashAt := len(b)
	b = append(b, `],"url":"`+ChainURL+`"}],"id":`...)
	b = appendStr(b, id)
	b = append(b, ',')
	metaAt := len(b)
	b = append(b, `"outcome":`...)
	outcome := r.Outcome
	if outcome == "" {
		outcome = Success
	}
	b = appendStr(b, outcome)
	if r.Operation != "" {
		b = append(b, `,"outcomeDesc":`...)
		b = appendStr(b, r.Operation)
	}
	b = append(b, `,"recorded":`...)
	b = appendStr(b, timeText(r.Time))
	b = append(b, `,"source":{"observer":{"display":`...)
	b = appendStr(b, observer)
	b = append(b, `},"type":[`...)
	b = appendCoding(b, srcWeb)
	typ, sub := r.types()
	b = append(b, `]},"subtype":[`...)
	b = appendCoding(b, sub)
	b = append(b, `],"type":`...)
	b = appendCoding(b, typ)
	b = append(b, '}')

	// b is the canonical form; the body adds the hash and meta.
	if hash, err = link(prev, b); err != nil {
		return nil, "", err
	}

	out := make([]byte, 0, len(b)+160)
	out = append(out, b[:hashAt]...)
	out = append(out, `,{"url":"hash","valueString":"`...)
	out = append(out, hash...)
	out = append(out, `"}`...)
	out = append(out, b[hashAt:metaAt]...)
	out = append(out, `"meta":{"lastUpdated":"`...)
	out = append(out, timeText(now)...)
	out = append(out, `","versionId":"1"},`...)
	out = append(out, b[metaAt:]...)
	return out, hash, nil
}

// index returns the search index entries of r's AuditEvent, as
// search.Registry.Extract gives them for the parameters the trail indexes
// (Indexed) that have values in a record's event (only for a record that
// takes the fast path).
func (r Record) index(id string, ents []entity, now time.Time) []search.Entry {
	out := make([]search.Entry, 0, 9+2*len(ents))
	tok := func(param string, c code) search.Entry {
		return search.Entry{Param: param, Type: search.Token, System: c.system, Code: c.code, Text: c.display, Norm: c.norm}
	}
	// add appends e unless the parameter has it already (Extract's dedupe).
	add := func(start int, e search.Entry) {
		for _, x := range out[start:] {
			if x == e {
				return
			}
		}
		out = append(out, e)
	}
	ms := func(t time.Time) float64 { return float64(t.UnixMilli()) }
	out = append(out,
		search.Entry{Param: "_id", Type: search.Token, Code: id},
		search.Entry{Param: "_lastUpdated", Type: search.Date, Lo: ms(now), Hi: ms(now)},
		search.Entry{Param: "action", Type: search.Token, Code: action(r.Interaction)},
		search.Entry{Param: "date", Type: search.Date, Lo: ms(r.Time), Hi: ms(r.Time)},
	)
	start := len(out)
	for _, e := range ents {
		if e.what != "" {
			add(start, search.Entry{Param: "entity", Type: search.Reference, RefType: e.refType, RefID: e.refID})
		}
	}
	outcome := r.Outcome
	if outcome == "" {
		outcome = Success
	}
	out = append(out, search.Entry{Param: "outcome", Type: search.Token, Code: outcome})
	start = len(out)
	for _, e := range ents {
		if e.refType == "Patient" {
			add(start, search.Entry{Param: "patient", Type: search.Reference, RefType: e.refType, RefID: e.refID})
		}
	}
	typ, sub := r.types()
	return append(out, tok("subtype", sub), tok("type", typ))
}
