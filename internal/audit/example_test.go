package audit_test

import (
	"fmt"

	"github.com/doppelhealth/doppel/internal/audit"
)

// The accounting of disclosures searches the trail by patient and date;
// the network address is kept in each record but not indexed.
func ExampleIndexed() {
	for _, p := range []string{"patient", "date", "entity", "address", "entity-role"} {
		fmt.Println(p, audit.Indexed(p))
	}
	// Output:
	// patient true
	// date true
	// entity true
	// address false
	// entity-role false
}
