package audit

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/doppelhealth/doppel/internal/store"
)

// Pending is the audit record of a request that may write, carried in its
// context (see [WithRecord]). A store wrapped by [Log.Wrap] stores it, with
// the resources written, in the same transaction as the write.
type Pending struct {
	mu      sync.Mutex
	rec     Record
	written bool
}

type pendingKey struct{}

// WithRecord returns ctx carrying rec for the writes made under it, and
// the handle to ask afterwards whether a write recorded it.
func WithRecord(ctx context.Context, rec Record) (context.Context, *Pending) {
	p := &Pending{rec: rec}
	return context.WithValue(ctx, pendingKey{}, p), p
}

// Written reports whether a committed write stored the record. When it did
// not (the request failed before or in the write), the caller records the
// outcome itself.
func (p *Pending) Written() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.written
}

// Audited is a store whose writes carry the audit record of the request
// that makes them. Reads pass through.
type Audited struct {
	store.Store
	log *Log
}

// Wrap returns st with audited writes. The log must write to st.
func (l *Log) Wrap(st store.Store) *Audited { return &Audited{Store: st, log: l} }

// Write runs fn as st does. When ctx carries a record (WithRecord), the
// record, with Resources and Patient filled from what fn wrote, is staged
// in the same transaction: the write and its audit record are committed
// together or not at all.
func (a *Audited) Write(ctx context.Context, fn func(w store.Writer) error) error {
	p, _ := ctx.Value(pendingKey{}).(*Pending)
	if p == nil {
		return a.Store.Write(ctx, fn)
	}
	var seq int64
	var hash string
	err := a.Store.Write(ctx, func(w store.Writer) error {
		aw := &auditWriter{Writer: w}
		if err := fn(aw); err != nil {
			return err
		}
		p.mu.Lock()
		r := p.rec
		p.mu.Unlock()
		r.Resources = aw.refs
		if r.Patient == "" {
			r.Patient = aw.patient
		}
		if r.Time.IsZero() {
			r.Time = time.Now()
		}
		var err error
		seq, hash, err = a.log.stage(ctx, w, []Record{r}, nil)
		return err
	})
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.written = true
	p.mu.Unlock()
	return a.log.committed(seq, hash)
}

// auditWriter notes what a write request puts and deletes.
type auditWriter struct {
	store.Writer
	refs    []string
	patient string
}

func (w *auditWriter) Put(ctx context.Context, v store.Version) (store.Version, error) {
	out, err := w.Writer.Put(ctx, v)
	if err == nil {
		w.note(v.Type, v.ID, v)
	}
	return out, err
}

func (w *auditWriter) Delete(ctx context.Context, typ, id string, at time.Time) (store.Version, error) {
	prev, _ := w.Writer.Read(ctx, typ, id) // for its patient
	out, err := w.Writer.Delete(ctx, typ, id, at)
	if err == nil {
		w.note(typ, id, prev)
	}
	return out, err
}

// note records a written resource and the first patient it belongs to.
func (w *auditWriter) note(typ, id string, v store.Version) {
	w.refs = append(w.refs, typ+"/"+id)
	if w.patient == "" {
		v.Type, v.ID = typ, id
		w.patient = PatientOf(v)
	}
}

// PatientOf returns the patient a stored resource belongs to, as the
// Patient field of a Record wants it: "Patient/ID" of the resource itself,
// or of the Patient its "patient" or "subject" index entry names, or
// (a version read without its index) its subject or patient element; ""
// if none.
func PatientOf(v store.Version) string {
	if v.Type == "Patient" {
		return "Patient/" + v.ID
	}
	for _, e := range v.Index {
		if (e.Param == "patient" || e.Param == "subject") && e.RefType == "Patient" && e.RefID != "" {
			return "Patient/" + e.RefID
		}
	}
	if v.Index != nil || v.Body == nil {
		return ""
	}
	var refs struct {
		Subject, Patient struct{ Reference string }
	}
	if json.Unmarshal(v.Body, &refs) != nil {
		return ""
	}
	for _, ref := range []string{refs.Subject.Reference, refs.Patient.Reference} {
		if id, ok := strings.CutPrefix(ref, "Patient/"); ok && id != "" && !strings.Contains(id, "/") {
			return ref
		}
	}
	return ""
}
