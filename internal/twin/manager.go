package twin

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/doppelhealth/doppel/assim/glucose"
	"github.com/doppelhealth/doppel/internal/clinical"
	"github.com/doppelhealth/doppel/model/t1d"
)

// Snapshots keeps the latest snapshot of each patient's twin.
type Snapshots interface {
	Save(ctx context.Context, patient string, data []byte) error
	// Load returns the patient's snapshot, or nil and no error if there is
	// none.
	Load(ctx context.Context, patient string) ([]byte, error)
}

// GlucoseSetup is what a diabetes twin starts from.
type GlucoseSetup struct {
	Pop     t1d.Params       // population parameters (glucose.Population)
	Sensor  t1d.SensorParams // the CGM sensor
	Basal   float64          // the patient's basal insulin rate, U/min
	Options glucose.Options  // filter options
}

// Options configure a Manager. The zero value, with Now set, works.
type Options struct {
	Now func() time.Time // the clock; required
	// Glucose returns the setup of a patient's diabetes twin; nil means
	// DefaultGlucose for every patient.
	Glucose func(patient string) (GlucoseSetup, error)
	// Scale2 reports whether SpO2 scale 2 (target 88-92 %, hypercapnic
	// respiratory failure) is prescribed for a patient at a time; it is
	// asked for every scored vitals set. Nil means scale 1 for everyone.
	Scale2    func(patient string, at time.Time) (bool, error)
	Sink      Sink      // optional
	Snapshots Snapshots // optional
	// Seed seeds each twin's random source together with its patient id,
	// so a run is reproducible.
	Seed          uint64
	HypoProb      float64       // alert threshold on P(hypo in 30 min); 0 means 0.5
	StreamTimeout time.Duration // no CGM for this long raises an alert; 0 means 15 min
	VitalsWindow  time.Duration // a vitals set spans at most this; 0 means 15 min
	Workers       int           // goroutines of Run; 0 means 4
}

const shards = 64

// Manager holds the twins of many patients. Its methods are safe for
// concurrent use; the twin of one patient is updated by one goroutine at a
// time.
type Manager struct {
	opt    Options
	bcast  *Broadcaster
	shards [shards]struct {
		mu sync.Mutex
		m  map[string]*patientTwin
	}
}

// New returns a Manager with no twins.
func New(opt Options) (*Manager, error) {
	if opt.Now == nil {
		return nil, errors.New("twin: Options.Now is required")
	}
	if opt.HypoProb == 0 {
		opt.HypoProb = 0.5
	}
	if opt.StreamTimeout == 0 {
		opt.StreamTimeout = 15 * time.Minute
	}
	if opt.VitalsWindow == 0 {
		opt.VitalsWindow = 15 * time.Minute
	}
	if opt.Workers <= 0 {
		opt.Workers = 4
	}
	if opt.Glucose == nil {
		def, err := DefaultGlucose()
		if err != nil {
			return nil, err
		}
		opt.Glucose = func(string) (GlucoseSetup, error) { return def, nil }
	}
	m := &Manager{opt: opt, bcast: NewBroadcaster()}
	for i := range m.shards {
		m.shards[i].m = map[string]*patientTwin{}
	}
	return m, nil
}

// DefaultGlucose is the setup used when nothing is known of a patient: the
// mean of the ten adults of the UVA/Padova cohort, with their mean body
// weight and basal rate, read by a Dexcom sensor.
func DefaultGlucose() (GlucoseSetup, error) {
	var names []string
	var bw, basal float64
	for _, n := range t1d.Patients() {
		if len(n) >= 5 && n[:5] == "adult" {
			p, err := t1d.Patient(n)
			if err != nil {
				return GlucoseSetup{}, fmt.Errorf("twin: %w", err)
			}
			names = append(names, n)
			bw += p.BW
			basal += p.BasalRate()
		}
	}
	k := float64(len(names))
	pop, err := glucose.Population(names, bw/k, basal/k)
	if err != nil {
		return GlucoseSetup{}, fmt.Errorf("twin: %w", err)
	}
	sensor, err := t1d.Sensor("Dexcom")
	if err != nil {
		return GlucoseSetup{}, fmt.Errorf("twin: %w", err)
	}
	return GlucoseSetup{Pop: pop, Sensor: sensor, Basal: basal / k}, nil
}

// CloseSubscriptions ends every subscription (see Broadcaster.Close).
func (m *Manager) CloseSubscriptions() { m.bcast.Close() }

// Subscribe returns a channel of the patient's events (see Broadcaster).
func (m *Manager) Subscribe(patient string, buf int) (<-chan Event, func()) {
	return m.bcast.Subscribe(patient, buf)
}

func shardOf(patient string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(patient))
	return h.Sum32()
}

