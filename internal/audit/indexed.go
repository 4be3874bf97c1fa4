package audit

// Indexed reports whether the audit trail indexes the AuditEvent search
// parameter param (its code, as in the URL), i.e. whether a search on it
// finds the trail's records.
//
// Every read and search writes a record, and each index entry is a row
// and two B-tree inserts in the store, so the trail indexes only what the
// accounting of disclosures (SEC-16) and a security review ask of it: the
// patient, the date, the resources touched (entity), what was done (type,
// subtype, action), the outcome, and the generic _id and _lastUpdated.
// The network address and the entities' roles and types are kept in the
// record (a read or the chain's verification shows them) but cannot be
// searched on; nor can the other R4 AuditEvent parameters, which the
// trail's records have no values for (agent, source, site, policy...).
// The FHIR service refuses a search on them, and the CapabilityStatement
// does not list them.
func Indexed(param string) bool {
	switch param {
	case "_id", "_lastUpdated", "action", "date", "entity", "outcome", "patient", "subtype", "type":
		return true
	}
	return false
}
