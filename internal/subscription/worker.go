package subscription

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store"
	"github.com/doppelhealth/doppel/internal/twin"
)

// worker delivers one subscription's notifications, in order.
type worker struct {
	e       *Engine
	sub     Subscription
	version int64 // of the Subscription resource it serves
	in      chan store.Version
	cancel  context.CancelFunc
	done    chan struct{}

	mu       sync.Mutex
	status   string
	errText  string
	events   int64 // events-since-subscription-start
	failures int   // notifications in a row that failed
}

func (w *worker) stop() {
	w.cancel()
	<-w.done
}

// ended reports whether the worker has stopped on its own (turned off).
func (w *worker) ended() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

func (w *worker) count() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.events
}

func (w *worker) currentStatus() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.status
}

// state is the subscription's status for a notification of type typ.
func (w *worker) state(typ string) status {
	w.mu.Lock()
	defer w.mu.Unlock()
	return status{base: w.e.opts.BaseURL, id: w.sub.ID, topic: w.sub.Topic, status: w.status, typ: typ, since: w.events, errText: w.errText}
}

// run delivers until ctx is done or the subscription is turned off.
func (w *worker) run(ctx context.Context, handshake bool) {
	defer close(w.done)
	var twins <-chan twin.Event
	if w.sub.Topic == TopicTwin && w.e.opts.Twins != nil {
		ch, stop := w.e.opts.Twins.Subscribe(w.sub.Patient, w.e.opts.Queue)
		defer stop()
		twins = ch
	}
	if !w.sub.End.IsZero() && !w.sub.End.After(w.e.opts.Now()) {
		w.setStatus(ctx, "off", "") // ended: no handshake
		return
	}
	if handshake {
		if w.sub.Channel == WebSocket { // the handshake goes to each client that binds
			w.setStatus(ctx, "active", "")
		} else if !w.send(ctx, typeHandshake, nil) {
			return
		}
	}
	var beat <-chan time.Time
	var ticker *time.Ticker
	if w.sub.Heartbeat > 0 {
		ticker = time.NewTicker(w.sub.Heartbeat)
		defer ticker.Stop()
		beat = ticker.C
	}
	var end <-chan time.Time
	if !w.sub.End.IsZero() { // Subscription.end: turned off then
		t := time.NewTimer(w.sub.End.Sub(w.e.opts.Now()))
		defer t.Stop()
		end = t.C
	}
	maxCount := w.sub.MaxCount
	if maxCount == 0 {
		maxCount = w.e.opts.MaxCount
	}
	for {
		var evs []Event
		take := func(v store.Version) {
			if ev, ok := w.match(ctx, v); ok {
				evs = append(evs, ev)
			}
		}
		takeTwin := func(te twin.Event, ok bool) {
			if !ok {
				twins = nil
				return
			}
			if ev, ok := w.twinEvent(te); ok {
				evs = append(evs, ev)
			}
		}
		select {
		case <-ctx.Done():
			return
		case v := <-w.in:
			take(v)
		case te, ok := <-twins:
			takeTwin(te, ok)
		case <-beat:
			if !w.send(ctx, typeHeartbeat, nil) {
				return
			}
			continue
		case <-end:
			w.setStatus(ctx, "off", "")
			return
		}
	drain:
		for len(evs) < maxCount {
			select {
			case v := <-w.in:
				take(v)
			case te, ok := <-twins:
				takeTwin(te, ok)
			default:
				break drain
			}
		}
		if len(evs) == 0 {
			continue
		}
		if !w.send(ctx, typeEvent, evs) {
			return
		}
		if ticker != nil {
			ticker.Reset(w.sub.Heartbeat)
		}
	}
}

