// Package fhir reads and writes FHIR R4 resources in their JSON form.
//
// A FHIR server has to store what clients send without losing anything:
// unknown elements, extensions, primitive-extension sidecars such as
// "_birthDate", and decimals with their exact text ("1.50" is not "1.5" in
// FHIR). So a [Resource] keeps the whole JSON object as a generic tree
// (map[string]any, []any, string, bool, nil, and [encoding/json.Number] for
// numbers) and the code that needs typed access decodes a small read-only
// view from it ([Patient], [Observation], [Bundle], ...). Heavy generated
// FHIR libraries are avoided on purpose: the store keeps raw JSON and the
// twin reads only a handful of fields.
//
// [Parse] is strict about JSON: one object, no trailing data, no duplicate
// keys, valid UTF-8, and a known resourceType. [Validate] checks the
// structural rules that matter for storage and search: the id syntax,
// cardinality, required elements, JSON types of primitives, and the form and
// target types of references, all derived from the R4 StructureDefinitions
// (see the generator in ./gen). Every problem is an [Issue] whose Expression
// is the FHIRPath-like location of the failing element, for example
// "Observation.subject.reference", and errors are [*Error] values that carry
// the HTTP status and render as an OperationOutcome ([OperationOutcome]).
//
// [ApplyJSONPatch] implements RFC 6902 JSON Patch for the FHIR patch
// interaction.
package fhir
