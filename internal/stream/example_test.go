package stream_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/doppelhealth/doppel/internal/clinical"
	"github.com/doppelhealth/doppel/internal/stream"
)

func Example() {
	dir, _ := os.MkdirTemp("", "doppel-stream")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	s, err := stream.Open(ctx, stream.Options{Dir: dir, NoMQTT: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	o := clinical.Observation{Patient: "p1", Device: "cgm-1", Code: clinical.CodeGlucoseCGM,
		Value: &clinical.Quantity{Value: 112, Unit: "mg/dL"}, Effective: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	for range 2 { // a device re-sends after a lost acknowledgement
		dup, err := s.PublishObservation(ctx, o)
		fmt.Println("duplicate:", dup, err)
	}
	c, _ := s.Consumer(ctx, stream.Observations, "twin-p1", s.ObservationSubject("p1"))
	msgs, _ := c.Fetch(ctx, 10)
	for _, m := range msgs {
		got, _ := m.Observation()
		fmt.Println(m.Subject, got.Value.Value, got.Value.Unit)
		m.Ack(ctx)
	}
	// Output:
	// duplicate: false <nil>
	// duplicate: true <nil>
	// obs.p1 112 mg/dL
}
