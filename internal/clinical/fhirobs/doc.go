// Package fhirobs maps a [clinical.Observation] to the FHIR R4 resource that
// records it (an Observation, or a MedicationAdministration for an insulin
// dose), with the LOINC or ATC coding, UCUM quantities, the vital-signs
// category, the subject Patient, the Device and an identifier derived from
// the reading's duplicate key.
//
// It is one mapping for two users that must agree byte for byte: doppel
// serve, which writes device readings that are not time series as FHIR
// resources, and fhirops, which answers FHIR searches and reads of the
// device time series (stored compactly, one sample at a time) with
// Observations made on the fly. A client cannot tell from the JSON whether
// an Observation was stored or made from a sample, except by its id and
// meta.
package fhirobs
