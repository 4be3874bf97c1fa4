package twin

import (
	"bytes"
	"context"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/doppelhealth/doppel/score"
)

const snapshotVersion = 1

type snapshot struct {
	Version int          `json:"version"`
	Rand    []byte       `json:"rand"` // the twin's random source (rand.PCG)
	Glucose *glucoseSnap `json:"glucose,omitempty"`
	Ward    *wardSnap    `json:"ward,omitempty"`
}

type glucoseSnap struct {
	// Setup is the twin's GlucoseSetup (gob), so that a restored twin
	// goes on with the parameters it started from, whatever the record
	// says now; a custom Options.Method.New (a function) is not saved.
	// Absent in older snapshots: Options.Glucose gives it then.
	Setup   []byte    `json:"setup,omitempty"`
	Filter  []byte    `json:"filter"` // glucose.Filter.Snapshot
	LastCGM time.Time `json:"lastCGM"`
	Reading float64   `json:"reading"`
	Pending []dose    `json:"pending,omitempty"`
	Last    *Forecast `json:"last,omitempty"`
	Hypo    bool      `json:"hypo"`
	Lost    bool      `json:"lost"`
}

type wardSnap struct {
	Origin   time.Time      `json:"origin"`
	Samples  []score.Sample `json:"samples"`
	Response score.Response `json:"response"`
	Last     *NEWS2         `json:"last,omitempty"`
	Oxygen   *oxygen        `json:"oxygen,omitempty"`
}

// Snapshot writes the patient's twin state through Options.Snapshots. A
// vitals set still being collected is not included.
func (m *Manager) Snapshot(ctx context.Context, patient string) error {
	if m.opt.Snapshots == nil {
		return fmt.Errorf("twin: no Snapshots configured")
	}
	p, err := m.get(ctx, patient, false)
	if err != nil || p == nil {
		return err
	}
	data, err := p.snapshot()
	p.mu.Unlock()
	if err != nil {
		return err
	}
	return m.opt.Snapshots.Save(ctx, patient, data)
}

// Load brings the twins of patients into memory from their snapshots
// (a patient without one gets an empty twin), so that after a restart a
// twin whose device has gone silent still raises its lost-stream alert.
func (m *Manager) Load(ctx context.Context, patients []string) error {
	for _, id := range patients {
		p, err := m.get(ctx, id, true)
		if err != nil {
			return err
		}
		p.mu.Unlock()
	}
	return nil
}

// SaveAll snapshots every twin in memory.
func (m *Manager) SaveAll(ctx context.Context) error {
	var ids []string
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		for id := range s.m {
			ids = append(ids, id)
		}
		s.mu.Unlock()
	}
	for _, id := range ids {
		if err := m.Snapshot(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

func (p *patientTwin) snapshot() ([]byte, error) {
	r, err := p.pcg.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("twin: %w", err)
	}
	s := snapshot{Version: snapshotVersion, Rand: r}
	if g := p.glucose; g != nil {
		f, err := g.f.Snapshot()
		if err != nil {
			return nil, fmt.Errorf("twin: %w", err)
		}
		var setup bytes.Buffer
		if err := gob.NewEncoder(&setup).Encode(g.setup); err != nil {
			return nil, fmt.Errorf("twin: snapshot of a setup: %w", err)
		}
		s.Glucose = &glucoseSnap{Setup: setup.Bytes(), Filter: f, LastCGM: g.lastCGM, Reading: g.reading, Pending: g.pending,
			Last: g.last, Hypo: g.hypo, Lost: g.lost}
	}
	if w := p.ward; w != nil {
		s.Ward = &wardSnap{Origin: w.origin, Samples: w.samples, Response: w.resp, Last: w.last}
		if !w.oxygen.At.IsZero() {
			s.Ward.Oxygen = &w.oxygen
		}
	}
	return json.Marshal(s)
}

// restore gives a new twin its random source and, if Snapshots has one,
// its saved state.
func (m *Manager) restore(ctx context.Context, p *patientTwin) error {
	p.pcg = m.pcg(p.id)
	p.rng = rand.New(p.pcg)
	if m.opt.Snapshots == nil {
		return nil
	}
	data, err := m.opt.Snapshots.Load(ctx, p.id)
	if err != nil || data == nil {
		return err
	}
	var s snapshot
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("twin: snapshot of a twin: %w", err)
	}
	if s.Version != snapshotVersion {
		return fmt.Errorf("twin: snapshot version %d, want %d", s.Version, snapshotVersion)
	}
	if err := p.pcg.UnmarshalBinary(s.Rand); err != nil {
		return fmt.Errorf("twin: snapshot of a twin: %w", err)
	}
	if gs := s.Glucose; gs != nil {
		var g *glucoseTwin
		if gs.Setup != nil {
			var setup GlucoseSetup
			if err := gob.NewDecoder(bytes.NewReader(gs.Setup)).Decode(&setup); err != nil {
				return fmt.Errorf("twin: snapshot of a setup: %w", err)
			}
			g, err = glucoseFrom(p, setup)
		} else {
			g, err = m.newGlucose(p)
		}
		if err != nil {
			return err
		}
		if err := g.f.Restore(gs.Filter); err != nil {
			return fmt.Errorf("twin: %w", err)
		}
		g.lastCGM, g.reading, g.pending, g.last, g.hypo, g.lost = gs.LastCGM, gs.Reading, gs.Pending, gs.Last, gs.Hypo, gs.Lost
		p.glucose = g
	}
	if ws := s.Ward; ws != nil {
		p.ward = &wardTwin{origin: ws.Origin, samples: ws.Samples, resp: ws.Response, last: ws.Last}
		if ws.Oxygen != nil {
			p.ward.oxygen = *ws.Oxygen
		}
	}
	return nil
}
