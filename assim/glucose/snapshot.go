package glucose

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"math/rand/v2"

	"github.com/doppelhealth/doppel/model/t1d"
)

// belief is the serialised form of a filter's particles: everything that
// Update and Advance change. The population, sensor and options are not in
// it; they come from the filter the belief is restored into.
type belief struct {
	Version int
	States  []t1d.PatientState
	Theta   [][NumParams]float64
	V, D    []float64
	LogW, W []float64
	ESS     float64
	Started bool
	Insulin float64
}

const beliefVersion = 1

func (f *Filter) belief() belief {
	b := belief{
		Version: beliefVersion,
		States:  make([]t1d.PatientState, len(f.models)),
		Theta:   append([][NumParams]float64(nil), f.theta...),
		V:       append([]float64(nil), f.v...),
		D:       append([]float64(nil), f.d...),
		LogW:    append([]float64(nil), f.logw...),
		W:       append([]float64(nil), f.w...),
		ESS:     f.ess, Started: f.started, Insulin: f.insulin,
	}
	for i, m := range f.models {
		b.States[i] = m.State()
	}
	return b
}

func (f *Filter) setBelief(b belief) error {
	n := len(f.models)
	if b.Version != beliefVersion {
		return fmt.Errorf("glucose: snapshot version %d, want %d", b.Version, beliefVersion)
	}
	if len(b.States) != n || len(b.Theta) != n || len(b.V) != n || len(b.D) != n || len(b.LogW) != n || len(b.W) != n {
		return fmt.Errorf("glucose: snapshot has %d particles, the filter %d", len(b.States), n)
	}
	for i, m := range f.models {
		if err := m.SetParams(f.personal(b.Theta[i])); err != nil {
			return fmt.Errorf("glucose: %w", err)
		}
		if err := m.SetState(b.States[i]); err != nil {
			return fmt.Errorf("glucose: %w", err)
		}
	}
	copy(f.theta, b.Theta)
	copy(f.v, b.V)
	copy(f.d, b.D)
	copy(f.logw, b.LogW)
	copy(f.w, b.W)
	f.ess, f.started, f.insulin = b.ESS, b.Started, b.Insulin
	return nil
}

// Clone returns an independent filter with f's population, sensor, options
// and current belief, drawing its randomness from rng. Nothing done to the
// clone changes f: a what-if branches from a clone.
func (f *Filter) Clone(rng *rand.Rand) (*Filter, error) {
	c, err := New(f.pop, f.sensor, rng, f.opt)
	if err != nil {
		return nil, err
	}
	if err := c.setBelief(f.belief()); err != nil {
		return nil, err
	}
	return c, nil
}

// Snapshot returns the filter's belief (every particle's model state,
// parameters, sensor error, disturbance and weight) as bytes. The
// population, sensor, options and random source are not included: Restore
// the bytes into a filter built by New with the same population, sensor
// and particle count.
func (f *Filter) Snapshot() ([]byte, error) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(f.belief()); err != nil {
		return nil, fmt.Errorf("glucose: snapshot: %w", err)
	}
	return buf.Bytes(), nil
}

// Restore replaces f's belief with one written by Snapshot. It fails, and
// leaves f unchanged, if the bytes are not a snapshot or hold a different
// number of particles.
func (f *Filter) Restore(data []byte) error {
	var b belief
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&b); err != nil {
		return fmt.Errorf("glucose: restore: %w", err)
	}
	n := len(f.models)
	if len(b.States) != n || len(b.Theta) != n {
		return fmt.Errorf("glucose: snapshot has %d particles, the filter %d", len(b.States), n)
	}
	return f.setBelief(b)
}
