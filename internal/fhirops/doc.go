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
// Every error returned to a client is a [*fhir.Error] with the HTTP status
// and OperationOutcome issues whose Expression names the failing element,
// such as "Bundle.entry[2].resource.subject".
package fhirops
