// Package metrics keeps a server's counters, gauges and histograms and
// writes them in the Prometheus text exposition format (version 0.0.4), so
// that /metrics can be scraped without a client library. Each server
// builds its own Registry: there is no global registry, and two servers in
// one process (tests) do not share numbers.
//
// The format, from the Prometheus documentation ("Exposition formats"):
// each metric family is introduced by "# HELP name text" and
// "# TYPE name counter|gauge|histogram", then one line per series,
// `name{label="value",...} number`. A histogram named x has the series
// x_bucket{le="b"} (the cumulative count of observations <= b, for each
// upper bound b in increasing order and finally le="+Inf"), x_sum and
// x_count (equal to the +Inf bucket). Label values escape backslash,
// double quote and newline; HELP texts escape backslash and newline.
package metrics

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Registry holds metric families. The zero value is not usable: use
// NewRegistry.
type Registry struct {
	mu   sync.Mutex
	fams map[string]*family
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{fams: map[string]*family{}} }

type kind string

const (
	counter   kind = "counter"
	gauge     kind = "gauge"
	histogram kind = "histogram"
)

// family is one metric name with its series, one per label value set.
type family struct {
	name, help string
	kind       kind
	labels     []string
	buckets    []float64 // histogram upper bounds, increasing

	mu     sync.Mutex
	series map[string]*series // by joined label values
}

// series is one labelled value; a histogram's counts are per bucket.
type series struct {
	values []string
	v      float64  // counter, gauge: the value; histogram: the sum
	counts []uint64 // histogram: observations per bucket (not cumulative), the last one +Inf
	n      uint64   // histogram: count
}

func (r *Registry) register(f *family) *family {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.fams[f.name]; ok {
		panic("metrics: " + f.name + " registered twice")
	}
	f.series = map[string]*series{}
	r.fams[f.name] = f
	return f
}

// get returns the series of the label values, adding it if new. It is
// called with f.mu held.
func (f *family) get(values []string) *series {
	if len(values) != len(f.labels) {
		panic(fmt.Sprintf("metrics: %s has labels %v, given %d values", f.name, f.labels, len(values)))
	}
	key := strings.Join(values, "\xff")
	s, ok := f.series[key]
	if !ok {
		s = &series{values: slices.Clone(values)}
		if f.kind == histogram {
			s.counts = make([]uint64, len(f.buckets)+1)
		}
		f.series[key] = s
	}
	return s
}

// Counter is a value that only increases (requests served, samples
// rejected).
type Counter struct{ f *family }

// Counter registers a counter; name should end in _total.
func (r *Registry) Counter(name, help string, labels ...string) *Counter {
	return &Counter{r.register(&family{name: name, help: help, kind: counter, labels: labels})}
}

// Add adds v (>= 0) to the series of the label values.
func (c *Counter) Add(v float64, values ...string) {
	if v < 0 {
		panic("metrics: counter " + c.f.name + " decreased")
	}
	c.f.mu.Lock()
	c.f.get(values).v += v
	c.f.mu.Unlock()
}

// Inc adds 1.
func (c *Counter) Inc(values ...string) { c.Add(1, values...) }

// Gauge is a value that goes up and down (twins running, stream lag).
type Gauge struct{ f *family }

// Gauge registers a gauge.
func (r *Registry) Gauge(name, help string, labels ...string) *Gauge {
	return &Gauge{r.register(&family{name: name, help: help, kind: gauge, labels: labels})}
}

// Set sets the series of the label values to v.
func (g *Gauge) Set(v float64, values ...string) {
	g.f.mu.Lock()
	g.f.get(values).v = v
	g.f.mu.Unlock()
}

// Add adds v (which may be negative).
func (g *Gauge) Add(v float64, values ...string) {
	g.f.mu.Lock()
	g.f.get(values).v += v
	g.f.mu.Unlock()
}

// Histogram counts observations in fixed buckets (latencies).
type Histogram struct{ f *family }

// DefaultBuckets are upper bounds in seconds for request latencies, from
// 1 ms to 10 s.
var DefaultBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Histogram registers a histogram with the given upper bounds (increasing,
// finite; +Inf is implied). nil means DefaultBuckets.
func (r *Registry) Histogram(name, help string, buckets []float64, labels ...string) *Histogram {
	if buckets == nil {
		buckets = DefaultBuckets
	}
	for i, b := range buckets {
		if math.IsInf(b, 0) || math.IsNaN(b) || (i > 0 && b <= buckets[i-1]) {
			panic("metrics: histogram " + name + ": buckets must be finite and increasing")
		}
	}
	return &Histogram{r.register(&family{name: name, help: help, kind: histogram, labels: labels, buckets: slices.Clone(buckets)})}
}

// Observe records v in the series of the label values.
func (h *Histogram) Observe(v float64, values ...string) {
	i := sort.SearchFloat64s(h.f.buckets, v) // the first bound >= v
	h.f.mu.Lock()
	s := h.f.get(values)
	s.counts[i]++
	s.n++
	s.v += v
	h.f.mu.Unlock()
}

// ServeHTTP writes the registry in the text format.
func (r *Registry) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = r.WriteText(w) // a failed write is the client's loss
}

// WriteText writes every family, by name, its series by label values.
func (r *Registry) WriteText(w io.Writer) error {
	r.mu.Lock()
	fams := make([]*family, 0, len(r.fams))
	for _, f := range r.fams {
		fams = append(fams, f)
	}
	r.mu.Unlock()
	slices.SortFunc(fams, func(a, b *family) int { return strings.Compare(a.name, b.name) })
	bw := bufio.NewWriter(w)
	for _, f := range fams {
		f.write(bw)
	}
	return bw.Flush()
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

func (f *family) write(w *bufio.Writer) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", f.name, helpEscaper.Replace(f.help), f.name, f.kind)
	f.mu.Lock()
	defer f.mu.Unlock()
	keys := make([]string, 0, len(f.series))
	for k := range f.series {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		s := f.series[k]
		if f.kind != histogram {
			writeLine(w, f.name, f.labels, s.values, "", s.v)
			continue
		}
		var cum uint64
		for i, b := range f.buckets {
			cum += s.counts[i]
			writeLine(w, f.name+"_bucket", f.labels, s.values, formatFloat(b), float64(cum))
		}
		writeLine(w, f.name+"_bucket", f.labels, s.values, "+Inf", float64(s.n))
		writeLine(w, f.name+"_sum", f.labels, s.values, "", s.v)
		writeLine(w, f.name+"_count", f.labels, s.values, "", float64(s.n))
	}
}

// writeLine writes one sample line; le, if set, is the last label.
func writeLine(w *bufio.Writer, name string, labels, values []string, le string, v float64) {
	w.WriteString(name)
	if len(labels) > 0 || le != "" {
		w.WriteByte('{')
		for i, l := range labels {
			if i > 0 {
				w.WriteByte(',')
			}
			fmt.Fprintf(w, "%s=\"%s\"", l, labelEscaper.Replace(values[i]))
		}
		if le != "" {
			if len(labels) > 0 {
				w.WriteByte(',')
			}
			fmt.Fprintf(w, "le=\"%s\"", le)
		}
		w.WriteByte('}')
	}
	w.WriteByte(' ')
	w.WriteString(formatFloat(v))
	w.WriteByte('\n')
}

// formatFloat writes v as the format wants: Go float syntax, +Inf, -Inf,
// NaN.
func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
