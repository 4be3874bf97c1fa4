package metrics_test

import (
	"os"

	"github.com/doppelhealth/doppel/internal/metrics"
)

func Example() {
	r := metrics.NewRegistry()
	rejected := r.Counter("doppel_ingest_rejected_total", "Device messages rejected.", "reason")
	rejected.Inc("out of range")
	r.WriteText(os.Stdout)
	// Output:
	// # HELP doppel_ingest_rejected_total Device messages rejected.
	// # TYPE doppel_ingest_rejected_total counter
	// doppel_ingest_rejected_total{reason="out of range"} 1
}
