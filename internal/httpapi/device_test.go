package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/doppelhealth/doppel/internal/clinical"
	"github.com/doppelhealth/doppel/internal/device"
)

func TestDeviceIngest(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	var published []clinical.Observation
	var reports int
	failPublish := false
	d := &DeviceIngest{
		Decoder:      device.Decoder{Now: func() time.Time { return now }},
		Authenticate: func(dev, secret string) bool { return secret == "s-"+dev },
		Patient: func(_ context.Context, dev string) (string, bool) {
			if dev == "cgm-1" || dev == "cgm-2" {
				return "p" + dev[3:], true
			}
			return "", false
		},
		Publish: func(_ context.Context, obs []clinical.Observation) error {
			if failPublish {
				return errors.New("down")
			}
			published = append(published, obs...)
			return nil
		},
		Report: func(device.Result, error) { reports++ },
	}
	good := `{"device":"cgm-1","observations":[{"code":"cgm","t":"2026-11-25T09:55:00Z","v":123,"unit":"mg/dL"},{"code":"cgm","t":"2026-11-25T09:56:00Z","v":5000,"unit":"mg/dL"},{"code":"cgm","t":"2026-11-26T09:56:00Z","v":100,"unit":"mg/dL"}]}`
	for _, c := range []struct {
		name, user, pass, bearer, body string
		fail                           bool
		status                         int
		want                           string // response body prefix
		published                      int
	}{
		{name: "basic", user: "cgm-1", pass: "s-cgm-1", body: good, status: 200,
			want: `{"accepted":1,"duplicates":[],"rejected":[{"index":1,"kind":"out-of-range"`, published: 1},
		{name: "bearer", bearer: "s-cgm-1", body: good, status: 200, want: `{"accepted":1`, published: 1},
		{name: "no credentials", body: good, status: 401, want: `{"kind":"unauthorized"`},
		{name: "wrong secret", user: "cgm-1", pass: "s-cgm-2", body: good, status: 401, want: `{"kind":"unauthorized"`},
		{name: "bearer of another device", bearer: "s-cgm-2", body: good, status: 401, want: `{"kind":"unauthorized"`},
		{name: "posts for another device", user: "cgm-2", pass: "s-cgm-2", body: good, status: 403, want: `{"kind":"forbidden"`},
		{name: "unknown device", user: "cgm-9", pass: "s-cgm-9", body: strings.ReplaceAll(good, "cgm-1", "cgm-9"), status: 422, want: `{"kind":"unknown-device"`},
		{name: "malformed", user: "cgm-1", pass: "s-cgm-1", body: `{"device":"cgm-1"`, status: 400, want: `{"kind":"malformed"`},
		{name: "malformed bearer", bearer: "s-cgm-1", body: `[]`, status: 401, want: `{"kind":"unauthorized"`},
		{name: "stream down", user: "cgm-1", pass: "s-cgm-1", body: good, fail: true, status: 503, want: `{"kind":"unavailable"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			published, failPublish = nil, c.fail
			r := httptest.NewRequest("POST", "/device/observations", strings.NewReader(c.body))
			if c.user != "" {
				r.SetBasicAuth(c.user, c.pass)
			}
			if c.bearer != "" {
				r.Header.Set("Authorization", "Bearer "+c.bearer)
			}
			w := httptest.NewRecorder()
			d.ServeHTTP(w, r)
			if w.Code != c.status || !strings.HasPrefix(w.Body.String(), c.want) {
				t.Errorf("got %d %s, want %d %s...", w.Code, w.Body, c.status, c.want)
			}
			if len(published) != c.published {
				t.Fatalf("published %d, want %d", len(published), c.published)
			}
			if c.published > 0 {
				want := clinical.Observation{Patient: "p-1", Device: "cgm-1", Code: clinical.CodeGlucoseCGM,
					Value: &clinical.Quantity{Value: 123, Unit: "mg/dL"}, Effective: now.Add(-5 * time.Minute)}
				if diff := cmp.Diff(want, published[0]); diff != "" {
					t.Errorf("published (-want +got):\n%s", diff)
				}
			}
			if c.status == 401 && w.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	if reports == 0 {
		t.Error("Report never called")
	}
}

func TestDeviceIngestBodyLimit(t *testing.T) {
	d := &DeviceIngest{MaxBytes: 10, Authenticate: func(string, string) bool { return true }}
	r := httptest.NewRequest("POST", "/device/observations", strings.NewReader(strings.Repeat("x", 100)))
	r.SetBasicAuth("cgm-1", "x")
	w := httptest.NewRecorder()
	d.ServeHTTP(w, r)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", w.Code)
	}
}
