package fhir

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
)

// The typed views below are read-only structs holding the elements the
// twins use. They are decoded with [Resource.Decode] or [DecodeJSON];
// elements they do not name are ignored (the Resource keeps them). Choice
// elements (value[x], effective[x], ...) appear as one field per type the
// twins read. Decimals are json.Number so that no precision is lost.

// Base holds the elements every view shares.
type Base struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id,omitempty"`
	Meta         *Meta  `json:"meta,omitempty"`
}

func (b *Base) gotType() string { return b.ResourceType }

// Meta is the metadata of a resource.
type Meta struct {
	VersionID   string   `json:"versionId,omitempty"`
	LastUpdated DateTime `json:"lastUpdated,omitempty"`
	Source      string   `json:"source,omitempty"`
	Profile     []string `json:"profile,omitempty"`
	Tag         []Coding `json:"tag,omitempty"`
	Security    []Coding `json:"security,omitempty"`
}

// view is implemented by the typed views.
type view interface {
	viewType() string
	gotType() string
}

// Decode decodes the resource's tree into v, which is usually a pointer to
// one of the typed views (*Patient, *Observation, ...). For a view, the
// resource must be of the view's type. Errors are *Error with status 400.
func (r *Resource) Decode(v any) error {
	if vw, ok := v.(view); ok && vw.viewType() != r.Type {
		return badRequest("invalid", "a "+r.Type+" cannot be read as a "+vw.viewType(), r.Type)
	}
	return DecodeJSON(appendJSON(nil, r.Tree), v)
}

// DecodeJSON decodes the JSON of a resource straight into v (a view, for
// example), skipping the generic tree. Unknown elements are ignored. For a
// view, resourceType must be the view's type. Errors are *Error with
// status 400 whose expression locates the element that could not be
// decoded.
func DecodeJSON(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			root := "$"
			if vw, ok := v.(view); ok {
				root = vw.viewType()
			}
			// encoding/json names embedded structs in Field; FHIR element
			// names start with a lower-case letter, Go struct names do not.
			var segs []string
			for seg := range strings.SplitSeq(te.Field, ".") {
				if seg != "" && !(seg[0] >= 'A' && seg[0] <= 'Z') {
					segs = append(segs, seg)
				}
			}
			return badRequest("structure", "a "+te.Value+" cannot be read as "+te.Type.String(), joinPath(root, segs...))
		}
		return badRequest("structure", "invalid JSON: "+strings.TrimPrefix(err.Error(), "json: "))
	}
	if vw, ok := v.(view); ok && vw.gotType() != vw.viewType() {
		return &Error{Status: http.StatusBadRequest, Issues: []Issue{{
			Severity: "error", Code: "invalid", Expression: []string{"resourceType"},
			Diagnostics: "resourceType must be " + vw.viewType(),
		}}}
	}
	return nil
}

// DateTime is a FHIR date, dateTime or instant in its JSON text form
// ("2013", "2013-04", "2013-04-02", "2013-04-02T09:30:10+01:00", ...).
type DateTime string

// Time returns the start of the period the value denotes. Values without
// a time zone are read as UTC. The zero DateTime gives an error.
func (d DateTime) Time() (time.Time, error) {
	s := string(d)
	layouts := []string{"2006", "2006-01", "2006-01-02", time.RFC3339Nano}
	switch {
	case len(s) == 4:
		return time.Parse(layouts[0], s)
	case len(s) == 7:
		return time.Parse(layouts[1], s)
	case len(s) == 10:
		return time.Parse(layouts[2], s)
	case len(s) > 10 && s[10] == 'T':
		if !strings.HasSuffix(s, "Z") && !strings.ContainsAny(s[10:], "+-") {
			s += "Z" // time without zone (not valid FHIR, but seen): read as UTC
		}
		return time.Parse(layouts[3], s)
	}
	return time.Time{}, errors.New("fhir: invalid date/time")
}

// Coding is a code from a code system.
type Coding struct {
	System       string `json:"system,omitempty"`
	Version      string `json:"version,omitempty"`
	Code         string `json:"code,omitempty"`
	Display      string `json:"display,omitempty"`
	UserSelected *bool  `json:"userSelected,omitempty"`
}

