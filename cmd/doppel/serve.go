package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/doppelhealth/doppel/internal/fhirops"
	"github.com/doppelhealth/doppel/internal/httpapi"
	"github.com/doppelhealth/doppel/internal/search"
)

// shutdownTimeout bounds how long serve waits for requests in flight when
// it is told to stop.
const shutdownTimeout = 10 * time.Second

func newServeCmd(e *env) *cobra.Command {
	var sf storeFlags
	var addr string
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
resumed by the next serve.`,
		Example: `  doppel serve
  doppel serve --data /srv/doppel --addr 0.0.0.0:8080
  doppel serve --store postgres --dsn postgres://postgres@localhost/doppel`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd.Context(), e, sf, addr)
		},
	}
	sf.register(c)
	c.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "listen address `HOST:PORT` (port 0: any free port)")
	return c
}

// runServe serves until ctx is done.
func runServe(ctx context.Context, e *env, sf storeFlags, addr string) error {
	logger := slog.New(slog.NewTextHandler(e.stderr, nil))
	reg, err := search.NewRegistry()
	if err != nil {
		return err
	}
	st, err := openStore(ctx, sf)
	if err != nil {
		return err
	}
	defer st.Close()
	svc := fhirops.New(st, reg, fhirops.Options{})
	api := httpapi.New(logger, svc, st, reg, httpapi.Options{ExportDir: filepath.Join(sf.data, "export")})

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return usageError(fmt.Errorf("--addr: %w", err))
	}
	hs := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(e.stdout, "doppel: listening on http://%s/fhir\n", ln.Addr())

	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRun()
	ran := make(chan error, 1)
	go func() { ran <- api.Run(runCtx) }()
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

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
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
