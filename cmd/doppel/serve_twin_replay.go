package main

import (
	"context"
	"encoding/json"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/doppelhealth/doppel/internal/clinical"
	"github.com/doppelhealth/doppel/internal/fhirops"
	"github.com/doppelhealth/doppel/internal/store"
	"github.com/doppelhealth/doppel/internal/twin"
)

// replayCGM gives each patient with a Device the CGM samples stored after
// its twin's last reading (all of them when it has no twin yet). A reading
// is stored before the stream message is acknowledged, but a twin's state
// is saved only every few minutes: after a kill -9 these are the readings
// the twin had seen and forgotten (issue 7, item 8). The twin ignores a
// reading that is not newer than its last one, so replaying is idempotent.
// Insulin and carbohydrate entries are not replayed.
func replayCGM(ctx context.Context, mgr *twin.Manager, svc *fhirops.Service, series store.Series) (int, error) {
	if series == nil {
		return 0, nil
	}
	patients, err := devicePatients(ctx, svc)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range patients {
		var from time.Time
		if st, ok, err := mgr.State(ctx, p); err != nil {
			return n, err
		} else if ok && st.Glucose != nil {
			from = st.Glucose.LastReading.Add(time.Nanosecond)
		}
		ss, err := series.Samples(ctx, store.SampleQuery{Patient: p, Code: clinical.CodeGlucoseCGM, From: from})
		if err != nil {
			return n, err
		}
		for _, s := range ss {
			o := clinical.Observation{Patient: p, Device: s.Device, Code: s.Code,
				Value: &clinical.Quantity{Value: s.Value, Unit: s.Unit}, Effective: s.Time}
			if err := mgr.Observe(ctx, o); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// devicePatients lists the patients that Device resources name, sorted.
func devicePatients(ctx context.Context, svc *fhirops.Service) ([]string, error) {
	seen := map[string]bool{}
	for offset := 0; ; offset += 1000 {
		q := url.Values{"_count": {"1000"}, "_offset": {strconv.Itoa(offset)}, "_elements": {"patient"}}
		b, err := svc.Search(ctx, "Device", q, true, "http://doppel.invalid/fhir")
		if err != nil {
			return nil, err
		}
		var bundle struct {
			Entry []struct {
				Resource struct {
					Patient struct {
						Reference string `json:"reference"`
					} `json:"patient"`
				} `json:"resource"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(b, &bundle); err != nil {
			return nil, err
		}
		for _, e := range bundle.Entry {
			if p, ok := strings.CutPrefix(e.Resource.Patient.Reference, "Patient/"); ok && clinical.ValidID(p) {
				seen[p] = true
			}
		}
		if len(bundle.Entry) < 1000 {
			break
		}
	}
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}
