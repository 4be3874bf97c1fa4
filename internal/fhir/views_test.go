package fhir

import (
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func ptr[T any](v T) *T { return &v }

// readView parses testdata/instances/name and decodes it into v both from
// the tree and from the raw JSON; the two must agree.
func readView[T any](t *testing.T, name string) *T {
	t.Helper()
	data, err := os.ReadFile("testdata/instances/" + name)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	fromTree, fromJSON := new(T), new(T)
	if err := r.Decode(fromTree); err != nil {
		t.Fatalf("%s: Decode: %v", name, err)
	}
	if err := DecodeJSON(data, fromJSON); err != nil {
		t.Fatalf("%s: DecodeJSON: %v", name, err)
	}
	if diff := cmp.Diff(fromJSON, fromTree); diff != "" {
		t.Fatalf("%s: Decode and DecodeJSON differ:\n%s", name, diff)
	}
	return fromTree
}

func TestViews(t *testing.T) {
	loinc, ucum, sct := "http://loinc.org", "http://unitsofmeasure.org", "http://snomed.info/sct"

	// Encounter-example.json, the whole resource.
	enc := readView[Encounter](t, "Encounter-example.json")
	wantEnc := &Encounter{
		Base:    Base{ResourceType: "Encounter", ID: "example"},
		Status:  "in-progress",
		Class:   Coding{System: "http://terminology.hl7.org/CodeSystem/v3-ActCode", Code: "IMP", Display: "inpatient encounter"},
		Subject: &Reference{Reference: "Patient/example"},
	}
	if diff := cmp.Diff(wantEnc, enc); diff != "" {
		t.Errorf("Encounter-example (-want +got):\n%s", diff)
	}

	// Condition-example.json, the whole resource less the narrative.
	cond := readView[Condition](t, "Condition-example.json")
	wantCond := &Condition{
		Base:               Base{ResourceType: "Condition", ID: "example"},
		ClinicalStatus:     &CodeableConcept{Coding: []Coding{{System: "http://terminology.hl7.org/CodeSystem/condition-clinical", Code: "active"}}},
		VerificationStatus: &CodeableConcept{Coding: []Coding{{System: "http://terminology.hl7.org/CodeSystem/condition-ver-status", Code: "confirmed"}}},
		Category: []CodeableConcept{{Coding: []Coding{
			{System: "http://terminology.hl7.org/CodeSystem/condition-category", Code: "encounter-diagnosis", Display: "Encounter Diagnosis"},
			{System: sct, Code: "439401001", Display: "Diagnosis"},
		}}},
		Severity:      &CodeableConcept{Coding: []Coding{{System: sct, Code: "24484000", Display: "Severe"}}},
		Code:          &CodeableConcept{Coding: []Coding{{System: sct, Code: "39065001", Display: "Burn of ear"}}, Text: "Burnt Ear"},
		BodySite:      []CodeableConcept{{Coding: []Coding{{System: sct, Code: "49521004", Display: "Left external ear structure"}}, Text: "Left Ear"}},
		Subject:       Reference{Reference: "Patient/example"},
		OnsetDateTime: "2012-05-24",
	}
	if diff := cmp.Diff(wantCond, cond); diff != "" {
		t.Errorf("Condition-example (-want +got):\n%s", diff)
	}

	// RiskAssessment-prognosis.json, the whole resource less the narrative.
	ra := readView[RiskAssessment](t, "RiskAssessment-prognosis.json")
	wantRA := &RiskAssessment{
		Base:               Base{ResourceType: "RiskAssessment", ID: "prognosis"},
		Status:             "final",
		Subject:            Reference{Reference: "Patient/example"},
		OccurrenceDateTime: "2010-11-22",
		Condition:          &Reference{Reference: "Condition/stroke", Display: "Ischemic Stroke"},
		Prediction: []RiskPrediction{{
			Outcome:         &CodeableConcept{Coding: []Coding{{System: sct, Code: "249943000:363698007=72098002,260868000=6934004"}}, Text: "permanent weakness of the left arm"},
			QualitativeRisk: &CodeableConcept{Coding: []Coding{{System: "http://terminology.hl7.org/CodeSystem/risk-probability", Code: "moderate", Display: "moderate likelihood"}}},
		}},
	}
	if diff := cmp.Diff(wantRA, ra); diff != "" {
		t.Errorf("RiskAssessment-prognosis (-want +got):\n%s", diff)
	}

	// Location-1.json, selected elements.
	loc := readView[Location](t, "Location-1.json")
	if diff := cmp.Diff(&Position{Longitude: "-83.6945691", Latitude: "42.25475478", Altitude: "0"}, loc.Position); diff != "" {
		t.Errorf("Location-1 position (-want +got):\n%s", diff)
	}
	if loc.Name != "South Wing, second floor" || loc.Status != "active" || loc.Mode != "instance" || loc.Address.City != "Den Burg" ||
		len(loc.Alias) != 2 || loc.ManagingOrganization.Reference != "Organization/f001" || !loc.PhysicalType.Has("http://terminology.hl7.org/CodeSystem/location-physical-type", "wi") {
		t.Errorf("Location-1: %+v", loc)
	}

	// Device-f001.json
	dev := readView[Device](t, "Device-f001.json")
	if diff := cmp.Diff(&Device{Base: Base{ResourceType: "Device", ID: "f001"}, Status: "active",
		Identifier: []Identifier{{System: "http:/goodhealthhospital/identifier/devices", Value: "12345"}}}, dev); diff != "" {
		t.Errorf("Device-f001 (-want +got):\n%s", diff)
	}

	// Patient-example.json
	pat := readView[Patient](t, "Patient-example.json")
	if pat.ID != "example" || pat.Gender != "male" || pat.BirthDate != "1974-12-25" || pat.DeceasedBoolean == nil || *pat.DeceasedBoolean ||
		pat.Active == nil || !*pat.Active || pat.ManagingOrganization.Reference != "Organization/1" {
		t.Errorf("Patient-example: %+v", pat)
	}
	if diff := cmp.Diff(HumanName{Use: "official", Family: "Chalmers", Given: []string{"Peter", "James"}}, pat.Name[0]); diff != "" {
		t.Errorf("Patient-example name[0] (-want +got):\n%s", diff)
	}
	if pat.Identifier[0].Value != "12345" || pat.Identifier[0].System != "urn:oid:1.2.36.146.595.217.0.1" || pat.Identifier[0].Period.Start != "2001-05-06" {
		t.Errorf("Patient-example identifier[0]: %+v", pat.Identifier[0])
	}

	// Observation-blood-pressure.json: components with quantities.
	bp := readView[Observation](t, "Observation-blood-pressure.json")
	if bp.Status != "final" || !bp.Code.Has(loinc, "85354-9") || bp.Subject.Reference != "Patient/example" || bp.Effective() != "2012-09-17" ||
		!bp.Category[0].Has("", "vital-signs") || !bp.Interpretation[0].Has("", "L") || len(bp.Component) != 2 {
		t.Fatalf("Observation-blood-pressure: %+v", bp)
	}
	sys, dia := bp.Component[0], bp.Component[1]
	if diff := cmp.Diff(&Quantity{Value: "107", Unit: "mmHg", System: ucum, Code: "mm[Hg]"}, sys.ValueQuantity); diff != "" || !sys.Code.Has(loinc, "8480-6") || !sys.Interpretation[0].Has("", "N") {
		t.Errorf("systolic component %+v %s", sys, diff)
	}
	if v, ok := dia.ValueQuantity.Float(); !ok || v != 60 || !dia.Code.Has(loinc, "8462-4") {
		t.Errorf("diastolic component %+v", dia)
	}

	// Observation-decimal.json keeps the decimal text in views too.
	dec := readView[Observation](t, "Observation-decimal.json")
	if dec.Component[1].ValueQuantity.Value != "1.00" || dec.Component[3].ValueQuantity.Value != "1E-22" {
		t.Errorf("Observation-decimal values %q %q", dec.Component[1].ValueQuantity.Value, dec.Component[3].ValueQuantity.Value)
	}

	// MedicationRequest-medrx0302.json: dosage and dispense request.
	mr := readView[MedicationRequest](t, "MedicationRequest-medrx0302.json")
	if mr.Status != "active" || mr.Intent != "order" || mr.MedicationReference.Reference != "#med0320" || mr.Subject.Reference != "Patient/pat1" ||
		mr.AuthoredOn != "2015-01-15" || mr.Encounter.Reference != "Encounter/f001" || !mr.ReasonCode[0].Has(sct, "11840006") {
		t.Errorf("MedicationRequest-medrx0302: %+v", mr)
	}
	wantDosage := Dosage{
		Sequence:              ptr(1),
		Text:                  "Two tablets at once",
		AdditionalInstruction: []CodeableConcept{{Coding: []Coding{{System: sct, Code: "311504000", Display: "With or after food"}}}},
		Timing:                &Timing{Repeat: &TimingRepeat{Frequency: ptr(1), Period: "1", PeriodUnit: "d"}},
		Route:                 &CodeableConcept{Coding: []Coding{{System: sct, Code: "26643006", Display: "Oral Route"}}},
		Method:                &CodeableConcept{Coding: []Coding{{System: sct, Code: "421521009", Display: "Swallow - dosing instruction imperative (qualifier value)"}}},
		DoseAndRate: []DoseAndRate{{
			Type:         &CodeableConcept{Coding: []Coding{{System: "http://terminology.hl7.org/CodeSystem/dose-rate-type", Code: "ordered", Display: "Ordered"}}},
			DoseQuantity: &Quantity{Value: "2", Unit: "TAB", System: "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm", Code: "TAB"},
		}},
	}
	if diff := cmp.Diff(wantDosage, mr.DosageInstruction[0]); diff != "" {
		t.Errorf("MedicationRequest-medrx0302 dosageInstruction[0] (-want +got):\n%s", diff)
	}
	if dr := mr.DispenseRequest; dr.ValidityPeriod.End != "2016-01-15" || *dr.NumberOfRepeatsAllowed != 1 || dr.Quantity.Value != "6" || dr.ExpectedSupplyDuration.Code != "d" {
		t.Errorf("MedicationRequest-medrx0302 dispenseRequest: %+v", dr)
	}

	// MedicationAdministration-medadmin0301.json
	ma := readView[MedicationAdministration](t, "MedicationAdministration-medadmin0301.json")
	if ma.Status != "in-progress" || ma.Effective() != "2015-01-15T14:30:00+01:00" || ma.Context.Reference != "Encounter/f001" || ma.Performer[0].Actor.Reference != "Practitioner/f007" {
		t.Errorf("MedicationAdministration-medadmin0301: %+v", ma)
	}
	if diff := cmp.Diff(&AdministrationDosage{
		Text:   "500mg IV q6h x 3 days",
		Route:  &CodeableConcept{Coding: []Coding{{System: sct, Code: "47625008", Display: "Intravenous route (qualifier value)"}}},
		Method: &CodeableConcept{Text: "IV Push"},
		Dose:   &Quantity{Value: "500", Unit: "mg", System: ucum, Code: "mg"},
	}, ma.Dosage); diff != "" {
		t.Errorf("MedicationAdministration-medadmin0301 dosage (-want +got):\n%s", diff)
	}

	// AuditEvent-example.json
	ae := readView[AuditEvent](t, "AuditEvent-example.json")
	if ae.Type.Code != "110100" || ae.Subtype[0].Code != "110120" || ae.Action != "E" || ae.Recorded != "2012-10-25T22:04:27+11:00" || ae.Outcome != "0" ||
		len(ae.Agent) != 2 || ae.Agent[0].Who.Identifier.Value != "Grahame" || ae.Agent[0].Network.Address != "127.0.0.1" || ae.Agent[1].AltID != "6580" ||
		ae.Source.Site != "Development" || ae.Source.Observer.Display != "Grahame's Laptop" || ae.Entity[0].What.Identifier.Value != "ABCDEF" {
		t.Errorf("AuditEvent-example: %+v", ae)
	}
}

func TestDecodeWrongType(t *testing.T) {
	r, err := Parse([]byte(`{"resourceType":"Patient","id":"p"}`))
	if err != nil {
		t.Fatal(err)
	}
	var o Observation
	err = r.Decode(&o)
	var fe *Error
	if !errors.As(err, &fe) || fe.Issues[0].Diagnostics != "a Patient cannot be read as a Observation" {
		t.Errorf("Decode(Patient into Observation) = %v", err)
	}
	err = DecodeJSON([]byte(`{"resourceType":"Patient"}`), &o)
	if !errors.As(err, &fe) || fe.Issues[0].Expression[0] != "resourceType" {
		t.Errorf("DecodeJSON(Patient into Observation) = %v", err)
	}
	err = DecodeJSON([]byte(`{"resourceType":"Observation","component":[{"valueQuantity":{"unit":7}}]}`), &o)
	want := []Issue{{Severity: "error", Code: "structure", Diagnostics: "a number cannot be read as string", Expression: []string{"Observation.component.valueQuantity.unit"}}}
	if !errors.As(err, &fe) {
		t.Fatalf("DecodeJSON(bad value) = %v", err)
	}
	if diff := cmp.Diff(want, fe.Issues); diff != "" {
		t.Errorf("issues (-want +got):\n%s", diff)
	}
}

func TestViewMarshal(t *testing.T) {
	// A twin writes results back as FHIR: a view marshals to JSON that
	// parses and validates.
	o := Observation{
		Base:    Base{ResourceType: "Observation"},
		Status:  "final",
		Code:    CodeableConcept{Coding: []Coding{{System: "http://loinc.org", Code: "8867-4"}}},
		Subject: &Reference{Reference: "Patient/p1"},
		ObservationValue: ObservationValue{
			ValueQuantity: &Quantity{Value: "72", Unit: "/min", System: "http://unitsofmeasure.org", Code: "/min"},
		},
		EffectiveDateTime: "2024-01-02T03:04:05Z",
	}
	data, err := json.Marshal(&o)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2024-01-02T03:04:05Z","valueQuantity":{"value":72,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}}`
	if string(data) != want {
		t.Errorf("json.Marshal =\n%s\nwant\n%s", data, want)
	}
	r, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(r); err != nil {
		t.Error(err)
	}
}

func TestDateTime(t *testing.T) {
	tests := []struct {
		in   DateTime
		want time.Time
	}{
		{"2013", time.Date(2013, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"2013-04", time.Date(2013, 4, 1, 0, 0, 0, 0, time.UTC)},
		{"2013-04-02", time.Date(2013, 4, 2, 0, 0, 0, 0, time.UTC)},
		{"2012-10-25T22:04:27+11:00", time.Date(2012, 10, 25, 11, 4, 27, 0, time.UTC)},
		{"2015-02-07T13:28:17.239Z", time.Date(2015, 2, 7, 13, 28, 17, 239e6, time.UTC)},
	}
	for _, tt := range tests {
		got, err := tt.in.Time()
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("%q.Time() = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []DateTime{"", "13", "2013-4-1", "2013-04-02T25:00:00Z"} {
		if _, err := bad.Time(); err == nil {
			t.Errorf("%q.Time(): no error", bad)
		}
	}
}

func TestReferenceTarget(t *testing.T) {
	tests := []struct {
		ref      string
		typ, id  string
		resolved bool
	}{
		{"Patient/123", "Patient", "123", true},
		{"Patient/123/_history/4", "Patient", "123", true},
		{"http://example.org/fhir/Observation/o-1", "Observation", "o-1", true},
		{"https://example.org/fhir/Observation/o-1/_history/2", "Observation", "o-1", true},
		{"urn:uuid:c757873d-ec9a-4326-a141-556f43239520", "", "", false},
		{"#med0320", "", "", false},
		{"Patient?identifier=x|1", "", "", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		typ, id, ok := (&Reference{Reference: tt.ref}).Target()
		if typ != tt.typ || id != tt.id || ok != tt.resolved {
			t.Errorf("Target(%q) = %q, %q, %v; want %q, %q, %v", tt.ref, typ, id, ok, tt.typ, tt.id, tt.resolved)
		}
	}
}
