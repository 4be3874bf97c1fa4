// Package fhirpath evaluates FHIRPath expressions over FHIR resources held
// as generic JSON trees (map[string]any, []any, string, bool, json.Number),
// the form internal/fhir parses resources into.
//
// The FHIR server indexes resources for search with the FHIRPath
// expressions of the R4 SearchParameter definitions. Those expressions use
// a small part of the language (paths, |, as/is/ofType, where(), resolve(),
// exists()), so this package implements that part exactly and grows
// towards the official FHIRPath test suite from there; it does not aim to
// be a complete FHIRPath engine. Anything it does not support is rejected
// by Compile, never silently evaluated wrong.
//
// Element types come from a compact table generated from the R4
// StructureDefinitions (see gen/), so that results carry their FHIR type
// (Observation.subject is a Reference, Patient.birthDate a date) and choice
// elements (Observation.value[x]) resolve to valueQuantity, valueString...
//
// resolve() does not load anything: it reads the reference text, so
// where(resolve() is Patient) works on a resource alone. A contained
// reference ("#p1") resolves to the contained resource.
package fhirpath
