package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/doppelhealth/doppel/internal/auth"
	"github.com/doppelhealth/doppel/internal/fhirops"
	"github.com/doppelhealth/doppel/internal/httpapi"
	"github.com/doppelhealth/doppel/internal/metrics"
	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store/sealed"
)

// shutdownTimeout bounds how long serve waits for requests in flight when
// it is told to stop.
const shutdownTimeout = 10 * time.Second

// serveFlags are serve's own flags.
type serveFlags struct {
	addr            string
	tlsCert, tlsKey string  // PEM files; both or neither
	insecureHTTP    bool    // plain HTTP on a non-loopback address
	rateLimit       float64 // requests a second per client; 0: no limit
	deidKeyFile     string  // --deid-key-file: pseudonym key of $export?_deid=safe-harbor
	auth            authFlags
	twins           twinFlags         // serve_twin.go
	subs            subscriptionFlags // serve_subscription.go
}

func newServeCmd(e *env) *cobra.Command {
	var sf storeFlags
	var f serveFlags
	c := &cobra.Command{
		Use:   "serve",
		Short: "Serve the FHIR R4 REST API",
		Long: `Serve runs the FHIR R4 server: the REST API under /fhir (CapabilityStatement
at /fhir/metadata), on the store that doppel import loads.

The store is the embedded SQLite database under --data (created if needed),
or PostgreSQL (--store postgres --dsn ...). Bulk Data $export files are
written under DIR/export. serve prints the URL it listens on, logs one line
per request to stderr (method, route, status, duration, request id; never
query strings or bodies), and on SIGINT or SIGTERM finishes the requests
in flight, then closes the store. An export job still running then is
resumed by the next serve.

With --tls-cert and --tls-key serve speaks HTTPS only (TLS 1.2 or later)
and sends Strict-Transport-Security. Without them it serves plain HTTP on a
loopback address only (127.0.0.1, ::1, localhost): another --addr is
refused unless --insecure-http says that something else protects the
connection (a TLS-terminating proxy on the same host or network).

With --encryption-key-file the store is encrypted at rest: resource bodies,
export job records and export files with AES-256-GCM, search index texts as keyed
hashes (HMAC-SHA-256), so the database files hold no names. Make the key
with "openssl rand -hex 32 > FILE; chmod 600 FILE" and keep it outside the
data directory (serve refuses a key inside it) and in your backups
separately: without it the data cannot be read. An encrypted store does not
serve string :contains, token :text or _sort on texts (400). A store
written without the key cannot be opened with one, nor the reverse.

Every request but /fhir/metadata, /.well-known/ (SMART configuration, JWK
Set) and /healthz needs a bearer token (JWT) whose SMART scopes allow it;
a patient-level token reaches only its patient's compartment. The first
start creates the instance signing key in DIR/auth and says how to mint a
token (doppel token). --oidc-issuer, --oidc-audience and --oidc-jwks accept
the tokens of a hospital's OpenID Connect provider too.

Each client (the peer's IP address) may make --rate-limit requests a
second on average and twice that in a burst; more get 429 with Retry-After.

Every request (but /fhir/metadata and export status polls), and every
refused token or scope, is recorded as a hash-chained FHIR AuditEvent in the
store (GET /fhir/AuditEvent?patient=Patient/ID&date=ge2026-01-01; check the
chain with doppel audit verify). A write's record is committed with the
write; the others are buffered for up to a second and flushed at shutdown.
AuditEvents cannot be written through the API (405).

With --deid-key-file, $export?_deid=safe-harbor writes de-identified files
(HIPAA Safe Harbor, as doppel export --deid; pseudonyms keyed by the file's
key, at least 32 bytes, kept outside --data).

With --twins serve runs live patient twins: devices send JSON batches by
MQTT 3.1.1 (topic doppel/devices/DEVICE/obs, on --mqtt-addr, loopback by
default) or NATS to an embedded NATS JetStream server under DIR/nats, or
to an external one (--nats URL). A device is a FHIR Device resource whose
patient names the patient it measures. Each accepted reading is stored once
(CGM and vital-sign values as compact time series, found by Observation
searches that name the patient, GET /fhir/Observation?patient=PATIENT&code=99504-3,
merged with the stored Observations, or one Observation per device and day
with valueSampledData: GET /fhir/Patient/PATIENT/$samples?code=99504-3&sampled=true;
with a Provenance per series and day; insulin as a
MedicationAdministration, carbohydrate and ACVPU as Observations) and
updates the patient's twin; so does an Observation with such a LOINC code
created through the FHIR API (stored as written). The twins answer: GET /twin/PATIENT (estimate and last forecast), GET
/twin/PATIENT/events (Server-Sent Events: forecasts, NEWS2, alerts), POST
/twin/PATIENT/whatif ({"plans":[{"bolusU":2},{"mealG":40,"mealInMin":30}]},
or drug plans through the PK/PD engine: {"plans":[{"drug":{"model":
"vancomycin-goti2018","doses":[{"amountMg":1000,"infusionH":1,"everyH":12,
"count":4}],"covariates":{"dialysis":0}}}]}, covariates read from the record).
Forecasts are stored as preliminary Observations tagged as model output
(code urn:doppel:twin|glucose-forecast, one per horizon, updated at most
once per --twin-forecast-every), a ward trend as a RiskAssessment, a
predicted hypoglycaemia as a RiskAssessment, other alerts as Flags, each
with a Provenance naming the model version and the readings used. Twins
start from the record (weight, basal insulin, earlier twins' parameters)
and are snapshotted under DIR/twins every 5 minutes and at shutdown
(sealed with --encryption-key-file). With --device-key-file each device logs in (MQTT user name and
password, or NATS user and password) with its id and the secret
HMAC-SHA256(key, id) in hex, and may publish only as itself; without it the
embedded server authenticates nobody: keep --mqtt-addr on loopback. With
--device-key-file devices may also POST the batch to /device/observations
(HTTP Basic with id and secret, or the secret as a bearer token); the answer
gives each refused reading's index, kind and reason; MQTT devices learn
theirs on doppel/devices/DEVICE/rejected. --device-rate and --device-burst
limit each device's messages. /metrics counts
accepted and refused readings, twin update time and alerts.

FHIR Subscriptions (R4, Subscriptions R5 Backport IG): POST a Subscription
whose criteria is the topic https://doppel.health/fhir/SubscriptionTopic/resource-write
(filter criteria "Observation?patient=Patient/1&code=...", any type and
search) or .../twin-event (filter "patient=Patient/1&kind=alert"); channel
rest-hook (POST of each notification Bundle; only to the hosts listed in
--subscription-allow, since the server would otherwise post wherever a
client says) or websocket (token from
POST /fhir/Subscription/ID/$get-ws-binding-token, then
"bind-with-token TOKEN" on /subscriptions/websocket). A subscription may
select only what its writer's token may search (a patient token: its own
compartment). GET /fhir/Subscription/ID/$status gives its status.

--demo creates virtual patients (6 of the UVA/Padova cohort with meals,
basal-bolus insulin and a noisy CGM, one overdosed; 3 ward patients, one
deteriorating) and streams their devices' data in simulated time,
--demo-speed minutes a second: forecasts and alerts show within seconds on
/twin/demo-t1d-1/events and /twin/demo-ward-3/events.

Every other path is the clinician dashboard (embedded; no network needed):
patients by urgency, each twin's data, forecast and alerts live, what-if
plans, trial results (doppel trial --json files) and, for administrators,
the audit trail. At start serve prints a one-time sign-in link for the
local administrator (valid 15 minutes, once); anyone else signs in with a
token (doppel token) and sees what its scopes allow. The session cookie
lasts 12 hours at most, never past the token.`,
		Example: `  doppel serve
  doppel serve --data /srv/doppel --addr 0.0.0.0:8443 --tls-cert cert.pem --tls-key key.pem
  doppel serve --addr 10.0.0.5:8080 --insecure-http   # behind a TLS proxy
  doppel serve --store postgres --dsn postgres://postgres@localhost/doppel
  doppel serve --demo`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd.Context(), e, sf, f)
		},
	}
	sf.register(c)
	c.Flags().StringVar(&f.addr, "addr", "127.0.0.1:8080", "listen address `HOST:PORT` (port 0: any free port); without TLS a loopback address unless --insecure-http")
	c.Flags().StringVar(&f.tlsCert, "tls-cert", "", "serve HTTPS with the certificate (chain) in PEM `FILE`; needs --tls-key")
	c.Flags().StringVar(&f.tlsKey, "tls-key", "", "the private key of --tls-cert, PEM `FILE`")
	c.Flags().BoolVar(&f.insecureHTTP, "insecure-http", false, "serve plain HTTP on a non-loopback --addr (only behind a TLS-terminating proxy)")
	c.Flags().StringVar(&f.deidKeyFile, "deid-key-file", "", "pseudonym key `FILE` (at least 32 bytes, outside --data) for $export?_deid=safe-harbor")
	c.Flags().Float64Var(&f.rateLimit, "rate-limit", httpapi.DefaultRateLimit, "requests a second one client may make on average (`N`, burst 2N); 0: no limit")
	f.auth.register(c)
	f.twins.register(c)
	f.subs.register(c)
	return c
}