// get returns the patient's twin, locked, creating it (from its snapshot
// if there is one) when create is set; nil if absent and !create.
func (m *Manager) get(ctx context.Context, patient string, create bool) (*patientTwin, error) {
	s := &m.shards[shardOf(patient)%shards]
	s.mu.Lock()
	p := s.m[patient]
	if p == nil {
		if !create {
			s.mu.Unlock()
			return nil, nil
		}
		p = &patientTwin{id: patient}
		p.mu.Lock() // held until restored, so no one sees it half-built
		s.m[patient] = p
		s.mu.Unlock()
		if err := m.restore(ctx, p); err != nil {
			s.mu.Lock()
			delete(s.m, patient)
			s.mu.Unlock()
			p.mu.Unlock()
			return nil, err
		}
		return p, nil
	}
	s.mu.Unlock()
	p.mu.Lock()
	return p, nil
}

func (m *Manager) pcg(patient string) *rand.PCG {
	return rand.NewPCG(m.opt.Seed, uint64(shardOf(patient)))
}

// Observe hands one observation to its patient's twin and returns when
// the twin has processed it and its events have been emitted. Codes a twin
// does not use are ignored.
func (m *Manager) Observe(ctx context.Context, o clinical.Observation) error {
	if o.Patient == "" {
		return errors.New("twin: observation without a patient")
	}
	p, err := m.get(ctx, o.Patient, true)
	if err != nil {
		return err
	}
	defer p.mu.Unlock()
	var events []Event
	switch o.Code {
	case clinical.CodeGlucoseCGM, clinical.CodeInsulin, clinical.CodeCarbIntake:
		events, err = m.diabetes(p, o)
	case clinical.CodeRespRate, clinical.CodeSpO2, clinical.CodeBPPanel, clinical.CodeHeartRate,
		clinical.CodeBodyTemp, clinical.CodeConsciousness, clinical.CodeO2Flow, clinical.CodeFiO2:
		events, err = m.vitals(p, o)
	}
	if err != nil {
		return err
	}
	return m.emit(ctx, events)
}

func (m *Manager) emit(ctx context.Context, events []Event) error {
	var errs []error
	for _, e := range events {
		if m.opt.Sink != nil {
			if err := m.opt.Sink.Emit(ctx, e); err != nil {
				errs = append(errs, err)
			}
		}
		m.bcast.Emit(ctx, e)
	}
	return errors.Join(errs...)
}

// Delivery is an observation with the function to call when its twin has
// processed it (a stream consumer acknowledges there).
type Delivery struct {
	Obs  clinical.Observation
	Done func(error)
}

// Run processes deliveries with Options.Workers goroutines until ctx ends
// or in is closed, and checks for lost data streams every minute. The
// observations of one patient always go to the same worker, so they are
// processed in the order received.
func (m *Manager) Run(ctx context.Context, in <-chan Delivery) error {
	queues := make([]chan Delivery, m.opt.Workers)
	var wg sync.WaitGroup
	for i := range queues {
		queues[i] = make(chan Delivery, 64)
		wg.Go(func() {
			for d := range queues[i] {
				err := m.Observe(ctx, d.Obs)
				if d.Done != nil {
					d.Done(err)
				}
			}
		})
	}
	tick := time.NewTicker(time.Minute)
	defer func() {
		tick.Stop()
		for _, q := range queues {
			close(q)
		}
		wg.Wait()
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			m.CheckStreams(ctx)
		case d, ok := <-in:
			if !ok {
				return nil
			}
			select {
			case queues[shardOf(d.Obs.Patient)%uint32(len(queues))] <- d:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
}

// CheckStreams raises a lost-stream alert for every diabetes twin whose
// last CGM reading is older than Options.StreamTimeout, once per gap.
func (m *Manager) CheckStreams(ctx context.Context) error {
	now := m.opt.Now()
	var ids []string
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		for id := range s.m {
			ids = append(ids, id)
		}
		s.mu.Unlock()
	}
	var errs []error
	for _, id := range ids {
		p, err := m.get(ctx, id, false)
		if err != nil || p == nil {
			continue
		}
		g := p.glucose
		var events []Event
		if g != nil && !g.lastCGM.IsZero() && !g.lost && now.Sub(g.lastCGM) > m.opt.StreamTimeout {
			g.lost = true
			events = append(events, Event{Patient: id, Kind: KindAlert, Time: now, Alert: &Alert{
				Kind:    AlertStreamLost,
				Message: fmt.Sprintf("no CGM reading for %.0f min", now.Sub(g.lastCGM).Minutes()),
			}})
		}
		errs = append(errs, m.emit(ctx, events))
		p.mu.Unlock()
	}
	return errors.Join(errs...)
}
