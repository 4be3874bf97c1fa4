package device_test

import (
	"fmt"
	"time"

	"github.com/doppelhealth/doppel/internal/device"
)

func ExampleDecoder_DecodeBatch() {
	d := device.Decoder{Now: func() time.Time { return time.Date(2026, 11, 25, 10, 1, 0, 0, time.UTC) }}
	r, err := d.DecodeBatch([]byte(`{"device":"cgm-1","observations":[
		{"code":"cgm","t":"2026-11-25T10:00:00Z","v":6.0,"unit":"mmol/L"},
		{"code":"cgm","t":"2026-11-25T10:00:00Z","v":6.0,"unit":"mmol/L"},
		{"code":"hr","t":"2026-11-25T10:00:00Z","v":-70,"unit":"/min"}]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	o := r.Accepted[0]
	fmt.Printf("%s %.3f %s %s\n", o.Code, o.Value.Value, o.Value.Unit, o.Key())
	fmt.Println(string(r.Response()))
	// Output:
	// 99504-3 108.096 mg/dL cgm-1|99504-3|1795600800000000000
	// {"accepted":1,"duplicates":[1],"rejected":[{"index":2,"kind":"out-of-range","reason":"value: value outside the plausible range 20 to 300 /min"}]}
}
