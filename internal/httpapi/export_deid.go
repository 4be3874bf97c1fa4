package httpapi

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/doppelhealth/doppel/internal/deid"
	"github.com/doppelhealth/doppel/internal/fhir"
)

// De-identified export: $export?_deid=safe-harbor (SEC-28 … SEC-31) writes
// every resource through Options.Deid (HIPAA Safe Harbor: names,
// addresses, dates, identifiers and ids removed, generalised or replaced
// by keyed pseudonyms). The audit trail is never part of a de-identified
// export; nor is it part of any export that does not ask for it by
// _type=AuditEvent.

// Deidentifier de-identifies one resource tree in place (*deid.Deidentifier).
type Deidentifier interface {
	Resource(tree map[string]any, refs deid.Refs) map[string]any
}

// deidSafeHarbor is the one value of _deid.
const deidSafeHarbor = "safe-harbor"

// deidURL is the manifest extension that says how the files were
// de-identified.
const deidURL = "https://doppel.health/fhir/StructureDefinition/deid"

// deidParam returns the _deid method of a kick-off ("" for none), refusing
// it when the server has no key or the types include the audit trail.
func (s *Server) deidParam(q url.Values, types []string) (string, error) {
	v, ok := q["_deid"]
	if !ok {
		return "", nil
	}
	if len(v) != 1 || v[0] != deidSafeHarbor {
		return "", errorf(http.StatusBadRequest, "value", "_deid: the one method is %s", deidSafeHarbor)
	}
	if s.opts.Deid == nil {
		return "", errorf(http.StatusBadRequest, "not-supported", "_deid needs a pseudonym key: start doppel serve with --deid-key-file FILE (a key of at least 32 bytes kept outside --data)")
	}
	if slices.Contains(types, auditEventType) {
		return "", errorf(http.StatusBadRequest, "not-supported", "_deid: the audit trail (AuditEvent) is not exported de-identified")
	}
	return v[0], nil
}

// defaultExportTypes are the types an export without _type writes: all
// but the audit trail.
func defaultExportTypes() []string {
	return slices.DeleteFunc(fhir.ResourceTypes(), func(t string) bool { return t == auditEventType })
}

// exportBody returns the NDJSON line body of a stored resource: as stored,
// or de-identified when the job asks for it.
func (s *Server) exportBody(body []byte, spec exportSpec) ([]byte, error) {
	if spec.Deid == "" {
		return body, nil
	}
	if s.opts.Deid == nil { // a job accepted before a restart without the key
		return nil, errorf(http.StatusInternalServerError, "exception", "the job asks for _deid and the server has no --deid-key-file")
	}
	r, err := fhir.Parse(body)
	if err != nil {
		return nil, err
	}
	s.opts.Deid.Resource(r.Tree, nil)
	return r.MarshalJSON()
}