// CodeableConcept is a concept given by codings and/or text.
type CodeableConcept struct {
	Coding []Coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

// Has reports whether one of the codings has the system and code; an empty
// system matches any system.
func (c *CodeableConcept) Has(system, code string) bool {
	if c == nil {
		return false
	}
	for _, cd := range c.Coding {
		if cd.Code == code && (system == "" || cd.System == system) {
			return true
		}
	}
	return false
}

// Quantity is a measured amount (also Age, Duration, SimpleQuantity).
type Quantity struct {
	Value      json.Number `json:"value,omitempty"`
	Comparator string      `json:"comparator,omitempty"`
	Unit       string      `json:"unit,omitempty"`
	System     string      `json:"system,omitempty"`
	Code       string      `json:"code,omitempty"`
}

// Float returns the value as a float64; ok is false when there is no
// value.
func (q *Quantity) Float() (v float64, ok bool) {
	if q == nil || q.Value == "" {
		return 0, false
	}
	f, err := q.Value.Float64()
	return f, err == nil
}

// Range is a low and high quantity.
type Range struct {
	Low  *Quantity `json:"low,omitempty"`
	High *Quantity `json:"high,omitempty"`
}

// Ratio is a ratio of two quantities (a rate, a concentration).
type Ratio struct {
	Numerator   *Quantity `json:"numerator,omitempty"`
	Denominator *Quantity `json:"denominator,omitempty"`
}

// Period is a time interval; either end may be missing.
type Period struct {
	Start DateTime `json:"start,omitempty"`
	End   DateTime `json:"end,omitempty"`
}

// Identifier is a business identifier.
type Identifier struct {
	Use    string           `json:"use,omitempty"`
	Type   *CodeableConcept `json:"type,omitempty"`
	System string           `json:"system,omitempty"`
	Value  string           `json:"value,omitempty"`
	Period *Period          `json:"period,omitempty"`
}

// Reference points at another resource.
type Reference struct {
	Reference  string      `json:"reference,omitempty"`
	Type       string      `json:"type,omitempty"`
	Identifier *Identifier `json:"identifier,omitempty"`
	Display    string      `json:"display,omitempty"`
}

// Target returns the resource type and id that a relative reference
// ("Patient/123", "Patient/123/_history/2") or a RESTful absolute URL
// names; ok is false for other forms (urn:uuid:, #contained, conditional
// references, logical references).
func (r *Reference) Target() (typ, id string, ok bool) {
	if r == nil {
		return "", "", false
	}
	s := r.Reference
	if strings.Contains(s, "?") {
		return "", "", false
	}
	typ, ok = referenceType(s)
	if !ok || typ == "" {
		return "", "", false
	}
	segs := strings.Split(s, "/")
	if n := len(segs); n >= 4 && segs[n-2] == "_history" {
		segs = segs[:n-2]
	}
	return typ, segs[len(segs)-1], true
}

// HumanName is a person's name.
type HumanName struct {
	Use    string   `json:"use,omitempty"`
	Text   string   `json:"text,omitempty"`
	Family string   `json:"family,omitempty"`
	Given  []string `json:"given,omitempty"`
	Prefix []string `json:"prefix,omitempty"`
	Suffix []string `json:"suffix,omitempty"`
	Period *Period  `json:"period,omitempty"`
}

// Address is a postal address.
type Address struct {
	Use        string   `json:"use,omitempty"`
	Type       string   `json:"type,omitempty"`
	Text       string   `json:"text,omitempty"`
	Line       []string `json:"line,omitempty"`
	City       string   `json:"city,omitempty"`
	District   string   `json:"district,omitempty"`
	State      string   `json:"state,omitempty"`
	PostalCode string   `json:"postalCode,omitempty"`
	Country    string   `json:"country,omitempty"`
}

// Annotation is a note.
type Annotation struct {
	AuthorReference *Reference `json:"authorReference,omitempty"`
	AuthorString    string     `json:"authorString,omitempty"`
	Time            DateTime   `json:"time,omitempty"`
	Text            string     `json:"text,omitempty"`
}

// Patient is the view of a Patient resource.
type Patient struct {
	Base
	Identifier           []Identifier      `json:"identifier,omitempty"`
	Active               *bool             `json:"active,omitempty"`
	Name                 []HumanName       `json:"name,omitempty"`
	Gender               string            `json:"gender,omitempty"`
	BirthDate            DateTime          `json:"birthDate,omitempty"`
	DeceasedBoolean      *bool             `json:"deceasedBoolean,omitempty"`
	DeceasedDateTime     DateTime          `json:"deceasedDateTime,omitempty"`
	Address              []Address         `json:"address,omitempty"`
	MaritalStatus        *CodeableConcept  `json:"maritalStatus,omitempty"`
	MultipleBirthBoolean *bool             `json:"multipleBirthBoolean,omitempty"`
	MultipleBirthInteger *int              `json:"multipleBirthInteger,omitempty"`
	GeneralPractitioner  []Reference       `json:"generalPractitioner,omitempty"`
	ManagingOrganization *Reference        `json:"managingOrganization,omitempty"`
	Link                 []PatientLink     `json:"link,omitempty"`
	Communication        []PatientLanguage `json:"communication,omitempty"`
}

// PatientLink links a Patient to another patient or person.
type PatientLink struct {
	Other Reference `json:"other"`
	Type  string    `json:"type,omitempty"`
}

// PatientLanguage is a language the patient communicates in.
type PatientLanguage struct {
	Language  CodeableConcept `json:"language"`
	Preferred *bool           `json:"preferred,omitempty"`
}

func (*Patient) viewType() string { return "Patient" }

// ObservationValue holds the value[x] choices of Observation and its components.
type ObservationValue struct {
	ValueQuantity        *Quantity         `json:"valueQuantity,omitempty"`
	ValueCodeableConcept *CodeableConcept  `json:"valueCodeableConcept,omitempty"`
	ValueString          string            `json:"valueString,omitempty"`
	ValueBoolean         *bool             `json:"valueBoolean,omitempty"`
	ValueInteger         *int              `json:"valueInteger,omitempty"`
	ValueRange           *Range            `json:"valueRange,omitempty"`
	ValueRatio           *Ratio            `json:"valueRatio,omitempty"`
	ValueTime            string            `json:"valueTime,omitempty"`
	ValueDateTime        DateTime          `json:"valueDateTime,omitempty"`
	ValuePeriod          *Period           `json:"valuePeriod,omitempty"`
	DataAbsentReason     *CodeableConcept  `json:"dataAbsentReason,omitempty"`
	Interpretation       []CodeableConcept `json:"interpretation,omitempty"`
	ReferenceRange       []ReferenceRange  `json:"referenceRange,omitempty"`
}

// ReferenceRange is the normal or recommended range of an observation.
type ReferenceRange struct {
	Low       *Quantity         `json:"low,omitempty"`
	High      *Quantity         `json:"high,omitempty"`
	Type      *CodeableConcept  `json:"type,omitempty"`
	AppliesTo []CodeableConcept `json:"appliesTo,omitempty"`
	Age       *Range            `json:"age,omitempty"`
	Text      string            `json:"text,omitempty"`
}

// Observation is the view of an Observation resource.
type Observation struct {
	Base
	Identifier        []Identifier           `json:"identifier,omitempty"`
	BasedOn           []Reference            `json:"basedOn,omitempty"`
	PartOf            []Reference            `json:"partOf,omitempty"`
	Status            string                 `json:"status,omitempty"`
	Category          []CodeableConcept      `json:"category,omitempty"`
	Code              CodeableConcept        `json:"code"`
	Subject           *Reference             `json:"subject,omitempty"`
	Focus             []Reference            `json:"focus,omitempty"`
	Encounter         *Reference             `json:"encounter,omitempty"`
	EffectiveDateTime DateTime               `json:"effectiveDateTime,omitempty"`
	EffectivePeriod   *Period                `json:"effectivePeriod,omitempty"`
	EffectiveInstant  DateTime               `json:"effectiveInstant,omitempty"`
	Issued            DateTime               `json:"issued,omitempty"`
	Performer         []Reference            `json:"performer,omitempty"`
	Note              []Annotation           `json:"note,omitempty"`
	BodySite          *CodeableConcept       `json:"bodySite,omitempty"`
	Method            *CodeableConcept       `json:"method,omitempty"`
	Device            *Reference             `json:"device,omitempty"`
	HasMember         []Reference            `json:"hasMember,omitempty"`
	DerivedFrom       []Reference            `json:"derivedFrom,omitempty"`
	Component         []ObservationComponent `json:"component,omitempty"`
	ObservationValue
}

// ObservationComponent is one component of an Observation (for example
// the systolic part of a blood pressure).
type ObservationComponent struct {
	Code CodeableConcept `json:"code"`
	ObservationValue
}

func (*Observation) viewType() string { return "Observation" }

// Effective returns when the observation applies: effectiveDateTime,
// effectiveInstant, or the start of effectivePeriod ("" if none).
func (o *Observation) Effective() DateTime {
	switch {
	case o.EffectiveDateTime != "":
		return o.EffectiveDateTime
	case o.EffectiveInstant != "":
		return o.EffectiveInstant
	case o.EffectivePeriod != nil:
		return o.EffectivePeriod.Start
	}
	return ""
}

// Encounter is the view of an Encounter resource.
type Encounter struct {
	Base
	Identifier      []Identifier              `json:"identifier,omitempty"`
	Status          string                    `json:"status,omitempty"`
	Class           Coding                    `json:"class"`
	Type            []CodeableConcept         `json:"type,omitempty"`
	ServiceType     *CodeableConcept          `json:"serviceType,omitempty"`
	Priority        *CodeableConcept          `json:"priority,omitempty"`
	Subject         *Reference                `json:"subject,omitempty"`
	EpisodeOfCare   []Reference               `json:"episodeOfCare,omitempty"`
	BasedOn         []Reference               `json:"basedOn,omitempty"`
	Participant     []EncounterParticipant    `json:"participant,omitempty"`
	Period          *Period                   `json:"period,omitempty"`
	Length          *Quantity                 `json:"length,omitempty"`
	ReasonCode      []CodeableConcept         `json:"reasonCode,omitempty"`
	ReasonReference []Reference               `json:"reasonReference,omitempty"`
	Diagnosis       []EncounterDiagnosis      `json:"diagnosis,omitempty"`
	Hospitalization *EncounterHospitalization `json:"hospitalization,omitempty"`
	Location        []EncounterLocation       `json:"location,omitempty"`
	ServiceProvider *Reference                `json:"serviceProvider,omitempty"`
	PartOf          *Reference                `json:"partOf,omitempty"`
}

// EncounterParticipant is someone who took part in an encounter.
type EncounterParticipant struct {
	Type       []CodeableConcept `json:"type,omitempty"`
	Period     *Period           `json:"period,omitempty"`
	Individual *Reference        `json:"individual,omitempty"`
}

// EncounterDiagnosis is a diagnosis relevant to an encounter.
type EncounterDiagnosis struct {
	Condition Reference        `json:"condition"`
	Use       *CodeableConcept `json:"use,omitempty"`
	Rank      *int             `json:"rank,omitempty"`
}

// EncounterHospitalization holds the admission details of an encounter.
type EncounterHospitalization struct {
	AdmitSource          *CodeableConcept `json:"admitSource,omitempty"`
	ReAdmission          *CodeableConcept `json:"reAdmission,omitempty"`
	Origin               *Reference       `json:"origin,omitempty"`
	Destination          *Reference       `json:"destination,omitempty"`
	DischargeDisposition *CodeableConcept `json:"dischargeDisposition,omitempty"`
}

// EncounterLocation is a place where the patient was during an encounter.
type EncounterLocation struct {
	Location Reference `json:"location"`
	Status   string    `json:"status,omitempty"`
	Period   *Period   `json:"period,omitempty"`
}

func (*Encounter) viewType() string { return "Encounter" }

// Condition is the view of a Condition resource.
type Condition struct {
	Base
	Identifier         []Identifier      `json:"identifier,omitempty"`
	ClinicalStatus     *CodeableConcept  `json:"clinicalStatus,omitempty"`
	VerificationStatus *CodeableConcept  `json:"verificationStatus,omitempty"`
	Category           []CodeableConcept `json:"category,omitempty"`
	Severity           *CodeableConcept  `json:"severity,omitempty"`
	Code               *CodeableConcept  `json:"code,omitempty"`
	BodySite           []CodeableConcept `json:"bodySite,omitempty"`
	Subject            Reference         `json:"subject"`
	Encounter          *Reference        `json:"encounter,omitempty"`
	OnsetDateTime      DateTime          `json:"onsetDateTime,omitempty"`
	OnsetAge           *Quantity         `json:"onsetAge,omitempty"`
	OnsetPeriod        *Period           `json:"onsetPeriod,omitempty"`
	OnsetString        string            `json:"onsetString,omitempty"`
	AbatementDateTime  DateTime          `json:"abatementDateTime,omitempty"`
	AbatementAge       *Quantity         `json:"abatementAge,omitempty"`
	AbatementPeriod    *Period           `json:"abatementPeriod,omitempty"`
	AbatementString    string            `json:"abatementString,omitempty"`
	RecordedDate       DateTime          `json:"recordedDate,omitempty"`
	Recorder           *Reference        `json:"recorder,omitempty"`
	Asserter           *Reference        `json:"asserter,omitempty"`
	Note               []Annotation      `json:"note,omitempty"`
}

func (*Condition) viewType() string { return "Condition" }

// Dosage is how a medication is or was to be taken.
type Dosage struct {
	Sequence                 *int              `json:"sequence,omitempty"`
	Text                     string            `json:"text,omitempty"`
	AdditionalInstruction    []CodeableConcept `json:"additionalInstruction,omitempty"`
	PatientInstruction       string            `json:"patientInstruction,omitempty"`
	Timing                   *Timing           `json:"timing,omitempty"`
	AsNeededBoolean          *bool             `json:"asNeededBoolean,omitempty"`
	AsNeededCodeableConcept  *CodeableConcept  `json:"asNeededCodeableConcept,omitempty"`
	Site                     *CodeableConcept  `json:"site,omitempty"`
	Route                    *CodeableConcept  `json:"route,omitempty"`
	Method                   *CodeableConcept  `json:"method,omitempty"`
	DoseAndRate              []DoseAndRate     `json:"doseAndRate,omitempty"`
	MaxDosePerPeriod         *Ratio            `json:"maxDosePerPeriod,omitempty"`
	MaxDosePerAdministration *Quantity         `json:"maxDosePerAdministration,omitempty"`
	MaxDosePerLifetime       *Quantity         `json:"maxDosePerLifetime,omitempty"`
}

// DoseAndRate is an amount of medication per dose and/or per time.
type DoseAndRate struct {
	Type         *CodeableConcept `json:"type,omitempty"`
	DoseRange    *Range           `json:"doseRange,omitempty"`
	DoseQuantity *Quantity        `json:"doseQuantity,omitempty"`
	RateRatio    *Ratio           `json:"rateRatio,omitempty"`
	RateRange    *Range           `json:"rateRange,omitempty"`
	RateQuantity *Quantity        `json:"rateQuantity,omitempty"`
}

// Timing is when an event is to happen: explicit times and/or a repeat
// rule.
type Timing struct {
	Event  []DateTime       `json:"event,omitempty"`
	Repeat *TimingRepeat    `json:"repeat,omitempty"`
	Code   *CodeableConcept `json:"code,omitempty"`
}

// TimingRepeat is a repeat rule: Frequency times per Period PeriodUnit
// ("s", "min", "h", "d", "wk", "mo", "a"), within the bounds.
type TimingRepeat struct {
	BoundsDuration *Quantity   `json:"boundsDuration,omitempty"`
	BoundsRange    *Range      `json:"boundsRange,omitempty"`
	BoundsPeriod   *Period     `json:"boundsPeriod,omitempty"`
	Count          *int        `json:"count,omitempty"`
	CountMax       *int        `json:"countMax,omitempty"`
	Duration       json.Number `json:"duration,omitempty"`
	DurationMax    json.Number `json:"durationMax,omitempty"`
	DurationUnit   string      `json:"durationUnit,omitempty"`
	Frequency      *int        `json:"frequency,omitempty"`
	FrequencyMax   *int        `json:"frequencyMax,omitempty"`
	Period         json.Number `json:"period,omitempty"`
	PeriodMax      json.Number `json:"periodMax,omitempty"`
	PeriodUnit     string      `json:"periodUnit,omitempty"`
	DayOfWeek      []string    `json:"dayOfWeek,omitempty"`
	TimeOfDay      []string    `json:"timeOfDay,omitempty"`
	When           []string    `json:"when,omitempty"`
	Offset         *int        `json:"offset,omitempty"`
}

// MedicationChoice holds the medication[x] choice of the medication resources.
type MedicationChoice struct {
	MedicationCodeableConcept *CodeableConcept `json:"medicationCodeableConcept,omitempty"`
	MedicationReference       *Reference       `json:"medicationReference,omitempty"`
}

// MedicationRequest is the view of a MedicationRequest resource.
type MedicationRequest struct {
	Base
	Identifier   []Identifier      `json:"identifier,omitempty"`
	Status       string            `json:"status,omitempty"`
	StatusReason *CodeableConcept  `json:"statusReason,omitempty"`
	Intent       string            `json:"intent,omitempty"`
	Category     []CodeableConcept `json:"category,omitempty"`
	Priority     string            `json:"priority,omitempty"`
	DoNotPerform *bool             `json:"doNotPerform,omitempty"`
	MedicationChoice
	Subject             Reference         `json:"subject"`
	Encounter           *Reference        `json:"encounter,omitempty"`
	AuthoredOn          DateTime          `json:"authoredOn,omitempty"`
	Requester           *Reference        `json:"requester,omitempty"`
	ReasonCode          []CodeableConcept `json:"reasonCode,omitempty"`
	ReasonReference     []Reference       `json:"reasonReference,omitempty"`
	BasedOn             []Reference       `json:"basedOn,omitempty"`
	CourseOfTherapyType *CodeableConcept  `json:"courseOfTherapyType,omitempty"`
	Note                []Annotation      `json:"note,omitempty"`
	DosageInstruction   []Dosage          `json:"dosageInstruction,omitempty"`
	DispenseRequest     *DispenseRequest  `json:"dispenseRequest,omitempty"`
	PriorPrescription   *Reference        `json:"priorPrescription,omitempty"`
}

// DispenseRequest is the supply part of a MedicationRequest.
type DispenseRequest struct {
	ValidityPeriod         *Period    `json:"validityPeriod,omitempty"`
	NumberOfRepeatsAllowed *int       `json:"numberOfRepeatsAllowed,omitempty"`
	Quantity               *Quantity  `json:"quantity,omitempty"`
	ExpectedSupplyDuration *Quantity  `json:"expectedSupplyDuration,omitempty"`
	Performer              *Reference `json:"performer,omitempty"`
}

func (*MedicationRequest) viewType() string { return "MedicationRequest" }

// MedicationAdministration is the view of a MedicationAdministration
// resource.
type MedicationAdministration struct {
	Base
	Identifier   []Identifier      `json:"identifier,omitempty"`
	PartOf       []Reference       `json:"partOf,omitempty"`
	Status       string            `json:"status,omitempty"`
	StatusReason []CodeableConcept `json:"statusReason,omitempty"`
	Category     *CodeableConcept  `json:"category,omitempty"`
	MedicationChoice
	Subject           Reference                 `json:"subject"`
	Context           *Reference                `json:"context,omitempty"`
	EffectiveDateTime DateTime                  `json:"effectiveDateTime,omitempty"`
	EffectivePeriod   *Period                   `json:"effectivePeriod,omitempty"`
	Performer         []AdministrationPerformer `json:"performer,omitempty"`
	ReasonCode        []CodeableConcept         `json:"reasonCode,omitempty"`
	ReasonReference   []Reference               `json:"reasonReference,omitempty"`
	Request           *Reference                `json:"request,omitempty"`
	Device            []Reference               `json:"device,omitempty"`
	Note              []Annotation              `json:"note,omitempty"`
	Dosage            *AdministrationDosage     `json:"dosage,omitempty"`
}

// AdministrationPerformer is who gave a medication.
type AdministrationPerformer struct {
	Function *CodeableConcept `json:"function,omitempty"`
	Actor    Reference        `json:"actor"`
}

// AdministrationDosage is the dose actually given.
type AdministrationDosage struct {
	Text         string           `json:"text,omitempty"`
	Site         *CodeableConcept `json:"site,omitempty"`
	Route        *CodeableConcept `json:"route,omitempty"`
	Method       *CodeableConcept `json:"method,omitempty"`
	Dose         *Quantity        `json:"dose,omitempty"`
	RateRatio    *Ratio           `json:"rateRatio,omitempty"`
	RateQuantity *Quantity        `json:"rateQuantity,omitempty"`
}

func (*MedicationAdministration) viewType() string { return "MedicationAdministration" }

// Effective returns effectiveDateTime or the start of effectivePeriod.
func (m *MedicationAdministration) Effective() DateTime {
	if m.EffectiveDateTime == "" && m.EffectivePeriod != nil {
		return m.EffectivePeriod.Start
	}
	return m.EffectiveDateTime
}

// Device is the view of a Device resource.
type Device struct {
	Base
	Identifier         []Identifier      `json:"identifier,omitempty"`
	Definition         *Reference        `json:"definition,omitempty"`
	Status             string            `json:"status,omitempty"`
	StatusReason       []CodeableConcept `json:"statusReason,omitempty"`
	DistinctIdentifier string            `json:"distinctIdentifier,omitempty"`
	Manufacturer       string            `json:"manufacturer,omitempty"`
	ManufactureDate    DateTime          `json:"manufactureDate,omitempty"`
	ExpirationDate     DateTime          `json:"expirationDate,omitempty"`
	LotNumber          string            `json:"lotNumber,omitempty"`
	SerialNumber       string            `json:"serialNumber,omitempty"`
	DeviceName         []DeviceName      `json:"deviceName,omitempty"`
	ModelNumber        string            `json:"modelNumber,omitempty"`
	PartNumber         string            `json:"partNumber,omitempty"`
	Type               *CodeableConcept  `json:"type,omitempty"`
	Version            []DeviceVersion   `json:"version,omitempty"`
	Patient            *Reference        `json:"patient,omitempty"`
	Owner              *Reference        `json:"owner,omitempty"`
	Location           *Reference        `json:"location,omitempty"`
	URL                string            `json:"url,omitempty"`
	Parent             *Reference        `json:"parent,omitempty"`
}

// DeviceName is a name of a device.
type DeviceName struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// DeviceVersion is a version of a device's hardware or software.
type DeviceVersion struct {
	Type  *CodeableConcept `json:"type,omitempty"`
	Value string           `json:"value"`
}

func (*Device) viewType() string { return "Device" }

// Location is the view of a Location resource.
type Location struct {
	Base
	Identifier           []Identifier      `json:"identifier,omitempty"`
	Status               string            `json:"status,omitempty"`
	OperationalStatus    *Coding           `json:"operationalStatus,omitempty"`
	Name                 string            `json:"name,omitempty"`
	Alias                []string          `json:"alias,omitempty"`
	Description          string            `json:"description,omitempty"`
	Mode                 string            `json:"mode,omitempty"`
	Type                 []CodeableConcept `json:"type,omitempty"`
	Address              *Address          `json:"address,omitempty"`
	PhysicalType         *CodeableConcept  `json:"physicalType,omitempty"`
	Position             *Position         `json:"position,omitempty"`
	ManagingOrganization *Reference        `json:"managingOrganization,omitempty"`
	PartOf               *Reference        `json:"partOf,omitempty"`
}

// Position is a WGS84 position.
type Position struct {
	Longitude json.Number `json:"longitude"`
	Latitude  json.Number `json:"latitude"`
	Altitude  json.Number `json:"altitude,omitempty"`
}

func (*Location) viewType() string { return "Location" }

// AuditEvent is the view of an AuditEvent resource.
type AuditEvent struct {
	Base
	Type           Coding            `json:"type"`
	Subtype        []Coding          `json:"subtype,omitempty"`
	Action         string            `json:"action,omitempty"`
	Period         *Period           `json:"period,omitempty"`
	Recorded       DateTime          `json:"recorded"`
	Outcome        string            `json:"outcome,omitempty"`
	OutcomeDesc    string            `json:"outcomeDesc,omitempty"`
	PurposeOfEvent []CodeableConcept `json:"purposeOfEvent,omitempty"`
	Agent          []AuditAgent      `json:"agent,omitempty"`
	Source         AuditSource       `json:"source"`
	Entity         []AuditEntity     `json:"entity,omitempty"`
}

// AuditAgent is an actor in an audited event.
type AuditAgent struct {
	Type      *CodeableConcept  `json:"type,omitempty"`
	Role      []CodeableConcept `json:"role,omitempty"`
	Who       *Reference        `json:"who,omitempty"`
	AltID     string            `json:"altId,omitempty"`
	Name      string            `json:"name,omitempty"`
	Requestor bool              `json:"requestor"`
	Location  *Reference        `json:"location,omitempty"`
	Policy    []string          `json:"policy,omitempty"`
	Network   *AuditNetwork     `json:"network,omitempty"`
}

// AuditNetwork is the network access point of an agent.
type AuditNetwork struct {
	Address string `json:"address,omitempty"`
	Type    string `json:"type,omitempty"`
}

// AuditSource is the system that reported an audited event.
type AuditSource struct {
	Site     string    `json:"site,omitempty"`
	Observer Reference `json:"observer"`
	Type     []Coding  `json:"type,omitempty"`
}

// AuditEntity is data or an object used in an audited event.
type AuditEntity struct {
	What        *Reference          `json:"what,omitempty"`
	Type        *Coding             `json:"type,omitempty"`
	Role        *Coding             `json:"role,omitempty"`
	Lifecycle   *Coding             `json:"lifecycle,omitempty"`
	Name        string              `json:"name,omitempty"`
	Description string              `json:"description,omitempty"`
	Query       string              `json:"query,omitempty"` // base64
	Detail      []AuditEntityDetail `json:"detail,omitempty"`
}

// AuditEntityDetail is a name/value detail of an audited entity.
type AuditEntityDetail struct {
	Type              string `json:"type"`
	ValueString       string `json:"valueString,omitempty"`
	ValueBase64Binary string `json:"valueBase64Binary,omitempty"`
}

func (*AuditEvent) viewType() string { return "AuditEvent" }

// RiskAssessment is the view of a RiskAssessment resource.
type RiskAssessment struct {
	Base
	Identifier         []Identifier      `json:"identifier,omitempty"`
	BasedOn            *Reference        `json:"basedOn,omitempty"`
	Parent             *Reference        `json:"parent,omitempty"`
	Status             string            `json:"status,omitempty"`
	Method             *CodeableConcept  `json:"method,omitempty"`
	Code               *CodeableConcept  `json:"code,omitempty"`
	Subject            Reference         `json:"subject"`
	Encounter          *Reference        `json:"encounter,omitempty"`
	OccurrenceDateTime DateTime          `json:"occurrenceDateTime,omitempty"`
	OccurrencePeriod   *Period           `json:"occurrencePeriod,omitempty"`
	Condition          *Reference        `json:"condition,omitempty"`
	Performer          *Reference        `json:"performer,omitempty"`
	ReasonCode         []CodeableConcept `json:"reasonCode,omitempty"`
	ReasonReference    []Reference       `json:"reasonReference,omitempty"`
	Basis              []Reference       `json:"basis,omitempty"`
	Prediction         []RiskPrediction  `json:"prediction,omitempty"`
	Mitigation         string            `json:"mitigation,omitempty"`
	Note               []Annotation      `json:"note,omitempty"`
}

// RiskPrediction is one predicted outcome of a RiskAssessment.
type RiskPrediction struct {
	Outcome            *CodeableConcept `json:"outcome,omitempty"`
	ProbabilityDecimal json.Number      `json:"probabilityDecimal,omitempty"`
	ProbabilityRange   *Range           `json:"probabilityRange,omitempty"`
	QualitativeRisk    *CodeableConcept `json:"qualitativeRisk,omitempty"`
	RelativeRisk       json.Number      `json:"relativeRisk,omitempty"`
	WhenPeriod         *Period          `json:"whenPeriod,omitempty"`
	WhenRange          *Range           `json:"whenRange,omitempty"`
	Rationale          string           `json:"rationale,omitempty"`
}

func (*RiskAssessment) viewType() string { return "RiskAssessment" }
