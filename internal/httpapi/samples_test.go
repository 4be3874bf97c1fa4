package httpapi

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/doppelhealth/doppel/internal/store"
)

// TestSamplesRoute: $samples is served only with Options.Series, and
// answers from it.
func TestSamplesRoute(t *testing.T) {
	st := openStore(t, t.TempDir())
	ser := st.(store.Series)
	at := time.Date(2024, 3, 1, 8, 0, 0, 0, time.UTC)
	if _, err := ser.AppendSamples(context.Background(), []store.Sample{{Patient: "p1", Code: "99504-3", Device: "d1", Time: at, Value: 123, Unit: "mg/dL"}}); err != nil {
		t.Fatal(err)
	}
	const target = "/fhir/Patient/p1/$samples?code=99504-3"
	if w := newEnvOn(t, st, Options{}).do("GET", target, ""); w.Code != http.StatusNotFound {
		t.Errorf("without Series: status %d, want 404", w.Code)
	}
	w := newEnvOn(t, st, Options{Series: ser}).do("GET", target, "")
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"effectiveDateTime":"2024-03-01T08:00:00Z"`) || !strings.Contains(w.Body.String(), `"value":123`) {
		t.Errorf("with Series: status %d: %s", w.Code, w.Body)
	}
}
