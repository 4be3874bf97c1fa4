package subscription

import (
	"context"
	"time"

	"github.com/doppelhealth/doppel/internal/store"
)

// Wrap returns st whose writes the engine learns of once committed: a
// Subscription written with status requested or active is checked first
// ([Engine.Check]; a refusal fails the whole write, nothing is stored),
// and after the commit every version written goes to the engine, which
// matches it outside the request. Reads pass through.
func (e *Engine) Wrap(st store.Store) store.Store { return &watched{Store: st, e: e} }

type watched struct {
	store.Store
	e *Engine
}

func (w *watched) Write(ctx context.Context, fn func(w store.Writer) error) error {
	var written []store.Version
	err := w.Store.Write(ctx, func(sw store.Writer) error {
		written = written[:0] // fn may run again
		return fn(&recorder{Writer: sw, e: w.e, written: &written})
	})
	if err != nil || len(written) == 0 {
		return err
	}
	select {
	case w.e.changes <- written:
	default:
		w.e.opts.Logger.Warn("subscription: the engine is behind; a committed write is not matched", "versions", len(written))
	}
	return nil
}

// recorder notes what a write request puts and deletes.
type recorder struct {
	store.Writer
	e       *Engine
	written *[]store.Version
}

func (r *recorder) Put(ctx context.Context, v store.Version) (store.Version, error) {
	if v.Type == "Subscription" {
		s, err := Decode(v.Body)
		if err != nil {
			return store.Version{}, err
		}
		if s.Status == "requested" || s.Status == "active" {
			if err := r.e.Check(ctx, s); err != nil {
				return store.Version{}, err
			}
		}
	}
	out, err := r.Writer.Put(ctx, v)
	if err == nil {
		n := out
		n.Body, n.LastUpdated, n.VersionID = v.Body, v.LastUpdated, v.VersionID
		n.Type, n.ID, n.Index = v.Type, v.ID, v.Index
		*r.written = append(*r.written, n)
	}
	return out, err
}

func (r *recorder) Delete(ctx context.Context, typ, id string, at time.Time) (store.Version, error) {
	out, err := r.Writer.Delete(ctx, typ, id, at)
	if err == nil && typ == "Subscription" {
		*r.written = append(*r.written, store.Version{Type: typ, ID: id, Deleted: true})
	}
	return out, err
}
