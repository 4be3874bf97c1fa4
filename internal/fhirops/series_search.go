package fhirops

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/doppelhealth/doppel/internal/fhir"
	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store"
)

// A search of Observation on a Service with Options.Series answers from
// the stored Observations and from the device time series together: each
// sample is an Observation made on the fly (sampleVersion, read back by
// its id), merged into the stored ones.
//
// Which samples: those of the patients the search names with patient or
// subject (Patient/ID or ID; several values are ORed, several parameters
// ANDed), or of the caller's own patient for a request confined to a
// compartment. A search that names no patient (across all patients) does
// not read the series, which hold millions of samples per code: its
// Bundle says so in an OperationOutcome warning, and it answers from
// the stored Observations only; ask per patient (or $export). At most
// maxSamplePatients patients and maxSearchSamples matching samples per
// search; past either the search is refused (400, too-costly) rather than
// cut short.
//
// Every other parameter is answered for samples exactly as the store
// answers it for stored Observations (package search's match rules): code
// and date narrow the samples read; the others (category, status, device,
// value-quantity, identifier, _id, _lastUpdated, :missing, :not, :text)
// are evaluated on each sample's Observation. A chained parameter is
// refused (400) when samples are searched: it would need the referenced
// resources. _sort is date or -date (the default is date); another sort
// key is refused (400).
//
// Order and paging: by date (R4 search rules: ascending by the start of
// the effective time, descending by its end), the stored Observations in
// the store's order, the samples by time, patient, code and device; a
// stored Observation comes before a sample of the same millisecond, and
// one without an effective time after every sample. A page's next link
// carries the store snapshot and offset of the stored Observations
// (_snapshot, _offset, as in every search) and the id of the last sample
// of the pages so far (_after): a sample that arrives later is seen on a
// later page if it sorts after that sample, and never twice. There is no
// previous link. _total and _summary=count count both.
const (
	afterParam        = "_after"
	maxSamplePatients = 1000
	maxSearchSamples  = 500_000
)

// samplePaging is what a merged Observation search adds to its Bundle.
type samplePaging struct {
	merged  bool
	after   string // the request's _after
	next    string // the next page's _after
	nextOff int    // the next page's _offset
	more    bool   // there is a next page
	warn    []fhir.Issue
}

// cutAfter removes _after from the parameters of a merged search, which
// the query parser does not know.
func (s *Service) cutAfter(typ string, params url.Values) (url.Values, string) {
	if typ != "Observation" || s.opts.Series == nil || !params.Has(afterParam) {
		return params, ""
	}
	after := params.Get(afterParam)
	params = maps.Clone(params)
	params.Del(afterParam)
	return params, after
}

// links returns the self and next links of a merged page, or those of
// searchLinks for another search.
func (sp samplePaging) links(path string, q *search.Query, n, total int) []link {
	if !sp.merged {
		return searchLinks(path, q, n, total)
	}
	offset := q.Offset
	u := func(off int, after string) string {
		q.Offset = off
		v := q.Encode()
		if after != "" {
			v.Set(afterParam, after)
		}
		return path + "?" + v.Encode()
	}
	links := []link{{"self", u(offset, sp.after)}}
	if sp.more && q.Summary != "count" {
		links = append(links, link{"next", u(sp.nextOff, sp.next)})
	}
	q.Offset = offset
	return links
}

// sampleHit is one sample that matches a search: its series, Unix time
// (ns), value and date index range (sampleDate). A search may hold a year
// of 5-minute samples per patient: 40 bytes each.
type sampleHit struct {
	f      *store.SeriesInfo
	t      int64
	v      float64
	lo, hi float64
}

func (h *sampleHit) sample() store.Sample {
	return store.Sample{Patient: h.f.Patient, Code: h.f.Code, Device: h.f.Device, Time: time.Unix(0, h.t).UTC(), Value: h.v, Unit: h.f.Unit}
}

