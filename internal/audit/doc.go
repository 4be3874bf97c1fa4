// Package audit records who did what to which patient's data, and proves
// afterwards that the record was not altered (HIPAA §164.312(b) audit
// controls and (c) integrity; SEC-12 … SEC-16 in research/platform.md §6.6).
//
// # Shape
//
// Each [Record] is written as a FHIR R4 AuditEvent shaped after IHE BALP
// (Basic Audit Log Patterns, https://profiles.ihe.net/ITI/BALP): type
// "rest" from the audit-event-type code system with the restful-interaction
// subtype (read, search-type, create, ...), or DICOM "110114 User
// Authentication" for a refused token; action C/R/U/D/E; recorded in UTC;
// outcome 0/4/8; the user agent (the token's subject, never a name) as
// requestor with its network address, the client application as a second
// agent; this server as the source observer; entities for the patient
// (type 1 Person, role 1 Patient), the resources touched (type 2, role 4)
// and, for searches, the query (role 24, the query string base64-encoded as
// BALP does). The query may hold names: it is kept, because the audit log is
// itself protected health information, but it never goes to the process log.
//
// # Storage
//
// AuditEvents are ordinary resources in the FHIR store, indexed by the same
// search registry as every other resource but only for the parameters
// that the accounting of disclosures and security reviews need ([Indexed]:
// patient, date, entity, type, subtype, action, outcome, _id,
// _lastUpdated), so the accounting of disclosures is a normal FHIR search:
// GET /fhir/AuditEvent?patient=Patient/123&date=ge2026-01-01 (SEC-16). The
// resource id is "audit-" followed by the sequence number, so two writers
// that race for one number collide on version 1 of the same id and the
// loser re-reads the head and retries.
//
// # Chain
//
// Every AuditEvent carries a Doppel extension ([ChainURL]) with its
// sequence number (1, 2, ...), the previous record's hash and its own:
// SHA-256(previous hash || canonical bytes), where the canonical bytes are
// the resource's JSON (sorted keys, as internal/fhir writes it) without
// meta and without the hash itself. [Log.Verify] walks the sequence and
// reports the exact number of any record that is missing, deleted, edited,
// moved or whose content no longer matches the store's own content hash
// (SEC-14). A head file outside the database (Options.HeadFile) remembers
// the last sequence number and hash, so that deleting the newest records
// is detected too. AuditEvents that are not part of the chain (ids other
// than audit-N) are reported as foreign: the FHIR API must not let clients
// create, update or delete AuditEvents.
//
// # Writes, buffering and what a crash loses
//
// A write and its audit record are committed together: the HTTP layer
// puts the request's [Record] in the context ([WithRecord]) and gives the
// FHIR service the store wrapped by [Log.Wrap]; each store write then
// stages the AuditEvent, naming the resources written and their patient,
// in the same transaction, so no write is ever committed without its
// record. The chain's head is looked up inside that transaction, so the
// store's group commit and the single writer keep one unbroken chain.
//
// Reads, searches, refusals and failed writes go through a [Buffer], which
// batches records from many requests into one store write (flush at
// MaxBatch records, every Interval, and on Close) while the request goes
// on: a request waits only when the queue is full (back-pressure, never a
// dropped record). A buffered record is durable only after its flush: a
// crash loses at most the records of the last Interval, or, when the
// store falls behind, the queue's and the batch's (about 1 s of records
// on SQLite with the defaults; see [Buffer]). A caller that must not lose a
// record calls [Log.Append], which returns only when the records are
// committed.
//
// # Cost
//
// Every read writes a record, so a record must cost little besides the
// store's own work. A record whose texts need no JSON escaping and whose
// references are plain Type/id (what the HTTP layer makes) is written by
// appending its JSON directly and indexed from the record itself, with
// the entries search.Registry.Extract would compute for the indexed
// parameters; any other goes the general way (tree, marshal, Extract).
// Tests hold both to the same bytes, hash and entries. Indexing fewer
// parameters cut a read's or search's record from 12-15 index rows to 9-10.
package audit
