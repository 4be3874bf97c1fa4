package httpapi

import (
	"context"
	"net/http"

	"github.com/doppelhealth/doppel/internal/auth"
	"github.com/doppelhealth/doppel/internal/fhirops"
)

// Scopes is the Authorizer of a server behind auth's Middleware: it
// enforces the SMART scopes of the request's token (SEC-01 … SEC-03).
//
// /fhir/metadata is open; every other request needs a valid token (401
// with WWW-Authenticate otherwise) whose scopes allow the interaction
// (403). A patient-level token is confined to its patient's compartment:
// reads, searches, histories and writes are let through to the
// fhirops.Service, which confines them, only when [Confine] has given the
// request the principal as its fhirops.Access; without it such a token
// reaches nothing but its own Patient resource. A transaction or batch is
// likewise let through to have its entries checked one by one.
// $everything is allowed to a patient token for its own patient only;
// $export (system, Group or Patient) is refused to any patient token.
type Scopes struct{}

// Authorize implements Authorizer.
func (Scopes) Authorize(r *http.Request, in Interaction) error {
	if in.Kind == "capabilities" {
		return nil
	}
	p, err := auth.FromContext(r.Context())
	if err != nil {
		return err
	}
	kind := in.Kind
	if kind == "operation" {
		kind = in.Operation
	}
	if kind == forecastOp {
		return checkForecast(p) // twin.go
	}
	if isTwinOp(kind) {
		return checkTwin(p, in.Compartment) // twinapi.go
	}
	compartment := in.Compartment
	if fhirops.HasAccess(r.Context()) {
		switch kind {
		case "read", "vread", "history-instance", "search-type", "create", "update", "patch", "delete":
			compartment = p.Compartment() // the Service confines it
		case "transaction":
			return nil // the Service checks each entry
		}
	}
	return p.Check(kind, in.Type, in.ID, compartment)
}

// Confine wraps next so that each request carries its token's principal as
// its fhirops.Access (fhirops.WithAccess): the Service then checks what
// each interaction and each transaction entry may do and confines
// patient-level tokens to their compartment. It goes inside auth's
// Middleware.
func Confine(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(fhirops.WithAccess(r.Context(), principalAccess{r.Context()})))
	})
}

// principalAccess is the fhirops.Access of a request: its principal, found
// when first asked (the Authorizer has asked first). Without a principal
// it allows nothing.
type principalAccess struct{ ctx context.Context }

func (a principalAccess) Allows(kind, typ string) bool {
	p, err := auth.FromContext(a.ctx)
	return err == nil && p.Allows(kind, typ)
}

func (a principalAccess) Compartment() string {
	p, err := auth.FromContext(a.ctx)
	if err != nil {
		return "Patient/" // no patient: refused by the Service
	}
	return p.Compartment()
}
