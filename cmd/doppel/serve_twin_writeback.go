package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/doppelhealth/doppel/internal/audit"
	"github.com/doppelhealth/doppel/internal/fhir"
	"github.com/doppelhealth/doppel/internal/fhirops"
	"github.com/doppelhealth/doppel/internal/httpapi"
	"github.com/doppelhealth/doppel/internal/metrics"
	"github.com/doppelhealth/doppel/internal/store"
	"github.com/doppelhealth/doppel/internal/twin"
)

// writeback writes what the twins produce back to the FHIR store, each
// resource committed in one transaction with its Provenance and the
// AuditEvent of the write (agent: the twin, not a user):
//
//   - a glucose forecast as three Observations (30, 60, 120 min ahead),
//   - a ward twin's NEWS2 trend forecast as a RiskAssessment,
//   - a predicted hypoglycaemia as a RiskAssessment, a NEWS2 escalation
//     or a lost data stream as a Flag.
//
// # Forecasts: in place, at a cadence, asynchronously
//
// A twin forecasts after every reading (10,000 CGM patients: 33 a second);
// storing each as new resources would grow the store by gigabytes a day
// and give searches thousands of stale forecasts per patient. So each
// patient has one forecast resource per horizon (ids derived from the
// patient), updated in place: a search or read gives the current forecast,
// _history the earlier ones. A version is written when its data (the
// reading it follows) is at least every after the stored one's (every 0:
// all), so the history grows by the cadence, not by the reading rate;
// between versions the twin's forecasts go to subscribers (SSE) only.
// A stored glucose forecast costs about 40 kB of SQLite (three
// Observations, the Provenance and the AuditEvent, with their search
// index rows; BenchmarkWritebackForecast): for 10,000 patients, 116 GB a
// day after every 5-min reading, 9.7 GB a day at the default hour.
// A forecast not newer than the stored one (a reading replayed after a
// restart) is never written again. Forecasts are handed to a bounded
// queue and written by workers, so the twin never waits for the store;
// a full queue drops the forecast (counted; the next one supersedes it).
//
// # Alerts: synchronously, once
//
// An alert is rare and must not be lost: it is written before Emit
// returns, so before the reading that raised it is acknowledged, as its
// own resources (ids derived from patient, kind and time): an alert
// already stored (a replay) is not written again.
type writeback struct {
	svc    *fhirops.Service
	now    func() time.Time
	every  time.Duration
	models map[string]twinModel // by model key (modelGlucose, modelNEWS2)
	met    writebackMetrics
	logger *slog.Logger

	mu     sync.RWMutex // held to send to queues; Close takes it to close them
	closed bool
	queues []chan wbJob
	wg     sync.WaitGroup
}

// wbJob is one queued forecast, or (done set) a barrier for Flush.
type wbJob struct {
	e    twin.Event
	done chan struct{}
}

// writebackOptions configure newWriteback.
type writebackOptions struct {
	Every   time.Duration     // cadence of stored forecasts per patient, in data time; 0: every forecast
	Workers int               // writing goroutines; 0: 8 (store writes wait on the commit, not the CPU)
	Queue   int               // forecasts waiting, all workers together; 0: 8192
	Now     func() time.Time  // issued and recorded times; nil: time.Now
	Metrics *metrics.Registry // nil: not exported
	Logger  *slog.Logger      // nil: discarded
}

// writebackMetrics are the write-back's series in /metrics.
type writebackMetrics struct {
	results *metrics.Counter   // kind, result
	latency *metrics.Histogram // kind
}

// Results of one twin output, the result label of doppel_twin_writeback_total.
const (
	wbWritten   = "written"   // stored with its Provenance
	wbCadence   = "cadence"   // a forecast within the cadence of the stored one: not stored
	wbDuplicate = "duplicate" // stored already (a replayed reading)
	wbDropped   = "dropped"   // the queue was full
	wbFailed    = "failed"    // the store refused it
)

