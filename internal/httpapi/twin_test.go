package httpapi

import (
	"context"
	"net/http"
	"testing"

	"github.com/doppelhealth/doppel/internal/fhir"
)

// echoForecaster answers a forecast with its configuration, or with err.
type echoForecaster struct{ err error }

func (f echoForecaster) Forecast(_ context.Context, config []byte) ([]byte, error) {
	if f.err != nil {
		return nil, f.err
	}
	return config, nil
}

// TestHospitalForecastRoute: the forecast endpoint is served only with a
// Forecaster; it takes YAML or JSON, answers plain JSON, and passes a
// Forecaster's FHIR error on with its status.
func TestHospitalForecastRoute(t *testing.T) {
	const path = "/twin/hospital/forecast"
	if w := newEnv(t, Options{}).do("POST", path, `{}`); w.Code != http.StatusNotFound {
		t.Errorf("without a Forecaster: %d, want 404", w.Code)
	}
	e := newEnv(t, Options{Forecaster: echoForecaster{}})
	bad := newEnv(t, Options{Forecaster: echoForecaster{err: &fhir.Error{Status: http.StatusUnprocessableEntity, Issues: []fhir.Issue{{Severity: "error", Code: "too-costly"}}}}})
	for _, tc := range []struct {
		name, method, ctype, body string
		env                       *testEnv
		want                      int
	}{
		{"yaml", "POST", "application/yaml", "horizon: 1d", e, http.StatusOK},
		{"json", "POST", "application/json", `{"horizon":"1d"}`, e, http.StatusOK},
		{"no content type", "POST", "", "horizon: 1d", e, http.StatusOK},
		{"text", "POST", "text/plain", "horizon: 1d", e, http.StatusUnsupportedMediaType},
		{"empty", "POST", "application/yaml", "", e, http.StatusBadRequest},
		{"GET", "GET", "", "", e, http.StatusMethodNotAllowed},
		{"forecaster refuses", "POST", "application/yaml", "horizon: 1d", bad, http.StatusUnprocessableEntity},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.ctype != "" {
				hdr = []string{"Content-Type", tc.ctype}
			}
			w := tc.env.do(tc.method, path, tc.body, hdr...)
			if w.Code != tc.want {
				t.Fatalf("%d %s, want %d", w.Code, w.Body, tc.want)
			}
			if w.Code == http.StatusOK && (w.Body.String() != tc.body || w.Header().Get("Content-Type") != "application/json") {
				t.Errorf("answer %q (%s), want %q as application/json", w.Body, w.Header().Get("Content-Type"), tc.body)
			}
		})
	}
}
