package census

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/doppelhealth/doppel/hospital"
	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store"
)

// Source gives every current (not deleted) resource of a type, as JSON.
type Source interface {
	Resources(ctx context.Context, typ string) ([][]byte, error)
}

// StoreSource is the Source over a store's reader: it pages through all
// resources of a type on one snapshot.
type StoreSource struct {
	r        store.Reader
	pageSize int
}

// NewStoreSource returns the Source of r.
func NewStoreSource(r store.Reader) *StoreSource { return &StoreSource{r: r, pageSize: 500} }

// Resources implements Source.
func (s *StoreSource) Resources(ctx context.Context, typ string) ([][]byte, error) {
	q := &search.Query{Type: typ, Count: s.pageSize}
	var out [][]byte
	var at int64
	for {
		page, err := s.r.Search(ctx, q, at)
		if err != nil {
			return nil, fmt.Errorf("census: reading %s: %w", typ, err)
		}
		at = page.T
		for _, v := range page.Matches {
			if !v.Deleted {
				out = append(out, v.Body)
			}
		}
		if len(page.Matches) < q.Count {
			return out, nil
		}
		q.Offset += len(page.Matches)
	}
}

// Mapping says which Locations make up the ED and each model unit.
type Mapping struct {
	ED    Match
	Units map[string]Match // by model unit name
}

// Match selects Locations: by id ("Location/w1" or "w1"), by a code of
// Location.type or Location.physicalType, or by Location.name.
type Match struct {
	Locations []string
	Types     []string
	Names     []string
}

func (m Match) empty() bool { return len(m.Locations)+len(m.Types)+len(m.Names) == 0 }

// ED is the unit index of the ED in the maps this package builds (the
// model's units are 0, 1, ...).
const ED = hospital.EDUnit

// Report counts what a census or calibration saw and left out.
type Report struct {
	Encounters int // Encounters read
	Used       int // Encounters in the census or calibration
	Unmapped   int // in progress (census) or in the window (calibration) at a Location no unit claims, or none
	Future     int // started after the census time
}

// location is what the mapping needs of a Location resource.
type location struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Type   []cc     `json:"type"`
	Phys   *cc      `json:"physicalType"`
	PartOf *ref     `json:"partOf"`
	codes  []string // of type and physicalType
}

type cc struct {
	Coding []struct {
		Code string `json:"code"`
	} `json:"coding"`
}

type ref struct {
	Reference string `json:"reference"`
}

// id is the Location id a reference names (Location/w1, an absolute URL
// ending in Location/w1, or w1).
func (r *ref) id() string {
	if r == nil {
		return ""
	}
	s := r.Reference
	if i := strings.LastIndex(s, "Location/"); i >= 0 {
		return s[i+len("Location/"):]
	}
	if strings.Contains(s, "/") {
		return ""
	}
	return s
}

type period struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// encounter is what the census needs of an Encounter resource.
type encounter struct {
	ID       string  `json:"id"`
	Status   string  `json:"status"`
	Period   *period `json:"period"`
	Location []struct {
		Location ref     `json:"location"`
		Status   string  `json:"status"`
		Period   *period `json:"period"`
	} `json:"location"`
}

// stay is one Encounter's time in one mapped place (ED or a unit).
type stay struct {
	unit       int       // ED or a unit index
	start, end time.Time // end zero: still there, or lost
	lost       bool      // ended at an unknown time
}

// visit is an Encounter as a sequence of stays.
type visit struct {
	status string
	start  time.Time // the Encounter's period.start (zero: unknown)
	end    time.Time // the Encounter's period.end
	stays  []stay    // by start time
	// unmapped is set when a location entry is at a place no unit claims.
	unmapped bool
}

// Resolver maps Location ids to model units.
type Resolver struct {
	units []string       // the model's unit names
	unit  map[string]int // Location id → ED or unit index
}