// newWriteback starts the write-back on svc, after making sure that the
// Device resources of the twins' models exist.
func newWriteback(ctx context.Context, svc *fhirops.Service, opt writebackOptions) (*writeback, error) {
	if opt.Every < 0 {
		return nil, fmt.Errorf("serve: twin forecast cadence %v, want 0 or more", opt.Every)
	}
	if opt.Workers <= 0 {
		opt.Workers = 8
	}
	if opt.Queue <= 0 {
		opt.Queue = 8192
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Metrics == nil {
		opt.Metrics = metrics.NewRegistry()
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	w := &writeback{
		svc: svc, now: opt.Now, every: opt.Every, models: twinModels(buildVersion()), logger: opt.Logger,
		met: writebackMetrics{
			results: opt.Metrics.Counter("doppel_twin_writeback_total", "Twin outputs for the FHIR store, by kind (forecast, news2, alert) and result (written; cadence: within the cadence of the stored forecast; duplicate: stored already; dropped: the queue was full; failed).", "kind", "result"),
			latency: opt.Metrics.Histogram("doppel_twin_writeback_duration_seconds", "Time to write one twin output with its Provenance and audit record, by kind.",
				[]float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}, "kind"),
		},
	}
	for _, m := range w.models {
		if err := w.ensureDevice(ctx, m); err != nil {
			return nil, err
		}
	}
	w.queues = make([]chan wbJob, opt.Workers)
	for i := range w.queues {
		q := make(chan wbJob, max(opt.Queue/opt.Workers, 1))
		w.queues[i] = q
		w.wg.Go(func() { w.work(q) })
	}
	return w, nil
}

// twinCtx is ctx carrying the audit record of a write by the twins: the
// twin as the agent (a system, "system:doppel-twin"), the resources and
// patient filled in by the audited store.
func twinCtx(ctx context.Context) context.Context {
	ctx, _ = audit.WithRecord(ctx, audit.Record{Interaction: audit.Transaction, Operation: "twin write-back", Who: twinAgent, System: true})
	return ctx
}

// twinAgent is the audit subject of the twins' own writes.
const twinAgent = "system:doppel-twin"

// Emit hands e to the store: a forecast to the queue, an alert written at
// once. It implements twin.Sink.
func (w *writeback) Emit(ctx context.Context, e twin.Event) error {
	switch e.Kind {
	case twin.KindAlert:
		if e.Alert == nil {
			return nil
		}
		start := time.Now()
		res, err := w.alert(ctx, e)
		w.count("alert", res, start)
		return err
	case twin.KindForecast, twin.KindNEWS2:
		w.mu.RLock()
		defer w.mu.RUnlock()
		if w.closed {
			return errors.New("serve: twin write-back closed")
		}
		select {
		case w.queues[patientShard(e.Patient, len(w.queues))] <- wbJob{e: e}:
		default:
			w.met.results.Inc(e.Kind, wbDropped)
		}
	}
	return nil
}

func (w *writeback) count(kind, result string, start time.Time) {
	w.met.results.Inc(kind, result)
	if result == wbWritten {
		w.met.latency.Observe(time.Since(start).Seconds(), kind)
	}
}

// Flush returns when every forecast queued before the call is written
// (or dropped as failed).
func (w *writeback) Flush(ctx context.Context) error {
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return nil
	}
	dones := make([]chan struct{}, len(w.queues))
	for i, q := range w.queues {
		dones[i] = make(chan struct{})
		select {
		case q <- wbJob{done: dones[i]}:
		case <-ctx.Done():
			w.mu.RUnlock()
			return ctx.Err()
		}
	}
	w.mu.RUnlock()
	for _, d := range dones {
		select {
		case <-d:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Close writes the queued forecasts and stops the workers. Emit must not
// be called after.
func (w *writeback) Close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		for _, q := range w.queues {
			close(q)
		}
	}
	w.mu.Unlock()
	w.wg.Wait()
}

// patientShard is the worker of a patient: one patient's forecasts are
// written in order by one goroutine, which alone keeps its state.
func patientShard(patient string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(patient))
	return int(h.Sum32() % uint32(n))
}

// stored is what a worker knows of one patient's stored forecast of one
// model: loaded from the store at its first forecast, then kept.
type stored struct {
	base     time.Time // data time of the stored version; zero if none
	versions []int64   // current version of each resource; 0: none
	gone     []bool    // deleted: written again without If-Match
}

// work writes the forecasts of q until it is closed. The context is its
// own: a write started is finished at shutdown.
func (w *writeback) work(q <-chan wbJob) {
	ctx := context.Background()
	state := map[string]*stored{}
	for j := range q {
		if j.done != nil {
			close(j.done)
			continue
		}
		start := time.Now()
		res, err := w.forecast(ctx, state, j.e)
		if err != nil {
			w.logger.Warn("twins: writing a forecast back failed", "kind", j.e.Kind, "err", err)
		}
		w.count(j.e.Kind, res, start)
	}
}

// forecast writes e, a forecast or NEWS2 event, in place of the patient's
// stored one unless that is as new or within the cadence.
func (w *writeback) forecast(ctx context.Context, state map[string]*stored, e twin.Event) (string, error) {
	f, err := w.forecastResources(e)
	if err != nil {
		return wbFailed, err
	}
	key := e.Patient + "|" + e.Kind
	for attempt := 0; ; attempt++ {
		st := state[key]
		if st == nil {
			if st, err = w.load(ctx, f); err != nil {
				return wbFailed, err
			}
			state[key] = st
		}
		switch {
		case !st.base.IsZero() && !e.Time.After(st.base):
			return wbDuplicate, nil
		case !st.base.IsZero() && e.Time.Sub(st.base) < w.every:
			return wbCadence, nil
		}
		since := ""
		if !st.base.IsZero() {
			since = fhirTime(st.base)
		}
		err = w.commit(ctx, f, st.versions, st.gone, since)
		if err == nil {
			st.base = e.Time
			for i := range st.versions {
				st.versions[i]++
				st.gone[i] = false
			}
			return wbWritten, nil
		}
		delete(state, key)
		if fe, ok := errors.AsType[*fhir.Error](err); !ok || (fe.Status != http.StatusPreconditionFailed && fe.Status != http.StatusConflict) || attempt > 0 {
			return wbFailed, err
		}
		// Changed by someone else since it was loaded: load it again.
	}
}

