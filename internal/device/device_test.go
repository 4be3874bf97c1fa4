package device

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/doppelhealth/doppel/internal/clinical"
)

var now = time.Date(2026, 11, 25, 10, 2, 0, 0, time.UTC)

func testDecoder() Decoder { return Decoder{Now: func() time.Time { return now }} }

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func at(hhmm string) time.Time {
	t, err := time.Parse(time.RFC3339, "2026-11-25T"+hhmm+":00Z")
	if err != nil {
		panic(err)
	}
	return t
}

func qty(v float64, u string) *clinical.Quantity { return &clinical.Quantity{Value: v, Unit: u} }

func TestDecodeBatchGood(t *testing.T) {
	r, err := testDecoder().DecodeBatch(read(t, "batch-good.json"))
	if err != nil {
		t.Fatal(err)
	}
	obs := func(code string, v *clinical.Quantity, eff time.Time) clinical.Observation {
		return clinical.Observation{Device: "cgm-1", Code: code, Value: v, Effective: eff}
	}
	want := Result{Device: "cgm-1", Accepted: []clinical.Observation{
		obs("99504-3", qty(123, "mg/dL"), at("10:00")),
		obs("99504-3", qty(6.5*18.016, "mg/dL"), at("10:05")), // within MaxFuture (5 min) of 10:02
		obs("8867-4", qty(72, "/min"), at("10:00")),           // 11:00+01:00 is 10:00Z
		obs("9279-1", qty(16, "/min"), at("10:00")),
		obs("59408-5", qty(97, "%"), at("10:00")),
		{Device: "cgm-1", Code: "85354-9", Effective: at("10:00"), Components: []clinical.Component{
			{Code: "8480-6", Value: clinical.Quantity{Value: 120, Unit: "mm[Hg]"}},
			{Code: "8462-4", Value: clinical.Quantity{Value: 80, Unit: "mm[Hg]"}}}},
		obs("8310-5", qty(37, "Cel"), at("10:00")), // 98.6 degF
		{Device: "cgm-1", Code: "67775-7", ValueCode: "A", Effective: at("10:00")},
		obs("9059-7", qty(45, "g"), at("10:00")),
		obs("A10A", qty(4.5, "[IU]"), at("10:00")),
	}}
	if diff := cmp.Diff(want, r, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
		t.Errorf("DecodeBatch (-want +got):\n%s", diff)
	}
}

func TestDecodeBatchBad(t *testing.T) {
	r, err := testDecoder().DecodeBatch(read(t, "batch-bad.json"))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[int]clinical.Kind{}
	for _, x := range r.Rejected {
		kinds[x.Index] = x.Kind
		if x.Reason == "" {
			t.Errorf("rejection %d has no reason", x.Index)
		}
	}
	want := map[int]clinical.Kind{
		0: clinical.OutOfRange,  // glucose 5000 mg/dL
		1: clinical.OutOfRange,  // negative heart rate
		2: clinical.UnknownCode, // ldl
		3: clinical.BadTime,     // 58 min ahead
		4: clinical.BadTime,     // 55 days old
		5: clinical.BadTime,     // no zone
		6: clinical.BadUnit,     // mg/dl (UCUM is case-sensitive)
		7: clinical.Malformed,   // value as a string
		8: clinical.Malformed,   // sys without dia
		9: clinical.Malformed,   // unknown field
	}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("rejections (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{11}, r.Duplicates); diff != "" {
		t.Errorf("duplicates (-want +got):\n%s", diff)
	}
	if len(r.Accepted) != 1 || r.Accepted[0].Value.Value != 118 {
		t.Errorf("accepted = %+v, want the 09:55 reading of 118 only", r.Accepted)
	}
}

