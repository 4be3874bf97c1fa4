package fhirops

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/doppelhealth/doppel/internal/store"
)

// SampleReader reads device time series: a store.Series.
type SampleReader interface {
	Samples(ctx context.Context, q store.SampleQuery) ([]store.Sample, error)
}

// Samples answers GET /fhir/Patient/{id}/$samples: the device time series
// of one code of patient id (stored compactly, store.Series, not as
// resources) as a searchset Bundle of Observations made on the fly, one per
// sample. Parameters:
//
//   - code (required): the LOINC code, with or without "http://loinc.org|";
//   - date (repeatable): ge, gt, le or lt and an instant (RFC 3339) or a
//     day (YYYY-MM-DD), as in an Observation date search;
//   - _sort: date (default, oldest first) or -date (newest first);
//   - _count: the most samples returned (default DefaultCount, at most
//     MaxCount). There is no next link: ask again from the last time.
//
// An Observation's id is "ts-" and 16 hex digits of a hash of its patient,
// code, device and time, the same on every request; it cannot be read by
// id. A request confined to a patient's compartment may ask only for its
// own; it needs search on Observation.
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
	q := store.SampleQuery{Patient: id, Limit: s.opts.DefaultCount}
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
			q.Limit = min(n, s.opts.MaxCount)
		default:
			return nil, fail(http.StatusBadRequest, "not-supported", "unknown $samples parameter "+strconv.Quote(clip(k)))
		}
	}
	if q.Code == "" || strings.Contains(q.Code, "|") {
		return nil, fail(http.StatusBadRequest, "required", "$samples needs one LOINC code: code=99504-3")
	}
	samples, err := series.Samples(ctx, q)
	if err != nil {
		return nil, storeError(err, "Patient/"+id+" samples")
	}
	total := len(samples)
	b := bundle{ResourceType: "Bundle", Type: "searchset", Total: &total}
	for _, sm := range samples {
		obs, oid := sampleObservation(sm)
		e := entryJSON{FullURL: "Observation/" + oid, Resource: obs, Search: &entrySearch{Mode: "match"}}
		if base != "" {
			e.FullURL = base + "/" + e.FullURL
		}
		b.Entry = append(b.Entry, e)
	}
	return json.Marshal(b)
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

// sampleObservation returns the Observation JSON of a sample and its id.
func sampleObservation(sm store.Sample) (json.RawMessage, string) {
	h := sha256.Sum256([]byte(sm.Patient + "\x00" + sm.Code + "\x00" + sm.Device + "\x00" + strconv.FormatInt(sm.Time.UnixNano(), 10)))
	id := "ts-" + hex.EncodeToString(h[:8])
	type ref struct {
		Reference string `json:"reference"`
	}
	type coding struct {
		System string `json:"system"`
		Code   string `json:"code"`
	}
	type quantity struct {
		Value  float64 `json:"value"`
		Unit   string  `json:"unit,omitempty"`
		System string  `json:"system,omitempty"`
		Code   string  `json:"code,omitempty"`
	}
	o := struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
		Status       string `json:"status"`
		Code         struct {
			Coding []coding `json:"coding"`
		} `json:"code"`
		Subject   ref      `json:"subject"`
		Effective string   `json:"effectiveDateTime"`
		Device    *ref     `json:"device,omitempty"`
		Value     quantity `json:"valueQuantity"`
	}{ResourceType: "Observation", ID: id, Status: "final", Subject: ref{"Patient/" + sm.Patient}, Effective: sm.Time.UTC().Format(time.RFC3339Nano)}
	o.Code.Coding = []coding{{System: "http://loinc.org", Code: sm.Code}}
	if sm.Device != "" {
		o.Device = &ref{"Device/" + sm.Device}
	}
	o.Value = quantity{Value: sm.Value, Unit: sm.Unit}
	if sm.Unit != "" {
		o.Value.System, o.Value.Code = "http://unitsofmeasure.org", sm.Unit
	}
	b, err := json.Marshal(o)
	if err != nil {
		panic(err) // strings and a finite float always marshal
	}
	return b, id
}
