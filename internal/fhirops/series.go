package fhirops

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/doppelhealth/doppel/internal/clinical"
	"github.com/doppelhealth/doppel/internal/clinical/fhirobs"
	"github.com/doppelhealth/doppel/internal/store"
)

// SampleReader reads device time series: a store.Series.
type SampleReader interface {
	Samples(ctx context.Context, q store.SampleQuery) ([]store.Sample, error)
	SeriesOf(ctx context.Context, patient, code string) ([]store.SeriesInfo, error)
	SeriesByID(ctx context.Context, id int64) (store.SeriesInfo, error)
}

// The ids of Observations made from samples (never stored, so never
// assigned): "ts-" for one sample, "tsd-" for the valueSampledData
// Observation of one series in one UTC day, followed by the series number
// (store.SeriesInfo.ID) and the sample's Unix time in nanoseconds or the
// day's number since 1970-01-01, both in base 36: "ts-1c-lz4v2a7k0g00".
// The same sample has the same id on every request, in this store; the
// numbers of another store (an import of an export) differ.
const (
	samplePrefix = "ts-"
	dayPrefix    = "tsd-"
)

const dayNanos = int64(24 * time.Hour)

func sampleID(sid int64, t time.Time) string {
	return samplePrefix + strconv.FormatInt(sid, 36) + "-" + strconv.FormatInt(t.UnixNano(), 36)
}

func dayID(sid, day int64) string {
	return dayPrefix + strconv.FormatInt(sid, 36) + "-" + strconv.FormatInt(day, 36)
}

// SampledID is the id of the valueSampledData Observation of series sid
// on the UTC day of t (GET /fhir/Observation/{id} reads it): what a
// Provenance of a day's samples targets.
func SampledID(sid int64, t time.Time) string { return dayID(sid, floorDay(t)) }

// parseVirtual splits an id made by sampleID or dayID into its series and
// number (nanoseconds or day); ok is false for any other id.
func parseVirtual(id, prefix string) (sid, n int64, ok bool) {
	rest, ok := strings.CutPrefix(id, prefix)
	a, b, cut := strings.Cut(rest, "-")
	if !ok || !cut {
		return 0, 0, false
	}
	sid, err1 := strconv.ParseInt(a, 36, 64)
	n, err2 := strconv.ParseInt(b, 36, 64)
	// The canonical form only, so that one sample has one id.
	if err1 != nil || err2 != nil || sid <= 0 || strconv.FormatInt(sid, 36) != a || strconv.FormatInt(n, 36) != b {
		return 0, 0, false
	}
	return sid, n, true
}

// floorDay is the UTC day number of t (days since 1970-01-01).
func floorDay(t time.Time) int64 {
	ns := t.UnixNano()
	d := ns / dayNanos
	if ns%dayNanos != 0 && ns < 0 {
		d--
	}
	return d
}

// sampleVersion is the Observation of one sample of series sid, made as
// serve makes a stored device Observation (fhirobs.Resource), version 1,
// last updated at the sample's time (the store keeps no write time per
// sample).
func sampleVersion(sm store.Sample, sid int64) (store.Version, error) {
	id := sampleID(sid, sm.Time)
	o := clinical.Observation{Patient: sm.Patient, Device: sm.Device, Code: sm.Code, Value: &clinical.Quantity{Value: sm.Value, Unit: sm.Unit}, Effective: sm.Time}
	_, b, err := fhirobs.Resource(o, fhirobs.Meta{ID: id, LastUpdated: sm.Time})
	if err != nil {
		return store.Version{}, err
	}
	return store.Version{Type: "Observation", ID: id, VersionID: 1, LastUpdated: sm.Time.UTC(), Body: b}, nil
}

// dayVersion is the valueSampledData Observation of the samples ss (sorted
// by time, not empty) of series f in UTC day day.
func dayVersion(f store.SeriesInfo, day int64, ss []store.Sample) (store.Version, error) {
	g, err := grid(ss)
	if err != nil {
		return store.Version{}, err
	}
	id := dayID(f.ID, day)
	last := ss[len(ss)-1].Time
	b, err := fhirobs.Sampled(clinical.Observation{Patient: f.Patient, Device: f.Device, Code: f.Code}, g, fhirobs.Meta{ID: id, LastUpdated: last})
	if err != nil {
		return store.Version{}, err
	}
	return store.Version{Type: "Observation", ID: id, VersionID: 1, LastUpdated: last.UTC(), Body: b}, nil
}

// maxGridPoints bounds the points of one valueSampledData (a day of
// 1-second samples is 86,400).
const maxGridPoints = 200_000