// match reports whether the committed version v matches the
// subscription's filter, evaluated by the store on the snapshot of its
// commit, and numbers it as the next event if so.
func (w *worker) match(ctx context.Context, v store.Version) (Event, bool) {
	if !mayMatch(w.e.reg, w.sub.Filter, v) {
		return Event{}, false
	}
	vals := url.Values{}
	for k, vs := range w.sub.Filter {
		vals[k] = slices.Clone(vs)
	}
	vals.Add("_id", v.ID)
	q, _, err := w.e.reg.ParseQuery(v.Type, vals, true, search.Limits{})
	if err != nil {
		return Event{}, false // checked when the subscription was written
	}
	q.Count, q.Total = 1, "none"
	page, err := w.e.st.Search(ctx, q, v.T)
	if err != nil {
		if ctx.Err() == nil {
			w.e.opts.Logger.Warn("subscription: matching failed; the event is dropped", "id", w.sub.ID, "err", err)
		}
		return Event{}, false
	}
	if len(page.Matches) == 0 {
		return Event{}, false
	}
	return w.number(Event{Time: v.LastUpdated, Focus: v.Type + "/" + v.ID, Body: v.Body, Created: v.VersionID == 1}), true
}

// mayMatch is a necessary condition of the filter on v, from v's index
// entries, that spares the store a search for most versions: each plain
// reference parameter (patient=Patient/1) must have an entry that refers
// to one of its values, each plain token parameter (code=sys|c) an entry
// with one of its codes. A value it cannot judge (a URL, a modifier, a
// chain) leaves the decision to the search.
func mayMatch(reg *search.Registry, filter url.Values, v store.Version) bool {
	if v.Index == nil {
		return true
	}
	for k, vals := range filter {
		if strings.ContainsAny(k, ":.") {
			continue
		}
		prm, ok := reg.Param(v.Type, k)
		if !ok || (prm.Type != search.Reference && prm.Type != search.Token) {
			continue
		}
		for _, val := range vals {
			if !anyEntry(prm.Type, k, strings.Split(val, ","), v.Index) {
				return false
			}
		}
	}
	return true
}

