package main

import (
	"context"
	"encoding/json"
	"time"

	"github.com/doppelhealth/doppel/internal/fhirops"
	"github.com/doppelhealth/doppel/internal/twin"
)

// fhirSink writes twin alerts to the store: a predicted hypoglycaemia as
// a RiskAssessment, a NEWS2 escalation or a lost data stream as a Flag,
// each tagged as made by the twin and created once (identifier from the
// patient, kind and time). Forecast and NEWS2 events are not stored; they
// go to subscribers only.
type fhirSink struct{ svc *fhirops.Service }

func (s fhirSink) Emit(ctx context.Context, e twin.Event) error {
	if e.Kind != twin.KindAlert {
		return nil
	}
	at := e.Time.UTC().Format(time.RFC3339Nano)
	id := []identifier{{System: twinAlertSystem, Value: hashID(e.Patient + "|" + e.Alert.Kind + "|" + at)}}
	meta := map[string]any{"tag": []coding{{System: twinTagSystem, Code: "forecast", Display: "made by a Doppel twin"}}}
	subject := reference{"Patient/" + e.Patient}
	var typ string
	var res any
	switch e.Alert.Kind {
	case twin.AlertHypo:
		typ = "RiskAssessment"
		res = map[string]any{
			"resourceType": typ, "meta": meta, "identifier": id, "status": "final", "subject": subject,
			"occurrenceDateTime": at,
			"method":             concept{Text: "Doppel glucose twin (assim/glucose particle filter, UVA/Padova S2008)"},
			"prediction": []map[string]any{{
				"outcome":            concept{Coding: []coding{{System: "http://snomed.info/sct", Code: "302866003", Display: "Hypoglycemia"}}, Text: "glucose below 70 mg/dL"},
				"probabilityDecimal": e.Alert.Probability,
				"whenRange":          map[string]any{"high": quantity{Value: 30, Unit: "min", System: ucum, Code: "min"}},
			}},
			"note": []map[string]string{{"text": e.Alert.Message}},
		}
	default:
		typ = "Flag"
		res = map[string]any{
			"resourceType": typ, "meta": meta, "identifier": id, "status": "active", "subject": subject,
			"code":   concept{Coding: []coding{{System: twinTagSystem, Code: e.Alert.Kind}}, Text: e.Alert.Message},
			"period": map[string]string{"start": at},
		}
	}
	body, err := json.Marshal(res)
	if err != nil {
		return err
	}
	_, err = s.svc.Create(ctx, typ, body, "identifier="+twinAlertSystem+"|"+id[0].Value)
	return err
}