// compareHits orders samples by time, patient, code and device.
func compareHits(a, b *sampleHit) int {
	return cmp.Or(cmp.Compare(a.t, b.t), cmp.Compare(a.f.Patient, b.f.Patient), cmp.Compare(a.f.Code, b.f.Code), cmp.Compare(a.f.Device, b.f.Device))
}

// samplePlan is how a search selects samples.
type samplePlan struct {
	patients []string        // sorted; none: the series are not searched
	unscoped bool            // no patient was named: all patients' series would be
	codes    map[string]bool // nil: every code
	from, to time.Time       // zero: open
	dates    []search.Clause // evaluated on sampleDate
	rest     []search.Clause // evaluated on the Observation's entries
	desc     bool
}

// observationPage is searchPage for a search of Observation, with the
// samples of the series merged in (see above).
func (s *Service) observationPage(ctx context.Context, r store.Reader, q *search.Query, pid, after string) (store.Page, samplePaging, error) {
	if q.Type != "Observation" || s.opts.Series == nil {
		page, err := s.searchPage(ctx, r, q, pid)
		return page, samplePaging{}, err
	}
	plan, err := planSamples(q, pid)
	if err != nil {
		return store.Page{}, samplePaging{}, err
	}
	if len(plan.patients) == 0 {
		page, err := s.searchPage(ctx, r, q, pid)
		var sp samplePaging
		if plan.unscoped {
			sp.warn = []fhir.Issue{{Severity: "warning", Code: "not-supported",
				Diagnostics: "device time-series samples are searched per patient: give patient or subject to have them in the results; these are the stored Observations only"}}
		}
		return page, sp, err
	}
	hits, err := s.sampleHits(ctx, plan)
	if err != nil {
		return store.Page{}, samplePaging{}, err
	}
	start := 0
	if after != "" {
		k, err := s.afterHit(ctx, after)
		if err != nil {
			return store.Page{}, samplePaging{}, err
		}
		start = sort.Search(len(hits), func(i int) bool { return compareHits(&hits[i], &k) > 0 })
		if plan.desc {
			start = sort.Search(len(hits), func(i int) bool { return compareHits(&hits[i], &k) < 0 })
		}
	}
	q.Sort = []search.Sort{{Param: "date", Type: search.Date, Desc: plan.desc}}
	page, err := s.searchPage(ctx, r, q, pid)
	if err != nil {
		return store.Page{}, samplePaging{}, err
	}
	var keys []dateKey // needed only with samples to merge
	if start < len(hits) {
		if keys, err = s.dateKeys(page.Matches, plan.desc); err != nil {
			return store.Page{}, samplePaging{}, err
		}
	}
	stored := page.Matches
	page.Matches = nil
	i, j := 0, start
	for len(page.Matches) < q.Count && (i < len(stored) || j < len(hits)) {
		if j == len(hits) || (i < len(stored) && keys[i].before(&hits[j], plan.desc)) {
			page.Matches = append(page.Matches, stored[i])
			i++
			continue
		}
		v, err := sampleVersion(hits[j].sample(), hits[j].f.ID)
		if err != nil {
			return store.Page{}, samplePaging{}, err
		}
		page.Matches = append(page.Matches, v)
		j++
	}
	sp := samplePaging{merged: true, after: after, next: after, nextOff: q.Offset + i}
	if j > start {
		sp.next = sampleID(hits[j-1].f.ID, time.Unix(0, hits[j-1].t))
	}
	moreStored := i < len(stored) || (page.Total >= 0 && q.Offset+i < page.Total) || (page.Total < 0 && len(stored) == q.Count)
	sp.more = moreStored || j < len(hits)
	if page.Total >= 0 {
		page.Total += len(hits)
	}
	return page, sp, nil
}

