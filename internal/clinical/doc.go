// Package clinical holds Doppel's domain types for patient data, independent
// of any wire format: an Observation (a measurement or an assessment of one
// patient at one instant, with a UCUM quantity or a coded value, and the
// components of a blood-pressure panel), the table of the codes the live
// platform understands, and the error kinds that decoders of every format
// (FHIR, device JSON, MQTT) return.
//
// The package imports only the standard library, so every adapter can use it
// and none of them has to agree with another about anything else.
//
// # Codes, units and plausibility
//
// [Codes] lists each supported code with its code system, canonical UCUM unit,
// the other units a device may send (with the conversion to the canonical
// unit), the FHIR resource type that records it, and the plausibility range
// a value must fall in, in canonical units. [Normalize] converts a value to
// the canonical unit and checks the range, so a glucose of 5000 mg/dL or a
// negative heart rate is rejected before it reaches a twin.
//
// The codes follow the FHIR R4 vital-signs profile
// (https://hl7.org/fhir/R4/observation-vitalsigns.html): heart rate 8867-4,
// respiratory rate 9279-1, oxygen saturation 59408-5 (by pulse oximetry;
// 2708-6 arterial is accepted as an alias), blood pressure panel 85354-9 with
// systolic 8480-6 and diastolic 8462-4, body temperature 8310-5. CGM glucose
// follows the HL7 Continuous Glucose Monitoring IG 1.0.0
// (https://hl7.org/fhir/uv/cgm/): LOINC 99504-3 "Glucose [Mass/volume] in
// Interstitial fluid" in mg/dL (the IG's molar reading, 105272-9 in mmol/L,
// is accepted and converted). Blood-glucose codes 2339-0 and 15074-8 are for
// blood, not interstitial fluid, and are not used for CGM. Consciousness is
// LOINC 67775-7 "Level of responsiveness" with the NEWS2 ACVPU letters as the
// value. Carbohydrate intake is an Observation, LOINC 9059-7 "Carbohydrate
// intake Estimated" in g (FHIR R4 has no NutritionIntake resource; R5 added
// one). An insulin dose is a MedicationAdministration of ATC A10A "Insulins
// and analogues" with the dose in international units ([IU]).
package clinical
