package deid_test

import (
	"encoding/json"
	"fmt"

	"github.com/doppelhealth/doppel/internal/deid"
)

func ExampleZIP3() {
	for _, zip := range []string{"02139", "02139-4307", "82301", "1020"} {
		fmt.Printf("%q -> %q\n", zip, deid.ZIP3(zip))
	}
	// Output:
	// "02139" -> "021"
	// "02139-4307" -> "021"
	// "82301" -> "000"
	// "1020" -> ""
}

func ExampleDeidentifier_Resource() {
	d, err := deid.New([]byte("a secret key of at least 32 bytes!"), deid.Options{Dates: deid.YearOnly})
	if err != nil {
		panic(err)
	}
	var p map[string]any
	json.Unmarshal([]byte(`{"resourceType":"Patient","id":"42","name":[{"family":"Chalmers"}],
		"telecom":[{"system":"phone","value":"(03) 5555 6473"}],"gender":"male","birthDate":"1974-12-25",
		"address":[{"line":["534 Erewhon St"],"city":"PleasantVille","state":"Vic","postalCode":"3999"}]}`), &p)
	d.Resource(p, nil)
	delete(p, "id") // a pseudonym: 32 hex digits
	out, _ := json.Marshal(p)
	fmt.Println(string(out))
	// Output:
	// {"address":[{"state":"Vic"}],"birthDate":"1974","gender":"male","resourceType":"Patient"}
}
