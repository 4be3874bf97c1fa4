// Package refcheck holds the reference checks that models run against
// peer-tool outputs: a Case names a published or peer-tool result (a
// simglucose run, an R deSolve or nlme script) and computes it, and each
// Check compares one quantity with its reference under an explicit
// tolerance.
//
// The models export their cases (t1d.ValidationCases,
// pkpd.ValidationCases); the doppel validate command runs and prints them.
// Cases do no I/O: their reference data are embedded in the model packages.
package refcheck
