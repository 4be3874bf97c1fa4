package fhir

import (
	"net/http"
	"strings"
)

// Issue is one entry of an OperationOutcome (OperationOutcome.issue).
//
// Severity is "fatal", "error", "warning" or "information"; Code is a value
// of the issue-type code system ("structure", "required", "value",
// "invariant", "not-supported", ...). Expression holds the FHIRPath-like
// locations of the element at fault, such as "Patient.name[0].given".
// Diagnostics never contains element values, so it is safe to log.
type Issue struct {
	Severity    string
	Code        string
	Diagnostics string
	Expression  []string
}

// Error is the error returned by the package's decoders and validators.
// Status is the HTTP status a server should answer with and Issues the
// problems found, one per problem.
type Error struct {
	Status int
	Issues []Issue
}

// Error joins the issues into one line: "fhir: EXPR: DIAGNOSTICS; ...".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("fhir: ")
	for i, is := range e.Issues {
		if i > 0 {
			b.WriteString("; ")
		}
		if len(is.Expression) > 0 {
			b.WriteString(strings.Join(is.Expression, ", "))
			b.WriteString(": ")
		}
		b.WriteString(is.Diagnostics)
	}
	if len(e.Issues) == 0 {
		b.WriteString("invalid resource")
	}
	return b.String()
}

// badRequest returns an *Error with status 400 and one error issue.
func badRequest(code, diagnostics string, expression ...string) *Error {
	return &Error{Status: http.StatusBadRequest, Issues: []Issue{{
		Severity: "error", Code: code, Diagnostics: diagnostics, Expression: expression,
	}}}
}

// OperationOutcome renders issues as an OperationOutcome resource in JSON.
// With no issues it reports one informational "All OK" issue, because an
// OperationOutcome must hold at least one issue.
func OperationOutcome(issues ...Issue) []byte {
	if len(issues) == 0 {
		issues = []Issue{{Severity: "information", Code: "informational", Diagnostics: "All OK"}}
	}
	list := make([]any, len(issues))
	for i, is := range issues {
		m := map[string]any{"severity": orDefault(is.Severity, "error"), "code": orDefault(is.Code, "processing")}
		if is.Diagnostics != "" {
			m["diagnostics"] = is.Diagnostics
		}
		if len(is.Expression) > 0 {
			ex := make([]any, len(is.Expression))
			for j, s := range is.Expression {
				ex[j] = s
			}
			m["expression"] = ex
		}
		list[i] = m
	}
	return appendJSON(nil, map[string]any{"resourceType": "OperationOutcome", "issue": list})
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
