package store

import (
	"context"
	"time"
)

// Sample is one numeric reading of a device time series: a value of one
// code (LOINC), in one unit (UCUM), for one patient, from one device, at
// one instant. A panel (blood pressure) is stored as one series per
// component code; coded values (ACVPU) are not time series.
type Sample struct {
	Patient string    // Patient resource id
	Code    string    // LOINC code
	Device  string    // Device resource id; may be empty
	Time    time.Time // UTC on return
	Value   float64   // finite
	Unit    string    // UCUM; one unit per (patient, code, device) series
}

// SampleQuery selects the samples of one patient and code, of every
// device, with From <= Time < To.
type SampleQuery struct {
	Patient, Code string
	From, To      time.Time // zero: unbounded
	// Limit is the most samples returned (the first ones in the order
	// asked for); 0: all.
	Limit int
	// Newest returns the samples newest first (for "the last N").
	// Default: oldest first. Ties (two devices, one instant) go by device.
	Newest bool
}

// SeriesInfo is one series: the samples of one patient and code from one
// device, in one unit. ID is the store's number for it, assigned when its
// first sample is stored and never changed or reused in that store (another
// store, or the same data imported again, numbers its series otherwise).
type SeriesInfo struct {
	ID                    int64
	Patient, Code, Device string
	Unit                  string
}

// Series stores device time series compactly, apart from the FHIR
// resources: a sample is not a resource version, has no history, and is
// not seen by Search.
type Series interface {
	// AppendSamples stores samples and returns how many were new. A sample
	// whose (patient, code, device, time) is already stored is skipped,
	// whatever its value, so a re-sent reading changes nothing. Samples
	// may come in any order. The call is atomic and durable like Write; a
	// sample without patient or code, with a zero time, a value that is
	// not finite, or another unit than its series' fails it all.
	AppendSamples(ctx context.Context, samples []Sample) (int, error)
	// Samples returns the samples q selects.
	Samples(ctx context.Context, q SampleQuery) ([]Sample, error)
	// SeriesOf returns the series of patient of code, or of every code
	// when code is "", ordered by code and device.
	SeriesOf(ctx context.Context, patient, code string) ([]SeriesInfo, error)
	// SeriesByID returns the series numbered id; ErrNotFound if none is.
	SeriesByID(ctx context.Context, id int64) (SeriesInfo, error)
}

// Sealer transforms stored bytes, binding them to the additional data ad
// (package sealed encrypts them); Open undoes Seal and fails if either was
// changed.
type Sealer interface {
	Seal(plain []byte, ad string) []byte
	Open(sealed []byte, ad string) ([]byte, error)
}
