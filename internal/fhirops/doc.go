// Package fhirops implements the FHIR R4 interactions (create, read, vread,
// update, patch, delete, conditional create and update, history, search,
// transaction and batch Bundles, Patient/$everything) on a resource store,
// independently of HTTP.
//
// The HTTP layer (internal/httpapi) and `doppel import` both call a
// [Service]; keeping the semantics here means they cannot drift apart, and
// they can be tested without a network. The rules follow the R4 RESTful API
// page (http.html):
//
//   - the server assigns the id of a created resource (a body id is ignored)
//     and sets meta.versionId and meta.lastUpdated on every write;
//   - every write is validated with [fhir.Validate]; a body whose
//     resourceType or id does not match the URL is a 400;
//   - If-Match carries a weak ETag (W/"3"); a mismatch is a 412;
//   - conditional create (If-None-Exist) creates on 0 matches, returns the
//     match on 1 and fails with 412 on more; conditional update likewise;
//   - delete is idempotent;
//   - a transaction Bundle is applied in one store write (all or nothing), in
//     the order DELETE, POST, PUT/PATCH, GET, with urn:uuid fullUrls and
//     conditional references resolved and rewritten in every resource of the
//     Bundle; a batch applies each entry on its own.
//
// Search pages are computed on one store snapshot: the links of a searchset
// Bundle carry the snapshot (_snapshot=T) and the offset (_offset=N), so
// following next/previous links gives stable pages while writes go on.
//
// # Access
//
// fhirops does not authenticate; the caller says what a request may do with
// [WithAccess]: an [Access] (an *auth.Principal is one) that allows
// interactions per type and may confine the request to one patient's
// compartment (SMART patient-level scopes; SEC-02, SEC-03). Every method
// then checks the interaction (403), and a confined request sees and
// writes only resources in the compartment (the Patient itself, or a
// resource whose R4 compartment parameters refer to it):
//
//   - reads, vreads and histories of other resources are 404, as if they
//     did not exist;
//   - searches of a type are restricted to the compartment whatever their
//     parameters (so are conditional creates, updates and references);
//     _include and _revinclude add only compartment resources; a type in
//     no compartment (Practitioner, Medication), a chained parameter and a
//     search of all types are refused (403);
//   - $everything is allowed for its own patient only; the history of a
//     type or of the system is refused;
//   - a write is refused (403, nothing stored) when the resource written,
//     or the one it replaces or deletes, is outside the compartment;
//   - every entry of a transaction or batch is checked as above: one not
//     allowed refuses the whole Bundle, naming the entry.
//
// A context without an Access is not restricted (doppel import, tests).
//
// Every error returned to a client is a [*fhir.Error] with the HTTP status
// and OperationOutcome issues whose Expression names the failing element,
// such as "Bundle.entry[2].resource.subject".
package fhirops
