package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// config is the command line.
type config struct {
	base     string // FHIR base URL
	token    string // file holding a bearer token
	synthea  string
	write    string
	patients int
	clients  int
	reads    int
	searches int
	warmup   int
	seed     uint64
	label    string
	format   string
	header   bool
}

func main() {
	var c config
	flag.StringVar(&c.base, "url", "", "FHIR base `URL` of the server, e.g. http://127.0.0.1:8080/fhir")
	flag.StringVar(&c.token, "token-file", "", "send the bearer token in `FILE` (doppel token) with every request")
	flag.StringVar(&c.synthea, "synthea", "../shared/refs/fhir/synthea-r4", "`DIR` of the Synthea R4 transaction Bundles")
	flag.StringVar(&c.write, "write", "", "write the dataset as Bundle files to `DIR` and exit")
	flag.IntVar(&c.patients, "patients", 1000, "patient Bundles (copies of the Synthea patients)")
	flag.IntVar(&c.clients, "c", 8, "concurrent clients")
	flag.IntVar(&c.reads, "reads", 20000, "timed reads")
	flag.IntVar(&c.searches, "searches", 5000, "timed searches")
	flag.IntVar(&c.warmup, "warmup", 500, "untimed requests before the reads and before the searches")
	flag.Uint64Var(&c.seed, "seed", 1, "seed of the UUIDs and of the requests' choices")
	flag.StringVar(&c.label, "label", "doppel", "first column of the result row (the store)")
	flag.StringVar(&c.format, "format", "md", "result row: md (Markdown table row) or tsv")
	flag.BoolVar(&c.header, "header", false, "print the table header before the row")
	flag.Parse()
	if err := run(context.Background(), c, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "fhirload:", err)
		os.Exit(1)
	}
}

// result is what one run measured.
type result struct {
	patients, resources int
	ingest              float64 // resources/s
	read, search        latency
}

func run(ctx context.Context, c config, stdout, stderr io.Writer) error {
	if c.patients < 1 || c.clients < 1 || c.reads < 1 || c.searches < 1 || c.warmup < 0 {
		return errors.New("-patients, -c, -reads and -searches must be positive, -warmup not negative")
	}
	if c.format != "md" && c.format != "tsv" {
		return fmt.Errorf("-format %q: want md or tsv", c.format)
	}
	d, err := readDataset(c.synthea)
	if err != nil {
		return err
	}
	if c.write != "" {
		if err := d.write(c.write, c.seed, c.patients); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %d shared and %d patient Bundles (%d patient resources) to %s\n",
			len(d.shared), c.patients, d.resources(c.patients), c.write)
		return nil
	}
	if c.base == "" {
		return errors.New("-url or -write is needed")
	}
	var auth string
	if c.token != "" {
		tok, err := os.ReadFile(c.token)
		if err != nil {
			return err
		}
		auth = "Bearer " + strings.TrimSpace(string(tok))
	}
	l := &loader{
		base:   strings.TrimSuffix(c.base, "/"),
		auth:   auth,
		client: &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: c.clients, DisableCompression: true}},
		data:   d,
	}
	res := result{patients: c.patients, resources: d.resources(c.patients)}

	for _, b := range d.shared {
		if _, err := l.transaction(ctx, b.data); err != nil {
			return fmt.Errorf("%s: %w", b.name, err)
		}
	}
	fmt.Fprintf(stderr, "ingest: %d patient Bundles, %d resources, %d clients\n", c.patients, res.resources, c.clients)
	start := time.Now()
	pats, err := l.ingest(ctx, c)
	if err != nil {
		return err
	}
	wall := time.Since(start)
	res.ingest = float64(res.resources) / wall.Seconds()
	fmt.Fprintf(stderr, "ingest: %s, %.0f resources/s\n", wall.Round(time.Millisecond), res.ingest)

	res.read, err = l.measure(ctx, c, c.reads, func(rng *rand.Rand) string {
		p := &pats[rng.IntN(len(pats))]
		if rng.IntN(2) == 0 {
			return "Patient/" + p.id
		}
		return "Observation/" + p.obs[rng.IntN(len(p.obs))]
	}, nil)
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	fmt.Fprintf(stderr, "read: %s\n", res.read)

	res.search, err = l.measure(ctx, c, c.searches, func(rng *rand.Rand) string {
		p := &pats[rng.IntN(len(pats))]
		code := p.t.obsCodes[rng.IntN(len(p.t.obsCodes))]
		return "Observation?" + url.Values{"subject": {"Patient/" + p.id}, "code": {code}}.Encode()
	}, nonEmpty)
	if err != nil {
		return fmt.Errorf("search: %w", err)
	}
	fmt.Fprintf(stderr, "search: %s\n", res.search)
	res.print(stdout, c)
	return nil
}

// header names the columns of a result row.
var header = []string{"store", "patients", "resources", "ingest (resources/s)", "read p50", "read p99", "search p50", "search p99"}

func (r result) print(w io.Writer, c config) {
	row := []string{c.label, fmt.Sprint(r.patients), fmt.Sprint(r.resources), fmt.Sprintf("%.0f", r.ingest),
		ms(r.read.p50), ms(r.read.p99), ms(r.search.p50), ms(r.search.p99)}
	if c.format == "tsv" {
		if c.header {
			fmt.Fprintln(w, strings.Join(header, "\t"))
		}
		fmt.Fprintln(w, strings.Join(row, "\t"))
		return
	}
	if c.header {
		fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(header, " | "), strings.Repeat(" --- |", len(header)))
	}
	fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
}