// planSamples reads from q which samples it selects (see above); pid
// confines it to one patient.
func planSamples(q *search.Query, pid string) (samplePlan, error) {
	var p samplePlan
	var refuse error // a search of samples refuses it; one of stored Observations only does not
	switch {
	case len(q.Sort) > 1 || (len(q.Sort) == 1 && q.Sort[0].Param != "date"):
		refuse = fail(http.StatusBadRequest, "not-supported", "a search of Observation with device samples sorts by date or -date only")
	case len(q.Sort) == 1:
		p.desc = q.Sort[0].Desc
	}
	var patients map[string]bool // nil: not restricted yet
	restrict := func(ids map[string]bool) {
		if patients == nil {
			patients = ids
			return
		}
		for id := range patients {
			if !ids[id] {
				delete(patients, id)
			}
		}
	}
	for _, c := range q.Clauses {
		switch {
		case c.Chain != nil:
			refuse = cmp.Or(refuse, error(fail(http.StatusBadRequest, "not-supported", "chained parameter "+strconv.Quote(c.Param)+
				": not answered for device samples, which this search includes; search the referenced resources first")))
		case (c.Param == "patient" || c.Param == "subject") && (c.Modifier == "" || c.Modifier == "Patient"):
			ids := map[string]bool{}
			for _, v := range c.Values {
				if v.RefID != "" && (v.RefType == "" || v.RefType == "Patient") {
					ids[v.RefID] = true
				}
			}
			restrict(ids)
		case c.Param == "code" && c.Modifier == "":
			codes, all := map[string]bool{}, false
			for _, v := range c.Values {
				switch {
				case !v.HasSystem:
					codes[v.Code] = true
				case v.System == "http://loinc.org" && v.Code == "":
					all = true
				case v.System == "http://loinc.org":
					codes[v.Code] = true
				}
			}
			if !all {
				if p.codes != nil { // two code parameters: both
					maps.DeleteFunc(codes, func(k string, _ bool) bool { return !p.codes[k] })
				}
				p.codes = codes
			}
		case c.Param == "date" && c.Modifier == "":
			p.dates = append(p.dates, c)
			from, to := dateSpan(c)
			if from.After(p.from) {
				p.from = from
			}
			if !to.IsZero() && (p.to.IsZero() || to.Before(p.to)) {
				p.to = to
			}
		default:
			p.rest = append(p.rest, c)
		}
	}
	if pid != "" {
		restrict(map[string]bool{pid: true})
	}
	p.unscoped = patients == nil
	for id := range patients {
		p.patients = append(p.patients, id)
	}
	slices.Sort(p.patients)
	if len(p.patients) > 0 && refuse != nil {
		return p, refuse
	}
	if len(p.patients) > maxSamplePatients {
		return p, fail(http.StatusBadRequest, "too-costly", "a search of Observation with device samples names at most "+strconv.Itoa(maxSamplePatients)+" patients")
	}
	return p, nil
}

// dateSpan returns a time range that holds every sample whose date entry
// matches clause c (zero ends: open): a sample's range starts at its time
// and spans at most a second.
func dateSpan(c search.Clause) (from, to time.Time) {
	lo, hi := float64(search.DateMax), float64(search.DateMin)
	for _, v := range c.Values {
		switch v.Prefix {
		case "eq", "ge", "gt", "sa":
			lo = min(lo, v.Lo-1000)
		default:
			lo = search.DateMin
		}
		switch v.Prefix {
		case "eq", "le", "lt", "eb":
			hi = max(hi, v.Hi+1000)
		default:
			hi = search.DateMax
		}
	}
	if lo > search.DateMin {
		from = time.UnixMilli(int64(lo)).UTC()
	}
	if hi < search.DateMax {
		to = time.UnixMilli(int64(hi)).UTC()
	}
	return from, to
}