// grid lays ss (one series, sorted by time, not empty) on a regular grid
// (R4 SampledData): the first point at the first sample, the period the
// smallest step between two samples, so that no two samples share a point,
// each sample at the nearest point (its time moves by less than half a
// period; the exact times are in the samples' own Observations), and "E"
// where no sample is (a gap). One sample gives a period of 0.
func grid(ss []store.Sample) (fhirobs.Grid, error) {
	t0 := ss[0].Time
	var step int64
	for i := 1; i < len(ss); i++ {
		if d := ss[i].Time.Sub(ss[i-1].Time).Nanoseconds(); step == 0 || d < step {
			step = d
		}
	}
	n := int64(1)
	if step > 0 {
		n = int64(math.Round(float64(ss[len(ss)-1].Time.Sub(t0).Nanoseconds())/float64(step))) + 1
	}
	if n > maxGridPoints {
		return fhirobs.Grid{}, fail(http.StatusUnprocessableEntity, "too-costly", "the samples of one day are too irregular for valueSampledData (more than "+
			strconv.Itoa(maxGridPoints)+" points); ask for them as Observations (without sampled)")
	}
	data := make([]string, n)
	for i := range data {
		data[i] = "E"
	}
	for _, sm := range ss {
		i := int64(0)
		if step > 0 {
			i = int64(math.Round(float64(sm.Time.Sub(t0).Nanoseconds()) / float64(step)))
		}
		data[i] = strconv.FormatFloat(sm.Value, 'f', -1, 64)
	}
	return fhirobs.Grid{Start: t0, End: t0.Add(time.Duration((n - 1) * step)), PeriodMs: float64(step) / 1e6, Unit: ss[0].Unit, Data: strings.Join(data, " ")}, nil
}

// readSample reads an Observation made from samples: id from sampleID or
// dayID (404 for any other, or for a sample or day that is not stored, or
// that is outside the caller's compartment).
func (s *Service) readSample(ctx context.Context, id string) (store.Version, error) {
	notFound := fail(http.StatusNotFound, "not-found", "Observation/"+clip(id)+" not found")
	sid, n, isSample := parseVirtual(id, samplePrefix)
	if !isSample {
		var ok bool
		if sid, n, ok = parseVirtual(id, dayPrefix); !ok {
			return store.Version{}, notFound
		}
	}
	f, err := s.opts.Series.SeriesByID(ctx, sid)
	if errors.Is(err, store.ErrNotFound) {
		return store.Version{}, notFound
	}
	if err != nil {
		return store.Version{}, err
	}
	if pid, err := confinedTo(ctx); err != nil || (pid != "" && pid != f.Patient) {
		return store.Version{}, cmp.Or(err, error(notFound))
	}
	q := store.SampleQuery{Patient: f.Patient, Code: f.Code, From: time.Unix(0, n).UTC(), To: time.Unix(0, n+1).UTC()}
	if !isSample {
		if n > math.MaxInt64/dayNanos-1 || n < math.MinInt64/dayNanos+1 {
			return store.Version{}, notFound
		}
		q.From, q.To = time.Unix(0, n*dayNanos).UTC(), time.Unix(0, (n+1)*dayNanos).UTC()
	}
	ss, err := s.opts.Series.Samples(ctx, q)
	if err != nil {
		return store.Version{}, storeError(err, "Observation/"+id)
	}
	ss = slices.DeleteFunc(ss, func(sm store.Sample) bool { return sm.Device != f.Device })
	switch {
	case len(ss) == 0:
		return store.Version{}, notFound
	case isSample:
		return sampleVersion(ss[0], sid)
	}
	return dayVersion(f, n, ss)
}