// listenPolicy checks --addr against the transport (SEC-18): plain HTTP
// only on loopback, unless insecure says otherwise.
func listenPolicy(addr string, tls, insecure bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return usageError(fmt.Errorf("--addr: %w", err))
	}
	if tls || insecure {
		return nil
	}
	if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
		return nil
	}
	if host == "" {
		host = "every interface"
	}
	return usageError(fmt.Errorf("--addr %s: without TLS doppel serve listens on loopback only (127.0.0.1, ::1, localhost), "+
		"since patient data would cross the network in clear; give --tls-cert and --tls-key to serve HTTPS on %s, "+
		"or --insecure-http if a TLS-terminating proxy protects the connection", addr, host))
}

// clientKey names the client of a request for the rate limit: the
// token's issuer and subject when it has a valid one (one user from many
// addresses is one client), else the peer's IP address.
func clientKey(r *http.Request) string {
	if p, err := auth.FromContext(r.Context()); err == nil && p != nil {
		return "sub " + p.Issuer + " " + p.Subject
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "ip " + host
}

// tlsConfig loads the certificate and key, if given: TLS 1.2 or later.
func tlsConfig(f serveFlags) (*tls.Config, error) {
	if f.tlsCert == "" && f.tlsKey == "" {
		return nil, nil
	}
	if f.tlsCert == "" || f.tlsKey == "" {
		return nil, usageError(errors.New("--tls-cert and --tls-key go together"))
	}
	cert, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
	if err != nil {
		return nil, usageError(fmt.Errorf("--tls-cert/--tls-key: %w", err))
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}, nil
}

// runServe serves until ctx is done.
func runServe(ctx context.Context, e *env, sf storeFlags, f serveFlags) error {
	logger := slog.New(slog.NewTextHandler(e.stderr, nil))
	tc, err := tlsConfig(f)
	if err != nil {
		return err
	}
	if err := listenPolicy(f.addr, tc != nil, f.insecureHTTP); err != nil {
		return err
	}
	if f.rateLimit < 0 {
		return usageError(fmt.Errorf("--rate-limit %v: want 0 (no limit) or more", f.rateLimit))
	}
	rate := f.rateLimit
	if rate == 0 {
		rate = -1 // httpapi: negative is no limit, zero the default
	}
	reg, err := search.NewRegistry()
	if err != nil {
		return err
	}
	deidentifier, err := readDeidKey(f.deidKeyFile, sf.data)
	if err != nil {
		return err
	}
	st, key, err := openStore(ctx, sf)
	if err != nil {
		return err
	}
	defer st.Close()
	opts := httpapi.Options{ExportDir: filepath.Join(sf.data, "export"), RateLimit: rate}
	opts.Forecaster = newHospitalForecaster(st) // POST /twin/hospital/forecast, hospital_serve.go
	if ser, ok := st.(fhirops.SampleReader); ok {
		opts.Series = ser // GET /fhir/Patient/{patient}/$samples: device time series
	}
	if key != nil {
		if opts.ExportSealer, err = sealed.NewCipher(key, "export"); err != nil {
			return err
		}
	}
	trail := newAuditTrail(st, reg, sf.data, logger) // serve_audit.go
	defer trail.Close()
	opts.Audit, opts.Deid = trail, deidentifier
	authn, err := newServeAuth(e, sf.data, f.auth) // serve_auth.go
	if err != nil {
		return err
	}
	opts.Authorizer = httpapi.Scopes{}
	opts.ClientKey = clientKey
	// GET /metrics (below): requests, FHIR write latency (serve_metrics.go), twins.
	mreg := metrics.NewRegistry()
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return usageError(fmt.Errorf("--addr: %w", err))
	}
	defer ln.Close()
	scheme := "http"
	if tc != nil {
		scheme = "https"
	}
	// FHIR Subscriptions (serve_subscription.go): writes of the API and
	// of the twins reach the engine once committed.
	subs, err := newSubscriptions(logger, st, reg, f.subs, scheme+"://"+ln.Addr().String()+"/fhir")
	if err != nil {
		return err
	}
	opts.Subscriptions = subs.engine
	lt, err := startTwinsIf(ctx, logger, subs.wrap(st), reg, sf.data, f.twins, &opts, key, mreg) // serve_twin.go
	if err != nil {
		return err
	}
	defer lt.Close(context.WithoutCancel(ctx))
	subs.attach(lt)
	// Observations written through the API reach the twins too (lt.feed).
	// Observation searches and reads answer from the series too (opts.Series).
	svc := fhirops.New(trail.log.Wrap(subs.engine.Wrap(lt.feed(timeWrites(st, mreg)))), reg, fhirops.Options{Series: opts.Series})
	api := httpapi.New(logger, svc, st, reg, opts)
	// GET /metrics: Prometheus text, for tokens that may search the whole
	// system (httpapi.Metrics); every request is counted (httpapi.Instrument).
	routes := http.NewServeMux()
	routes.Handle("GET /metrics", httpapi.Metrics(mreg))
	dash, err := dashboardRoutes(routes, api, authn) // the dashboard at /, serve_web.go
	if err != nil {
		return err
	}
	var handler http.Handler = subs.routes(dash.Sessions(serveHandler(authn, routes)))
	if di := lt.deviceIngest(); di != nil { // devices log in with their own secrets, not tokens
		outer := http.NewServeMux()
		outer.Handle("POST /device/observations", di)
		outer.Handle("/", handler)
		handler = outer
	}
	hs := &http.Server{
		Handler:           httpapi.SecurityHeaders(httpapi.Instrument(handler, mreg)),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		TLSConfig:         tc,
	}
	lt.onShutdown(hs)
	fmt.Fprintf(e.stdout, "doppel: listening on %s://%s/fhir\n", scheme, ln.Addr())
	printSignInLink(e.stdout, dash, scheme, ln.Addr())

	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRun()
	ran := make(chan error, 1)
	go func() { ran <- api.Run(runCtx) }()
	notified := make(chan error, 1)
	go func() { notified <- subs.engine.Run(runCtx) }()
	served := make(chan error, 1)
	go func() {
		if tc != nil {
			served <- hs.ServeTLS(ln, "", "")
		} else {
			served <- hs.Serve(ln)
		}
	}()

	select {
	case <-ctx.Done():
		logger.Info("shutting down")
	case err = <-served: // the listener failed
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if serr := hs.Shutdown(sctx); serr != nil && err == nil {
		err = serr
	}
	stopRun()
	if rerr := <-ran; rerr != nil && err == nil {
		err = rerr
	}
	if nerr := <-notified; nerr != nil && err == nil {
		err = nerr
	}
	if aerr := trail.Close(); aerr != nil && err == nil { // flush the audit records
		err = aerr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
