package auth_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/doppelhealth/doppel/internal/auth"
	"github.com/doppelhealth/doppel/internal/fhir"
)

// This example wires auth the way a server does: Middleware outside,
// /.well-known/ unauthenticated, and an access check that lets the
// CapabilityStatement through and asks Check about the rest.
func Example() {
	dir, err := os.MkdirTemp("", "doppel-auth")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	key, err := auth.LoadKey(dir) // dir/auth/signing-key.pem, created 0600
	if err != nil {
		panic(err)
	}
	a, err := auth.New(key, auth.Options{})
	if err != nil {
		panic(err)
	}

	// The access check; in Doppel, the httpapi Authorizer's body.
	check := func(r *http.Request, kind, typ, id, compartment string) error {
		if kind == "capabilities" {
			return nil
		}
		p, err := auth.FromContext(r.Context())
		if err != nil {
			return err
		}
		return p.Check(kind, typ, id, compartment)
	}
	fhirAPI := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind, typ := "read", "Observation"
		switch {
		case r.URL.Path == "/fhir/metadata":
			kind, typ = "capabilities", ""
		case r.Method == http.MethodPost:
			kind = "create"
		}
		if err := check(r, kind, typ, "", ""); err != nil {
			var fe *fhir.Error
			errors.As(err, &fe)
			w.WriteHeader(fe.Status)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	mux := http.NewServeMux()
	mux.Handle("/.well-known/", a.WellKnown())
	mux.Handle("/", fhirAPI)
	srv := a.Middleware(mux)

	reader, err := a.Mint(auth.Grant{Subject: "dr-lee", Role: "researcher"})
	if err != nil {
		panic(err)
	}
	for _, c := range []struct{ method, path, token string }{
		{"GET", "/fhir/metadata", ""},
		{"GET", "/.well-known/smart-configuration", ""},
		{"GET", "/fhir/Observation/1", ""},
		{"GET", "/fhir/Observation/1", reader},
		{"POST", "/fhir/Observation", reader},
	} {
		r := httptest.NewRequest(c.method, c.path, nil)
		if c.token != "" {
			r.Header.Set("Authorization", "Bearer "+c.token)
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		fmt.Println(c.method, c.path, c.token != "", w.Code)
	}
	// Output:
	// GET /fhir/metadata false 200
	// GET /.well-known/smart-configuration false 200
	// GET /fhir/Observation/1 false 401
	// GET /fhir/Observation/1 true 200
	// POST /fhir/Observation true 403
}
