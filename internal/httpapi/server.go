package httpapi

import (
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/doppelhealth/doppel/internal/fhirops"
	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store"
)

// Options configure a Server. The zero value is valid: every field has a
// default, given in its comment. Search page sizes and the Bundle entry
// limit are the fhirops.Service's options.
type Options struct {
	// BaseURL is the service base the server names itself by in Location
	// headers, Bundle links and export manifests
	// ("https://fhir.example.org/fhir"). Default: http(s)://Host/fhir from
	// each request.
	BaseURL string
	// MaxBodyBytes caps a request body; a larger one gets 413. Default 16 MiB.
	MaxBodyBytes int64
	// Authorizer is asked about every request before it is served. Default:
	// allow everything.
	Authorizer Authorizer
	// Now is the clock of export jobs and of the rate limit. Default
	// time.Now.
	Now func() time.Time
	// ExportDir is the directory that holds Bulk Data export files, one
	// subdirectory per job. Default "": $export is not offered.
	ExportDir string
	// ExportSealer, when set, encrypts export files at rest: they are
	// sealed as they are written and opened as they are downloaded.
	// Default nil: the files are written in clear, in a directory only the
	// server's user can read.
	ExportSealer Sealer
	// RateLimit is how many requests a second one client may make, on
	// average; a client over it gets 429 with Retry-After. Default
	// DefaultRateLimit; negative: no limit.
	RateLimit float64
	// RateBurst is how many requests one client may make at once after a
	// pause. Default twice RateLimit.
	RateBurst int
	// Audit takes the audit records of requests that committed no write;
	// a write's record is committed with it by the store the Service was
	// given (audit.Log.Wrap). See audit.go. Default nil: no audit trail.
	Audit Auditor
	// Deid de-identifies the resources of $export?_deid=safe-harbor.
	// Default nil: _deid is refused.
	Deid Deidentifier
	// ClientKey names the client a request comes from, for the rate limit.
	// Default: the peer's IP address. An authentication layer sets it to
	// the authenticated subject (falling back to the IP address).
	ClientKey func(*http.Request) string
	// Forecaster serves POST /twin/hospital/forecast (twin.go). Default
	// nil: not served.
	Forecaster Forecaster
	// Twins serves /twin/{patient}, its events and what-if (twinapi.go).
	// Default nil: not served.
	Twins Twins
	// Series serves GET /fhir/Patient/{patient}/$samples, device time
	// series as Observations (samples.go). Default nil: not served.
	Series fhirops.SampleReader
	// Subscriptions serve $status and $get-ws-binding-token on
	// Subscriptions (subscription.go). Default nil: not served.
	Subscriptions Subscriptions
}

// DefaultMaxBodyBytes is the default of Options.MaxBodyBytes.
const DefaultMaxBodyBytes = 16 << 20

// Server is the FHIR REST API. It is an http.Handler; Run works the export
// jobs.
type Server struct {
	log     *slog.Logger
	svc     *fhirops.Service
	st      store.Store
	reg     *search.Registry
	opts    Options
	mux     *http.ServeMux
	handler http.Handler // mux behind compression, rate limit, headers and the request log
	gzips   sync.Pool    // of *gzip.Writer
	routes  []route
	limiter *limiter // nil: no rate limit
	// started is the CapabilityStatement's date: when the server was made.
	started string

	wake chan struct{} // a new or cancelled export job (buffered 1)
	mu   sync.Mutex    // guards job state changes and the two maps below
	// cancels holds the cancel func of the export job being worked on.
	cancels map[string]func()
	// progress holds the X-Progress text of the job being worked on.
	progress map[string]string
}

// New returns a Server that serves svc, which works on st, with the search
// parameters of reg. A nil logger discards the log.
func New(logger *slog.Logger, svc *fhirops.Service, st store.Store, reg *search.Registry, opts Options) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.Authorizer == nil {
		opts.Authorizer = allowAll{}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RateLimit == 0 {
		opts.RateLimit = DefaultRateLimit
	}
	if opts.RateBurst <= 0 {
		opts.RateBurst = max(1, int(opts.RateLimit*burstSeconds))
	}
	if opts.ClientKey == nil {
		opts.ClientKey = remoteIP
	}
	opts.BaseURL = strings.TrimSuffix(opts.BaseURL, "/")
	s := &Server{
		log:      logger,
		svc:      svc,
		st:       st,
		reg:      reg,
		opts:     opts,
		mux:      http.NewServeMux(),
		wake:     make(chan struct{}, 1),
		cancels:  map[string]func(){},
		progress: map[string]string{},
		started:  opts.Now().UTC().Format(time.RFC3339),
	}
	if opts.RateLimit > 0 {
		s.limiter = newLimiter(opts.RateLimit, opts.RateBurst, opts.Now)
	}
	s.routes = s.routeTable()
	for _, rt := range s.routes {
		s.mux.Handle(rt.pattern, s.route(rt))
	}
	s.mux.HandleFunc("/", s.noRoute)
	s.handler = s.logRequests(s.secure(s.limit(s.compress(s.mux))))
	return s
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// base returns the service base URL for r.
func (s *Server) base(r *http.Request) string {
	if s.opts.BaseURL != "" {
		return s.opts.BaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/fhir"
}