// anyEntry reports whether an entry of param matches one of values, or
// whether a value cannot be judged here.
func anyEntry(typ search.ParamType, param string, values []string, index []search.Entry) bool {
	for _, val := range values {
		var refType, id, code string
		switch typ {
		case search.Reference:
			if strings.Contains(val, "://") || strings.Count(val, "/") > 1 {
				return true
			}
			refType, id, _ = strings.Cut(val, "/")
			if id == "" {
				refType, id = "", refType
			}
		default:
			code = val
			if i := strings.LastIndexByte(val, '|'); i >= 0 {
				code = val[i+1:]
			}
			if code == "" || strings.Contains(val, `\`) { // escaped: left to the search
				return true
			}
		}
		for _, e := range index {
			if e.Param != param {
				continue
			}
			if typ == search.Reference && e.RefID == id && (refType == "" || e.RefType == refType) {
				return true
			}
			if typ == search.Token && strings.EqualFold(e.Code, code) {
				return true
			}
		}
	}
	return false
}

// twinEvent turns e into the subscription's next event if its kind is
// wanted.
func (w *worker) twinEvent(e twin.Event) (Event, bool) {
	if len(w.sub.Kinds) > 0 && !slices.Contains(w.sub.Kinds, e.Kind) {
		return Event{}, false
	}
	js, err := json.Marshal(e)
	if err != nil {
		return Event{}, false
	}
	return w.number(Event{Time: e.Time, Focus: "Patient/" + e.Patient, Twin: js}), true
}

func (w *worker) number(ev Event) Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.events++
	ev.Number = w.events
	return ev
}

// send delivers a notification of type typ with events and updates the
// status from the outcome. It reports false when the subscription is
// now off (or ctx is done).
func (w *worker) send(ctx context.Context, typ string, evs []Event) bool {
	st := w.state(typ)
	body, err := notification(st, w.sub.Content, evs, w.e.opts.Now())
	if err != nil {
		w.e.opts.Logger.Error("subscription: building a notification failed", "id", w.sub.ID, "err", err)
		return true
	}
	if len(evs) > 0 {
		// The count is saved before the events go out: after a crash
		// the numbers go on from it (a gap, never a number used twice).
		if err := w.e.saveCount(ctx, w); err != nil && ctx.Err() == nil {
			w.e.opts.Logger.Warn("subscription: saving the event count failed", "id", w.sub.ID, "err", err)
		}
	}
	if w.sub.Channel == WebSocket {
		w.e.broadcast(w.sub.ID, body)
		return true
	}
	err = w.postRetrying(ctx, body)
	if ctx.Err() != nil {
		return false
	}
	w.mu.Lock()
	if err == nil {
		w.failures = 0
	} else {
		w.failures++
	}
	failures, was := w.failures, w.status
	w.mu.Unlock()
	switch {
	case err == nil && was != "active":
		w.setStatus(ctx, "active", "")
	case err != nil && failures >= w.e.opts.MaxFailures:
		w.e.opts.Logger.Warn("subscription: notifications keep failing; turned off", "id", w.sub.ID, "failures", failures)
		w.setStatus(ctx, "off", err.Error())
		return false
	case err != nil:
		w.e.opts.Logger.Warn("subscription: a notification failed", "id", w.sub.ID, "type", typ, "err", err)
		w.setStatus(ctx, "error", err.Error())
	}
	return true
}

// postRetrying posts body to the endpoint, waiting Options.Retry between
// attempts.
func (w *worker) postRetrying(ctx context.Context, body []byte) error {
	var err error
	for i := 0; ; i++ {
		if err = w.post(ctx, body); err == nil || i >= len(w.e.opts.Retry) {
			return err
		}
		t := time.NewTimer(w.e.opts.Retry[i])
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// post makes one rest-hook POST. Its error names no URL or data.
func (w *worker) post(ctx context.Context, body []byte) error {
	if err := w.e.allowed(w.sub.Endpoint); err != nil {
		return errors.New("rest-hook: the endpoint's host is no longer allowed")
	}
	timeout := w.sub.Timeout
	if timeout == 0 {
		timeout = w.e.opts.Timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.sub.Endpoint, bytes.NewReader(body))
	if err != nil {
		return errors.New("rest-hook: bad endpoint")
	}
	req.Header.Set("Content-Type", fhirJSON)
	for _, h := range w.sub.Headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := w.e.opts.Client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return errors.New("rest-hook: timed out")
		}
		return errors.New("rest-hook: the endpoint could not be reached")
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("rest-hook: the endpoint answered HTTP %d", resp.StatusCode)
	}
	return nil
}

// setStatus records the subscription's status in memory and in the
// stored resource (Subscription.status, Subscription.error), unless a
// client has turned it off meanwhile.
func (w *worker) setStatus(ctx context.Context, status, errText string) {
	w.mu.Lock()
	w.status, w.errText = status, errText
	w.mu.Unlock()
	ctx = context.WithoutCancel(ctx)
	for range 3 {
		v, err := w.e.res.Read(ctx, "Subscription", w.sub.ID)
		if err != nil {
			return // deleted meanwhile
		}
		var m map[string]any
		if json.Unmarshal(v.Body, &m) != nil {
			return
		}
		if m["status"] == "off" || (m["status"] == status && (m["error"] == nil) == (errText == "")) {
			return
		}
		m["status"] = status
		delete(m, "error")
		if errText != "" {
			m["error"] = errText
		}
		body, err := json.Marshal(m)
		if err != nil {
			return
		}
		_, err = w.e.res.Update(ctx, "Subscription", w.sub.ID, body, fmt.Sprintf("W/%q", fmt.Sprint(v.VersionID)))
		if err == nil {
			break
		}
		w.e.opts.Logger.Warn("subscription: recording the status failed", "id", w.sub.ID, "err", err)
	}
	if err := w.e.saveCount(ctx, w); err != nil {
		w.e.opts.Logger.Warn("subscription: saving the event count failed", "id", w.sub.ID, "err", err)
	}
}
