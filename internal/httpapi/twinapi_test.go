package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/doppelhealth/doppel/internal/auth"
	"github.com/doppelhealth/doppel/internal/clinical"
	"github.com/doppelhealth/doppel/internal/twin"
)

// newTwinEnv is an authEnv (auth's Middleware, Confine, Scopes) whose
// server serves the twins of m.
func newTwinEnv(t *testing.T, m *twin.Manager) *authEnv {
	t.Helper()
	env := &authEnv{testEnv: newEnv(t, Options{Authorizer: Scopes{}, Twins: m}), now: time.Now()}
	key, err := auth.LoadKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if env.a, err = auth.New(key, auth.Options{Now: func() time.Time { return env.now }}); err != nil {
		t.Fatal(err)
	}
	env.handler = env.a.Middleware(Confine(env.srv))
	return env
}

func newTwins(t *testing.T) *twin.Manager {
	t.Helper()
	m, err := twin.New(twin.Options{Now: time.Now, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func reading(patient string, at time.Time, v float64) clinical.Observation {
	return clinical.Observation{Patient: patient, Device: "cgm-1", Code: clinical.CodeGlucoseCGM,
		Value: &clinical.Quantity{Value: v, Unit: "mg/dL"}, Effective: at}
}

// TestTwinRoutes: state, what-if and their access checks: a patient
// token reaches its own patient's twin only; no token, no twin.
func TestTwinRoutes(t *testing.T) {
	m := newTwins(t)
	e := newTwinEnv(t, m)
	admin := e.token(auth.Grant{Role: "admin"})
	p1 := e.token(auth.Grant{Role: "patient", Patient: "p1"})
	if w := e.as(admin, "GET", "/twin/p1", ""); w.Code != http.StatusNotFound {
		t.Errorf("state before any reading: %d, want 404", w.Code)
	}
	at := time.Now().Add(-time.Hour).Truncate(time.Minute)
	for k := range 6 {
		if err := m.Observe(context.Background(), reading("p1", at.Add(time.Duration(5*k)*time.Minute), 140)); err != nil {
			t.Fatal(err)
		}
	}
	whatif := `{"plans":[{"name":"bolus","bolusU":3},{"name":"lunch","mealG":50,"mealInMin":10}]}`
	for _, tc := range []struct {
		name, token, method, target, body string
		want                              int
	}{
		{"state", admin, "GET", "/twin/p1", "", 200},
		{"own state", p1, "GET", "/twin/p1", "", 200},
		{"other's state", p1, "GET", "/twin/p2", "", 403},
		{"no token", "", "GET", "/twin/p1", "", 401},
		{"what-if", admin, "POST", "/twin/p1/whatif", whatif, 200},
		{"own what-if", p1, "POST", "/twin/p1/whatif", whatif, 200},
		{"other's what-if", p1, "POST", "/twin/p2/whatif", whatif, 403},
		{"other's events", p1, "GET", "/twin/p2/events", "", 403},
		{"what-if, no twin", admin, "POST", "/twin/p2/whatif", whatif, 404},
		{"what-if, bad plan", admin, "POST", "/twin/p1/whatif", `{"plans":[{"bolusU":-1}]}`, 422},
		{"what-if, unknown field", admin, "POST", "/twin/p1/whatif", `{"plans":[{"insulin":1}]}`, 400},
	} {
		w := e.as(tc.token, tc.method, tc.target, tc.body)
		if w.Code != tc.want {
			t.Errorf("%s: %d, want %d: %s", tc.name, w.Code, tc.want, w.Body)
		}
	}
	var st twin.State
	if err := json.Unmarshal(e.as(admin, "GET", "/twin/p1", "").Body.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	if st.Glucose == nil || st.Glucose.Reading != 140 || st.Glucose.Forecast == nil || len(st.Glucose.Forecast.Bands) != 3 {
		t.Errorf("state %+v, want the 140 mg/dL reading and a 3-horizon forecast", st)
	}
	var wi struct{ Branches []twin.Branch }
	if err := json.Unmarshal(e.as(admin, "POST", "/twin/p1/whatif", whatif).Body.Bytes(), &wi); err != nil {
		t.Fatal(err)
	}
	if len(wi.Branches) != 3 || wi.Branches[0].Plan.Name != "do nothing" || wi.Branches[2].Plan.Name != "lunch" {
		t.Errorf("branches %+v, want do nothing, bolus, lunch", wi.Branches)
	}
	if !strings.Contains(e.log.String(), "POST /twin/{patient}/whatif") {
		t.Errorf("the request log does not name the what-if route:\n%s", e.log)
	}
}

// TestTwinEvents: an SSE client of /twin/p1/events receives the forecast
// that follows a reading fed to the twin, as an "event: forecast" with the
// twin.Event as data.
func TestTwinEvents(t *testing.T) {
	m := newTwins(t)
	e := newTwinEnv(t, m)
	ts := httptest.NewServer(e.handler)
	defer ts.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", ts.URL+"/twin/p1/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.token(auth.Grant{Role: "patient", Patient: "p1"}))
	req.Header.Set("Accept", "text/event-stream")
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := bufio.NewScanner(resp.Body)
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), ":") {
		t.Fatalf("first line %q, want a comment", lines.Text())
	}
	if err := m.Observe(context.Background(), reading("p1", time.Now().Truncate(time.Minute), 95)); err != nil {
		t.Fatal(err)
	}
	var event, data string
	for lines.Scan() && data == "" {
		l := lines.Text()
		if v, ok := strings.CutPrefix(l, "event: "); ok {
			event = v
		}
		if v, ok := strings.CutPrefix(l, "data: "); ok {
			data = v
		}
	}
	var ev twin.Event
	if err := json.Unmarshal([]byte(data), &ev); err != nil {
		t.Fatalf("data %q: %v", data, err)
	}
	if event != "forecast" || ev.Patient != "p1" || ev.Forecast == nil || ev.Forecast.Reading != 95 {
		t.Errorf("event %q %+v, want p1's forecast after 95 mg/dL", event, ev)
	}
}