func TestDecodeBatchMalformed(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"not json", "hello"},
		{"array", "[]"},
		{"bad device", string(read(t, "batch-baddevice.json"))},
		{"no observations", `{"device":"cgm-1","observations":[]}`},
		{"unknown field", `{"device":"cgm-1","patient":"p1","observations":[{}]}`},
		{"trailing", `{"device":"cgm-1","observations":[{}]} {}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := testDecoder().DecodeBatch([]byte(tt.in))
			var e *clinical.Error
			if !errors.As(err, &e) || e.Kind != clinical.Malformed {
				t.Errorf("error = %v, want a Malformed *clinical.Error", err)
			}
		})
	}
	d := testDecoder()
	d.MaxItems = 1
	if _, err := d.DecodeBatch([]byte(`{"device":"cgm-1","observations":[{},{}]}`)); err == nil {
		t.Error("two observations accepted with MaxItems 1")
	}
}

func TestResponse(t *testing.T) {
	r, err := testDecoder().DecodeBatch([]byte(`{"device":"cgm-1","observations":[
		{"code":"cgm","t":"2026-11-25T10:00:00Z","v":5000,"unit":"mg/dL"},
		{"code":"cgm","t":"2026-11-25T10:00:00Z","v":100,"unit":"mg/dL"},
		{"code":"cgm","t":"2026-11-25T10:00:00Z","v":100,"unit":"mg/dL"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"accepted":1,"duplicates":[2],"rejected":[{"index":0,"kind":"out-of-range","reason":"value: value outside the plausible range 20 to 600 mg/dL"}]}`
	if got := string(r.Response()); got != want {
		t.Errorf("Response =\n%s\nwant\n%s", got, want)
	}
}

func TestSubjects(t *testing.T) {
	for _, id := range []string{"cgm-1", "a.b", "x", "a..b", "Dev.ice.1"} {
		got, ok := DeviceFromSubject(Subject(id))
		if !ok || got != id {
			t.Errorf("DeviceFromSubject(Subject(%q)) = %q, %v", id, got, ok)
		}
	}
	// The NATS MQTT gateway maps "/" to "." and "." to "//" (docs.nats.io/learn/mqtt).
	if got, want := Subject("cgm.1"), "doppel.devices.cgm//1.obs"; got != want {
		t.Errorf("Subject = %q, want %q", got, want)
	}
	for _, s := range []string{"doppel.devices.a.b.obs", "doppel.devices..obs", "dev.a.obs", "doppel.devices.a", "doppel.devices.a b.obs"} {
		if id, ok := DeviceFromSubject(s); ok {
			t.Errorf("DeviceFromSubject(%q) = %q, want refusal", s, id)
		}
	}
}

func TestDecodeMessage(t *testing.T) {
	d := testDecoder()
	b := read(t, "batch-good.json")
	if r, err := d.DecodeMessage(Subject("cgm-1"), b); err != nil || len(r.Accepted) != 10 {
		t.Errorf("own subject: %d accepted, %v", len(r.Accepted), err)
	}
	if _, err := d.DecodeMessage(Subject("cgm-2"), b); err == nil {
		t.Error("a message for cgm-1 accepted on cgm-2's subject")
	}
}

// FuzzDecodeBatch checks that no input panics and that whatever is accepted
// is valid: canonical, within the plausible range and the time window.
func FuzzDecodeBatch(f *testing.F) {
	for _, name := range []string{"batch-good.json", "batch-bad.json", "batch-baddevice.json", "batch-overflow.json"} {
		f.Add(read(f, name))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := testDecoder().DecodeBatch(data)
		checkResult(t, r, err)
	})
}

// FuzzDecodeMessage fuzzes the subject too.
func FuzzDecodeMessage(f *testing.F) {
	f.Add("doppel.devices.cgm-1.obs", read(f, "batch-good.json"))
	f.Add("doppel.devices.cgm//1.obs", []byte(`{"device":"cgm.1","observations":[{"code":"hr","t":"2026-11-25T10:00:00Z","v":60,"unit":"/min"}]}`))
	f.Fuzz(func(t *testing.T, subject string, data []byte) {
		r, err := testDecoder().DecodeMessage(subject, data)
		if err == nil {
			if dev, ok := DeviceFromSubject(subject); !ok || dev != r.Device {
				t.Fatalf("accepted device %q on subject %q", r.Device, subject)
			}
		}
		checkResult(t, r, err)
	})
}

func checkResult(t *testing.T, r Result, err error) {
	t.Helper()
	if err != nil {
		var e *clinical.Error
		if !errors.As(err, &e) {
			t.Fatalf("error %v is not a *clinical.Error", err)
		}
		return
	}
	seen := map[string]bool{}
	for _, o := range r.Accepted {
		again, err := clinical.Normalize(o)
		if err != nil {
			t.Fatalf("accepted %+v fails Normalize: %v", o, err)
		}
		if !cmp.Equal(again, o) {
			t.Fatalf("accepted %+v is not canonical: %+v", o, again)
		}
		c, _ := clinical.Lookup(o.Code)
		if o.Value != nil && (o.Value.Value < c.Min || o.Value.Value > c.Max) {
			t.Fatalf("accepted %+v outside [%g, %g]", o, c.Min, c.Max)
		}
		if o.Effective.After(now.Add(5*time.Minute)) || o.Effective.Before(now.Add(-30*24*time.Hour)) {
			t.Fatalf("accepted %+v outside the time window", o)
		}
		if seen[o.Key()] {
			t.Fatalf("duplicate accepted: %s", o.Key())
		}
		seen[o.Key()] = true
	}
	if _, err := json.Marshal(r.Response()); err != nil {
		t.Fatal(err)
	}
}
