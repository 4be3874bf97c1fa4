// Package main is fhirload, the load generator of bench/fhir_load.sh: it
// measures a running `doppel serve` (or any FHIR R4 server) the way issue 4
// states its performance bars, on a dataset large enough that the store's
// indexes matter.
//
// The dataset is made from the Synthea R4 transaction Bundles in -synthea:
// the hospital and practitioner Bundles are sent first, as they are, then
// -patients patient Bundles, each a copy of one of the patient files with
// every urn:uuid fullUrl (and every other occurrence of the same UUID, such
// as the identifiers Synthea derives from it) replaced by a fresh one, so
// that copies are distinct resources with distinct identifiers. The copies
// are made from a seeded generator (-seed): the same flags give the same
// Bundles.
//
// Three figures are measured, each with -c concurrent clients over HTTP/1.1
// keep-alive connections:
//
//   - ingest: the patient Bundles POSTed to the base as transactions;
//     resources stored per wall-clock second;
//   - read: GET Patient/{id} or Observation/{id} (even odds) of ids the
//     transaction responses returned; p50 and p99 latency;
//   - search: GET Observation?subject=Patient/{id}&code={system}|{code} with a
//     code that patient has; p50 and p99 latency.
//
// Latency is from sending the request to reading the last byte of the
// body. -warmup requests precede each latency phase and are not counted.
// Every response is checked (status, and for a search a non-empty result);
// a failed request stops the run with an error.
//
//	go run ./bench/fhirload -url http://127.0.0.1:8080/fhir [-patients 1000] [-c 8]
//	        [-reads 20000] [-searches 5000] [-label SQLite] [-header] [-format md|tsv]
//	go run ./bench/fhirload -write DIR [-patients 1000]
//
// With -write, nothing is sent: the hospital and practitioner Bundles and
// the patient copies are written to DIR as transaction Bundle files (the
// input of `doppel import DIR`), and fhirload exits.
//
// The program is not part of go test; bench/fhir.md describes the
// measurement it belongs to.
package main
