package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/doppelhealth/doppel/internal/store"
)

var (
	_ store.Series = (*Store)(nil)
	_ store.Series = (*series)(nil)
)

const dayNanos = int64(24 * time.Hour)

// series is the store.Series of a Store whose chunks pass through box.
type series struct {
	s   *Store
	box store.Sealer // nil: stored in clear
}

// AppendSamples implements store.Series.
func (s *Store) AppendSamples(ctx context.Context, samples []store.Sample) (int, error) {
	return series{s: s}.AppendSamples(ctx, samples)
}

// Samples implements store.Series.
func (s *Store) Samples(ctx context.Context, q store.SampleQuery) ([]store.Sample, error) {
	return series{s: s}.Samples(ctx, q)
}

// SeriesOf implements store.Series.
func (s *Store) SeriesOf(ctx context.Context, patient, code string) ([]store.SeriesInfo, error) {
	return series{s: s}.SeriesOf(ctx, patient, code)
}

// SeriesByID implements store.Series.
func (s *Store) SeriesByID(ctx context.Context, id int64) (store.SeriesInfo, error) {
	return series{s: s}.SeriesByID(ctx, id)
}

// SeriesWith returns the store's time series with every chunk sealed by box
// as it is written and opened as it is read (package sealed).
func (s *Store) SeriesWith(box store.Sealer) store.Series { return series{s: s, box: box} }

// seriesKey names one series.
type seriesKey struct{ patient, code, device string }

