package twin

import (
	"context"
	"sync"
	"time"

	"github.com/doppelhealth/doppel/assim/glucose"
	"github.com/doppelhealth/doppel/internal/clinical"
)

// Event kinds.
const (
	KindForecast = "forecast" // a glucose forecast after a CGM reading
	KindNEWS2    = "news2"    // a scored vitals set with its trend forecast
	KindAlert    = "alert"
)

// Alert kinds.
const (
	AlertHypo       = "hypoglycaemia-predicted"
	AlertNEWS2      = "news2-response"
	AlertStreamLost = "data-stream-lost"
)

// Event is one output of a twin, in the order the twin produced it.
type Event struct {
	Patient  string    `json:"patient"`
	Kind     string    `json:"kind"`
	Time     time.Time `json:"time"` // effective time of the data it follows from
	Forecast *Forecast `json:"forecast,omitempty"`
	NEWS2    *NEWS2    `json:"news2,omitempty"`
	Alert    *Alert    `json:"alert,omitempty"`
	// Data are the observations the event follows from, for its
	// provenance: the CGM reading of a forecast or hypoglycaemia alert,
	// the vitals set of a NEWS2 score or alert; none for a lost stream.
	Data []clinical.Observation `json:"-"`
}

// Forecast is a glucose forecast made at the time of a CGM reading.
type Forecast struct {
	At      time.Time      `json:"at"`
	Reading float64        `json:"reading"` // the CGM value, mg/dL
	BG      float64        `json:"bg"`      // the twin's estimate, mg/dL
	Bands   []glucose.Band `json:"bands"`
	PHypo   float64        `json:"pHypo"` // P(< 70 mg/dL within 30 min)
}

// NEWS2 is the score of one vitals set and when its response is forecast
// to escalate (hours after At; +Inf, written as null, if not within 12 h).
type NEWS2 struct {
	At       time.Time `json:"at"`
	Total    int       `json:"total"`
	Red      bool      `json:"red"`
	Response string    `json:"response"`
	Escalate *float64  `json:"escalateHours,omitempty"` // median crossing time
	PEscal   float64   `json:"pEscalate"`               // probability of escalating within 12 h
}

// Alert is a condition that began.
type Alert struct {
	Kind        string  `json:"kind"`
	Probability float64 `json:"probability,omitempty"` // for AlertHypo
	Score       int     `json:"score,omitempty"`       // for AlertNEWS2
	Response    string  `json:"response,omitempty"`    // for AlertNEWS2
	Message     string  `json:"message"`
}

// Sink receives every event; a store writes them back as FHIR resources.
// It is called with the patient's twin locked, in order; an error is
// returned to the caller of Observe.
type Sink interface {
	Emit(ctx context.Context, e Event) error
}

// Broadcaster fans events out to in-memory subscribers of one patient,
// such as Server-Sent-Event clients. A subscriber that does not keep up
// loses events (its channel is never blocked on), so a slow client cannot
// stall a twin.
type Broadcaster struct {
	mu     sync.Mutex
	subs   map[string]map[chan Event]struct{}
	closed bool
}

// NewBroadcaster returns an empty broadcaster.
func NewBroadcaster() *Broadcaster {
	return &Broadcaster{subs: map[string]map[chan Event]struct{}{}}
}

// Subscribe returns a channel of the patient's events, buffered to buf
// (at least 1), and the function that ends the subscription and closes
// the channel.
func (b *Broadcaster) Subscribe(patient string, buf int) (<-chan Event, func()) {
	ch := make(chan Event, max(buf, 1))
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		close(ch)
		return ch, func() {}
	}
	if b.subs[patient] == nil {
		b.subs[patient] = map[chan Event]struct{}{}
	}
	b.subs[patient][ch] = struct{}{}
	b.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			if _, ok := b.subs[patient][ch]; !ok {
				return // closed by Close
			}
			delete(b.subs[patient], ch)
			if len(b.subs[patient]) == 0 {
				delete(b.subs, patient)
			}
			close(ch)
		})
	}
}

// Emit sends e to the subscribers of its patient without blocking.
func (b *Broadcaster) Emit(_ context.Context, e Event) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs[e.Patient] {
		select {
		case ch <- e:
		default:
		}
	}
	return nil
}

// Close ends every subscription (their channels close) and refuses new
// ones, so that streaming clients finish when a server shuts down.
func (b *Broadcaster) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for _, chans := range b.subs {
		for ch := range chans {
			close(ch)
		}
	}
	b.subs = map[string]map[chan Event]struct{}{}
}