// NewResolver checks m against the model's unit names and the Locations
// of src, and returns the map from Location id to unit.
func NewResolver(ctx context.Context, src Source, units []string, m Mapping) (*Resolver, error) {
	if m.ED.empty() && len(m.Units) == 0 {
		return nil, errors.New("census: the mapping is empty: name the Locations of the ED and of each unit")
	}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(m.Units)) {
		if !slices.Contains(units, name) {
			errs = append(errs, fmt.Errorf("census: the mapping names unit %q, which the model does not have (units: %s)", name, strings.Join(units, ", ")))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	bodies, err := src.Resources(ctx, "Location")
	if err != nil {
		return nil, err
	}
	locs := map[string]*location{}
	for _, b := range bodies {
		l := &location{}
		if err := json.Unmarshal(b, l); err != nil || l.ID == "" {
			return nil, fmt.Errorf("census: a stored Location is not valid JSON with an id")
		}
		for _, c := range l.Type {
			for _, x := range c.Coding {
				l.codes = append(l.codes, x.Code)
			}
		}
		if l.Phys != nil {
			for _, x := range l.Phys.Coding {
				l.codes = append(l.codes, x.Code)
			}
		}
		locs[l.ID] = l
	}
	direct := map[string]int{}
	claim := func(id string, u int, how string) {
		if prev, ok := direct[id]; ok && prev != u {
			errs = append(errs, fmt.Errorf("census: Location/%s is claimed by both %s and %s (%s)", id, unitName(units, prev), unitName(units, u), how))
			return
		}
		direct[id] = u
	}
	apply := func(u int, mt Match) {
		for _, s := range mt.Locations {
			id := (&ref{Reference: s}).id()
			if _, ok := locs[id]; !ok || id == "" {
				errs = append(errs, fmt.Errorf("census: the mapping of %s names %q, but the store holds no such Location", unitName(units, u), s))
				continue
			}
			claim(id, u, "by id")
		}
		for id, l := range locs {
			for _, t := range mt.Types {
				if slices.Contains(l.codes, t) {
					claim(id, u, "by type "+t)
				}
			}
			if slices.Contains(mt.Names, l.Name) {
				claim(id, u, "by name "+l.Name)
			}
		}
	}
	apply(ED, m.ED)
	for u, name := range units {
		if mt, ok := m.Units[name]; ok {
			apply(u, mt)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	// A Location no rule claims inherits the unit of its nearest claimed
	// ancestor (partOf), so a ward's beds and rooms need no rule each.
	res := &Resolver{units: units, unit: map[string]int{}}
	for id := range locs {
		cur := id
		for range 16 { // partOf chains are short; a cycle ends here
			if u, ok := direct[cur]; ok {
				res.unit[id] = u
				break
			}
			l, ok := locs[cur]
			if !ok || l.PartOf.id() == "" {
				break
			}
			cur = l.PartOf.id()
		}
	}
	return res, nil
}

func unitName(units []string, u int) string {
	if u == ED {
		return "the ED"
	}
	return "unit " + units[u]
}

// visits reads the Encounters of src as visits; those that fail to decode
// are an error (the store validated them on write).
func (r *Resolver) visits(ctx context.Context, src Source) ([]visit, error) {
	bodies, err := src.Resources(ctx, "Encounter")
	if err != nil {
		return nil, err
	}
	out := make([]visit, 0, len(bodies))
	for _, b := range bodies {
		var e encounter
		if err := json.Unmarshal(b, &e); err != nil {
			return nil, fmt.Errorf("census: a stored Encounter is not valid JSON")
		}
		v := visit{status: e.Status}
		if e.Period != nil {
			v.start, v.end = parseTime(e.Period.Start), parseTime(e.Period.End)
		}
		for _, l := range e.Location {
			u, ok := r.unit[l.Location.id()]
			if !ok {
				v.unmapped = true
				continue
			}
			s := stay{unit: u}
			if l.Period != nil {
				s.start, s.end = parseTime(l.Period.Start), parseTime(l.Period.End)
			}
			if s.start.IsZero() {
				s.start = v.start
			}
			if l.Status == "planned" || s.start.IsZero() {
				continue // not yet there, or there at an unknown time
			}
			v.stays = append(v.stays, s)
		}
		slices.SortStableFunc(v.stays, func(a, b stay) int { return a.start.Compare(b.start) })
		// A stay without an end ended when the next began, or with the
		// Encounter if it has ended.
		for i := range v.stays {
			if !v.stays[i].end.IsZero() {
				continue
			}
			if i+1 < len(v.stays) {
				v.stays[i].end = v.stays[i+1].start
			} else if !slices.Contains(active, v.status) {
				v.stays[i].end = v.end // zero if unknown: left out of the fits
				v.stays[i].lost = v.end.IsZero()
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// parseTime reads a FHIR dateTime; a date without a time is its midnight
// UTC; what does not parse is the zero time.
func parseTime(s string) time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02", "2006-01", "2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// active is the statuses of an Encounter in the census.
var active = []string{"in-progress", "arrived", "triaged"}

// Build returns the census at time at: the State of the hospital model
// whose units r was made for.
func (r *Resolver) Build(ctx context.Context, src Source, at time.Time) (*hospital.State, Report, error) {
	vs, err := r.visits(ctx, src)
	if err != nil {
		return nil, Report{}, err
	}
	st := &hospital.State{}
	rep := Report{Encounters: len(vs)}
	for _, v := range vs {
		if !slices.Contains(active, v.status) {
			continue
		}
		if !v.start.IsZero() && v.start.After(at) {
			rep.Future++
			continue
		}
		// The current place: the last stay begun by at and not ended.
		cur := -1
		for i, s := range v.stays {
			if !s.start.After(at) && (s.end.IsZero() || s.end.After(at)) {
				cur = i
			}
		}
		if cur < 0 {
			rep.Unmapped++
			continue
		}
		s := v.stays[cur]
		h := at.Sub(s.start).Hours()
		if s.unit == ED {
			st.InTreatment = append(st.InTreatment, hospital.EDPatient{Elapsed: h})
		} else {
			st.Inpatients = append(st.Inpatients, hospital.Inpatient{Unit: s.unit, Elapsed: h})
		}
		rep.Used++
	}
	// Store order is not meaningful; sort for reproducible runs.
	slices.SortFunc(st.Inpatients, func(a, b hospital.Inpatient) int {
		if a.Unit != b.Unit {
			return a.Unit - b.Unit
		}
		return cmpFloat(a.Elapsed, b.Elapsed)
	})
	slices.SortFunc(st.InTreatment, func(a, b hospital.EDPatient) int { return cmpFloat(a.Elapsed, b.Elapsed) })
	return st, rep, nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