// Samples answers GET /fhir/Patient/{id}/$samples: the device time series
// of one code of patient id (stored compactly, store.Series, not as
// resources) as a searchset Bundle of Observations made on the fly.
// Parameters:
//
//   - code (required): the LOINC code, with or without "http://loinc.org|";
//   - date (repeatable): ge, gt, le or lt and an instant (RFC 3339) or a
//     day (YYYY-MM-DD), as in an Observation date search;
//   - sampled=true: one Observation per device and UTC day with
//     valueSampledData (see grid) and effectivePeriod, instead of one per
//     sample; date then selects the UTC days it overlaps, and each
//     Observation holds its whole day;
//   - _sort: date (default, oldest first) or -date (newest first);
//   - _count: the most Observations returned (default DefaultCount, at
//     most MaxCount). There is no next link: ask again from the last time,
//     or page with GET /fhir/Observation?patient=..&code=.. (SearchSamples).
//
// Every Observation has the id of sampleID or dayID and can be read by it
// (GET /fhir/Observation/{id}). A request confined to a patient's
// compartment may ask only for its own; it needs search on Observation.
func (s *Service) Samples(ctx context.Context, series SampleReader, id string, params url.Values, base string) ([]byte, error) {
	if err := permit(ctx, "search-type", "Observation"); err != nil {
		return nil, err
	}
	pid, err := confinedTo(ctx)
	if err != nil {
		return nil, err
	}
	if pid != "" && pid != id {
		return nil, outside("$samples of Patient/" + clip(id) + ": the token is confined to Patient/" + pid)
	}
	q := store.SampleQuery{Patient: id}
	limit, sampled := s.opts.DefaultCount, false
	for k, vs := range params {
		v := vs[len(vs)-1]
		switch k {
		case "code":
			q.Code = strings.TrimPrefix(v, "http://loinc.org|")
		case "date":
			for _, d := range vs {
				if err := dateBound(&q, d); err != nil {
					return nil, err
				}
			}
		case "sampled":
			if v != "true" && v != "false" {
				return nil, fail(http.StatusBadRequest, "invalid", "$samples sampled must be true or false")
			}
			sampled = v == "true"
		case "_sort":
			if v != "date" && v != "-date" {
				return nil, fail(http.StatusBadRequest, "not-supported", "$samples sorts by date or -date only")
			}
			q.Newest = v == "-date"
		case "_count":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return nil, fail(http.StatusBadRequest, "invalid", "_count must be a positive integer")
			}
			limit = min(n, s.opts.MaxCount)
		default:
			return nil, fail(http.StatusBadRequest, "not-supported", "unknown $samples parameter "+strconv.Quote(clip(k)))
		}
	}
	if q.Code == "" || strings.Contains(q.Code, "|") {
		return nil, fail(http.StatusBadRequest, "required", "$samples needs one LOINC code: code=99504-3")
	}
	infos, err := series.SeriesOf(ctx, id, q.Code)
	if err != nil {
		return nil, storeError(err, "Patient/"+id+" samples")
	}
	byDevice := map[string]store.SeriesInfo{}
	for _, f := range infos {
		byDevice[f.Device] = f
	}
	var vs []store.Version
	if sampled {
		vs, err = sampledDays(ctx, series, q, byDevice, limit)
	} else {
		q.Limit = limit
		var ss []store.Sample
		if ss, err = series.Samples(ctx, q); err != nil {
			return nil, storeError(err, "Patient/"+id+" samples")
		}
		for _, sm := range ss {
			v, err := sampleVersion(sm, byDevice[sm.Device].ID)
			if err != nil {
				return nil, err
			}
			vs = append(vs, v)
		}
	}
	if err != nil {
		return nil, err
	}
	total := len(vs)
	b := bundle{ResourceType: "Bundle", Type: "searchset", Total: &total}
	for _, v := range vs {
		b.Entry = append(b.Entry, entryJSON{FullURL: fullURL(base, v), Resource: v.Body, Search: &entrySearch{Mode: "match"}})
	}
	return json.Marshal(b)
}

// sampledDays returns the valueSampledData Observations of the days (UTC)
// that hold a sample q selects, the whole of each day, at most limit of
// them, by day then device (q.Newest: newest day first).
func sampledDays(ctx context.Context, series SampleReader, q store.SampleQuery, byDevice map[string]store.SeriesInfo, limit int) ([]store.Version, error) {
	newest := q.Newest
	if !q.From.IsZero() {
		q.From = time.Unix(0, floorDay(q.From)*dayNanos).UTC()
	}
	if !q.To.IsZero() {
		q.To = time.Unix(0, (floorDay(q.To.Add(-time.Nanosecond))+1)*dayNanos).UTC()
	}
	q.Newest, q.Limit = false, 0
	ss, err := series.Samples(ctx, q)
	if err != nil {
		return nil, storeError(err, "Patient/"+q.Patient+" samples")
	}
	type key struct {
		day    int64
		device string
	}
	groups := map[key][]store.Sample{}
	var keys []key
	for _, sm := range ss {
		k := key{floorDay(sm.Time), sm.Device}
		if groups[k] == nil {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], sm)
	}
	slices.SortFunc(keys, func(a, b key) int { return cmp.Or(cmp.Compare(a.day, b.day), cmp.Compare(a.device, b.device)) })
	if newest {
		slices.Reverse(keys)
	}
	var out []store.Version
	for _, k := range keys[:min(limit, len(keys))] {
		v, err := dayVersion(byDevice[k.device], k.day, groups[k])
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// dateBound narrows q by one date parameter value.
func dateBound(q *store.SampleQuery, v string) error {
	bad := fail(http.StatusBadRequest, "invalid", "$samples date must be ge, gt, le or lt and an instant or a day: "+strconv.Quote(clip(v)))
	if len(v) < 3 {
		return bad
	}
	prefix, rest := v[:2], v[2:]
	lo, err := time.Parse(time.RFC3339Nano, rest)
	hi := lo.Add(time.Nanosecond) // the first instant after
	if err != nil {
		if lo, err = time.Parse(time.DateOnly, rest); err != nil {
			return bad
		}
		hi = lo.AddDate(0, 0, 1)
	}
	set := func(t *time.Time, to time.Time, later bool) {
		if t.IsZero() || (later && to.After(*t)) || (!later && to.Before(*t)) {
			*t = to
		}
	}
	switch prefix {
	case "ge":
		set(&q.From, lo, true)
	case "gt":
		set(&q.From, hi, true)
	case "lt":
		set(&q.To, lo, false)
	case "le":
		set(&q.To, hi, false)
	default:
		return bad
	}
	return nil
}
