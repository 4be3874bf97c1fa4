package sqlite_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store"
	"github.com/doppelhealth/doppel/internal/store/sqlite"
)

// A write request stores a resource with its index entries; a search on
// the entries finds it; an update must name the next version.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "doppel")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(dir, "doppel.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	female := search.Entry{Param: "gender", Type: search.Token, System: "http://hl7.org/fhir/administrative-gender", Code: "female"}
	err = s.Write(ctx, func(w store.Writer) error {
		_, err := w.Put(ctx, store.Version{
			Type: "Patient", ID: "p1", VersionID: 1,
			LastUpdated: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC),
			Body:        []byte(`{"resourceType":"Patient","id":"p1","gender":"female"}`),
			Index:       []search.Entry{female},
		})
		return err
	})
	if err != nil {
		log.Fatal(err)
	}

	q := &search.Query{Type: "Patient", Clauses: []search.Clause{
		{Param: "gender", Type: search.Token, Values: []search.Value{{Code: "female"}}},
	}}
	page, err := s.Search(ctx, q, 0)
	if err != nil {
		log.Fatal(err)
	}
	for _, v := range page.Matches {
		fmt.Printf("found %s/%s version %d (total %d)\n", v.Type, v.ID, v.VersionID, page.Total)
	}

	err = s.Write(ctx, func(w store.Writer) error {
		_, err := w.Put(ctx, store.Version{Type: "Patient", ID: "p1", VersionID: 1, Body: []byte(`{}`)})
		return err
	})
	fmt.Println(err)
	// Output:
	// found Patient/p1 version 1 (total 1)
	// store: version conflict: Patient/p1: version 1 given, the next is 2
}