// sampleHits returns the samples plan selects, in its order.
func (s *Service) sampleHits(ctx context.Context, plan samplePlan) ([]sampleHit, error) {
	var hits []sampleHit
	for _, patient := range plan.patients {
		code := ""
		if len(plan.codes) == 1 {
			for c := range plan.codes {
				code = c
			}
		}
		infos, err := s.opts.Series.SeriesOf(ctx, patient, code)
		if err != nil {
			return nil, storeError(err, "samples")
		}
		series := map[[2]string]*store.SeriesInfo{}
		var codes []string
		for k := range infos {
			f := &infos[k]
			if plan.codes != nil && !plan.codes[f.Code] {
				continue
			}
			if !slices.Contains(codes, f.Code) {
				codes = append(codes, f.Code)
			}
			series[[2]string{f.Code, f.Device}] = f
		}
		for _, code := range codes {
			ss, err := s.opts.Series.Samples(ctx, store.SampleQuery{Patient: patient, Code: code, From: plan.from, To: plan.to})
			if err != nil {
				return nil, storeError(err, "samples")
			}
			hits = slices.Grow(hits, len(ss))
			for _, sm := range ss {
				f := series[[2]string{sm.Code, sm.Device}]
				if f == nil { // a series added since SeriesOf
					continue
				}
				h := sampleHit{f: f, t: sm.Time.UnixNano(), v: sm.Value}
				h.lo, h.hi = sampleDate(sm.Time)
				ok, err := s.sampleMatches(plan, &h)
				if err != nil {
					return nil, err
				}
				if ok {
					hits = append(hits, h)
				}
			}
			if len(hits) > maxSearchSamples {
				return nil, fail(http.StatusBadRequest, "too-costly", "more than "+strconv.Itoa(maxSearchSamples)+
					" device samples match this search of Observation; narrow it with date (or code)")
			}
		}
	}
	slices.SortFunc(hits, func(a, b sampleHit) int {
		if plan.desc {
			return compareHits(&b, &a)
		}
		return compareHits(&a, &b)
	})
	return hits, nil
}

// sampleMatches reports whether h matches the date clauses and the rest
// of plan.
func (s *Service) sampleMatches(plan samplePlan, h *sampleHit) (bool, error) {
	for _, c := range plan.dates {
		if !matchClause(c, []search.Entry{{Param: c.Param, Type: search.Date, Lo: h.lo, Hi: h.hi}}) {
			return false, nil
		}
	}
	if len(plan.rest) == 0 {
		return true, nil
	}
	v, err := sampleVersion(h.sample(), h.f.ID)
	if err != nil {
		return false, err
	}
	res, err := fhir.Parse(v.Body)
	if err != nil {
		return false, err
	}
	es, err := s.reg.Extract(res.Type, res.Tree)
	if err != nil {
		return false, err
	}
	return matchAll(plan.rest, es), nil
}

// afterHit is the sample that an _after value names.
func (s *Service) afterHit(ctx context.Context, after string) (sampleHit, error) {
	bad := fail(http.StatusBadRequest, "invalid", afterParam+" must be the id of a sample's Observation, as in a next link: "+strconv.Quote(clip(after)))
	sid, ns, ok := parseVirtual(after, samplePrefix)
	if !ok {
		return sampleHit{}, bad
	}
	f, err := s.opts.Series.SeriesByID(ctx, sid)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return sampleHit{}, bad
	case err != nil:
		return sampleHit{}, err
	}
	return sampleHit{f: &f, t: ns}, nil
}

// dateKey is the date sort key of a stored Observation: the smallest
// start (ascending) or largest end (descending) of its date entries, in
// Unix milliseconds; ok false when it has none.
type dateKey struct {
	lo, hi float64
	ok     bool
}

// before reports whether the stored Observation of k comes before sample
// h in a merged page.
func (k dateKey) before(h *sampleHit, desc bool) bool {
	switch {
	case !k.ok:
		return false
	case desc:
		return k.hi >= h.hi
	}
	return k.lo <= h.lo
}

// dateKeys returns the date keys of stored Observations.
func (s *Service) dateKeys(vs []store.Version, desc bool) ([]dateKey, error) {
	keys := make([]dateKey, len(vs))
	for i, v := range vs {
		res, err := fhir.Parse(v.Body)
		if err != nil {
			return nil, err
		}
		es, err := s.reg.Extract(res.Type, res.Tree)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			if e.Param != "date" {
				continue
			}
			k := &keys[i]
			if !k.ok || e.Lo < k.lo {
				k.lo = e.Lo
			}
			if !k.ok || e.Hi > k.hi {
				k.hi = e.Hi
			}
			k.ok = true
		}
	}
	return keys, nil
}