// load reads the current versions of a forecast's resources and the data
// time of the stored forecast.
func (w *writeback) load(ctx context.Context, f outputSet) (*stored, error) {
	st := &stored{versions: make([]int64, len(f.resources)), gone: make([]bool, len(f.resources))}
	for i, r := range f.resources {
		v, err := w.svc.Read(ctx, r.typ, r.id)
		if fe, ok := errors.AsType[*fhir.Error](err); ok && (fe.Status == http.StatusNotFound || fe.Status == http.StatusGone) {
			st.versions[i], st.gone[i] = v.VersionID, v.Deleted
			continue
		}
		if err != nil {
			return nil, err
		}
		st.versions[i] = v.VersionID
		if i == 0 {
			t, err := f.baseOf(v.Body)
			if err != nil {
				return nil, fmt.Errorf("serve: stored twin forecast %s/%s: %w", r.typ, r.id, err)
			}
			st.base = t
		}
	}
	return st, nil
}

// alert writes an alert once: not if its resource exists (or existed).
func (w *writeback) alert(ctx context.Context, e twin.Event) (string, error) {
	f, err := w.alertResources(e)
	if err != nil {
		return wbFailed, err
	}
	r := f.resources[0]
	_, err = w.svc.Read(ctx, r.typ, r.id)
	fe, ok := errors.AsType[*fhir.Error](err)
	switch {
	case err == nil, ok && fe.Status == http.StatusGone:
		return wbDuplicate, nil
	case !ok || fe.Status != http.StatusNotFound:
		return wbFailed, err
	}
	if err := w.commit(ctx, f, []int64{0}, []bool{false}, ""); err != nil {
		return wbFailed, err
	}
	return wbWritten, nil
}

// commit writes the resources of f and their Provenance in one
// transaction, audited as the twin's: versions are their current versions
// (0: none), each written with If-Match unless absent or gone; since
// describes the data assimilated before f's own (forecasts).
func (w *writeback) commit(ctx context.Context, f outputSet, versions []int64, gone []bool, since string) error {
	type request struct {
		Method  string `json:"method"`
		URL     string `json:"url"`
		IfMatch string `json:"ifMatch,omitempty"`
	}
	type entry struct {
		Resource any     `json:"resource"`
		Request  request `json:"request"`
	}
	now := w.now()
	entries := make([]entry, 0, len(f.resources)+1)
	targets := make([]reference, len(f.resources))
	for i, r := range f.resources {
		req := request{Method: http.MethodPut, URL: r.typ + "/" + r.id}
		if versions[i] > 0 && !gone[i] {
			req.IfMatch = fmt.Sprintf("W/%q", fmt.Sprint(versions[i]))
		}
		entries = append(entries, entry{r.body(now), req})
		targets[i] = reference{Reference: fmt.Sprintf("%s/%s/_history/%d", r.typ, r.id, versions[i]+1)}
	}
	prov := f.provenance(targets, now, versions[0] > 0, since)
	entries = append(entries, entry{prov, request{Method: http.MethodPut, URL: "Provenance/" + prov.ID}})
	body, err := json.Marshal(struct {
		ResourceType string  `json:"resourceType"`
		Type         string  `json:"type"`
		Entry        []entry `json:"entry"`
	}{"Bundle", "transaction", entries})
	if err != nil {
		return err
	}
	_, err = w.svc.Transaction(twinCtx(ctx), body, "")
	return err
}

// ensureDevice creates the Device resource of model m unless it exists.
func (w *writeback) ensureDevice(ctx context.Context, m twinModel) error {
	_, err := w.svc.Read(ctx, "Device", m.deviceID)
	if fe, ok := errors.AsType[*fhir.Error](err); !ok || (fe.Status != http.StatusNotFound && fe.Status != http.StatusGone) {
		return err // exists (nil) or the store failed; deleted: made again
	}
	body, err := json.Marshal(m.device())
	if err != nil {
		return err
	}
	_, err = w.svc.Update(twinCtx(ctx), "Device", m.deviceID, body, "")
	return err
}

// auditedStore is st whose writes made under twinCtx are recorded in the
// audit trail a, when a is serve's (the same hash chain as the requests').
func auditedStore(st store.Store, a httpapi.Auditor) store.Store {
	if t, ok := a.(*auditTrail); ok {
		return t.log.Wrap(st)
	}
	return st
}