// chunkAD is the additional data a chunk is sealed with: the chunk cannot
// be moved to another series or day.
func chunkAD(k seriesKey, day int64) string {
	return "series\x00" + k.patient + "\x00" + k.code + "\x00" + k.device + "\x00" + strconv.FormatInt(day, 10)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// checkSample returns why s cannot be stored, or nil.
func checkSample(s store.Sample) error {
	switch {
	case s.Patient == "" || s.Code == "":
		return errors.New("sqlstore: append samples: a sample needs a patient and a code")
	case s.Time.IsZero():
		return errors.New("sqlstore: append samples: a sample needs a time")
	case math.IsNaN(s.Value) || math.IsInf(s.Value, 0):
		return errors.New("sqlstore: append samples: a sample value must be finite")
	}
	return nil
}

// AppendSamples implements store.Series.
func (x series) AppendSamples(ctx context.Context, samples []store.Sample) (int, error) {
	type dayKey struct {
		seriesKey
		day int64
	}
	units := map[seriesKey]string{}
	byDay := map[dayKey][]point{}
	for _, sm := range samples {
		if err := checkSample(sm); err != nil {
			return 0, err
		}
		k := seriesKey{sm.Patient, sm.Code, sm.Device}
		if u, ok := units[k]; ok && u != sm.Unit {
			return 0, fmt.Errorf("sqlstore: append samples: units %q and %q in one series", u, sm.Unit)
		}
		units[k] = sm.Unit
		t := sm.Time.UnixNano()
		dk := dayKey{k, floorDiv(t, dayNanos)}
		byDay[dk] = append(byDay[dk], point{t: t, v: sm.Value})
	}
	// Chunks in key order: the same statements in the same order whatever
	// the map's order.
	keys := make([]dayKey, 0, len(byDay))
	for k := range byDay {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b dayKey) int {
		return cmp.Or(cmp.Compare(a.patient, b.patient), cmp.Compare(a.code, b.code), cmp.Compare(a.device, b.device), cmp.Compare(a.day, b.day))
	})
	added := 0
	err := x.s.Write(ctx, func(w store.Writer) error {
		tw := w.(*txWriter) // Write always hands its own
		added = 0
		sids := map[seriesKey]int64{}
		for _, dk := range keys {
			sid, ok := sids[dk.seriesKey]
			if !ok {
				var err error
				if sid, err = x.sid(ctx, tw, dk.seriesKey, units[dk.seriesKey]); err != nil {
					return err
				}
				sids[dk.seriesKey] = sid
			}
			n, err := x.appendChunk(ctx, tw, sid, dk.seriesKey, dk.day, byDay[dk])
			if err != nil {
				return err
			}
			added += n
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return added, nil
}

// sid returns the id of series k, adding it if new; its unit must be unit.
func (x series) sid(ctx context.Context, w *txWriter, k seriesKey, unit string) (int64, error) {
	var sid int64
	var have string
	err := w.q.QueryRowContext(ctx, w.d.bind("SELECT sid, unit FROM series WHERE patient = ? AND code = ? AND device = ?"), k.patient, k.code, k.device).Scan(&sid, &have)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		err = w.q.QueryRowContext(ctx, w.d.bind("INSERT INTO series (patient, code, device, unit) VALUES (?, ?, ?, ?) RETURNING sid"), k.patient, k.code, k.device, unit).Scan(&sid)
		return sid, wrap("append samples", err)
	case err != nil:
		return 0, wrap("append samples", err)
	case have != unit:
		return 0, fmt.Errorf("sqlstore: append samples: the series is in %q, a sample in %q", have, unit)
	}
	return sid, nil
}

// appendChunk merges ps into the chunk of (sid, day) and returns how many
// were new.
func (x series) appendChunk(ctx context.Context, w *txWriter, sid int64, k seriesKey, day int64, ps []point) (int, error) {
	var data []byte
	err := w.q.QueryRowContext(ctx, w.d.bind("SELECT data FROM series_chunk WHERE sid = ? AND day = ?"), sid, day).Scan(&data)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, wrap("append samples", err)
	}
	var old []point
	if err == nil {
		if old, err = x.decode(data, k, day); err != nil {
			return 0, err
		}
	}
	merged, n := mergePoints(old, ps)
	if n == 0 {
		return 0, nil
	}
	data = encodeChunk(merged)
	if x.box != nil {
		data = x.box.Seal(data, chunkAD(k, day))
	}
	_, err = w.q.ExecContext(ctx, w.d.bind("INSERT INTO series_chunk (sid, day, data) VALUES (?, ?, ?) ON CONFLICT (sid, day) DO UPDATE SET data = excluded.data"), sid, day, data)
	return n, wrap("append samples", err)
}

// decode opens and decodes a stored chunk; one that does not is
// store.ErrCorrupt.
func (x series) decode(data []byte, k seriesKey, day int64) ([]point, error) {
	if x.box != nil {
		var err error
		if data, err = x.box.Open(data, chunkAD(k, day)); err != nil {
			return nil, fmt.Errorf("%w: series chunk of day %d does not open with the key", store.ErrCorrupt, day)
		}
	}
	ps, err := decodeChunk(data)
	if err != nil {
		return nil, fmt.Errorf("%w: series chunk of day %d: %v", store.ErrCorrupt, day, err)
	}
	return ps, nil
}

// Samples implements store.Series.
func (x series) Samples(ctx context.Context, q store.SampleQuery) ([]store.Sample, error) {
	q.From, q.To = q.From.UTC(), q.To.UTC()
	from, to := int64(math.MinInt64), int64(math.MaxInt64)
	if !q.From.IsZero() {
		from = q.From.UnixNano()
	}
	if !q.To.IsZero() {
		to = q.To.UnixNano()
	}
	if from >= to {
		return nil, nil
	}
	r := prepared{c: x.s.rst}
	rows, err := r.QueryContext(ctx, x.s.d.bind("SELECT sid, device, unit FROM series WHERE patient = ? AND code = ?"), q.Patient, q.Code)
	if err != nil {
		return nil, wrap("samples", err)
	}
	type found struct {
		sid          int64
		device, unit string
	}
	var all []found
	for rows.Next() {
		var f found
		if err := rows.Scan(&f.sid, &f.device, &f.unit); err != nil {
			rows.Close()
			return nil, wrap("samples", err)
		}
		all = append(all, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap("samples", err)
	}
	var out []store.Sample
	for _, f := range all {
		k := seriesKey{q.Patient, q.Code, f.device}
		err := x.chunks(ctx, r, f.sid, floorDiv(from, dayNanos), floorDiv(to-1, dayNanos), func(day int64, data []byte) error {
			ps, err := x.decode(data, k, day)
			if err != nil {
				return err
			}
			for _, p := range ps {
				if p.t >= from && p.t < to {
					out = append(out, store.Sample{Patient: q.Patient, Code: q.Code, Device: f.device, Time: time.Unix(0, p.t).UTC(), Value: p.v, Unit: f.unit})
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(a, b store.Sample) int {
		c := cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.Device, b.Device))
		if q.Newest {
			return -c
		}
		return c
	})
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// SeriesOf implements store.Series.
func (x series) SeriesOf(ctx context.Context, patient, code string) ([]store.SeriesInfo, error) {
	q, args := "SELECT sid, code, device, unit FROM series WHERE patient = ? AND code = ? ORDER BY device", []any{patient, code}
	if code == "" {
		q, args = "SELECT sid, code, device, unit FROM series WHERE patient = ? ORDER BY code, device", args[:1]
	}
	r := prepared{c: x.s.rst}
	rows, err := r.QueryContext(ctx, x.s.d.bind(q), args...)
	if err != nil {
		return nil, wrap("series", err)
	}
	defer rows.Close()
	var out []store.SeriesInfo
	for rows.Next() {
		f := store.SeriesInfo{Patient: patient}
		if err := rows.Scan(&f.ID, &f.Code, &f.Device, &f.Unit); err != nil {
			return nil, wrap("series", err)
		}
		out = append(out, f)
	}
	return out, wrap("series", rows.Err())
}

// SeriesByID implements store.Series.
func (x series) SeriesByID(ctx context.Context, id int64) (store.SeriesInfo, error) {
	f := store.SeriesInfo{ID: id}
	r := prepared{c: x.s.rst}
	err := r.QueryRowContext(ctx, x.s.d.bind("SELECT patient, code, device, unit FROM series WHERE sid = ?"), id).Scan(&f.Patient, &f.Code, &f.Device, &f.Unit)
	if errors.Is(err, sql.ErrNoRows) {
		return store.SeriesInfo{}, fmt.Errorf("%w: series %d", store.ErrNotFound, id)
	}
	return f, wrap("series", err)
}

// chunks calls fn with each chunk of series sid from day lo to day hi.
func (x series) chunks(ctx context.Context, r prepared, sid, lo, hi int64, fn func(day int64, data []byte) error) error {
	rows, err := r.QueryContext(ctx, x.s.d.bind("SELECT day, data FROM series_chunk WHERE sid = ? AND day >= ? AND day <= ? ORDER BY day"), sid, lo, hi)
	if err != nil {
		return wrap("samples", err)
	}
	defer rows.Close()
	for rows.Next() {
		var day int64
		var data []byte
		if err := rows.Scan(&day, &data); err != nil {
			return wrap("samples", err)
		}
		if err := fn(day, data); err != nil {
			return err
		}
	}
	return wrap("samples", rows.Err())
}
