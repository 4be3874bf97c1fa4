package httpapi

import (
	"context"
	"mime"
	"net/http"
	"strconv"

	"github.com/doppelhealth/doppel/internal/auth"
)

// Forecaster runs the hospital model from the store's census for the
// dashboard (POST /twin/hospital/forecast). config is a hospital file,
// YAML or JSON, as `doppel hospital` reads it; the answer is the JSON of
// `doppel hospital --json`. A mistake of the client's comes back as a
// *fhir.Error with a 4xx status. The Forecaster bounds the work a request
// may ask for (replications, horizon, time) and stops when ctx is done,
// as it is when the client goes away.
type Forecaster interface {
	Forecast(ctx context.Context, config []byte) ([]byte, error)
}

// forecastOp is the Interaction.Operation of a forecast, as the access
// check and the audit trail see it.
const forecastOp = "$hospital-forecast"

// twinRoutes are the digital-twin endpoints beside the FHIR API: none
// without Options.Forecaster.
func (s *Server) twinRoutes() []route {
	if s.opts.Forecaster == nil {
		return nil
	}
	return []route{{pattern: "POST /twin/hospital/forecast", kind: "operation", op: forecastOp, handle: s.hospitalForecast}}
}

// yamlTypes are the media types of a YAML body.
var yamlTypes = []string{"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"}

// hospitalForecast serves POST /twin/hospital/forecast.
func (s *Server) hospitalForecast(w http.ResponseWriter, r *http.Request) error {
	want := ""
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil {
		for _, y := range yamlTypes {
			if mt == y {
				want = mt
			}
		}
	}
	body, err := s.readBody(w, r, want)
	if err != nil {
		return err
	}
	if len(body) == 0 {
		return errorf(http.StatusBadRequest, "required", "the request body must be a hospital configuration (YAML or JSON), as doppel hospital reads")
	}
	out, err := s.opts.Forecaster.Forecast(r.Context(), body)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(out)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
	return nil
}

// checkForecast is the scope check of a forecast: it reads every
// Encounter and Location, so it needs read and search on both, and is
// refused to a token confined to one patient's compartment.
func checkForecast(p *auth.Principal) error {
	for _, typ := range []string{"Encounter", "Location"} {
		for _, kind := range []string{"read", "search-type"} {
			if err := p.Check(kind, typ, "", ""); err != nil {
				return err
			}
		}
	}
	return nil
}
