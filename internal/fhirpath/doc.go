// Package fhirpath evaluates FHIRPath expressions over FHIR resources held
// as generic JSON trees (map[string]any, []any, string, bool, json.Number),
// the form internal/fhir parses resources into.
//
// The FHIR server indexes resources for search with the FHIRPath
// expressions of the R4 SearchParameter definitions. Those use a small part
// of the language (paths, |, as/is/ofType, where(), resolve(), exists()),
// so that part is what this package must get exactly right; beyond it, it
// implements what the official FHIRPath R4 test suite exercises and is
// cheap (operators, literals with dates and quantities, the existence,
// filtering, subsetting, string, math, conversion and tree functions),
// without aiming to be a complete engine. Unknown functions and type names
// are Compile errors. The suite cases that fail are listed, with their
// reason, in testdata/suite/unsupported.txt (strict-mode semantic checks,
// a few boundary and input-file differences).
//
// Element types come from a compact table generated from the R4
// StructureDefinitions (gen/, embedded gzip), so that results carry their
// FHIR type (Observation.subject is a Reference, Patient.birthDate a date)
// and choice elements resolve: Observation.value finds valueQuantity,
// valueString... with the type named by the suffix.
//
// resolve() loads nothing: it reads the reference text, so
// where(resolve() is Patient) works on a resource alone ("Patient/1",
// "http://x/fhir/Patient/1/_history/2"). A contained reference ("#p1")
// resolves to the contained resource.
//
// The "as" operator filters a collection like ofType() (the R4 search
// expressions apply it to collections, as in useContext.value as Quantity);
// the as() function keeps the specification's single-item rule.
package fhirpath
