package main

import (
	"cmp"
	"context"
	"encoding/json"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/doppelhealth/doppel/internal/clinical"
	"github.com/doppelhealth/doppel/internal/clinical/fhirobs"
	"github.com/doppelhealth/doppel/internal/fhirops"
	"github.com/doppelhealth/doppel/internal/store"
	"github.com/doppelhealth/doppel/internal/twin"
)

// replayTwins gives each patient with a Device the diabetes data stored
// since its twin's last CGM reading (all of it when it has no twin yet),
// in time order: CGM samples of series, FHIR Observations of CGM (99504-3)
// and carbohydrate (9059-7), and the insulin MedicationAdministrations the
// device stream wrote (identifier system fhirobs.IdentifierSystem; the live twins
// see no others). Every reading is stored before its stream message is
// acknowledged, but a twin's state is saved only every few minutes: after a
// kill -9 these are the data the twin had seen and forgotten (issue 7,
// item 8). Replaying is idempotent: a twin ignores a reading not newer than
// its last one and an entry older than it or already waiting (by duplicate
// key), so the messages the stream redelivers afterwards count once.
//
// Entries with the same time are replayed in the order of their duplicate
// key; the live twin's result does not depend on the order of a dose and a
// reading at the same time. One difference from a twin that never stopped
// remains: an entry that arrived late, after a reading newer than itself,
// was ignored by the live twin but is applied by the replay when it is
// newer than the snapshot's last reading.
func replayTwins(ctx context.Context, mgr *twin.Manager, svc *fhirops.Service, series store.Series) (int, error) {
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
			from = st.Glucose.LastReading
		}
		obs, err := storedDiabetesData(ctx, svc, series, p, from)
		if err != nil {
			return n, err
		}
		for _, o := range obs {
			if err := mgr.Observe(ctx, o); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// storedDiabetesData returns the CGM readings, carbohydrate entries and
// device insulin doses of patient stored at or after from (all of them if
// from is zero), sorted by time, then duplicate key.
func storedDiabetesData(ctx context.Context, svc *fhirops.Service, series store.Series, patient string, from time.Time) ([]clinical.Observation, error) {
	var out []clinical.Observation
	if series != nil {
		ss, err := series.Samples(ctx, store.SampleQuery{Patient: patient, Code: clinical.CodeGlucoseCGM, From: from})
		if err != nil {
			return nil, err
		}
		for _, s := range ss {
			out = append(out, clinical.Observation{Patient: patient, Device: s.Device, Code: s.Code,
				Value: &clinical.Quantity{Value: s.Value, Unit: s.Unit}, Effective: s.Time})
		}
	}
	since := func(param string) url.Values {
		q := url.Values{"subject": {"Patient/" + patient}}
		if !from.IsZero() { // to the second: FHIR search dates; the twin drops what is older
			q.Set(param, "ge"+from.UTC().Truncate(time.Second).Format(time.RFC3339))
		}
		return q
	}
	q := since("date")
	q.Set("code", clinical.LOINC+"|"+clinical.CodeGlucoseCGM+","+clinical.LOINC+"|"+clinical.CodeCarbIntake)
	err := searchAll(ctx, svc, "Observation", q, func(id string, body json.RawMessage) {
		if o, ok := clinicalFromFHIR(id, body); ok {
			if dev, ok := deviceOf(body); ok { // written by the stream: the device's key
				o.Device = dev
			}
			out = append(out, o)
		}
	})
	if err != nil {
		return nil, err
	}
	err = searchAll(ctx, svc, "MedicationAdministration", since("effective-time"), func(_ string, body json.RawMessage) {
		if o, ok := insulinFromFHIR(body); ok {
			out = append(out, o)
		}
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b clinical.Observation) int {
		return cmp.Or(a.Effective.Compare(b.Effective), strings.Compare(a.Key(), b.Key()))
	})
	return out, nil
}

// deviceOf returns the id of the Device a stored Observation names.
func deviceOf(body []byte) (string, bool) {
	var r struct {
		Device reference `json:"device"`
	}
	if json.Unmarshal(body, &r) != nil {
		return "", false
	}
	id, ok := strings.CutPrefix(r.Device.Reference, "Device/")
	return id, ok && clinical.ValidID(id)
}

// insulinFromFHIR maps a MedicationAdministration that the device stream
// wrote (storeObservation: identifier of fhirobs.IdentifierSystem, ATC A10A, a
// Patient subject, effectiveDateTime, the Device, dosage.dose in [IU])
// back to the dose the twin was handed; false for any other.
func insulinFromFHIR(body []byte) (clinical.Observation, bool) {
	var r struct {
		Status     string       `json:"status"`
		Identifier []identifier `json:"identifier"`
		Medication struct {
			Coding []struct{ System, Code string } `json:"coding"`
		} `json:"medicationCodeableConcept"`
		Subject reference   `json:"subject"`
		At      string      `json:"effectiveDateTime"`
		Device  []reference `json:"device"`
		Dosage  struct {
			Dose *struct {
				Value *float64 `json:"value"`
				Code  string   `json:"code"`
				Unit  string   `json:"unit"`
			} `json:"dose"`
		} `json:"dosage"`
	}
	if json.Unmarshal(body, &r) != nil || r.Status != "completed" || len(r.Device) != 1 || r.Dosage.Dose == nil || r.Dosage.Dose.Value == nil ||
		!slices.ContainsFunc(r.Identifier, func(i identifier) bool { return i.System == fhirobs.IdentifierSystem }) ||
		!slices.ContainsFunc(r.Medication.Coding, func(c struct{ System, Code string }) bool {
			return c.System == clinical.ATC && c.Code == clinical.CodeInsulin
		}) {
		return clinical.Observation{}, false
	}
	patient, _ := strings.CutPrefix(r.Subject.Reference, "Patient/")
	dev, _ := strings.CutPrefix(r.Device[0].Reference, "Device/")
	at, err := time.Parse(time.RFC3339Nano, r.At)
	if err != nil {
		return clinical.Observation{}, false
	}
	o, err := clinical.Normalize(clinical.Observation{Patient: patient, Device: dev, Code: clinical.CodeInsulin, Effective: at,
		Value: &clinical.Quantity{Value: *r.Dosage.Dose.Value, Unit: cmpOr(r.Dosage.Dose.Code, r.Dosage.Dose.Unit)}})
	return o, err == nil && o.Patient != ""
}

// searchAll runs a search of typ with q in pages of 1,000, following the
// bundle's next links (a stable snapshot of the store), and calls fn with
// the id and body of each resource found.
func searchAll(ctx context.Context, svc *fhirops.Service, typ string, q url.Values, fn func(id string, body json.RawMessage)) error {
	q.Set("_count", "1000")
	for {
		b, err := svc.Search(ctx, typ, q, true, "http://doppel.invalid/fhir")
		if err != nil {
			return err
		}
		type link struct {
			Relation string `json:"relation"`
			URL      string `json:"url"`
		}
		var bundle struct {
			Link  []link `json:"link"`
			Entry []struct {
				Resource json.RawMessage `json:"resource"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(b, &bundle); err != nil {
			return err
		}
		for _, e := range bundle.Entry {
			var r struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(e.Resource, &r) == nil {
				fn(r.ID, e.Resource)
			}
		}
		i := slices.IndexFunc(bundle.Link, func(l link) bool { return l.Relation == "next" })
		if i < 0 || len(bundle.Entry) == 0 {
			return nil
		}
		next, err := url.Parse(bundle.Link[i].URL)
		if err != nil {
			return err
		}
		q = next.Query()
	}
}

// devicePatients lists the patients that Device resources name, sorted.
func devicePatients(ctx context.Context, svc *fhirops.Service) ([]string, error) {
	seen := map[string]bool{}
	err := searchAll(ctx, svc, "Device", url.Values{"_elements": {"patient"}}, func(_ string, body json.RawMessage) {
		var d struct {
			Patient reference `json:"patient"`
		}
		if json.Unmarshal(body, &d) != nil {
			return
		}
		if p, ok := strings.CutPrefix(d.Patient.Reference, "Patient/"); ok && clinical.ValidID(p) {
			seen[p] = true
		}
	})
	if err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(seen)), nil
}
