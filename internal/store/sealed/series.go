package sealed

import (
	"context"
	"errors"

	"github.com/doppelhealth/doppel/internal/store"
)

var _ store.Series = (*Store)(nil)

// seriesStore is a store whose time series can be sealed: sqlstore.Store.
type seriesStore interface {
	SeriesWith(box store.Sealer) store.Series
}

// errNoSeries is returned by the Series methods of a Store over a store
// without time series.
var errNoSeries = errors.New("sealed: the store underneath has no time series")

// AppendSamples implements store.Series: each chunk of samples is sealed
// with AES-256-GCM (the series key), bound to its patient, code, device and
// day. Patient, code, device and the day stay clear, as reference ids and
// codes do in the index.
func (s *Store) AppendSamples(ctx context.Context, samples []store.Sample) (int, error) {
	if s.samples == nil {
		return 0, errNoSeries
	}
	return s.samples.AppendSamples(ctx, samples)
}

// Samples implements store.Series.
func (s *Store) Samples(ctx context.Context, q store.SampleQuery) ([]store.Sample, error) {
	if s.samples == nil {
		return nil, errNoSeries
	}
	return s.samples.Samples(ctx, q)
}

// SeriesOf implements store.Series.
func (s *Store) SeriesOf(ctx context.Context, patient, code string) ([]store.SeriesInfo, error) {
	if s.samples == nil {
		return nil, errNoSeries
	}
	return s.samples.SeriesOf(ctx, patient, code)
}

// SeriesByID implements store.Series.
func (s *Store) SeriesByID(ctx context.Context, id int64) (store.SeriesInfo, error) {
	if s.samples == nil {
		return store.SeriesInfo{}, errNoSeries
	}
	return s.samples.SeriesByID(ctx, id)
}