// ms formats d in milliseconds.
func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", d.Seconds()*1000) }

// loader sends the requests.
type loader struct {
	base   string
	auth   string // Authorization header, if any
	client *http.Client
	data   *dataset
}

// ingested is one patient copy as stored: its template, the server's id
// of its Patient and of its Observations.
type ingested struct {
	t   *template
	id  string
	obs []string
}

// ingest sends the patient copies from c.clients goroutines.
func (l *loader) ingest(ctx context.Context, c config) ([]ingested, error) {
	out := make([]ingested, c.patients)
	var (
		mu    sync.Mutex
		next  int
		first error
		wg    sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range c.clients {
		wg.Go(func() {
			var buf []byte
			for ctx.Err() == nil {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= c.patients {
					return
				}
				t, rng := l.data.patient(c.seed, i)
				buf = t.clone(buf[:0], rng)
				locs, err := l.transaction(ctx, buf)
				if err == nil {
					out[i], err = stored(t, locs)
				}
				if err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("patient Bundle %d (%s): %w", i, t.name, err)
					}
					mu.Unlock()
					cancel()
					return
				}
			}
		})
	}
	wg.Wait()
	return out, first
}

// stored collects the ids of a copy of t from the response locations.
func stored(t *template, locs []string) (ingested, error) {
	if len(locs) != t.resources {
		return ingested{}, fmt.Errorf("%d locations in the response, want %d", len(locs), t.resources)
	}
	p := ingested{t: t}
	for _, loc := range locs {
		typ, rest, _ := strings.Cut(loc, "/")
		id, _, _ := strings.Cut(rest, "/")
		switch typ {
		case "Patient":
			p.id = id
		case "Observation":
			p.obs = append(p.obs, id)
		}
	}
	if p.id == "" || len(p.obs) == 0 {
		return ingested{}, errors.New("no Patient or no Observation location in the response")
	}
	return p, nil
}

// transaction POSTs a transaction Bundle and returns the response
// entries' locations ("Type/id/_history/v", relative to the base).
func (l *loader) transaction(ctx context.Context, bundle []byte) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", l.base, bytes.NewReader(bundle))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	body, err := l.do(req)
	if err != nil {
		return nil, err
	}
	var rb struct {
		Type  string
		Entry []struct{ Response struct{ Location string } }
	}
	if err := json.Unmarshal(body, &rb); err != nil {
		return nil, err
	}
	if rb.Type != "transaction-response" {
		return nil, fmt.Errorf("response Bundle type %q", rb.Type)
	}
	locs := make([]string, len(rb.Entry))
	for i, e := range rb.Entry {
		locs[i] = strings.TrimPrefix(e.Response.Location, l.base+"/")
	}
	return locs, nil
}

// do sends req and returns the body of a 2xx response.
func (l *loader) do(req *http.Request) ([]byte, error) {
	if l.auth != "" {
		req.Header.Set("Authorization", l.auth)
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s %s: status %d: %.300s", req.Method, req.URL.Path, resp.StatusCode, body)
	}
	return body, nil
}

// latency summarises the request times of one phase.
type latency struct {
	n             int
	p50, p99, max time.Duration
	perSecond     float64 // requests per wall-clock second, all clients
}

func (l latency) String() string {
	return fmt.Sprintf("%d requests, %.0f/s, p50 %s, p99 %s, max %s", l.n, l.perSecond, ms(l.p50), ms(l.p99), ms(l.max))
}

// measure sends warmup+n GET requests for the paths next returns from
// c.clients goroutines and times the last n. check, when not nil, checks
// each body.
func (l *loader) measure(ctx context.Context, c config, n int, next func(*rand.Rand) string, check func([]byte) error) (latency, error) {
	var (
		mu    sync.Mutex
		count int
		times []time.Duration
		first error
		start time.Time
		wg    sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for g := range c.clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(c.seed, uint64(1_000_000+g)))
			var mine []time.Duration
			defer func() {
				mu.Lock()
				times = append(times, mine...)
				mu.Unlock()
			}()
			for ctx.Err() == nil {
				mu.Lock()
				i := count
				count++
				if i == c.warmup {
					start = time.Now()
				}
				mu.Unlock()
				if i >= c.warmup+n {
					return
				}
				path := next(rng)
				req, err := http.NewRequestWithContext(ctx, "GET", l.base+"/"+path, nil)
				if err == nil {
					t0 := time.Now()
					var body []byte
					body, err = l.do(req)
					d := time.Since(t0)
					if err == nil && check != nil {
						err = check(body)
					}
					if i >= c.warmup {
						mine = append(mine, d)
					}
				}
				if err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("GET %s: %w", path, err)
					}
					mu.Unlock()
					cancel()
					return
				}
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	if first != nil {
		return latency{}, first
	}
	slices.Sort(times)
	return latency{
		n:         len(times),
		p50:       quantile(times, 0.50),
		p99:       quantile(times, 0.99),
		max:       times[len(times)-1],
		perSecond: float64(len(times)) / wall.Seconds(),
	}, nil
}

// quantile is the nearest-rank q-quantile of sorted, which is not empty.
func quantile(sorted []time.Duration, q float64) time.Duration {
	k := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(k, len(sorted)-1))]
}

// nonEmpty checks that a searchset Bundle has at least one entry.
func nonEmpty(body []byte) error {
	var b struct {
		Type  string
		Entry []json.RawMessage
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return err
	}
	if b.Type != "searchset" || len(b.Entry) == 0 {
		return fmt.Errorf("searchset Bundle with no entries (type %q)", b.Type)
	}
	return nil
}
