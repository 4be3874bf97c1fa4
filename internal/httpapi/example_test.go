package httpapi_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/doppelhealth/doppel/internal/fhirops"
	"github.com/doppelhealth/doppel/internal/httpapi"
	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store/sqlite"
)

// A Server on an embedded store: create a Patient, then read it back.
func Example() {
	dir, err := os.MkdirTemp("", "doppel-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "fhir.db"))
	if err != nil {
		panic(err)
	}
	defer st.Close()
	reg, err := search.NewRegistry()
	if err != nil {
		panic(err)
	}
	srv := httpapi.New(nil, fhirops.New(st, reg, fhirops.Options{}), st, reg, httpapi.Options{BaseURL: "https://fhir.example.org/fhir"})

	w := httptest.NewRecorder()
	srv.ServeHTTP(w, httptest.NewRequest("POST", "/fhir/Patient", strings.NewReader(`{"resourceType":"Patient","gender":"female"}`)))
	loc := w.Header().Get("Location")
	fmt.Println(w.Code, w.Header().Get("ETag"), strings.HasPrefix(loc, "https://fhir.example.org/fhir/Patient/"))

	w = httptest.NewRecorder()
	srv.ServeHTTP(w, httptest.NewRequest("GET", strings.TrimSuffix(strings.TrimPrefix(loc, "https://fhir.example.org"), "/_history/1"), nil))
	fmt.Println(w.Code, w.Header().Get("Content-Type"))

	w = httptest.NewRecorder()
	srv.ServeHTTP(w, httptest.NewRequest("GET", "/fhir/Patient/unknown", nil))
	fmt.Println(w.Code, w.Body)
	// Output:
	// 201 W/"1" true
	// 200 application/fhir+json; charset=utf-8
	// 404 {"resourceType":"OperationOutcome","issue":[{"code":"not-found","diagnostics":"Patient/unknown not found","severity":"error"}]}
}
